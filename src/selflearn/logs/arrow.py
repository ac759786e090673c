"""Columnar form of the turn event: the Arrow/Parquet/DuckDB columns (DESIGN §3.1).

Objects with a fixed shape become struct columns; the two free-form objects
(``nlu.slots`` and ``context``) are stored as JSON text so that any keys round-trip.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from selflearn.logs.schema import TurnEvent

__all__ = [
    "ADDED_COLUMNS",
    "AFTER_ACTION",
    "TURN_SCHEMA",
    "context_dict",
    "events_to_table",
    "record_to_event",
    "records_to_table",
    "table_to_events",
    "with_added_columns",
]

_HYP = pa.struct([("text", pa.string()), ("confidence", pa.float64())])
_ENTITY = pa.struct(
    [
        ("slot", pa.string()),
        ("value", pa.string()),
        ("entity_id", pa.string()),
        ("score", pa.float64()),
    ]
)

AFTER_ACTION = pa.list_(
    pa.struct(
        [
            ("entity_id", pa.string()),
            ("kind", pa.string()),
            ("after_ms", pa.int64()),
            ("state", pa.string()),
            ("source", pa.string()),
        ]
    )
)
# Columns added by a later contract version, with what a file or store written before it
# holds there (null): read from older Parquet logs and stores without complaint.
ADDED_COLUMNS = ("after_action", "choice")
CHOICE = pa.struct(
    [
        (
            "options",
            pa.list_(
                pa.struct([("text", pa.string()), ("layer", pa.string()), ("score", pa.float64())])
            ),
        ),
        ("chosen", pa.int64()),
        ("default", pa.int64()),
        ("preferred", pa.int64()),
        ("propensity", pa.float64()),
        ("policy", pa.string()),
    ]
)

TURN_SCHEMA = pa.schema(
    [
        pa.field("schema_version", pa.string(), nullable=False),
        pa.field("turn_id", pa.string(), nullable=False),
        pa.field("session_id", pa.string()),
        pa.field("user_id", pa.string()),
        pa.field("device_id", pa.string(), nullable=False),
        pa.field("device_type", pa.string(), nullable=False),
        pa.field("ts", pa.float64(), nullable=False),
        pa.field("wake", pa.struct([("word", pa.string()), ("score", pa.float64())])),
        pa.field(
            "asr",
            pa.struct(
                [
                    ("text", pa.string()),
                    ("confidence", pa.float64()),
                    ("nbest", pa.list_(_HYP)),
                ]
            ),
            nullable=False,
        ),
        pa.field(
            "nlu",
            pa.struct(
                [
                    ("intent", pa.string()),
                    ("domain", pa.string()),
                    ("slots", pa.string()),
                    ("confidence", pa.float64()),
                ]
            ),
            nullable=False,
        ),
        pa.field(
            "resolution", pa.struct([("status", pa.string()), ("entities", pa.list_(_ENTITY))])
        ),
        pa.field(
            "response",
            pa.struct(
                [("text", pa.string()), ("status", pa.string()), ("duration_ms", pa.int64())]
            ),
            nullable=False,
        ),
        pa.field("barge_in_ms", pa.int64()),
        pa.field("feedback", pa.string()),
        pa.field("context", pa.string(), nullable=False),
        pa.field(
            "rewrite",
            pa.struct(
                [
                    ("from", pa.string()),
                    ("to", pa.string()),
                    ("layer", pa.string()),
                    ("score", pa.float64()),
                ]
            ),
        ),
        pa.field("after_action", AFTER_ACTION),
        pa.field("choice", CHOICE),
    ]
)


def with_added_columns(table: pa.Table) -> pa.Table:
    """``table`` with every column a later contract version added (:data:`ADDED_COLUMNS`),
    null where it lacks one: a log or a store written before that version."""
    for name in ADDED_COLUMNS:
        if name not in table.column_names:
            field = TURN_SCHEMA.field(name)
            table = table.append_column(field, pa.nulls(table.num_rows, field.type))
    return table


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def context_dict(raw: Any) -> dict[str, Any]:
    """A logged ``context`` (the column's JSON text, or already parsed) as a dict; empty where
    it is missing, not JSON, or not an object.

    >>> context_dict('{"area": "kitchen"}'), context_dict("not json"), context_dict(None)
    ({'area': 'kitchen'}, {}, {})
    """
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw else {}
        except ValueError:
            return {}
    return raw if isinstance(raw, dict) else {}


def event_to_record(event: TurnEvent) -> dict[str, Any]:
    """One event as a row of :data:`TURN_SCHEMA`."""
    row = event.to_dict()
    row["nlu"]["slots"] = _dumps(row["nlu"]["slots"])
    row["context"] = _dumps(row["context"])
    return row


def records_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows already in columnar form (see :func:`event_to_record`) as a table."""
    return pa.Table.from_pylist(rows, schema=TURN_SCHEMA)


def events_to_table(events: Iterable[TurnEvent]) -> pa.Table:
    """Validated events as an Arrow table with the contract's columns."""
    return records_to_table([event_to_record(e) for e in events])


def record_to_event(row: dict[str, Any]) -> TurnEvent:
    """A row of :data:`TURN_SCHEMA` back to a validated event."""
    data = dict(row)
    nlu = dict(data["nlu"])
    nlu["slots"] = json.loads(nlu["slots"]) if nlu.get("slots") else {}
    data["nlu"] = nlu
    data["context"] = json.loads(data["context"]) if data.get("context") else {}
    return TurnEvent.from_dict(data)


def table_to_events(table: pa.Table) -> list[TurnEvent]:
    """Every row of ``table`` as an event (columns must follow :data:`TURN_SCHEMA`)."""
    return [record_to_event(row) for row in table.to_pylist()]
