"""The turn events on their way to the service: kept on disk, sent in batches, resent
until acknowledged.

Each event waits here until its after-action window has passed (so what the user did with
their hands goes with it), then goes out in a batch. The queue is saved with Home
Assistant's storage helper, so a restart loses nothing that was queued; an event leaves
the queue only when the service has acknowledged it (stored, or already stored: turn ids
make a resend harmless). While the service cannot be reached, sending backs off up to
``MAX_BACKOFF_S``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .api import SelflearnClient, ServiceError
from .const import BATCH_SIZE, MAX_BACKOFF_S, MAX_QUEUED, STORAGE_KEY, STORAGE_VERSION

_LOGGER = logging.getLogger(__name__)


class EventQueue:
    """Turn events by turn id, each with the time it may be sent."""

    def __init__(self, hass: HomeAssistant, client: SelflearnClient, entry_id: str) -> None:
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{STORAGE_KEY}.{entry_id}"
        )
        self._client = client
        self._items: dict[str, dict[str, Any]] = {}
        self._backoff_s = 0.0
        self._next_try = 0.0
        self._sending = False
        self.sent = 0
        self.dropped = 0
        self.rejected = 0
        self.last_error: str | None = None
        self.listeners: list[Callable[[], None]] = []

    def __len__(self) -> int:
        return len(self._items)

    async def async_load(self) -> None:
        data = await self._store.async_load() or {}
        items = data.get("items", {})
        self._items = {k: v for k, v in items.items() if isinstance(v, dict) and "event" in v}
        if self._items:
            _LOGGER.info("%d turn events waiting from before the restart", len(self._items))

    def _data(self) -> dict[str, Any]:
        return {"items": self._items}

    def _changed(self) -> None:
        self._store.async_delay_save(self._data, 1.0)
        for listener in self.listeners:
            listener()

    async def async_save_now(self) -> None:
        await self._store.async_save(self._data())

    def add(self, event: dict[str, Any], due: float) -> None:
        """Queue ``event``, to be sent from ``due`` (epoch seconds) on."""
        self._items[event["turn_id"]] = {"event": event, "due": due}
        while len(self._items) > MAX_QUEUED:  # the service has been away for a long time
            del self._items[next(iter(self._items))]
            self.dropped += 1
        self._changed()

    def waiting(self, turn_id: str) -> dict[str, Any] | None:
        """The queued event of ``turn_id`` (to add to it), or None when it has gone."""
        item = self._items.get(turn_id)
        return item["event"] if item else None

    def touched(self) -> None:
        """An event handed out by :meth:`waiting` was changed: save it."""
        self._changed()

    def release(self, turn_id: str) -> None:
        """Send ``turn_id`` with the next batch (its window closed early)."""
        item = self._items.get(turn_id)
        if item is not None:
            item["due"] = 0.0
            self._changed()

    async def async_send(self, *, force: bool = False) -> int:
        """Send what is due; how many the service acknowledged. Never raises."""
        now = time.time()
        if self._sending or (not force and now < self._next_try):
            return 0
        self._sending = True
        acknowledged = 0
        try:
            while True:
                due = [k for k, v in self._items.items() if v["due"] <= now][:BATCH_SIZE]
                if not due:
                    break
                done = await self._send_batch(due)
                if not done:
                    break
                acknowledged += done
        finally:
            self._sending = False
        return acknowledged

    async def _send_batch(self, turn_ids: list[str]) -> int:
        events = [self._items[k]["event"] for k in turn_ids]
        try:
            await self._client.events(events)
        except ServiceError as err:
            if err.status == 422 and len(events) > 1:
                return await self._one_by_one(turn_ids)
            if err.status in (400, 422):  # this event can never be stored: say so, drop it
                _LOGGER.error("the service rejected a turn event: %s", err)
                self.rejected += len(turn_ids)
                self._forget(turn_ids)
                return len(turn_ids)
            self._failed(str(err))
            return 0
        self._forget(turn_ids)
        self.sent += len(turn_ids)
        self._backoff_s = 0.0
        self._next_try = 0.0
        self.last_error = None
        return len(turn_ids)

    async def _one_by_one(self, turn_ids: list[str]) -> int:
        done = 0
        for turn_id in turn_ids:
            sent = await self._send_batch([turn_id])
            if not sent:
                break
            done += sent
        return done

    def _forget(self, turn_ids: list[str]) -> None:
        for turn_id in turn_ids:
            self._items.pop(turn_id, None)
        self._changed()

    def _failed(self, error: str) -> None:
        self._backoff_s = min(MAX_BACKOFF_S, max(1.0, self._backoff_s * 2))
        self._next_try = time.time() + self._backoff_s
        if error != self.last_error:
            _LOGGER.warning(
                "turn events wait (%d queued); retrying in %.0f s: %s",
                len(self._items),
                self._backoff_s,
                error,
            )
        self.last_error = error
