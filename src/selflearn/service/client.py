"""The client an assistant uses: events batched in the background, rewrites within a budget.

:meth:`Client.log` queues a turn event and returns at once; a background thread sends
batches to ``POST /v1/events``, retrying with exponential back-off (and jitter) until the
service acknowledges them. :meth:`Client.rewrite` asks ``POST /v1/rewrite`` and gives up
after ``budget_s`` — the assistant then acts on the original words. Nothing here blocks the
assistant longer than its budget.

>>> client = Client("http://127.0.0.1:9", budget_s=0.05)   # nothing listens there
>>> client.rewrite("turn of the light") is None
True
>>> client.close()
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

from selflearn.errors import ConfigError
from selflearn.logs.schema import TurnEvent

__all__ = ["Client", "ClientStats"]

log = logging.getLogger(__name__)


@dataclass
class ClientStats:
    queued: int = 0
    sent: int = 0  # acknowledged by the service
    retries: int = 0
    rejected: int = 0  # refused by the service as invalid (4xx): not retried
    dropped: int = 0  # not queued: the queue was full
    rewrite_timeouts: int = 0


class Client:
    """Talks to a running ``selflearn serve``."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        batch_size: int = 200,
        flush_interval_s: float = 0.5,
        budget_s: float = 0.05,
        max_queue: int = 100_000,
        max_backoff_s: float = 10.0,
    ) -> None:
        if batch_size < 1:
            raise ConfigError("Client", "batch_size", batch_size, "an int >= 1")
        if budget_s <= 0:
            raise ConfigError("Client", "budget_s", budget_s, "a float > 0")
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.budget_s = budget_s
        self.max_backoff_s = max_backoff_s
        self.stats = ClientStats()
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=max_queue)
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=10.0)
        self._fast = httpx.Client(base_url=self.base_url, headers=headers, timeout=budget_s)
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._sender = threading.Thread(
            target=self._send_loop, name="selflearn-client", daemon=True
        )
        self._sender.start()

    # -- events -------------------------------------------------------------------------

    def log(self, event: TurnEvent | dict[str, Any]) -> bool:
        """Queue one turn event; False when the queue is full (the event is not kept)."""
        data = event.to_dict() if isinstance(event, TurnEvent) else event
        try:
            self._queue.put_nowait(data)
        except queue.Full:
            self.stats.dropped += 1
            return False
        self._idle.clear()
        self.stats.queued += 1
        return True

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued event is acknowledged (or ``timeout``); whether it was."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.empty() and self._idle.is_set():
                return True
            time.sleep(0.01)
        return False

    def _send_loop(self) -> None:
        while not self._stop.is_set() or not self._queue.empty():
            batch: list[dict[str, Any]] = []
            try:
                batch.append(self._queue.get(timeout=self.flush_interval_s))
            except queue.Empty:
                self._idle.set()
                continue
            while len(batch) < self.batch_size:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._deliver(batch)
            if self._queue.empty():
                self._idle.set()

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        """Send until acknowledged; a batch the service calls invalid is not retried."""
        delay = 0.05
        while True:
            try:
                response = self._http.post("/v1/events", json={"events": batch})
            except Exception as exc:  # the service is down or restarting: wait and retry
                status, detail = None, str(exc)
            else:
                status, detail = response.status_code, response.text[:200]
            if status is not None and 200 <= status < 300:
                self.stats.sent += len(batch)
                return
            if status is not None and 400 <= status < 500 and status not in (401, 408, 429):
                log.error("the service refused %d events (%s): %s", len(batch), status, detail)
                self.stats.rejected += len(batch)
                return
            self.stats.retries += 1
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2.0, self.max_backoff_s)

    # -- rewrite and teach -------------------------------------------------------------

    def rewrite(self, text: str, **request: Any) -> str | None:
        """The words to act on instead of ``text``, or None (also on error or timeout).
        ``request``: the speaker and where it was said, as :meth:`ask` takes them."""
        answer = self.ask(text, **request)
        target = answer.get("rewrite") if answer else None
        return target if isinstance(target, str) and target else None

    def ask(
        self,
        text: str,
        *,
        user_id: str | None = None,
        device_id: str | None = None,
        device_type: str | None = None,
        area: str | None = None,
        context: dict[str, Any] | None = None,
        confidence: float | None = None,
    ) -> dict[str, Any] | None:
        """The service's whole answer for ``text`` (rewrite, score, layer, method, version),
        or None on error or timeout."""
        body = {
            "text": text,
            "user_id": user_id,
            "device_id": device_id,
            "device_type": device_type,
            "area": area,
            "context": context or {},
            "confidence": confidence,
        }
        try:
            response = self._fast.post("/v1/rewrite", json=body)
            if response.status_code != 200:
                return None
            answer = response.json()
        except Exception:
            self.stats.rewrite_timeouts += 1
            return None
        return answer if isinstance(answer, dict) else None

    def teach(self, user_id: str, text: str, turn_id: str | None = None) -> dict[str, Any] | None:
        """What the service made of a teaching utterance, or None if it was not one."""
        response = self._http.post(
            "/v1/teach", json={"user_id": user_id, "text": text, "turn_id": turn_id}
        )
        if response.status_code == 422:
            return None
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def close(self, timeout: float = 10.0) -> None:
        """Send what is queued (waiting up to ``timeout``), then stop."""
        self.flush(timeout)
        self._stop.set()
        self._sender.join(timeout=1.0)
        self._http.close()
        self._fast.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
