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


def test_contract_2_after_action_round_trips_and_old_stores_and_files_are_read(
    tmp_path: Path,
) -> None:
    """Contract version 2 adds after_action; version-1 logs and stores read unchanged."""
    import duckdb

    from selflearn.errors import SchemaError
    from selflearn.logs.arrow import TURN_SCHEMA

    undone = [{"entity_id": "light.k", "kind": "undone", "after_ms": 2500, "state": "on"}]
    event = TurnEvent.from_dict(_event(1, schema_version="2", after_action=undone))
    assert event.after_action is not None and event.after_action[0].kind == "undone"
    try:
        TurnEvent.from_dict(_event(2, schema_version="1", after_action=undone))
        raise AssertionError("a version-1 event took after_action")
    except SchemaError as err:
        assert "after_action" in str(err)
    # a store written before the column existed: opened, migrated, read
    old = tmp_path / "old.duckdb"
    con = duckdb.connect(str(old))
    v1 = events_to_table([TurnEvent.from_dict(_event(3, schema_version="1"))]).drop_columns(
        ["after_action", "choice"]
    )
    con.register("v1", v1)
    con.execute("CREATE TABLE turns AS SELECT * FROM v1")
    con.close()
    with TurnStore.open(old, read_only=True) as store:
        assert store.events()[0].after_action is None
    with TurnStore.open(old) as store:
        assert store.ingest_events([event]).accepted == 1
        kinds = {e.turn_id: e.after_action for e in store.events()}
    assert kinds["t3"] is None and kinds["t1"] is not None
    # a Parquet log written before the column existed
    path = tmp_path / "v1.parquet"
    pq.write_table(v1, path)
    from selflearn.logs.io import read_events

    assert read_events(path)[0].after_action is None
    assert TURN_SCHEMA.field("after_action") is not None
    # the checks of a columnar batch know the new field
    bad = events_to_table([event]).to_pylist()
    bad[0]["after_action"][0]["kind"] = "exploded"
    with TurnStore.open(tmp_path / "s.duckdb") as store:
        from selflearn.logs.io import Batch

        table = pa.Table.from_pylist(bad, schema=TURN_SCHEMA)
        summary = store.ingest_batch(Batch("x", table, [1], [], 0))
        assert summary.accepted == 0 and "after_action" in str(summary.rejected[0])


def test_a_folder_and_a_partitioned_dataset_read_as_one_log(tmp_path: Path) -> None:
    from selflearn.errors import DataFileError
    from selflearn.logs.io import read_turns, write_jsonl

    events = [
        TurnEvent.from_dict(_event(i, device_type=("speaker", "display")[i % 2])) for i in range(30)
    ]
    folder = tmp_path / "fleet"
    # as Spark or pyarrow write a dataset partitioned by a column: key=value folders
    pq.write_to_dataset(events_to_table(events[:20]), folder, partition_cols=["device_type"])
    (folder / "_SUCCESS").write_text("")
    write_jsonl(events[20:], folder / "late.jsonl")
    turns, rejected = read_turns([folder])
    assert rejected == []
    assert sorted(turns.column("turn_id").to_pylist()) == sorted(e.turn_id for e in events)
    # the partition key is a column again, with each turn's own value
    kinds = dict(
        zip(
            turns.column("turn_id").to_pylist(),
            turns.column("device_type").to_pylist(),
            strict=True,
        )
    )
    assert kinds == {e.turn_id: e.device_type for e in events}
    empty = tmp_path / "empty"
    (empty / "day=1").mkdir(parents=True)
    try:
        read_turns([empty])
    except DataFileError as exc:
        assert "a folder without turn-log files" in str(exc)
    else:  # pragma: no cover - the line above must raise
        raise AssertionError("an empty folder was read as a log")
