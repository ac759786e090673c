from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from selflearn import TurnEvent, TurnStore, write_parquet
from selflearn.logs.arrow import events_to_table


def _event(i: int, **extra: object) -> dict[str, object]:
    return {
        "turn_id": f"t{i}",
        "device_id": "satellite.kitchen",
        "device_type": "speaker",
        "ts": 1_790_000_000.0 + i,
        "asr": {"text": f"turn on lamp {i}", "confidence": 0.8},
        "nlu": {"intent": "HassTurnOn", "slots": {"name": "Lamp"}, "confidence": 1.0},
        "response": {"text": "Turned on", "status": "success"},
        **extra,
    }


def test_same_file_twice_adds_nothing(tmp_path: Path) -> None:
    log = tmp_path / "a.jsonl"
    log.write_text("".join(json.dumps(_event(i)) + "\n" for i in range(100)))
    with TurnStore.open(tmp_path / "s.duckdb") as store:
        first = store.ingest_file(log)
        second = store.ingest_file(log)
        assert (first.accepted, first.duplicates, len(first.rejected)) == (100, 0, 0)
        assert (second.accepted, second.duplicates) == (0, 100)
        assert store.count() == 100


def test_malformed_lines_are_named_and_good_lines_kept(tmp_path: Path) -> None:
    lines = [json.dumps(_event(i)) for i in range(10)]
    lines[2] = "{this is not json"
    lines[5] = json.dumps(_event(5, ts="yesterday"))
    lines[7] = json.dumps(_event(7, response={"text": "x", "status": "great"}))
    lines.append(json.dumps(_event(3)))  # a duplicate inside the same file
    log = tmp_path / "b.jsonl"
    log.write_text("\n".join(lines) + "\n")
    with TurnStore.open(tmp_path / "s.duckdb") as store:
        summary = store.ingest_file(log)
        assert summary.accepted == 7
        assert summary.duplicates == 1
        assert [(r.line, r.reason.split(";")[0]) for r in summary.rejected] == [
            (3, "the line is not valid JSON (key must be a string at line 1 column 2)"),
            (6, "field 'ts' must be a number"),
            (
                8,
                "field 'response.status' must be one of 'success', 'no_intent_match', "
                "'no_valid_targets', 'failed_to_handle' or 'unknown'",
            ),
        ]
        assert sorted(e.turn_id for e in store.events()) == [f"t{i}" for i in (0, 1, 3, 4, 6, 8, 9)]


def test_parquet_rows_are_checked_in_bulk(tmp_path: Path) -> None:
    table = events_to_table(TurnEvent.from_dict(_event(i)) for i in range(5))
    rows = table.to_pylist()
    rows[1]["asr"]["confidence"] = 3.0
    rows[3]["feedback"] = "thumbs"
    rows[4]["context"] = "[1, 2]"
    path = tmp_path / "c.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)
    with TurnStore.open(tmp_path / "s.duckdb") as store:
        summary = store.ingest_file(path)
        assert summary.accepted == 2
        assert [(r.line, r.reason) for r in summary.rejected] == [
            (2, "field 'asr.confidence' must be a number in [0, 1] or null; got 3.0"),
            (4, "field 'feedback' must be one of positive, negative or null; got thumbs"),
            (5, "field 'context' must be a JSON object; got [1, 2]"),
        ]


def test_parquet_with_a_missing_column_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    table = events_to_table([TurnEvent.from_dict(_event(1))]).drop(["asr"])
    pq.write_table(table, path)
    with TurnStore.open(tmp_path / "s.duckdb") as store:
        try:
            store.ingest_file(path)
        except ValueError as exc:
            assert "column(s) asr missing" in str(exc)
        else:  # pragma: no cover - the line above must raise
            raise AssertionError("a Parquet file without 'asr' was accepted")
        assert store.count() == 0


def test_store_survives_reopen_and_reads_back_arrow(tmp_path: Path) -> None:
    events = [TurnEvent.from_dict(_event(i)) for i in range(20)]
    write_parquet(events, tmp_path / "e.parquet")
    with TurnStore.open(tmp_path / "s.duckdb") as store:
        store.ingest_file(tmp_path / "e.parquet")
    with TurnStore.open(tmp_path / "s.duckdb", read_only=True) as store:
        table = store.table()
        assert isinstance(table, pa.Table)
        assert table.num_rows == 20
        assert store.events() == events


def test_export_writes_a_parquet_log_that_reads_back_the_same(tmp_path: Path) -> None:
    from selflearn.logs.io import read_events

    events = [
        TurnEvent.from_dict(_event(i, feedback="negative" if i % 3 else None)) for i in range(30)
    ]
    with TurnStore.open(tmp_path / "s.duckdb", threads=1) as store:
        store.ingest_events(reversed(events))
        assert store.export(tmp_path / "out.parquet") == 30
    assert read_events(tmp_path / "out.parquet") == events  # in time order


def test_a_checked_batch_skips_the_sql_checks_but_still_deduplicates(tmp_path: Path) -> None:
    events = [TurnEvent.from_dict(_event(i)) for i in range(10)]
    with TurnStore.open(tmp_path / "s.duckdb") as store:
        assert store.ingest_events(events).accepted == 10
        again = store.ingest_events([*events[5:], TurnEvent.from_dict(_event(10))])
        assert (again.accepted, again.duplicates) == (1, 5)
