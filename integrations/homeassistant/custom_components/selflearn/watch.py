"""What the user does with their hands right after the assistant acted.

A light the assistant turned on and the user switched off within seconds, the light next to
it switched on instead, a player it started stopped or moved on: the plainest feedback a
smart home has. For each turn that changed something, the watcher notes the changes the
assistant made (their context is the request's), then, for a window of seconds, the changes
anyone else made to those devices or to devices of the same kind, and adds them to the
turn's queued event as ``after_action`` (contract version 2).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import CALLBACK_TYPE, Context, Event, HomeAssistant, State, callback

from .queue import EventQueue

_MEDIA_STOPPED = {"paused", "idle", "off", "standby"}
# Entities that are not devices a person switches back by hand: the agents' own activity,
# readings, and things that only happen (a timer, a pressed button, a scene).
_NOT_DEVICES = frozenset(
    {
        "assist_satellite",
        "automation",
        "binary_sensor",
        "button",
        "calendar",
        "conversation",
        "device_tracker",
        "event",
        "image",
        "person",
        "scene",
        "script",
        "sensor",
        "stt",
        "sun",
        "timer",
        "todo",
        "tts",
        "update",
        "wake_word",
        "weather",
        "zone",
    }
)
_MEDIA_ITEM = ("media_content_id", "media_title")
# Context ids of the integration's own recent requests: their changes are the assistant's.
_OWN_CONTEXTS = 500


@dataclass
class _Watch:
    turn_id: str
    context_id: str
    started: float
    until: float
    # entity_id → (state before the action, state after it), as the assistant changed them
    acted: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    items: dict[str, Any] = field(default_factory=dict)  # media item when it started
    seen: set[tuple[str, str]] = field(default_factory=set)


class AfterActionWatcher:
    """One listener on state changes for every open window."""

    def __init__(self, hass: HomeAssistant, queue: EventQueue) -> None:
        self._hass = hass
        self._queue = queue
        self._by_context: dict[str, _Watch] = {}  # the assistant's action, while it runs
        self._open: dict[str, _Watch] = {}  # turn id → its window
        self._own: dict[str, None] = {}
        self._unsub: CALLBACK_TYPE | None = hass.bus.async_listen(
            EVENT_STATE_CHANGED, self._changed
        )

    def close(self) -> None:
        if self._unsub is not None:
            self._unsub()
            self._unsub = None

    @callback
    def begin(self, context: Context, turn_id: str, started: float) -> None:
        """Before the wrapped agent acts: note what it changes under ``context``."""
        watch = _Watch(turn_id, context.id, started, started)
        self._by_context[context.id] = watch
        self._own[context.id] = None
        while len(self._own) > _OWN_CONTEXTS:
            del self._own[next(iter(self._own))]

    @callback
    def acted(self, context: Context, window_s: float) -> bool:
        """After the agent answered: open the window if it changed anything (True)."""
        watch = self._by_context.pop(context.id, None)
        if watch is None or not watch.acted or window_s <= 0:
            return False
        now = time.time()
        watch.until = now + window_s
        for turn_id in [t for t, w in self._open.items() if w.until < now]:
            del self._open[turn_id]  # windows that have closed
        self._open[watch.turn_id] = watch
        return True

    @callback
    def _changed(self, event: Event) -> None:
        data = event.data
        new: State | None = data.get("new_state")
        old: State | None = data.get("old_state")
        if new is None:
            return
        entity_id = new.entity_id
        if entity_id.split(".", 1)[0] in _NOT_DEVICES:
            return
        context = event.context
        watch = self._by_context.get(context.id)
        if watch is not None:  # the assistant acting
            before = old.state if old is not None else None
            first = watch.acted.get(entity_id, (before, new.state))[0]
            watch.acted[entity_id] = (first, new.state)
            watch.items[entity_id] = tuple(new.attributes.get(k) for k in _MEDIA_ITEM)
            return
        if not self._open or context.id in self._own or context.parent_id in self._own:
            return
        now = time.time()
        # the latest action it can answer gets it: a change answers one action, not several
        for watch in reversed(list(self._open.values())):
            if now > watch.until:
                continue
            kind = self._kind(watch, entity_id, old, new)
            if kind is None:
                continue
            if (entity_id, kind) not in watch.seen:
                watch.seen.add((entity_id, kind))
                self._record(watch, entity_id, kind, new.state, context, now)
            break

    @staticmethod
    def _kind(watch: _Watch, entity_id: str, old: State | None, new: State) -> str | None:
        acted = watch.acted.get(entity_id)
        if acted is not None:
            before, after = acted
            if old is not None and old.state == new.state:
                item = tuple(new.attributes.get(k) for k in _MEDIA_ITEM)
                started = watch.items.get(entity_id)
                if entity_id.startswith("media_player.") and after == "playing" and any(item):
                    return "skipped" if started and item != started else None
                return None
            if entity_id.startswith("media_player.") and after == "playing":
                return "stopped" if new.state in _MEDIA_STOPPED else None
            return "undone" if before is not None and new.state == before else None
        domain = entity_id.split(".", 1)[0]
        same = [a for e, a in watch.acted.items() if e.split(".", 1)[0] == domain]
        if old is not None and old.state != new.state and any(new.state == a[1] for a in same):
            return "other_device"
        return None

    def _record(
        self, watch: _Watch, entity_id: str, kind: str, state: str, context: Context, now: float
    ) -> None:
        event = self._queue.waiting(watch.turn_id)
        if event is None:
            return
        source = "user" if context.user_id else "automation" if context.parent_id else "device"
        event.setdefault("after_action", []).append(
            {
                "entity_id": entity_id,
                "kind": kind,
                "after_ms": max(0, int((now - watch.started) * 1000)),
                "state": state,
                "source": source,
            }
        )
        self._queue.touched()
