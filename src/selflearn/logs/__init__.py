"""The turn log: the event contract, its files, and the store."""

from selflearn.logs.arrow import TURN_SCHEMA, events_to_table, table_to_events
from selflearn.logs.io import Rejection, read_events, read_turns, write_jsonl, write_parquet
from selflearn.logs.schema import TurnEvent, json_schema
from selflearn.logs.store import DEFAULT_STORE_PATH, IngestSummary, TurnStore

__all__ = [
    "DEFAULT_STORE_PATH",
    "TURN_SCHEMA",
    "IngestSummary",
    "Rejection",
    "TurnEvent",
    "TurnStore",
    "events_to_table",
    "json_schema",
    "read_events",
    "read_turns",
    "table_to_events",
    "write_jsonl",
    "write_parquet",
]
