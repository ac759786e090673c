"""Ground truth: what was really said and meant, and which stage failed (DESIGN §3.1).

Written beside the turn log, keyed by ``turn_id``, and never read by a learner. The
failure point is the *first* component that failed irrecoverably: a misrecognition
the pipeline recovered from is ``none``; a misrecognition that changed what was
understood is ``asr``; otherwise the first of ``nlu`` (the intent), ``entity`` (the
targets), ``result`` (the action or answer) that went wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from selflearn.assistant.pipeline import Outcome
from selflearn.dialogue.annotate import FAILURE_POINTS
from selflearn.rewrite.base import normalize_utterance
from selflearn.sim.goals import Goal

__all__ = ["FAILURE_POINTS", "Judgement", "TruthRecord", "failure_point", "judge"]

_STAGE_ORDER = {"nlu": 0, "entity": 1, "result": 2}


@dataclass(frozen=True)
class Judgement:
    success: bool
    wrong_action: bool


def judge(goal: Goal, outcome: Outcome) -> Judgement:
    """Did ``outcome`` do what ``goal`` wanted, and did it do something unwanted?"""
    changed = dict(outcome.action.changed)
    wrong = bool(changed) and changed != goal.expected_changes
    if goal.query:
        targets = tuple(sorted(outcome.resolution.targets)) if outcome.resolution else ()
        success = (
            outcome.nlu.intent == goal.intent
            and not outcome.nlu.unmatched
            and targets == goal.expected_targets
            and outcome.action.status == "success"
            and not changed
        )
    else:
        success = outcome.action.status == "success" and changed == goal.expected_changes
    return Judgement(success, wrong and not success)


def _stage(goal: Goal, outcome: Outcome) -> str:
    """The first stage at which ``outcome`` departs from what ``goal`` needed."""
    nlu = outcome.nlu
    if nlu.intent != goal.intent:
        return "nlu"
    resolution = outcome.resolution
    targets = tuple(sorted(resolution.targets)) if resolution else ()
    if nlu.unmatched or (resolution is not None and resolution.status != "ok"):
        return "entity"
    if goal.expected_targets and targets != goal.expected_targets:
        return "entity"
    return "result"


def failure_point(
    goal: Goal,
    spoken: str,
    heard: str,
    outcome: Outcome,
    success: bool,
    clean: Callable[[], Outcome],
) -> str:
    """``none`` when the turn served the goal; otherwise the first stage that failed.

    ``clean`` runs the pipeline on what was really said (no recognition errors) on a
    copy of the home; it is only called when the recogniser changed the words.
    """
    if success:
        return "none"
    noisy = _stage(goal, outcome)
    if normalize_utterance(heard) == normalize_utterance(spoken):
        return noisy
    clean_outcome = clean()
    if judge(goal, clean_outcome).success:
        return "asr"
    clean_stage = _stage(goal, clean_outcome)
    # Misheard and failing earlier than the clean words would: the recogniser failed first.
    # Failing at the same stage either way: the words, not the hearing, were the problem.
    return "asr" if _STAGE_ORDER[noisy] < _STAGE_ORDER[clean_stage] else clean_stage


@dataclass(frozen=True)
class TruthRecord:
    """One line of the ground-truth file (the contract's fields, then the simulator's)."""

    turn_id: str
    spoken_text: str
    intent: str | None
    slots: dict[str, Any]
    failure_point: str
    defect: bool
    goal_id: str | None
    goal_success: bool | None
    rephrase_of: str | None
    wrong_action: bool
    household_id: str
    user_id: str | None
    day: int
    goal_kind: str | None
    source: str | None
    strategy: str | None
    attempt: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
