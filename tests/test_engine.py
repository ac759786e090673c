"""One definition, two engines: the learning steps on the embedded DuckDB and on Apache Spark
(local mode, 127.0.0.1, started and stopped here) give the same rows.

That every step gives the same signals, rewrite table and index table on both engines is
checked end to end by ``benchmarks/spark.py --smoke`` (run by ``tests/test_benchmarks.py``,
which fails when it exits 1 on a difference): here, each construct the bridge rewrites, and
what happens when Spark cannot run."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest

from selflearn.engine import DuckDBEngine, EngineConfig, open_engine
from selflearn.engine.spark import SparkEngine
from selflearn.errors import ConfigError, EngineError
from selflearn.logs import read_turns
from selflearn.service.core import Service
from selflearn.service.settings import ServiceSettings


def test_the_bridge_keeps_duckdbs_meaning_on_spark(spark: SparkEngine) -> None:
    rows = pa.table(
        {
            "k": ["a", "a", "a", "b", "b"],
            "text": ["the lamp by the lamp", "lamp", "no match", "the lamp", "lamp lamp"],
            "n": [2, 2, 1, 3, 3],
            "room": ["kitchen", "hall", "kitchen", None, "den"],
            "ids": [["x", "c", "b"], ["a"], [], ["z", "y"], ["q", "r", "s", "t"]],
        }
    )
    queries = {
        # DuckDB replaces the first match only without 'g', every match with it
        "first match": "SELECT regexp_replace(text, '\\blamp\\b', '{name}') AS t FROM rows ORDER BY text",
        "every match": "SELECT regexp_replace(text, '\\blamp\\b', '{name}', 'g') AS t FROM rows ORDER BY text",
        "histogram": "SELECT k, to_json(histogram(room))::VARCHAR AS h FROM rows GROUP BY k ORDER BY k",
        "qualify": "SELECT * FROM rows QUALIFY row_number() OVER (PARTITION BY k ORDER BY text) = 1 ORDER BY k",
        "slice": "SELECT k, list_slice(list_sort(list_distinct(flatten(list(ids)))), 1, 3) AS s FROM rows GROUP BY k ORDER BY k",
        "tie": "SELECT k, arg_max(text, struct_pack(n := n, text := text)) AS t FROM rows GROUP BY k ORDER BY k",
        "lists": "SELECT array_length(regexp_extract_all(text, 'lamp')) AS n FROM rows ORDER BY text",
    }
    duck = DuckDBEngine()
    for engine in (duck, spark):
        engine.register("rows", rows)
    for name, sql in queries.items():
        expected = duck.query(sql).to_pylist()
        assert spark.query(sql).to_pylist() == expected, name
    assert duck.query(queries["first match"]).column("t").to_pylist()[4] == (
        "the {name} by the lamp"
    )
    assert "_w" not in spark.query(queries["qualify"]).column_names
    duck.close()


def test_cogroup_hands_each_key_whole_to_one_call_on_both_engines(
    spark: SparkEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import selflearn.engine.duck as duck_module
    import selflearn.engine.spark as spark_module

    # small groups, so both engines split the keys over several calls
    monkeypatch.setattr(duck_module, "GROUP_ROWS", 7)
    monkeypatch.setattr(spark_module, "GROUP_ROWS", 7)
    keys = [f"k{i:02d}" for i in range(12)]
    left = pa.table(
        {
            "key": [k for i, k in enumerate(keys) for _ in range(i % 4 + 1)] + [None, None],
            "rank": [j for i, _ in enumerate(keys) for j in range(i % 4 + 1)] + [0, 1],
        }
    )
    right = pa.table({"key": [*keys[::3], "only-right"], "weight": [1.5] * 4 + [9.0]})
    schema = pa.schema(
        [
            ("key", pa.string()),
            ("rows", pa.int64()),
            ("weight", pa.float64()),
            ("call", pa.string()),
        ]
    )

    def per_key(a: pa.Table, b: pa.Table) -> pa.Table:
        """One row per key of ``a``: its row count, the weight ``b`` gave it, and which call
        saw it (the call's first key)."""
        counts: dict[str | None, int] = {}
        for k in a.column("key").to_pylist():
            counts[k] = counts.get(k, 0) + 1
        weight = dict(zip(b.column("key").to_pylist(), b.column("weight").to_pylist(), strict=True))
        call = str(min((k for k in counts if k is not None), default=None))
        return pa.table(
            {
                "key": list(counts),
                "rows": list(counts.values()),
                "weight": [weight.get(k, 0.0) for k in counts],
                "call": [call] * len(counts),
            },
            schema=schema,
        )

    done: list[tuple[int, int]] = []
    duck = DuckDBEngine()
    results = {}
    for engine in (duck, spark):
        engine.register("l", left)
        engine.register("r", right)
        results[engine.name] = engine.cogroup(
            "key",
            "l",
            "r",
            per_key,
            schema,
            order=["key"],
            progress=lambda d, n: done.append((d, n)),
        )
        assert results[engine.name].schema.remove_metadata() == schema
    duck.close()
    for name, table in results.items():
        rows = table.to_pylist()
        # every key once (never split over two calls), whole, in order, the null key last
        assert [r["key"] for r in rows] == [*keys, None], name
        assert [r["rows"] for r in rows] == [i % 4 + 1 for i in range(len(keys))] + [2], name
        assert [r["weight"] for r in rows] == [1.5 if i % 3 == 0 else 0.0 for i in range(12)] + [
            0.0
        ], name
    # the embedded engine filled its calls to about 7 rows each and said how far it was
    calls = {r["call"] for r in results["duckdb"].to_pylist()}
    assert 4 <= len(calls) <= 7
    assert done[-1] == (left.num_rows, left.num_rows)
    assert [d for d, _ in done] == sorted(d for d, _ in done)


def test_duckdbs_memory_is_capped_where_the_config_says() -> None:
    with open_engine(EngineConfig(memory_limit="512MB")) as capped, open_engine() as free:
        limit = capped.scalar("SELECT current_setting('memory_limit')")
        assert limit.endswith("MiB") and 480 <= float(limit.split()[0]) <= 512
        assert free.scalar("SELECT current_setting('memory_limit')") != limit
    for wrong in ("lots", "8 gigabytes", "-1GB"):
        with pytest.raises(ConfigError, match="a size such as 8GB"):
            EngineConfig(memory_limit=wrong)


def test_spark_that_cannot_start_is_a_clear_error_not_a_traceback(
    tmp_path: Path, sim_files: tuple[Path, Path, dict[str, object]]
) -> None:
    log = tmp_path / "turns.jsonl"
    with sim_files[0].open(encoding="utf-8") as lines:
        log.write_text("".join(next(lines) for _ in range(200)), encoding="utf-8")
    done = subprocess.run(
        [
            *(sys.executable, "-m", "selflearn.cli", "learn", str(log)),
            *("--out", str(tmp_path / "out"), "--engine", "spark", "--master", "nowhere://x"),
            "--no-rephrase-model",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode != 0
    assert "Spark did not start at master 'nowhere://x'" in done.stderr
    assert "Traceback" not in done.stderr
    with pytest.raises(ConfigError, match="'name' parameter of EngineConfig"):
        EngineConfig(name="hadoop")
    with pytest.raises(ConfigError, match="learn_engine"):
        ServiceSettings(learn_engine="hadoop")
    assert issubclass(EngineError, RuntimeError)


def test_a_failed_spark_run_leaves_the_served_version_untouched(
    tmp_path: Path, sim_files: tuple[Path, Path, dict[str, object]]
) -> None:
    settings = ServiceSettings(data_dir=tmp_path / "svc", token="t" * 20, online=False)
    service = Service.open(settings)
    try:
        turns, _ = read_turns([sim_files[0]])
        service.ingest_table(turns.slice(0, 300))  # enough for a version; little to train
        first = service.learn()
        assert first.error is None and service.version == "v000001"
        service.settings = replace(settings, learn_engine="spark", spark_master="nowhere://x")
        failed = service.learn()
        assert failed.version is None and failed.error and "Spark did not start" in failed.error
        assert service.version == "v000001"
        assert service.versions.all() == ["v000001"]
    finally:
        service.close()
