"""Apache Spark as the engine: the same steps on a fleet's logs (``selflearn[spark]``).

Each step's SQL (DuckDB's dialect) is transpiled by :func:`~selflearn.engine.dialect.to_spark`
and run by Spark SQL. A created table is written as Parquet to the engine's scratch folder
and read back, so a loop over it (label propagation) reads a table, not a plan that grows
each pass: Spark's own checkpoints (``localCheckpoint``, ``checkpoint``) did not cut it here
— the passes took 0.5, 1.2, 6, 37 s on 1,169 rows —, Parquet does (0.5 s each). Tables handed
in from Python are written there too, read by the executors rather than sent through the
driver's gateway. On a cluster the scratch folder must be one every executor reads (a shared
filesystem); local masters use a temporary folder and bind to 127.0.0.1 unless
``SPARK_LOCAL_IP`` says otherwise.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from selflearn.engine.base import GROUP_ROWS, Engine, EngineConfig, GroupFunction
from selflearn.engine.dialect import created_tables, to_spark
from selflearn.errors import ConfigError, EngineError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["SPARK_DEFAULTS", "SparkEngine"]

# Settings the steps rely on: DuckDB's reading of SQL (NULL on a division by zero, not an
# error), UTC, and no UI or console progress bars in a learning run's output. Few shuffle
# partitions: a home's or a fleet's log on a few cores; a cluster overrides it.
SPARK_DEFAULTS = {
    "spark.sql.ansi.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # The driver collects what learning keeps (the signals, one row a turn, and the index's
    # table of what worked): Spark's 1 GB driver heap failed collecting a 1 M-turn log's.
    "spark.driver.memory": "4g",
    "spark.driver.maxResultSize": "4g",
    # The chains' walks along restatements are recursive CTEs that end with the data, as on
    # DuckDB, which has no cap: Spark's (a million rows) stopped a 1 M-turn log's walk.
    "spark.sql.cteRecursionRowLimit": "-1",
    "spark.sql.cteRecursionLevelLimit": "-1",
}


def _session(config: EngineConfig) -> SparkSession:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ImportError(
            "the Spark engine needs pyspark: pip install 'selflearn[spark]'"
        ) from None
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise ConfigError(
            "EngineConfig", "name", "spark", "used where Java 17 is installed (java on the PATH)"
        )
    builder = SparkSession.builder.master(config.master).appName("selflearn learn")
    if config.master.startswith("local"):
        # The JVMs (the driver's, and local-cluster's executors) read where to bind from
        # the environment only; a local master stays on this machine's loopback.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        host = os.environ["SPARK_LOCAL_IP"]
        builder = builder.config("spark.driver.host", host).config("spark.driver.bindAddress", host)
        # The steps that run Python in the executors (Engine.cogroup) need a Python with
        # selflearn installed: this one, here; on a cluster, PYSPARK_PYTHON names theirs.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    for key, value in {**SPARK_DEFAULTS, **dict(config.options)}.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM's or the gateway's own exception types
        raise EngineError(
            f"Spark did not start at master {config.master!r}: {_first_line(exc)}"
        ) from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


def _first_line(exc: BaseException) -> str:
    """The error's first line; for one from the JVM ("An error occurred while calling …"),
    the Java exception behind it too (out of memory, a result too large, …)."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    first = (lines or [type(exc).__name__])[0]
    java = [
        line
        for line in lines[1:]
        if not line.startswith("at ") and ("Exception" in line or "Error" in line)
    ]
    cause = [line for line in java if line.startswith("Caused by:")]
    if java:
        first += " " + (cause[-1] if cause else java[0])
    return first[:400]


class SparkEngine(Engine):
    """A Spark session; :meth:`start` opens one from a config and :meth:`close` stops it."""

    name = "spark"

    def __init__(
        self,
        session: SparkSession,
        scratch: Path,
        *,
        owned: bool = False,
        own_scratch: bool = False,
    ) -> None:
        self._spark = session
        self._scratch = scratch
        self._owned = owned
        self._own_scratch = own_scratch
        self._frames: dict[str, Any] = {}
        self._handed: dict[str, tuple[pa.Table | ds.Dataset, Any]] = {}  # name → (rows, frame)
        self._serial = itertools.count()

    @classmethod
    def start(cls, config: EngineConfig | None = None) -> SparkEngine:
        """A Spark session from ``config``, its step tables in ``config.scratch`` (or in a
        temporary folder, removed on :meth:`close`)."""
        config = config or EngineConfig(name="spark")
        session = _session(config)
        if config.scratch:
            return cls(session, Path(config.scratch), owned=True)
        scratch = Path(tempfile.mkdtemp(prefix="selflearn-spark-"))
        return cls(session, scratch, owned=True, own_scratch=True)

    def _path(self, name: str) -> str:
        return str(self._scratch / f"{name}-{next(self._serial):05d}")

    @property
    def session(self) -> SparkSession:
        return self._spark

    def register(self, name: str, table: pa.Table | ds.Dataset) -> None:
        known = self._handed.get(name)
        if known is not None and known[0] is table:  # the same rows again: written once
            self._keep(name, known[1])
            return
        path = self._path(name)
        Path(path).mkdir(parents=True)
        with pq.ParquetWriter(f"{path}/part-0.parquet", table.schema) as out:
            for batch in table.to_batches():  # a dataset: a batch in memory at a time
                out.write_batch(batch)
        frame = self._spark.read.parquet(path)
        self._handed[name] = (table, frame)
        self._keep(name, frame)

    def create(self, name: str, sql: str) -> None:
        path = self._path(name)
        try:
            result = self._spark.sql(to_spark(sql))
            result.write.parquet(path)
        except Exception as exc:
            raise EngineError(f"Spark failed the step {name!r}: {_first_line(exc)}") from exc
        frame = self._spark.read.schema(result.schema).parquet(path)  # no job to infer it
        self._keep(name, frame)

    def _keep(self, name: str, frame: Any) -> None:
        frame.createOrReplaceTempView(name)
        self._frames[name] = frame

    def run(self, script: str) -> None:
        for name, select in created_tables(script):
            self.create(name, select)

    def rename(self, old: str, new: str) -> None:
        frame = self._frames.pop(old)
        self._spark.catalog.dropTempView(old)
        self._keep(new, frame)

    def drop(self, name: str) -> None:
        if self._frames.pop(name, None) is not None:
            self._spark.catalog.dropTempView(name)

    def query(self, sql: str) -> pa.Table:
        try:
            table: pa.Table = self._spark.sql(to_spark(sql)).toArrow()
        except Exception as exc:
            raise EngineError(f"Spark failed a query: {_first_line(exc)}") from exc
        return table

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
        from pyspark.sql import functions as F
        from pyspark.sql.pandas.types import from_arrow_schema

        name = f"cogroup_{next(self._serial)}"
        path = self._path(name)
        try:
            sides = [self._frames[left], self._frames[right]]
            groups = max(1, math.ceil(sides[0].count() / GROUP_ROWS))
            bucket = F.pmod(F.xxhash64(F.col(key)), F.lit(groups))
            left_g, right_g = (s.withColumn("_group", bucket).groupBy("_group") for s in sides)
            result = left_g.cogroup(right_g).applyInArrow(
                functools.partial(_ungrouped, function, schema), from_arrow_schema(schema)
            )
            result.write.parquet(path)
        except Exception as exc:
            raise EngineError(f"Spark failed the step {name!r}: {_first_line(exc)}") from exc
        self._keep(name, self._spark.read.schema(result.schema).parquet(path))
        try:
            return self.query(f"SELECT * FROM {name} ORDER BY {', '.join(order)}").cast(schema)
        finally:
            self.drop(name)

    def close(self) -> None:
        for name in self._frames:
            self._spark.catalog.dropTempView(name)
        self._frames.clear()
        self._handed.clear()
        if self._owned:
            self._spark.stop()
        if self._own_scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)


def _ungrouped(
    function: GroupFunction, schema: pa.Schema, left: pa.Table, right: pa.Table
) -> pa.Table:
    """``function`` on one cogroup's two sides, without the grouping column; in an executor."""
    if not left.num_rows and not right.num_rows:
        return schema.empty_table()
    left, right = (t.drop_columns(["_group"]) for t in (left, right))
    return function(left, right).select(schema.names).cast(schema)
