"""The turn event a Wyoming proxy writes (DESIGN §3.1) from what it saw on the wire."""

from __future__ import annotations

import time
import uuid
from typing import Any

from selflearn.logs.schema import SCHEMA_VERSION
from selflearn.rewrite.base import Rewrite

__all__ = ["new_turn_id", "turn_event"]


def new_turn_id() -> str:
    return uuid.uuid4().hex


def turn_event(
    *,
    turn_id: str,
    ts: float,
    heard: str,
    device_id: str,
    device_type: str = "satellite",
    user_id: str | None = None,
    session_id: str | None = None,
    intent: str | None = None,
    slots: dict[str, Any] | None = None,
    response_text: str = "",
    status: str = "unknown",
    rewrite: Rewrite | None = None,
    area: str | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    """One turn as a plain JSON-ready event."""
    local = time.localtime(ts)
    context: dict[str, Any] = {
        "area": area,
        "device_states": {},
        "local_time": time.strftime("%H:%M", local),
        "weekday": local.tm_wday,
    }
    if language:
        context["language"] = language
    return {
        "schema_version": SCHEMA_VERSION,
        "turn_id": turn_id,
        "session_id": session_id,
        "user_id": user_id,
        "device_id": device_id,
        "device_type": device_type,
        "ts": ts,
        "asr": {"text": heard, "confidence": None, "nbest": []},
        "nlu": {"intent": intent, "domain": None, "slots": slots or {}, "confidence": None},
        "response": {"text": response_text, "status": status},
        "context": context,
        # a choice of the words as heard is logged as the choice, not as a rewrite
        "rewrite": rewrite.as_event()
        if rewrite is not None and rewrite.target != rewrite.source
        else None,
        **({"choice": rewrite.choice} if rewrite is not None and rewrite.choice else {}),
    }
