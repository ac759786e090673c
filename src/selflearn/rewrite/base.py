"""What a rewriter is asked and what it answers (DESIGN §2 items 4–5, §3.2)."""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from selflearn.assistant.speech import tokenize

__all__ = [
    "Considered",
    "Rewrite",
    "RewriteRequest",
    "SupportsRewrite",
    "first_served",
    "normalize_utterance",
    "precision_floor",
    "rewrite_within",
    "same_numbers",
    "same_words",
]

log = logging.getLogger(__name__)
_NUMBER = re.compile(r"\d+")


def normalize_utterance(text: str) -> str:
    """The key rewrites are looked up by: lower-case word tokens, single-spaced.

    >>> normalize_utterance("Turn ON the  kitchen light!")
    'turn on the kitchen light'
    """
    return " ".join(tokenize(text))


def same_numbers(text: str, said: str) -> bool:
    """Do the two say the same numbers, in order ("for 6" is never "for 7")?"""
    return _NUMBER.findall(text) == _NUMBER.findall(said)


def same_words(text: str, said: str) -> bool:
    """Nearly the same words (token-set ratio ≥ 80): where no device or slot can be compared,
    what still says two requests mean the same — not "turn on my coffee pot" for "turn on
    my balcony light", one intent apart from nothing."""
    from rapidfuzz import fuzz

    return fuzz.token_set_ratio(text, said) >= 80


def precision_floor(right: float, judged: float, z: float = 1.0) -> float:
    """The Wilson lower bound of a precision of ``right`` in ``judged``: what a threshold
    may be trusted to keep, not what a few lucky rewrites showed (39 of 42 right is 0.93
    measured, 0.88 trusted at ``z`` = 1; 930 of 1,000 is 0.92).

    >>> round(precision_floor(39, 42), 3), round(precision_floor(930, 1000), 3)
    (0.878, 0.921)
    """
    if judged <= 0:
        return 0.0
    p = right / judged
    z2 = z * z
    centre = p + z2 / (2 * judged)
    spread = z * math.sqrt(p * (1 - p) / judged + z2 / (4 * judged * judged))
    return (centre - spread) / (1 + z2 / judged)


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
    ts: float | None = None  # when it was said (epoch seconds; None: now)


@dataclass(frozen=True)
class Rewrite:
    """A decision to replace ``source`` with ``target``; recorded in the turn event."""

    source: str
    target: str
    layer: str
    score: float
    method: str = "table"
    support: int = 0  # the evidence behind it, where the learner counts any
    # the interpretations it was chosen among, as the turn event's ``choice`` (None: none)
    choice: dict[str, Any] | None = field(default=None, compare=False)

    def as_event(self) -> dict[str, Any]:
        """The turn event's ``rewrite`` object (DESIGN §3.1)."""
        return {"from": self.source, "to": self.target, "layer": self.layer, "score": self.score}


@dataclass(frozen=True)
class Considered:
    """The best rewrite one layer found for a request, with the figure it was judged by,
    and why it was withheld (None: it is served). What :meth:`Rewriter.consider` lists, so
    an owner can read why a failing request is, or is not, rewritten."""

    target: str
    layer: str
    method: str
    score: float
    threshold: float
    support: int = 0
    withheld: str | None = None

    def served(self, source: str) -> Rewrite | None:
        """The rewrite, unless it was withheld."""
        if self.withheld is not None:
            return None
        return Rewrite(source, self.target, self.layer, self.score, self.method, self.support)


def first_served(source: str, considered: list[Considered]) -> Rewrite | None:
    """The rewrite of the first of ``considered`` not withheld, or None."""
    found = next((c for c in considered if c.withheld is None), None)
    return found.served(source) if found is not None else None


@runtime_checkable
class SupportsRewrite(Protocol):
    """Anything that may rewrite an utterance before intent matching.

    Return None to let the original pass through. The assistant treats an exception
    or an answer later than its time budget as None (fail open).
    """

    def rewrite(self, request: RewriteRequest) -> Rewrite | None: ...


def rewrite_within(
    rewriter: SupportsRewrite, request: RewriteRequest, budget_s: float
) -> tuple[Rewrite | None, bool]:
    """What ``rewriter`` answers, taken as a caller must take it (fail open): ``(answer,
    False)``, or ``(None, True)`` when it raised or answered later than ``budget_s``."""
    start = time.perf_counter()
    try:
        answer = rewriter.rewrite(request)
    except Exception:  # fail open: the original passes through, whatever went wrong
        log.warning("rewriter failed; the original utterance passes through", exc_info=True)
        return None, True
    if time.perf_counter() - start > budget_s:
        return None, True
    return answer, False
