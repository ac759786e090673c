"""The log store: every turn in one embedded DuckDB file, idempotent on ``turn_id``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import duckdb
import pyarrow as pa

from selflearn.errors import DataFileError
from selflearn.logs.arrow import (
    ADDED_COLUMNS,
    TURN_SCHEMA,
    events_to_table,
    table_to_events,
    with_added_columns,
)
from selflearn.logs.io import DEFAULT_BATCH_ROWS, Batch, Rejection, iter_batches
from selflearn.logs.schema import TurnEvent
from selflearn.logs.validate import REASON_SQL

__all__ = ["DEFAULT_STORE_PATH", "IngestSummary", "TurnStore"]

DEFAULT_STORE_PATH = Path("selflearn-data") / "turns.duckdb"
ProgressCallback = Callable[[int], None]


@dataclass
class IngestSummary:
    """What one ingest did: accepted (new), duplicates (already stored), rejected."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def add(self, other: IngestSummary) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)

    def as_dict(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": len(self.rejected),
            "rejections": [
                {"source": r.source, "line": r.line, "reason": r.reason} for r in self.rejected
            ],
        }


class TurnStore:
    """Append-only store of turn events in a DuckDB file.

    Open with :meth:`open`; use as a context manager or call :meth:`close`.

    >>> import tempfile, pathlib
    >>> with TurnStore.open(pathlib.Path(tempfile.mkdtemp()) / "t.duckdb") as store:
    ...     store.count()
    0
    """

    def __init__(self, path: Path, connection: duckdb.DuckDBPyConnection) -> None:
        self.path = path
        self._con = connection

    @classmethod
    def open(
        cls, path: Path | str = DEFAULT_STORE_PATH, *, read_only: bool = False, threads: int = 0
    ) -> TurnStore:
        """Open (creating if needed) the store at ``path``. ``threads``: how many the
        database may use (0: one per core)."""
        path = Path(path)
        if read_only and not path.exists():
            raise DataFileError(f"{path}: no turn store here; run `selflearn ingest` first")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            config: dict[str, str | bool | int | float | list[str]] = (
                {"threads": threads} if threads else {}
            )
            con = duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.Error as exc:
            raise DataFileError(f"{path}: cannot open the turn store ({exc})") from exc
        if not read_only:
            empty = TURN_SCHEMA.empty_table()
            con.register("_empty_turns", empty)
            con.execute("CREATE TABLE IF NOT EXISTS turns AS SELECT * FROM _empty_turns")
            con.unregister("_empty_turns")
            _migrate(con)
        return cls(path, con)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> TurnStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- writing -------------------------------------------------------------

    def ingest_batch(self, batch: Batch, *, checked: bool = False) -> IngestSummary:
        """Store the valid, new rows of one parsed batch in one transaction. ``checked``:
        the rows come from validated :class:`TurnEvent` objects, which already obey every
        rule of :data:`~selflearn.logs.validate.RULES`, so the SQL checks are skipped (they
        are most of the cost of a small batch)."""
        summary = IngestSummary(rejected=list(batch.rejected))
        if batch.table.num_rows == 0:
            return summary
        table = batch.table.append_column("_line", pa.array(batch.lines, pa.int64()))
        con = self._con
        con.register("_batch", table)
        try:
            con.execute("BEGIN TRANSACTION")
            bad = []
            if not checked:
                bad = con.execute(
                    f"SELECT _line, {REASON_SQL} AS reason FROM _batch WHERE reason IS NOT NULL"
                    " ORDER BY _line"
                ).fetchall()
            summary.rejected.extend(Rejection(batch.source, int(n), str(r)) for n, r in bad)
            valid = table.num_rows - len(bad)
            # The checks are evaluated again in the insert below: measured cheaper than
            # materialising the checked batch once (about 7 % faster at 300 k turns).
            # Anti-join on the stored ids; within the batch the first occurrence wins.
            good = "TRUE" if checked else f"({REASON_SQL}) IS NULL"
            con.execute(
                f"""
                INSERT INTO turns
                SELECT * EXCLUDE (_line) FROM _batch b
                WHERE {good}
                  AND NOT EXISTS (SELECT 1 FROM turns t WHERE t.turn_id = b.turn_id)
                QUALIFY row_number() OVER (PARTITION BY b.turn_id ORDER BY b._line) = 1
                """
            )
            row = con.fetchone()
            inserted = int(row[0]) if row else 0
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            con.unregister("_batch")
        summary.accepted = inserted
        summary.duplicates = valid - inserted
        summary.rejected.sort(key=lambda r: r.line)
        return summary

    def ingest_file(
        self,
        path: Path,
        *,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        progress: ProgressCallback | None = None,
    ) -> IngestSummary:
        """Ingest one JSONL or Parquet file; bad lines are reported, good ones kept."""
        summary = IngestSummary()
        for batch in iter_batches(Path(path), batch_rows):
            summary.add(self.ingest_batch(batch))
            if progress is not None:
                progress(batch.bytes_read)
        return summary

    def ingest_files(
        self, paths: Sequence[Path], *, progress: ProgressCallback | None = None
    ) -> IngestSummary:
        summary = IngestSummary()
        for path in paths:
            summary.add(self.ingest_file(path, progress=progress))
        return summary

    def ingest_events(self, events: Iterable[TurnEvent], source: str = "<events>") -> IngestSummary:
        """Ingest already-validated events (from the assistant or the service)."""
        table = events_to_table(events)
        batch = Batch(source, table, list(range(1, table.num_rows + 1)), [], 0)
        return self.ingest_batch(batch, checked=True)

    def delete_user(self, user_id: str) -> int:
        """Remove every turn of ``user_id`` (forgetting a user); how many were removed."""
        con = self._con
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("DELETE FROM turns WHERE user_id = ?", [user_id])
            row = con.fetchone()
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return int(row[0]) if row else 0

    def checkpoint(self) -> None:
        self._con.execute("CHECKPOINT")

    # -- reading -------------------------------------------------------------

    def count(self) -> int:
        rows = self._con.execute("SELECT count(*) FROM turns").fetchall()
        return int(rows[0][0]) if rows else 0

    def table(self, where: str | None = None) -> pa.Table:
        """Stored turns as an Arrow table in :data:`TURN_SCHEMA`, ordered by time."""
        sql = "SELECT * FROM turns" + (f" WHERE {where}" if where else "") + " ORDER BY ts, turn_id"
        # a store opened read-only before its migration lacks the newer columns
        return with_added_columns(self._con.sql(sql).to_arrow_table()).cast(TURN_SCHEMA)

    def export(self, path: Path) -> int:
        """Write every stored turn, ordered by time, to a Parquet log at ``path`` (streamed
        by the database, never whole in this process's memory); how many."""
        target = str(path).replace("'", "''")
        row = self._con.execute(
            f"COPY (SELECT * FROM turns ORDER BY ts, turn_id) TO '{target}' (FORMAT parquet)"
        ).fetchone()
        return int(row[0]) if row else 0

    def events(self, where: str | None = None) -> list[TurnEvent]:
        return table_to_events(self.table(where))

    def sql(self, query: str) -> pa.Table:
        """Run a read query against the store (table ``turns``) and return Arrow."""
        return self._con.sql(query).to_arrow_table()

    def size_bytes(self) -> int:
        wal = self.path.with_name(self.path.name + ".wal")
        return self.path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Add the columns a later contract version brought to a store written before it
    (DESIGN §3.1, CHANGELOG): stored turns keep every value, the new columns are null."""
    have = {row[0] for row in con.execute("DESCRIBE turns").fetchall()}
    empty = TURN_SCHEMA.empty_table()
    con.register("_contract", empty)
    try:
        types = {row[0]: row[1] for row in con.execute("DESCRIBE _contract").fetchall()}
    finally:
        con.unregister("_contract")
    for name in ADDED_COLUMNS:
        if name not in have:
            con.execute(f"ALTER TABLE turns ADD COLUMN {name} {types[name]}")
