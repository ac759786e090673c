"""Where log-sized steps run: the embedded DuckDB (default) or Apache Spark (a fleet's logs).

Every step is written once, as SQL in DuckDB's dialect; :class:`SparkEngine` runs the same
text transpiled by SQLGlot (:mod:`selflearn.engine.dialect` bridges where the two engines
would read one query differently), so a change to a step changes both engines.
"""

from selflearn.engine.base import ENGINES, Engine, EngineConfig, open_engine
from selflearn.engine.duck import DuckDBEngine

__all__ = ["ENGINES", "DuckDBEngine", "Engine", "EngineConfig", "open_engine"]
