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

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import lightgbm as lgb
import numpy as np
from rapidfuzz import fuzz

from selflearn.errors import DataFileError
from selflearn.signals.rephrase import phonetic_key

__all__ = ["FEATURES", "MisheardModel", "Near", "could_be_misheard", "pair_features"]

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
_TRAIN = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "verbose": -1,
    "deterministic": True,
    "num_threads": 1,
}
ROUNDS = 300


# Words a recogniser drops or slips in without changing what is asked: English's closed
# classes (articles, pronouns, prepositions, auxiliaries, conjunctions) and "please".
FUNCTION_WORDS = frozenset(
    (
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "my",
        "your",
        "his",
        "her",
        "its",
        "our",
        "their",
        "me",
        "you",
        "him",
        "us",
        "them",
        "it",
        "i",
        "we",
        "they",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "with",
        "about",
        "into",
        "onto",
        "over",
        "as",
        "and",
        "or",
        "but",
        "so",
        "if",
        "then",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "am",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "can",
        "could",
        "will",
        "would",
        "shall",
        "should",
        "may",
        "might",
        "must",
        "please",
        "just",
        "some",
        "any",
        "up",
        "out",
        "off",
    )
)
_NUMBER_WORDS = frozenset(
    (
        "zero",
        "oh",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "sixty",
        "seventy",
        "eighty",
        "ninety",
        "hundred",
        "thousand",
        "million",
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "sixth",
        "seventh",
        "eighth",
        "ninth",
        "tenth",
        "half",
        "quarter",
    )
)


def _is_number(word: str) -> bool:
    return word.isdigit() or word in _NUMBER_WORDS


def _changed_spans(heard: list[str], said: list[str]) -> list[tuple[list[str], list[str]]]:
    """The stretches where the two differ, word by word: (heard words, said words); one
    side is empty where words were dropped or slipped in."""
    opcodes = difflib.SequenceMatcher(a=heard, b=said, autojunk=False).get_opcodes()
    return [(heard[a1:a2], said[b1:b2]) for tag, a1, a2, b1, b2 in opcodes if tag != "equal"]


def _alike(a: list[str], b: list[str]) -> float:
    """How alike two stretches of words sound (ratio of their Metaphone codes, 0–100)."""
    return fuzz.ratio(phonetic_key(" ".join(a)), phonetic_key(" ".join(b)))


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
    for a, b in _changed_spans(heard.split(), said.split()):
        if not a or not b:
            if any(w not in FUNCTION_WORDS for w in a + b):
                return False
        elif any(_is_number(w) for w in a + b) and _alike(a, b) < 80:
            return False
    return True


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
    spans = _changed_spans(heard, said)
    changed = sum(max(len(a), len(b)) for a, b in spans)
    alike = [_alike(a, b) for a, b in spans]
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


class MisheardModel:
    """P(the nearest request that worked is what was said), from :func:`pair_features`;
    ``threshold``: the probability above which its rewrites kept the precision target
    where it was trained (``info`` says how it was certified)."""

    def __init__(
        self, booster: lgb.Booster, threshold: float = 1.0, info: dict[str, object] | None = None
    ) -> None:
        self.booster = booster
        self.threshold = threshold
        self.info = info or {}

    def probability(self, text: str, near: Sequence[Near], known: int) -> float:
        if not near:
            return 0.0
        row = np.asarray([pair_features(text, near, known)], dtype=np.float64)
        return float(self.probabilities(row)[0])

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        # one thread: OpenMP's pool does not survive a fork (the A/B harness's workers)
        return np.asarray(self.booster.predict(rows, num_threads=1), dtype=np.float64)

    @classmethod
    def fit(cls, rows: np.ndarray, labels: np.ndarray, seed: int = 0) -> MisheardModel:
        """Trained on feature rows and 1/0 labels (the nearest was / was not what was said);
        the same rows and seed give the same model."""
        data = lgb.Dataset(rows, labels, feature_name=list(FEATURES), free_raw_data=True)
        return cls(lgb.train({**_TRAIN, "seed": seed}, data, ROUNDS))

    def save(self, path: Path) -> Path:
        path.write_text(self.booster.model_to_string(), encoding="utf-8")
        meta = {"threshold": self.threshold, "info": self.info}
        path.with_suffix(".json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> MisheardModel:
        try:
            booster = lgb.Booster(model_str=path.read_text(encoding="utf-8"))
            meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            threshold = float(meta["threshold"])
        except (OSError, KeyError, TypeError, ValueError, lgb.basic.LightGBMError) as exc:
            raise DataFileError(f"{path}: not a readable misheard-request model ({exc})") from exc
        if tuple(booster.feature_name()) != FEATURES:
            raise DataFileError(f"{path}: a misheard-request model of other features")
        return cls(booster, threshold, meta.get("info"))

    @classmethod
    def shipped(cls) -> MisheardModel:
        """The pre-trained model in the package (see :mod:`selflearn.sim.pretrain`)."""
        return _shipped()


@lru_cache(maxsize=1)
def _shipped() -> MisheardModel:
    with resources.as_file(resources.files("selflearn.rewrite").joinpath("data")) as folder:
        return MisheardModel.load(Path(folder) / PRIOR_FILE)


def shipped_path() -> Path:
    """Where the shipped model lives in a source checkout (``selflearn.sim.pretrain``
    writes it there)."""
    return Path(__file__).resolve().parent / "data" / PRIOR_FILE
