"""Is a request one that works, misheard? A pair model over letters and sound.

A recogniser's error leaves a request *near* the words that were said: a word swapped for
one that sounds like it, a short word dropped or slipped in, two words run together. A
different request that happens to share words differs elsewhere: whole words that sound
nothing alike, or a name or number changed. Given a request nobody was seen to make work
and its nearest requests that did, the model says how likely the nearest is what was
said.

It learns only from how words sound and are spelt — closeness in letters and in sound,
how many words changed and how alike the changed ones sound, how far the next nearest
request of another meaning is — never from a domain's vocabulary, so one model serves
alarms, email and lights alike. The shipped model is pre-trained on broad data
(:mod:`selflearn.sim.pretrain`: real users' phrasings in many domains, heard through the
simulated recogniser) so that a deployment rewrites from its first restated failures;
the restatement memory calibrates its threshold on the user's own log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz

from selflearn.signals.prior import PriorModel
from selflearn.signals.rephrase import phonetic_key
from selflearn.signals.words import FUNCTION_WORDS, changed_spans, is_number, sounds_alike

__all__ = [
    "FEATURES",
    "MisheardModel",
    "Near",
    "could_be_misheard",
    "heard_alike",
    "pair_features",
]

PRIOR_FILE = "misheard_prior.txt"  # the booster; its threshold and report beside it (.json)
FEATURES = (
    "closeness",  # ratio (0-100) of the request and the nearest request that worked
    "meaning_margin",  # ... less the nearest's closeness that means something else
    "runner_up_margin",  # ... less the next nearest's, whatever it means
    "sound",  # ratio of the two as Metaphone codes
    "words_heard",
    "words_known",
    "words_changed",
    "share_changed",  # of the known request's words
    "least_alike_sound",  # of the changed spans, how alike the least alike sound
    "mean_alike_sound",
    "swapped_spans",
    "inserted_spans",  # words heard that the known request lacks
    "dropped_spans",  # words of the known request not heard
    "order_closeness",  # token sort ratio
    "part_closeness",  # partial ratio
    "changed_spans",
    "known_requests",  # log10 of how many requests it could have been (a sparse log's
    # nearest is far more often another request than a dense one's)
)


def could_be_misheard(heard: str, said: str) -> bool:
    """Could a recogniser have heard ``said`` as ``heard``? Every word one has and the other
    lacks outright is a function word (a recogniser drops and slips in "the", not "cold"
    or "bbc"), and every number in ``said`` was heard as itself or as something that
    sounds like it (never "set an alarm" for "set an alarm at six thirty").

    >>> could_be_misheard("turn of the light", "turn off the light")
    True
    >>> could_be_misheard("start radio", "start bbc radio")
    False
    >>> could_be_misheard("set an alarm at six am", "set an alarm at six thirty am")
    False
    """
    return _could_be_misheard(changed_spans(heard.split(), said.split()))


def _could_be_misheard(spans: list[tuple[list[str], list[str]]]) -> bool:
    for a, b in spans:
        if not a or not b:
            if any(w not in FUNCTION_WORDS for w in a + b):
                return False
        elif any(is_number(w) for w in a + b) and sounds_alike(a, b) < 80:
            return False
    return True


def heard_alike(heard: str, said: str, swap_alike: float) -> bool:
    """:func:`could_be_misheard`, and every stretch of words swapped for others sounds like
    them (Metaphone ratio at least ``swap_alike``) or is function words only ("a" → "the").

    >>> heard_alike("can i get a recipe for brownies", "can i get a recipe for eggs", 50)
    False
    >>> heard_alike("turn of the lights", "turn off the light", 50)
    True
    """
    if heard == said:
        return True
    spans = changed_spans(heard.split(), said.split())
    return _could_be_misheard(spans) and all(
        sounds_alike(a, b) >= swap_alike or all(w in FUNCTION_WORDS for w in a + b)
        for a, b in spans
        if a and b
    )


@dataclass(frozen=True)
class Near:
    """A request that worked, near the one asked: its words, meaning, closeness (0–100)."""

    text: str
    intent: str | None
    closeness: float


def pair_features(text: str, near: Sequence[Near], known: int) -> list[float]:
    """The features (:data:`FEATURES`) of ``text`` against ``near[0]``, the nearest of the
    ``known`` requests that worked, with the rest of ``near`` (nearest first) as the
    neighbourhood.

    >>> f = pair_features("turn of the light", [Near("turn off the light", "off", 97.1)], 50)
    >>> dict(zip(FEATURES, f))["swapped_spans"], dict(zip(FEATURES, f))["least_alike_sound"]
    (1.0, 100.0)
    """
    first = near[0]
    other_meaning = max(
        (n.closeness for n in near[1:] if n.intent is None or n.intent != first.intent),
        default=0.0,
    )
    runner_up = near[1].closeness if len(near) > 1 else 0.0
    heard, said = text.split(), first.text.split()
    spans = changed_spans(heard, said)
    changed = sum(max(len(a), len(b)) for a, b in spans)
    alike = [sounds_alike(a, b) for a, b in spans]
    return [
        first.closeness,
        first.closeness - other_meaning,
        first.closeness - runner_up,
        fuzz.ratio(phonetic_key(text), phonetic_key(first.text)),
        float(len(heard)),
        float(len(said)),
        float(changed),
        changed / max(len(said), 1),
        min(alike) if alike else 100.0,
        float(np.mean(alike)) if alike else 100.0,
        float(sum(1 for a, b in spans if a and b)),
        float(sum(1 for _, b in spans if not b)),
        float(sum(1 for a, _ in spans if not a)),
        fuzz.token_sort_ratio(text, first.text),
        fuzz.partial_ratio(text, first.text),
        float(len(spans)),
        float(np.log10(max(known, 1))),
    ]


class MisheardModel(PriorModel):
    """P(the nearest request that worked is what was said), from :func:`pair_features`;
    ``threshold``: the probability above which its rewrites kept the precision target
    where it was trained (``info`` says how it was certified)."""

    FEATURES = FEATURES
    WHAT = "misheard-request model"
    PACKAGE = "selflearn.rewrite"
    FILE = PRIOR_FILE

    def probability(self, text: str, near: Sequence[Near], known: int) -> float:
        if not near:
            return 0.0
        row = np.asarray([pair_features(text, near, known)], dtype=np.float64)
        return float(self.probabilities(row)[0])


def shipped_path() -> Path:
    """Where the shipped model lives in a source checkout (``selflearn.sim.pretrain``
    writes it there)."""
    return MisheardModel.shipped_path()
