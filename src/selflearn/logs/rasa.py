"""Rasa's event stream as turn events (``selflearn ingest --from rasa``).

Rasa keeps every conversation as a stream of events — from its SQL event broker's ``events``
table (``sender_id``, ``data``), a file event broker (one JSON event per line, with its
``sender_id``), or a tracker-store export (a tracker per line: ``sender_id`` and ``events``).
Each ``user`` event is a turn: its text, the intent and confidence from ``parse_data``, the
entities as slots; the ``bot`` events after it are the answer; ``nlu_fallback`` or a fallback
action (``action_default_fallback``, ``action_two_stage_fallback``) makes it
``no_intent_match``; ``session_started`` starts a new session. Lines that are not Rasa events
are named rejections; every turn that converts is kept.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from selflearn.errors import DataFileError, SchemaError
from selflearn.logs.arrow import TURN_SCHEMA, event_to_record
from selflearn.logs.io import Batch, Rejection
from selflearn.logs.schema import SCHEMA_VERSION, TurnEvent

__all__ = ["FALLBACK_ACTIONS", "FALLBACK_INTENTS", "is_rasa_url", "rasa_batches"]

FALLBACK_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})
FALLBACK_ACTIONS = frozenset(
    {"action_default_fallback", "action_two_stage_fallback", "action_default_ask_affirmation"}
)
_BATCH = 10_000


def is_rasa_url(source: str) -> bool:
    """A SQLAlchemy URL (``sqlite:///rasa.db``, ``postgresql://…``) rather than a file."""
    return "://" in source and not Path(source).exists()


@dataclass
class _Open:
    """The turn being read for one conversation: its user event and what followed."""

    line: int
    user: dict[str, Any]
    session: int
    answers: list[str] = field(default_factory=list)
    fallback: bool = False


def _rows(source: str) -> Iterator[tuple[int, Any]]:
    """(line or row number, one decoded item) from a file or the broker's SQL table."""
    if is_rasa_url(source):
        try:
            import sqlalchemy
        except ImportError:
            raise DataFileError(
                "reading Rasa's SQL event broker needs SQLAlchemy: pip install 'selflearn[rasa]'"
            ) from None
        try:
            engine = sqlalchemy.create_engine(source)
            with engine.connect() as con:
                query = sqlalchemy.text("SELECT sender_id, data FROM events ORDER BY id")
                for number, (sender, data) in enumerate(con.execute(query), start=1):
                    try:
                        item = json.loads(data)
                    except (TypeError, ValueError):
                        yield number, None
                        continue
                    if isinstance(item, dict):
                        item.setdefault("sender_id", sender)
                    yield number, item
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise DataFileError(f"{source}: cannot read Rasa's events table ({exc})") from exc
        return
    path = Path(source)
    if not path.is_file():
        raise DataFileError(f"{source}: no such file (or not a SQLAlchemy URL)")
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                yield number, json.loads(raw)
            except ValueError:
                yield number, None


def _turn(sender: str, turn: _Open) -> TurnEvent:
    user = turn.user
    parse = user.get("parse_data") or {}
    intent = (parse.get("intent") or {}).get("name")
    confidence = (parse.get("intent") or {}).get("confidence")
    slots: dict[str, Any] = {}
    for entity in parse.get("entities") or []:
        if isinstance(entity, dict) and entity.get("entity"):
            slots.setdefault(str(entity["entity"]), entity.get("value"))
    failed = turn.fallback or intent in FALLBACK_INTENTS
    ts = float(user["timestamp"])
    ident = (
        user.get("message_id")
        or hashlib.sha1(f"{sender}|{ts}|{user.get('text')}".encode()).hexdigest()
    )
    channel = user.get("input_channel") or "rasa"
    return TurnEvent.from_dict(
        {
            "schema_version": SCHEMA_VERSION,
            "turn_id": f"rasa:{ident}",
            "session_id": f"{sender}#{turn.session}",
            "user_id": sender,
            "device_id": f"rasa:{channel}",
            "device_type": "chat",
            "ts": ts,
            "asr": {"text": str(user.get("text") or ""), "confidence": None},
            "nlu": {
                "intent": None if failed and intent in FALLBACK_INTENTS else intent,
                "slots": slots,
                "confidence": confidence if isinstance(confidence, (int, float)) else None,
            },
            "response": {
                "text": " ".join(turn.answers),
                "status": "no_intent_match" if failed else "success",
            },
            "context": {"channel": channel},
        }
    )


def _events(item: Any) -> Iterable[dict[str, Any]] | str:
    """The events of one decoded line, or why it is not Rasa's."""
    if not isinstance(item, dict):
        return "not a JSON object"
    if isinstance(item.get("events"), list):  # a tracker
        sender = item.get("sender_id")
        return [{**e, "sender_id": sender} for e in item["events"] if isinstance(e, dict)]
    if "event" not in item:
        return "not a Rasa event (no 'event' field)"
    return [item]


def rasa_batches(source: str | Path, batch_rows: int = _BATCH) -> Iterator[Batch]:
    """Turn events from a Rasa event stream, batch by batch; bad lines are rejections."""
    name = str(source)
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    rejected: list[Rejection] = []
    open_turns: dict[str, _Open] = {}
    sessions: dict[str, int] = {}

    def close(sender: str) -> None:
        turn = open_turns.pop(sender, None)
        if turn is None:
            return
        try:
            rows.append(event_to_record(_turn(sender, turn)))
            lines.append(turn.line)
        except (SchemaError, KeyError, TypeError, ValueError) as exc:
            rejected.append(Rejection(name, turn.line, f"user event not a turn: {exc}"))

    def batch() -> Batch:
        table = pa.Table.from_pylist(rows, schema=TURN_SCHEMA)
        return Batch(name, table, list(lines), list(rejected), 0)

    for number, item in _rows(name):
        events = _events(item)
        if isinstance(events, str):
            rejected.append(Rejection(name, number, events))
            continue
        for event in events:
            sender = str(event.get("sender_id") or "default")
            kind = event.get("event")
            if kind == "session_started":
                close(sender)
                sessions[sender] = sessions.get(sender, 0) + 1
            elif kind == "user":
                close(sender)
                if not isinstance(event.get("timestamp"), (int, float)):
                    rejected.append(Rejection(name, number, "user event without a timestamp"))
                    continue
                open_turns[sender] = _Open(number, event, sessions.get(sender, 0))
            elif kind == "bot" and sender in open_turns and event.get("text"):
                open_turns[sender].answers.append(str(event["text"]))
            elif (
                kind == "action" and sender in open_turns and event.get("name") in FALLBACK_ACTIONS
            ):
                open_turns[sender].fallback = True
        if len(rows) + len(rejected) >= batch_rows:
            yield batch()
            rows.clear()
            lines.clear()
            rejected.clear()
    for sender in list(open_turns):
        close(sender)
    if rows or rejected:
        yield batch()
