"""Parsing a posted batch of turn events, away from the interpreter that answers rewrites.

Validating events (pydantic) and converting them to Arrow is Python work that holds the
interpreter lock; done in the server's own process it makes every rewrite wait behind each
batch. :func:`parse_batch` runs in a worker process instead and hands back the batch as
Arrow IPC bytes (or the first thing wrong with it), which the server stores.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from selflearn.errors import SchemaError
from selflearn.logs.arrow import events_to_table
from selflearn.logs.schema import TurnEvent

__all__ = [
    "BatchError",
    "parse_batch",
    "pseudonym",
    "start_worker",
    "table_from_ipc",
    "watch_parent",
]


@dataclass(frozen=True)
class BatchError:
    """What is wrong with a posted batch: an HTTP status, a message and the field. A value,
    not an exception: it travels back from the worker process as a plain pickle."""

    status: int
    message: str
    field: str


def pseudonym(user_id: str, key: str) -> str:
    """The id stored for ``user_id`` under ``key`` (HMAC-SHA256)."""
    return "p-" + hmac.new(key.encode(), user_id.encode(), hashlib.sha256).hexdigest()[:32]


def parse_batch(body: bytes, max_batch: int, key: str | None) -> tuple[bytes, int] | BatchError:
    """``{"events": [...]}`` → (Arrow IPC stream of the events, how many), or the error.
    Never raises: whatever the body holds, the answer is one of the two."""
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError) as exc:
        return BatchError(400, f"the body is not JSON ({type(exc).__name__})", "body")
    if not isinstance(data, dict) or set(data) != {"events"}:
        return BatchError(422, 'the body must be {"events": [turn events]}', "body")
    raw = data["events"]
    if not isinstance(raw, list):
        return BatchError(422, "events must be a list of turn events", "events")
    if len(raw) > max_batch:
        return BatchError(413, f"at most {max_batch} events per batch", "events")
    events = []
    for i, item in enumerate(raw):
        try:
            event = TurnEvent.from_dict(item)
        except SchemaError as exc:
            return BatchError(422, str(exc), f"events[{i}].{exc.field}")
        except Exception as exc:  # nothing on bad input may escape as a server error
            return BatchError(422, f"not a turn event ({type(exc).__name__})", f"events[{i}]")
        if key and event.user_id:
            event = event.model_copy(update={"user_id": pseudonym(event.user_id, key)})
        events.append(event)
    table = events_to_table(events)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes(), len(events)


WORKER_NICENESS = 5  # the parsing worker's priority below the server's


def start_worker(parent: int) -> None:
    """In the parsing worker, on start: events may wait a moment, the rewrite an assistant
    is waiting on may not, so the worker runs a few steps below the server's priority; and
    it exits with the server."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICENESS)
    watch_parent(parent)


def watch_parent(parent: int) -> None:
    """In the worker: exit when the server that started it is gone (killed, not stopped),
    rather than linger as an orphan."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="selflearn-parent-watch", daemon=True).start()


def table_from_ipc(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(data).read_all()
