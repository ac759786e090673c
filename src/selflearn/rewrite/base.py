"""What a rewriter is asked and what it answers (DESIGN §2 items 4–5, §3.2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from selflearn.assistant.speech import tokenize

__all__ = ["Rewrite", "RewriteRequest", "SupportsRewrite", "normalize_utterance"]


def normalize_utterance(text: str) -> str:
    """The key rewrites are looked up by: lower-case word tokens, single-spaced.

    >>> normalize_utterance("Turn ON the  kitchen light!")
    'turn on the kitchen light'
    """
    return " ".join(tokenize(text))


@dataclass(frozen=True)
class RewriteRequest:
    """One recognised utterance about to be matched, with who said it where."""

    text: str
    user_id: str | None = None
    device_id: str | None = None
    device_type: str | None = None
    area: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    confidence: float | None = None  # the recogniser's confidence in ``text``


@dataclass(frozen=True)
class Rewrite:
    """A decision to replace ``source`` with ``target``; recorded in the turn event."""

    source: str
    target: str
    layer: str
    score: float
    method: str = "table"
    support: int = 0  # the evidence behind it, where the learner counts any

    def as_event(self) -> dict[str, Any]:
        """The turn event's ``rewrite`` object (DESIGN §3.1)."""
        return {"from": self.source, "to": self.target, "layer": self.layer, "score": self.score}


@runtime_checkable
class SupportsRewrite(Protocol):
    """Anything that may rewrite an utterance before intent matching.

    Return None to let the original pass through. The assistant treats an exception
    or an answer later than its time budget as None (fail open).
    """

    def rewrite(self, request: RewriteRequest) -> Rewrite | None: ...
