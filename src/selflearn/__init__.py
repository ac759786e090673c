"""selflearn: a self-learning layer for voice assistants, smart home first.

The public surface; import from here rather than from submodules.
"""

from selflearn.assistant import Assistant, Catalogue, Home, SpeechChannel, Turn, WakeDetector
from selflearn.errors import ConfigError, DataFileError, SchemaError, SelflearnError
from selflearn.logs import (
    TURN_SCHEMA,
    IngestSummary,
    Rejection,
    TurnEvent,
    TurnStore,
    json_schema,
    read_events,
    write_jsonl,
    write_parquet,
)

__version__ = "0.1.0"

__all__ = [
    "TURN_SCHEMA",
    "Assistant",
    "Catalogue",
    "ConfigError",
    "DataFileError",
    "Home",
    "IngestSummary",
    "Rejection",
    "SchemaError",
    "SelflearnError",
    "SpeechChannel",
    "Turn",
    "TurnEvent",
    "TurnStore",
    "WakeDetector",
    "json_schema",
    "read_events",
    "write_jsonl",
    "write_parquet",
]
