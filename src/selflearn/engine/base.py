"""The engine a learning run's SQL steps run on, and how to choose one."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds

from selflearn.errors import ConfigError

__all__ = ["ENGINES", "Engine", "EngineConfig", "GroupFunction", "open_engine"]

ENGINES = ("duckdb", "spark")

# Rows of two tables that share a key's values in, rows out (see Engine.cogroup).
GroupFunction = Callable[[pa.Table, pa.Table], pa.Table]
# Rows a group is filled to before the next one starts: what one call holds as Python objects.
GROUP_ROWS = 50_000


@dataclass(frozen=True)
class EngineConfig:
    """``name``: ``duckdb`` (embedded, the default) or ``spark``. ``master``: Spark's master
    URL — ``local[2]`` (threads in this process's JVM), ``local-cluster[2,1,1024]`` (separate
    executor processes), ``spark://host:port`` (a cluster). ``options``: further Spark
    settings (``spark.executor.memory`` …). ``scratch``: where Spark keeps the steps' tables
    (a temporary folder by default; on a cluster, a path every executor reads).
    ``memory_limit``: what DuckDB may hold before it spills to disk (``8GB``; DuckDB's own
    default is 80 % of this machine's memory, which leaves a large log's Python side too
    little); Spark's are its ``options``."""

    name: str = "duckdb"
    master: str = "local[2]"
    options: tuple[tuple[str, str], ...] = ()
    scratch: str | None = None
    memory_limit: str | None = None

    def __post_init__(self) -> None:
        if self.name not in ENGINES:
            raise ConfigError("EngineConfig", "name", self.name, f"one of {ENGINES}")
        if not self.master.strip():
            raise ConfigError("EngineConfig", "master", self.master, "a Spark master URL")
        if self.memory_limit is not None and not re.fullmatch(
            r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", self.memory_limit.strip()
        ):
            raise ConfigError(
                "EngineConfig", "memory_limit", self.memory_limit, "a size such as 8GB or 512MB"
            )


class Engine(ABC):
    """Named tables and SQL over them. SQL is DuckDB's dialect: the one definition of each
    step. ``create`` materialises a step's result, so later steps (and loops over it, such
    as label propagation) read a table, not a growing plan."""

    name: str

    @abstractmethod
    def register(self, name: str, table: pa.Table | ds.Dataset) -> None:
        """Make an Arrow table, or a dataset (Parquet files, read as the steps scan them,
        never whole into memory here), readable as ``name``."""

    @abstractmethod
    def create(self, name: str, sql: str) -> None:
        """Materialise one SELECT as the table ``name`` (replacing it)."""

    @abstractmethod
    def rename(self, old: str, new: str) -> None:
        """The table ``old`` becomes ``new`` (replacing it)."""

    @abstractmethod
    def drop(self, name: str) -> None:
        """Forget the table ``name`` (and what it holds), if there is one."""

    @abstractmethod
    def query(self, sql: str) -> pa.Table:
        """One SELECT's rows, as Arrow."""

    @abstractmethod
    def close(self) -> None:
        """Release what the engine holds (a Spark engine it started stops Spark)."""

    @abstractmethod
    def run(self, script: str) -> None:
        """A script of ``CREATE OR REPLACE TEMP TABLE name AS SELECT …;`` statements, each
        materialised as :meth:`create` does, in order."""

    @abstractmethod
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
        """``function`` over groups of whole ``key`` values: each call gets every row of the
        tables ``left`` and ``right`` whose ``key`` is one of its values (about
        :data:`GROUP_ROWS` of ``left``'s, never a key split) and returns rows of
        ``schema``; every row returned, ordered by the columns ``order``. Where it runs is
        the engine's: here, one group after another (DuckDB, with ``progress(done, of)``
        in rows of ``left``), or in the executors (Spark), so ``function`` must pickle."""

    def scalar(self, sql: str) -> Any:
        """The first column of the first row (None when there is no row)."""
        table = self.query(sql)
        return table.column(0)[0].as_py() if table.num_rows else None

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_engine(config: EngineConfig | None = None) -> Engine:
    """The engine ``config`` names, started (Spark needs ``selflearn[spark]`` and Java)."""
    config = config or EngineConfig()
    if config.name == "spark":
        from selflearn.engine.spark import SparkEngine

        return SparkEngine.start(config)
    from selflearn.engine.duck import DuckDBEngine

    return DuckDBEngine.start(config)
