"""selflearn for OpenVoiceOS: an utterance transformer and a turn logger.

The transformer runs before intent matching: it asks the selflearn service (``POST
/v1/rewrite``) what to act on instead of the utterance and, when the service answers within
the budget with a learned rewrite, puts the rewrite first (the heard words stay as the next
hypothesis); on any error, timeout or no answer the utterances pass unchanged (fail open).

Bound to the message bus, it also logs each turn in selflearn's turn-event format: the
utterance and session from ``recognizer_loop:utterance``, the skill handler that ran, what was
spoken, and the outcome — ``ovos.utterance.handled`` (success) or ``complete_intent_failure``
(no intent matched) — posted to ``POST /v1/events`` in the background, retried until the
service acknowledges them.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

from ovos_plugin_manager.templates.transformers import UtteranceTransformer

__all__ = ["SelflearnTransformer", "ServiceClient"]

LOG = logging.getLogger(__name__)
PLUGIN_NAME = "selflearn-ovos-plugin"
DEFAULTS = {"url": "http://127.0.0.1:8321", "token": None, "budget_ms": 50, "shadow": False}


class ServiceClient:
    """The selflearn service over HTTP, standard library only."""

    def __init__(self, url: str, token: str | None, budget_s: float) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.budget_s = budget_s
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=100_000)
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._sender = threading.Thread(target=self._send_loop, name="selflearn-ovos", daemon=True)
        self._sender.start()
        self.sent = 0
        self.fail_opens = 0

    def _post(self, path: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                **({"Authorization": f"Bearer {self.token}"} if self.token else {}),
            },
        )
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            data = json.loads(answer.read() or b"{}")
        return data if isinstance(data, dict) else {}

    def rewrite(self, text: str, **request: Any) -> dict[str, Any] | None:
        """The service's answer for ``text``, or None on any error or past the budget."""
        started = time.perf_counter()
        try:
            answer = self._post("/v1/rewrite", {"text": text, **request}, self.budget_s)
        except Exception as err:  # fail open: the words go on unchanged
            LOG.debug("no rewrite: %s", err)
            self.fail_opens += 1
            return None
        if time.perf_counter() - started > self.budget_s:
            self.fail_opens += 1
            return None
        return answer

    def log(self, event: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(event)
            self._idle.clear()
        except queue.Full:
            LOG.warning("selflearn's turn queue is full; a turn was not logged")

    def flush(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.empty() and self._idle.is_set():
                return True
            time.sleep(0.02)
        return False

    def _send_loop(self) -> None:
        delay = 0.1
        while not self._stop.is_set():
            try:
                batch = [self._queue.get(timeout=0.5)]
            except queue.Empty:
                self._idle.set()
                continue
            while len(batch) < 200:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            while not self._stop.is_set():  # the same batch until it is acknowledged
                try:
                    self._post("/v1/events", {"events": batch}, 10.0)
                    self.sent += len(batch)
                    delay = 0.1
                    break
                except urllib.error.HTTPError as err:
                    if 400 <= err.code < 500 and err.code not in (401, 408, 429):
                        LOG.error("the service refused %d turn events: %s", len(batch), err)
                        break
                except Exception as err:
                    LOG.debug("turn events wait for the service: %s", err)
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
            if self._queue.empty():
                self._idle.set()

    def close(self) -> None:
        self.flush(10.0)
        self._stop.set()


@dataclass
class _Turn:
    turn_id: str
    ts: float
    text: str
    session: str
    lang: str | None
    rewrite: dict[str, Any] | None = None
    intent: str | None = None
    spoken: list[str] = field(default_factory=list)


def _session(context: dict[str, Any] | None) -> str:
    session = (context or {}).get("session") or {}
    return str(session.get("session_id") or "default") if isinstance(session, dict) else "default"


class SelflearnTransformer(UtteranceTransformer):
    """Rewrites before intent matching; logs each turn from the bus."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(PLUGIN_NAME, priority=10, config=config)
        settings = {**DEFAULTS, **(self.config or {})}
        self.shadow = bool(settings["shadow"])
        self.device_id = settings.get("device_id")
        self.client = ServiceClient(
            str(settings["url"]), settings.get("token"), float(settings["budget_ms"]) / 1000.0
        )
        self._turns: dict[str, _Turn] = {}  # session → the turn being handled
        self._rewrites: dict[tuple[str, str], dict[str, Any]] = {}  # (session, heard) → rewrite
        self._choices: dict[tuple[str, str], dict[str, Any]] = {}  # (session, heard) → choice
        self._lock = threading.Lock()

    # -- before intent matching ------------------------------------------------------------

    def transform(
        self, utterances: list[str], context: dict[str, Any] | None = None
    ) -> tuple[list[str], dict[str, Any]]:
        if not utterances or not utterances[0].strip():
            return utterances, {}
        heard = utterances[0]
        session = _session(context)
        answer = self.client.rewrite(
            heard,
            device_id=self.device_id or f"ovos:{session}",
            device_type="speaker",
            context={"session_id": session, "lang": (context or {}).get("lang")},
        )
        target = (answer or {}).get("rewrite")
        choice = (answer or {}).get("choice")
        if isinstance(choice, dict) and not self.shadow:
            # the service chose among readings it held close: logged with the turn
            with self._lock:
                self._choices[(session, heard)] = choice
        if not isinstance(target, str) or not target or target == heard or self.shadow:
            return utterances, {}
        rewrite = {
            "from": heard,
            "to": target,
            "layer": answer.get("layer") or "global",
            "score": answer.get("score"),
        }
        with self._lock:
            self._rewrites[(session, heard)] = rewrite
        return [target, *utterances], {"selflearn_rewrite": rewrite}

    # -- the turn log ------------------------------------------------------------------------

    def bind(self, bus: Any = None) -> None:
        super().bind(bus)
        self.bus.on("recognizer_loop:utterance", self._heard)
        self.bus.on("mycroft.skill.handler.start", self._handler)
        self.bus.on("speak", self._spoken)
        self.bus.on("ovos.utterance.handled", self._handled)
        self.bus.on("complete_intent_failure", self._failed)

    def _heard(self, message: Any) -> None:
        utterances = message.data.get("utterances") or []
        if not utterances:
            return
        session = _session(message.context)
        self._close(session, None)  # a turn that never reported its outcome
        with self._lock:
            self._turns[session] = _Turn(
                uuid.uuid4().hex,
                time.time(),
                str(utterances[0]),
                session,
                message.data.get("lang"),
            )

    def _handler(self, message: Any) -> None:
        with self._lock:
            turn = self._turns.get(_session(message.context))
            if turn is not None and turn.intent is None:
                turn.intent = message.data.get("name")

    def _spoken(self, message: Any) -> None:
        with self._lock:
            turn = self._turns.get(_session(message.context))
            if turn is not None and message.data.get("utterance"):
                turn.spoken.append(str(message.data["utterance"]))

    def _handled(self, message: Any) -> None:
        self._close(_session(message.context), "success")

    def _failed(self, message: Any) -> None:
        self._close(_session(message.context), "no_intent_match")

    def _close(self, session: str, status: str | None) -> None:
        with self._lock:
            turn = self._turns.pop(session, None)
            if turn is None:
                return
            rewrite = self._rewrites.pop((session, turn.text), None)
            choice = self._choices.pop((session, turn.text), None)
        local = time.localtime(turn.ts)
        self.client.log(
            {
                "schema_version": "2",
                "turn_id": turn.turn_id,
                "session_id": None,  # selflearn sessionizes by device and time
                "user_id": None,
                "device_id": self.device_id or f"ovos:{session}",
                "device_type": "speaker",
                "ts": turn.ts,
                "asr": {"text": turn.text, "confidence": None, "nbest": []},
                "nlu": {"intent": turn.intent, "slots": {}, "confidence": None},
                "response": {"text": " ".join(turn.spoken), "status": status or "unknown"},
                "context": {
                    "local_time": time.strftime("%H:%M", local),
                    "weekday": local.tm_wday,
                    "lang": turn.lang,
                    "ovos_session": session,
                },
                "rewrite": rewrite,
                **({"choice": choice} if choice is not None else {}),
            }
        )

    def default_shutdown(self) -> None:
        self.client.close()
