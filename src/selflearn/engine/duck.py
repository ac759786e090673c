"""The embedded engine: DuckDB in this process, the SQL as written."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from selflearn.engine.base import Engine

__all__ = ["DuckDBEngine", "as_engine"]


class DuckDBEngine(Engine):
    """One in-memory DuckDB connection (or the one given)."""

    name = "duckdb"

    def __init__(self, connection: duckdb.DuckDBPyConnection | None = None) -> None:
        self._con = connection if connection is not None else duckdb.connect()

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        return self._con

    def register(self, name: str, table: pa.Table) -> None:
        self._con.register(name, table)

    def create(self, name: str, sql: str) -> None:
        self._con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def run(self, script: str) -> None:
        self._con.execute(script)  # the text as written: DuckDB is the dialect's home

    def rename(self, old: str, new: str) -> None:
        self._con.execute(f"DROP TABLE IF EXISTS {new}; ALTER TABLE {old} RENAME TO {new}")

    def query(self, sql: str) -> pa.Table:
        return self._con.sql(sql).to_arrow_table()

    def close(self) -> None:
        self._con.close()


def as_engine(con: Engine | duckdb.DuckDBPyConnection) -> Engine:
    """An engine as given, or a DuckDB connection as the engine over it."""
    return con if isinstance(con, Engine) else DuckDBEngine(con)
