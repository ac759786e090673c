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

from selflearn.engine import DuckDBEngine, EngineConfig
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
