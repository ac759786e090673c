"""Where a Wyoming proxy's rewrites come from and where its turns go.

A :class:`Source` answers ``rewrite`` within a budget — any error, timeout or missing answer
is None, and the proxy passes the original words on (fail open) — and takes the turns the
proxy saw. :class:`LocalSource` rewrites in process with artefacts learned by ``selflearn
learn`` and appends turns to a turn-log file; :class:`ServiceSource` asks a running
``selflearn serve`` and posts the turns to it in the background.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any, Protocol

from selflearn.rewrite.base import Rewrite, RewriteRequest, SupportsRewrite, rewrite_within

__all__ = ["LocalSource", "ServiceSource", "Source"]

DEFAULT_BUDGET_S = 0.05


class Source(Protocol):
    """Rewrites within a budget (None: the words pass unchanged) and takes turn events."""

    budget_s: float
    fail_opens: int

    async def rewrite(self, request: RewriteRequest) -> Rewrite | None: ...

    def log(self, event: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class LocalSource:
    """Learned artefacts in this process; turns appended to ``log_path`` (JSON Lines, the
    turn-event format, ready for ``selflearn ingest`` / ``selflearn learn``)."""

    def __init__(
        self,
        rewriter: SupportsRewrite | None,
        log_path: Path | None = None,
        budget_s: float = DEFAULT_BUDGET_S,
    ) -> None:
        self.rewriter = rewriter
        self.log_path = log_path
        self.budget_s = budget_s
        self.fail_opens = 0
        self._lock = threading.Lock()
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)

    async def rewrite(self, request: RewriteRequest) -> Rewrite | None:
        if self.rewriter is None:
            return None
        answer, failed = rewrite_within(self.rewriter, request, self.budget_s)
        self.fail_opens += failed
        return answer

    def log(self, event: dict[str, Any]) -> None:
        if self.log_path is None:
            return
        line = json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock, self.log_path.open("a", encoding="utf-8") as out:
            out.write(line)

    def close(self) -> None:
        return None


class ServiceSource:
    """A running ``selflearn serve``: rewrites asked within the budget, turns batched."""

    def __init__(
        self, url: str, token: str | None = None, budget_s: float = DEFAULT_BUDGET_S
    ) -> None:
        from selflearn.service.client import Client

        self.client = Client(url, token, budget_s=budget_s)
        self.budget_s = budget_s
        self.fail_opens = 0

    async def rewrite(self, request: RewriteRequest) -> Rewrite | None:
        try:
            answer = await asyncio.wait_for(
                asyncio.to_thread(
                    self.client.ask,
                    request.text,
                    user_id=request.user_id,
                    device_id=request.device_id,
                    device_type=request.device_type,
                    area=request.area,
                    context=dict(request.context or {}),
                    confidence=request.confidence,
                ),
                timeout=self.budget_s * 2,
            )
        except Exception:  # past the budget, or the thread could not run
            answer = None
            self.fail_opens += 1
        if answer is None:
            self.fail_opens = max(self.fail_opens, self.client.stats.rewrite_timeouts)
            return None
        target = answer.get("rewrite")
        choice = answer.get("choice") if isinstance(answer.get("choice"), dict) else None
        if not isinstance(target, str) or not target:
            # the words as heard; where the service chose them among close readings, the
            # choice is still logged with the turn
            return (
                Rewrite(request.text, request.text, "heard", 1.0, "service", 0, choice)
                if choice
                else None
            )
        score = answer.get("score")
        return Rewrite(
            request.text,
            target,
            str(answer.get("layer") or "service"),
            float(score) if isinstance(score, (int, float)) else 1.0,
            str(answer.get("method") or "service"),
            0,
            choice,
        )

    def log(self, event: dict[str, Any]) -> None:
        self.client.log(event)

    def close(self) -> None:
        self.client.close()
