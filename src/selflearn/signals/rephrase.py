"""The heuristic rephrase detector: the baseline every learned detector must beat.

A later utterance restates an earlier one when they sound or read alike and follow
quickly. Other cues weigh in: the same intent read in both; the earlier one visibly failed
(an error answer, a barge-in, a "no") and the later one worked. A close restatement counts
even after a ``success`` read as another intent: that is how a misrecognition looks in a
real log (the recogniser mishears, the matcher confidently picks another intent, the
assistant answers ``success``, and the user says it again). What does not count, however
alike it reads: the same words again after a request that worked (a deliberate repeat:
"next song", "volume up"), and a request that swaps a word for one that sounds nothing like
it ("set an alarm for six" → "set an alarm for seven": a new request, not a mishearing).
Each cue is a weighted term of a logistic score; the weights were set by hand from what
the cues mean and checked on real recordings (``benchmarks/real_logs.py``).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from functools import lru_cache

import jellyfish
from rapidfuzz import fuzz

from selflearn.errors import ConfigError

__all__ = ["HeuristicRephraseDetector", "PairCues", "pair_cues", "phonetic_key"]

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
class PairCues:
    """How two utterances compare, word by word and sound by sound.

    ``text``, ``sound``, ``subset``: alike in letters, in sound, in shared words (0–1);
    ``identical``: the same words; ``swap``: how unlike in sound the least alike pair of
    swapped words is (0 when every swapped word sounds like its replacement, as a mishearing
    does; near 1 for "six" → "seven" or "kitchen" → "bedroom"); ``contained``: one holds all
    of the other's words; ``fewest_words``: the shorter one's length.
    """

    text: float
    sound: float
    subset: float
    identical: bool
    swap: float
    contained: bool
    fewest_words: int

    @property
    def similarity(self) -> float:
        """The best of letters, sound and shared words."""
        return max(self.text, self.sound, 0.9 * self.subset)


def _segment_sound(a: list[str], b: list[str]) -> float:
    ka, kb = " ".join(_word_key(w) for w in a), " ".join(_word_key(w) for w in b)
    letters = fuzz.ratio(" ".join(a), " ".join(b)) / 100.0
    return max(letters, fuzz.ratio(ka, kb) / 100.0 if ka and kb else 0.0)


@lru_cache(maxsize=50_000)
def pair_cues(earlier: str, later: str) -> PairCues:
    """The cues of one pair of utterances (lower-cased, single-spaced words)."""
    a, b = earlier.lower().split(), later.lower().split()
    text = fuzz.ratio(earlier, later) / 100.0
    subset = fuzz.token_set_ratio(earlier, later) / 100.0
    sound = fuzz.ratio(phonetic_key(earlier), phonetic_key(later)) / 100.0
    swap = 0.0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "replace":
            swap = max(swap, 1.0 - _segment_sound(a[i1:i2], b[j1:j2]))
    contained = bool(a and b) and (set(a) <= set(b) or set(b) <= set(a))
    return PairCues(
        text=text,
        sound=sound,
        subset=subset,
        identical=a == b,
        swap=swap,
        contained=contained,
        fewest_words=min(len(a), len(b)),
    )


@dataclass(frozen=True)
class HeuristicRephraseDetector:
    """Scores (earlier, later) pairs; a pair at or above ``threshold`` is a rephrase."""

    threshold: float = 0.5
    bias: float = -3.4
    w_similarity: float = 5.0
    w_intent: float = 0.9
    w_failed: float = 1.8
    w_gap: float = 0.06
    w_subset: float = 0.6
    w_recovered: float = 0.9
    close_from: float = 0.5  # similarity above which a pair is a close restatement
    w_close: float = 6.0
    w_swap: float = 9.0

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
        cues = pair_cues(earlier, later)
        both = bool(earlier_intent and later_intent)
        same_intent = both and earlier_intent == later_intent
        # the same words after a request that worked: said again on purpose
        if cues.identical and not earlier_failed and (same_intent or not both):
            return 0.0
        # Read as the same intent after a success, a word swapped for one that sounds
        # nothing like it is another request ("for six" → "for seven"); after a failure the
        # user may be correcting it, and read as another intent it is a mishearing's mark.
        swap = cues.swap * (not earlier_failed) * (not cues.contained) * (same_intent or not both)
        # closeness in letters or sound (shared words alone make "play jazz" ~ "play the news");
        # two short requests read alike by chance, so closeness grows with length
        alike = max(cues.text, cues.sound)
        short = min(1.0, cues.fewest_words / 4.0)
        close = short * (1.0 - swap) * max(0.0, alike - self.close_from) / (1.0 - self.close_from)
        if same_intent:
            intent = 1.0
        elif both and not earlier_failed:
            # a different intent after a success: a new request, unless it is close enough
            # to be the same words misheard (then the success was the mishearing's)
            intent = -2.0 + 3.0 * close
        else:
            intent = 0.0  # a failed turn's intent is a guess
        z = (
            self.bias
            + self.w_similarity * cues.similarity
            + self.w_subset * (cues.subset >= 0.95)
            + self.w_intent * intent
            + self.w_failed * earlier_failed
            + self.w_recovered * (earlier_failed and later_succeeded)
            + self.w_close * close
            - self.w_swap * swap
            - self.w_gap * max(gap_s, 0.0)
        )
        return 1.0 / (1.0 + math.exp(-z))
