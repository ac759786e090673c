"""Does a later request restate an earlier one? A pair model over letters, sound and words.

A restatement is the same request again: said again after a mishearing ("what richard s is
miami located" → "what region is miami located in"), or said another way ("could you turn
the lights off" → "please turn the lights off"). A new request that shares words differs
where it matters: a name, a place, a number or a time changed for one that sounds nothing
like it ("make the living room blue" → "… red"), or a different request altogether. The
model reads only how the two are spelt and sound, which words changed (function words,
numbers, how common the changed words are in the language: a slot's value is rarer than a
carrier phrase), whether the two were read as the same intent, and whether the earlier
one visibly failed and the later one worked — never a domain's vocabulary, so one model
serves alarms, email and lights alike.

It ships pre-trained (:mod:`selflearn.sim.pretrain`: pairs of real recordings of half of
SLURP's sentences, and real users' phrasings in many domains heard through the simulated
recogniser), so a deployment reads restatements from its first turns; the rephrase model trained on a big enough log
(:mod:`selflearn.signals.span_train`) takes its weak labels from it. The same words again
after a request that worked is a deliberate repeat ("next song", "volume up"), never a
restatement, whatever the model says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from rapidfuzz import fuzz
from wordfreq import zipf_frequency

from selflearn.signals.prior import PriorModel
from selflearn.signals.rephrase import HeuristicRephraseDetector, phonetic_key
from selflearn.signals.said import correction_words, read_feedback
from selflearn.signals.words import FUNCTION_WORDS, is_number, sounds_alike, word_diff

__all__ = ["FEATURES", "PairCase", "RestatementModel", "restatement_features"]

FEATURES = (
    "closeness",  # ratio (0-100) of the two
    "shared_words",  # token set ratio
    "part_closeness",  # partial ratio
    "sound",  # ratio of the two as Metaphone codes
    "words_earlier",
    "words_later",
    "changed_spans",
    "share_changed",  # words in changed spans, of the longer request's
    "swapped_spans",
    "inserted_spans",  # words the later one has and the earlier lacks
    "dropped_spans",
    "least_alike_sound",  # of the swapped spans, how alike the least alike sound (0-100)
    "mean_alike_sound",
    "content_words_changed",  # changed words that are not function words
    "content_share",  # … of the changed words
    "rarest_changed",  # Zipf frequency in English of the rarest changed content word
    "mean_changed_frequency",
    "number_changed",  # a number changed for one that does not sound like it
    "identical",
    "content_added_or_dropped",
    "longest_common_run",  # words, in order, the two share in one stretch
    "common_words",  # words in stretches the two share
    "common_share",  # … of the longer request's words
    "same_intent",  # 1, 0, or missing where either was read as no intent
    "earlier_failed",  # an error answer, a barge-in or a "no"
    "later_worked",
)


_HEURISTIC = HeuristicRephraseDetector()


@dataclass(frozen=True)
class PairCase:
    """One (earlier, later) pair as a log shows it."""

    earlier: str
    later: str
    earlier_intent: str | None
    later_intent: str | None
    earlier_failed: bool
    later_worked: bool
    gap_s: float = 0.0

    @property
    def same_intent(self) -> bool | None:
        if self.earlier_intent is None or self.later_intent is None:
            return None
        return self.earlier_intent == self.later_intent

    @property
    def repeat(self) -> bool:
        """The same words again after a request that worked: said again on purpose."""
        return (
            self.earlier.split() == self.later.split()
            and not self.earlier_failed
            and self.same_intent is not False
        )


def restatement_features(
    earlier: str, later: str, same_intent: bool | None, earlier_failed: bool, later_worked: bool
) -> list[float]:
    """The features (:data:`FEATURES`) of one pair.

    >>> f = dict(zip(FEATURES, restatement_features(
    ...     "set an alarm for six", "set an alarm for seven", True, False, True)))
    >>> f["swapped_spans"], f["number_changed"]
    (1.0, 1.0)
    """
    a, b = earlier.split(), later.split()
    spans, runs = word_diff(a, b)
    swapped = [(x, y) for x, y in spans if x and y]
    alike = [sounds_alike(x, y) for x, y in swapped]
    changed = [w for x, y in spans for w in x + y]
    content = [w for w in changed if w not in FUNCTION_WORDS]
    frequency = [zipf_frequency(w, "en") for w in content]
    added_or_dropped = [w for x, y in spans if not (x and y) for w in x + y]
    # a number changed, unless swapped for something that sounds like it
    number = any(is_number(w) for w in added_or_dropped) or any(
        is_number(w) for (x, y), s in zip(swapped, alike, strict=True) if s < 80 for w in x + y
    )
    return [
        fuzz.ratio(earlier, later),
        fuzz.token_set_ratio(earlier, later),
        fuzz.partial_ratio(earlier, later),
        fuzz.ratio(phonetic_key(earlier), phonetic_key(later)),
        float(len(a)),
        float(len(b)),
        float(len(spans)),
        sum(max(len(x), len(y)) for x, y in spans) / max(len(a), len(b), 1),
        float(len(swapped)),
        float(sum(1 for x, _ in spans if not x)),
        float(sum(1 for _, y in spans if not y)),
        min(alike) if alike else 100.0,
        float(np.mean(alike)) if alike else 100.0,
        float(len(content)),
        len(content) / max(len(changed), 1),
        min(frequency) if frequency else 8.0,
        float(np.mean(frequency)) if frequency else 8.0,
        float(number),
        float(a == b),
        float(sum(1 for w in added_or_dropped if w not in FUNCTION_WORDS)),
        float(max(runs, default=0)),
        float(sum(runs)),
        sum(runs) / max(len(a), len(b), 1),
        np.nan if same_intent is None else float(same_intent),
        float(earlier_failed),
        float(later_worked),
    ]


def _heard_as_correction(case: PairCase) -> PairCase:
    """A later request that opens with a spoken correction ("no, I said …", "nope, …")
    says the earlier one failed, and restates it in the words after the lead."""
    rest = correction_words(case.later)
    if rest is None or read_feedback(rest).feedback is not None:
        return case  # no correction, or one that is all verdict ("no, stop")
    return replace(case, later=rest, earlier_failed=True)


class RestatementModel(PriorModel):
    """P(the later request restates the earlier one); a pair at or above ``threshold`` is a
    restatement. Reads pairs as :class:`~selflearn.signals.rephrase.HeuristicRephraseDetector`
    does, so either serves :func:`~selflearn.signals.compute.compute_signals`."""

    FEATURES = FEATURES
    WHAT = "restatement model"
    PACKAGE = "selflearn.signals"
    FILE = "restatement_prior.txt"

    def scores(self, cases: Sequence[PairCase]) -> list[float]:
        """P(restates) per pair; 0 for an empty side and for a deliberate repeat. A later
        request opening with a spoken correction is read as its words after the lead, the
        earlier as failed. After a visible failure the heuristic reads the pair too and the
        higher score counts: the real recordings the model learned most from come from
        silent logs, while the failure cue is the heuristic's strongest and checked on the
        simulator."""
        cases = [_heard_as_correction(c) for c in cases]
        asked = [i for i, c in enumerate(cases) if c.earlier and c.later and not c.repeat]
        rows = np.asarray(
            [
                restatement_features(
                    cases[i].earlier,
                    cases[i].later,
                    cases[i].same_intent,
                    cases[i].earlier_failed,
                    cases[i].later_worked,
                )
                for i in asked
            ],
            dtype=np.float64,
        ).reshape(len(asked), len(FEATURES))
        out = [0.0] * len(cases)
        for i, p in zip(asked, self.probabilities(rows), strict=True):
            c = cases[i]
            if c.earlier_failed:
                p = max(
                    p,
                    _HEURISTIC.score(
                        c.earlier,
                        c.later,
                        c.earlier_intent,
                        c.later_intent,
                        True,
                        c.gap_s,
                        c.later_worked,
                    ),
                )
            out[i] = float(p)
        return out

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
        """P(``later`` restates ``earlier``), in the heuristic's terms (``gap_s`` counts only
        after a visible failure, where the heuristic reads the pair too)."""
        case = PairCase(
            earlier, later, earlier_intent, later_intent, earlier_failed, later_succeeded, gap_s
        )
        return self.scores([case])[0]

    def describe(self) -> dict[str, Any]:
        return {"kind": "restatement model", "threshold": self.threshold, "info": self.info}
