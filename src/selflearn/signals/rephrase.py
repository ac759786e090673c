"""The heuristic rephrase detector: the baseline every learned detector must beat.

A later utterance restates an earlier one when they sound or read alike, mean the same
intent, follow quickly, and the earlier one visibly failed (an error answer, a barge-in,
a "no") while the later one worked. Each cue is a weighted term of a logistic score; the weights are set by hand
from what the cues mean, not fitted to any ground truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import jellyfish
from rapidfuzz import fuzz

from selflearn.errors import ConfigError

__all__ = ["HeuristicRephraseDetector", "phonetic_key"]

FAILED_STATUSES = frozenset({"no_intent_match", "no_valid_targets", "failed_to_handle", "unknown"})


@lru_cache(maxsize=100_000)
def _word_key(word: str) -> str:
    cleaned = "".join(ch for ch in word if ch.isalpha())
    return jellyfish.metaphone(cleaned) if cleaned else ""


def phonetic_key(text: str) -> str:
    """The utterance as Metaphone codes, word by word ("turn of" ~ "turn off").

    >>> phonetic_key("turn of the light") == phonetic_key("turn off the light")
    True
    """
    return " ".join(k for w in text.lower().split() if (k := _word_key(w)))


@dataclass(frozen=True)
class HeuristicRephraseDetector:
    """Scores (earlier, later) pairs; a pair at or above ``threshold`` is a rephrase."""

    threshold: float = 0.5
    bias: float = -3.4
    w_similarity: float = 3.2
    w_intent: float = 0.9
    w_failed: float = 1.8
    w_gap: float = 0.06
    w_subset: float = 0.6
    w_recovered: float = 0.9

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(
                "HeuristicRephraseDetector", "threshold", self.threshold, "a float in [0, 1]"
            )

    def score(
        self,
        earlier: str,
        later: str,
        earlier_intent: str | None,
        later_intent: str | None,
        earlier_failed: bool,
        gap_s: float,
        later_succeeded: bool = False,
    ) -> float:
        """Probability-like score that ``later`` restates ``earlier``."""
        if not earlier or not later:
            return 0.0
        text = fuzz.ratio(earlier, later) / 100.0
        subset = fuzz.token_set_ratio(earlier, later) / 100.0
        sound = fuzz.ratio(phonetic_key(earlier), phonetic_key(later)) / 100.0
        if earlier_intent and later_intent and earlier_intent == later_intent:
            intent = 1.0
        elif earlier_intent and later_intent and not earlier_failed:
            intent = -1.0  # a different intent after a success: a new request
        else:
            intent = 0.0  # a failed turn's intent is a guess
        z = (
            self.bias
            + self.w_similarity * max(text, sound, 0.9 * subset)
            + self.w_subset * (subset >= 0.95)
            + self.w_intent * intent
            + self.w_failed * earlier_failed
            + self.w_recovered * (earlier_failed and later_succeeded)
            - self.w_gap * max(gap_s, 0.0)
        )
        return 1.0 / (1.0 + math.exp(-z))
