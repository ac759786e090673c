"""Turn-log files: JSON Lines and Parquet, read in batches with per-line rejections."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from selflearn.errors import DataFileError, SchemaError
from selflearn.logs.arrow import (
    TURN_SCHEMA,
    event_to_record,
    events_to_table,
    table_to_events,
    with_added_columns,
)
from selflearn.logs.schema import TurnEvent

__all__ = [
    "Batch",
    "Rejection",
    "file_format",
    "iter_batches",
    "read_events",
    "write_jsonl",
    "write_parquet",
]

DEFAULT_BATCH_ROWS = 100_000


@dataclass(frozen=True)
class Rejection:
    """A line (JSONL) or row (Parquet) that was not accepted, and why."""

    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class Batch:
    """Rows parsed from one slice of a file.

    ``table`` holds the rows that parsed, in :data:`TURN_SCHEMA`; ``lines`` their
    1-based line (JSONL) or row (Parquet) numbers; ``rejected`` the ones that did
    not; ``bytes_read`` how much of the file this batch covered (for progress).
    """

    source: str
    table: pa.Table
    lines: list[int]
    rejected: list[Rejection]
    bytes_read: int


def _known_format(path: Path) -> str | None:
    """'jsonl' or 'parquet', from the file name; None for another file."""
    name = path.name.lower()
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    return None


def file_format(path: Path) -> str:
    """'jsonl' or 'parquet', from the file name."""
    found = _known_format(path)
    if found is None:
        raise DataFileError(
            f"{path}: unknown turn-log format; expected a .jsonl/.ndjson or .parquet file"
        )
    return found


def iter_batches(path: Path, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[Batch]:
    """Parse ``path`` batch by batch; bad lines become rejections, never exceptions. A
    folder is read as its files (:func:`_folder_batches`)."""
    if not path.exists():
        raise DataFileError(f"{path}: no such file")
    if path.is_dir():
        yield from _folder_batches(path, batch_rows)
    elif file_format(path) == "jsonl":
        yield from _jsonl_batches(path, batch_rows)
    else:
        yield from _parquet_batches(path, batch_rows)


def _jsonl_batches(path: Path, batch_rows: int) -> Iterator[Batch]:
    source = str(path)
    rows: list[dict[str, object]] = []
    lines: list[int] = []
    rejected: list[Rejection] = []
    done = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            done += len(raw)
            if not raw.strip():
                continue
            try:
                rows.append(event_to_record(TurnEvent.from_json(raw)))
                lines.append(number)
            except SchemaError as exc:
                rejected.append(Rejection(source, number, str(exc)))
            if len(rows) + len(rejected) >= batch_rows:
                yield Batch(
                    source, pa.Table.from_pylist(rows, schema=TURN_SCHEMA), lines, rejected, done
                )
                rows, lines, rejected, done = [], [], [], 0
    if rows or rejected or done:
        yield Batch(source, pa.Table.from_pylist(rows, schema=TURN_SCHEMA), lines, rejected, done)


def _conform(table: pa.Table, path: Path) -> pa.Table:
    """Select and cast the contract's columns, or say which one is wrong."""
    table = with_added_columns(table)
    missing = [name for name in TURN_SCHEMA.names if name not in table.column_names]
    if missing:
        raise DataFileError(
            f"{path}: column(s) {', '.join(missing)} missing; see `selflearn schema`"
        )
    columns = []
    for field in TURN_SCHEMA:
        column = table.column(field.name)
        try:
            columns.append(column.cast(field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise DataFileError(
                f"{path}: column '{field.name}' has type {column.type}, expected {field.type}"
            ) from exc
    return pa.Table.from_arrays(columns, schema=TURN_SCHEMA.with_metadata(None))


def _parquet_batches(path: Path, batch_rows: int) -> Iterator[Batch]:
    try:
        handle = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataFileError(f"{path}: not a readable Parquet file ({exc})") from exc
    yield from _conformed_batches(
        path,
        handle.iter_batches(batch_size=batch_rows),
        handle.metadata.num_rows,
        path.stat().st_size,
    )


def _conformed_batches(
    path: Path, batches: Iterable[pa.RecordBatch], total_rows: int, size: int
) -> Iterator[Batch]:
    """Parquet record batches in the contract's columns, their rows numbered from 1 and the
    bytes read estimated from ``size`` (the files') and ``total_rows``."""
    first = 1
    for record_batch in batches:
        table = _conform(pa.Table.from_batches([record_batch]), path)
        n = table.num_rows
        lines = list(range(first, first + n))
        yield Batch(str(path), table, lines, [], size * n // max(total_rows, 1))
        first += n


def _folder_batches(path: Path, batch_rows: int) -> Iterator[Batch]:
    """A folder of log files, or a Parquet dataset partitioned into ``key=value``
    sub-folders (as Spark and pyarrow write them; each key is a column again): its JSON
    Lines files, then its Parquet files as one dataset, each in path order. Hidden files and
    a writer's markers (``.crc``, ``_SUCCESS``) are not read."""
    files = sorted(f for f in path.rglob("*") if f.is_file() and not f.name.startswith((".", "_")))
    jsonl = [f for f in files if _known_format(f) == "jsonl"]
    parquet = [f for f in files if _known_format(f) == "parquet"]
    if not jsonl and not parquet:
        raise DataFileError(f"{path}: a folder without turn-log files (.jsonl, .parquet)")
    for file in jsonl:
        yield from _jsonl_batches(file, batch_rows)
    if not parquet:
        return
    try:
        dataset = ds.dataset(
            [str(f) for f in parquet],
            format="parquet",
            partitioning="hive",
            partition_base_dir=str(path),
        )
        yield from _conformed_batches(
            path,
            dataset.to_batches(batch_size=batch_rows),
            dataset.count_rows(),
            sum(f.stat().st_size for f in parquet),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataFileError(f"{path}: not a readable Parquet dataset ({exc})") from exc


def read_turns(paths: Iterable[Path]) -> tuple[pa.Table, list[Rejection]]:
    """Turns from log files (JSONL, Parquet; a folder of them, or a partitioned Parquet
    dataset) or DuckDB stores, as one Arrow table in
    :data:`TURN_SCHEMA`; invalid lines are returned as rejections, never raised."""
    from selflearn.logs.store import TurnStore

    tables: list[pa.Table] = []
    rejected: list[Rejection] = []
    for path in paths:
        if not path.exists():
            raise DataFileError(f"{path}: no such file")
        if path.suffix == ".duckdb":
            with TurnStore.open(path, read_only=True) as store:
                tables.append(store.table())
            continue
        for batch in iter_batches(path):
            tables.append(batch.table)
            rejected.extend(batch.rejected)
    if not tables:
        return TURN_SCHEMA.empty_table(), rejected
    return pa.concat_tables(tables), rejected


def read_events(path: Path) -> list[TurnEvent]:
    """Every event of a file, validated; raise on the first bad line."""
    events: list[TurnEvent] = []
    for batch in iter_batches(path):
        if batch.rejected:
            raise DataFileError(str(batch.rejected[0]))
        events.extend(table_to_events(batch.table))
    return events


def write_jsonl(events: Iterable[TurnEvent], path: Path, *, append: bool = False) -> int:
    """Write (or with ``append``, add) events as JSON Lines; return how many."""
    count = 0
    with path.open("a" if append else "w", encoding="utf-8") as handle:
        for event in events:
            handle.write(json.dumps(event.to_dict(), ensure_ascii=False, separators=(",", ":")))
            handle.write("\n")
            count += 1
    return count


def write_parquet(events: Iterable[TurnEvent] | pa.Table, path: Path) -> int:
    """Write events (or a table in :data:`TURN_SCHEMA`) as Parquet; return how many."""
    table = events if isinstance(events, pa.Table) else events_to_table(events)
    pq.write_table(table, path, compression="zstd")
    return int(table.num_rows)
