"""The embedded engine: DuckDB in this process, the SQL as written."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from selflearn.engine.base import GROUP_ROWS, Engine, EngineConfig, GroupFunction

__all__ = ["DuckDBEngine", "as_engine"]


class DuckDBEngine(Engine):
    """One in-memory DuckDB connection (or the one given)."""

    name = "duckdb"

    def __init__(self, connection: duckdb.DuckDBPyConnection | None = None) -> None:
        self._con = connection if connection is not None else duckdb.connect()

    @classmethod
    def start(cls, config: EngineConfig | None = None) -> DuckDBEngine:
        """A fresh in-memory DuckDB with ``config``'s memory limit (DuckDB's own otherwise)."""
        engine = cls()
        if config is not None and config.memory_limit is not None:
            engine.connection.execute(f"SET memory_limit = '{config.memory_limit.strip()}'")
        return engine

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        return self._con

    def register(self, name: str, table: pa.Table | ds.Dataset) -> None:
        self._con.register(name, table)

    def create(self, name: str, sql: str) -> None:
        self._con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def run(self, script: str) -> None:
        self._con.execute(script)  # the text as written: DuckDB is the dialect's home

    def rename(self, old: str, new: str) -> None:
        self._con.execute(f"DROP TABLE IF EXISTS {new}; ALTER TABLE {old} RENAME TO {new}")

    def drop(self, name: str) -> None:
        self._con.execute(f"DROP TABLE IF EXISTS {name}")

    def query(self, sql: str) -> pa.Table:
        return self._con.sql(sql).to_arrow_table()

    def cogroup(
        self,
        key: str,
        left: str,
        right: str,
        function: GroupFunction,
        schema: pa.Schema,
        *,
        order: Sequence[str],
        progress: Callable[[int, int], None] | None = None,
    ) -> pa.Table:
        counts = self._con.sql(
            f"SELECT {key}, count(*) FROM {left} GROUP BY ALL ORDER BY 1 NULLS LAST"
        ).fetchall()
        total, done, parts = sum(n for _, n in counts), 0, []
        for first, last, rows in _groups(counts):
            if first is None:  # the rows without a key, together
                where, params = f"{key} IS NULL", []
            else:
                where, params = f"{key} BETWEEN ? AND ?", [first, last]
            sides = [
                self._con.sql(f"SELECT * FROM {t} WHERE {where}", params=params).to_arrow_table()
                for t in (left, right)
            ]
            part = function(*sides).select(schema.names).cast(schema)
            parts.append(part.sort_by([(c, "ascending") for c in order]))
            done += rows
            if progress:
                progress(done, total)
        return pa.concat_tables(parts) if parts else schema.empty_table()

    def close(self) -> None:
        self._con.close()


def _groups(counts: list[tuple[object, int]]) -> list[tuple[object, object, int]]:
    """(first key, last key, rows) of consecutive keys, filled to about GROUP_ROWS rows;
    the null key, if any, last and alone."""
    out: list[tuple[object, object, int]] = []
    first, last, rows = None, None, 0
    for value, n in counts:
        if value is None:
            continue
        if rows and rows + n > GROUP_ROWS:
            out.append((first, last, rows))
            rows = 0
        if not rows:
            first = value
        last, rows = value, rows + n
    if rows:
        out.append((first, last, rows))
    out.extend((None, None, n) for value, n in counts if value is None)
    return out


def as_engine(con: Engine | duckdb.DuckDBPyConnection) -> Engine:
    """An engine as given, or a DuckDB connection as the engine over it."""
    return con if isinstance(con, Engine) else DuckDBEngine(con)
