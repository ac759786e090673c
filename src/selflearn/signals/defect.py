"""The implicit defect score: how likely a turn failed its user, from the log alone.

Cues (DESIGN §2 item 2): the answer's status, a barge-in, explicit feedback, a rephrase
that followed, giving up, a low recognition confidence, a marginal wake-word score, and what
the user did by hand right after the action (DESIGN §2 item 11). The weights say how
strongly each cue indicates a defect; they are set by hand.
"""

from __future__ import annotations

import math
from collections.abc import Collection

__all__ = ["AFTER_ACTION_WEIGHT", "defect_score"]

STATUS_WEIGHT = {
    "success": 0.0,
    "no_intent_match": 2.6,
    "no_valid_targets": 2.4,
    "failed_to_handle": 2.0,
    "unknown": 1.5,
}
# What the user did by hand right after the action (the turn event's ``after_action``; the
# producer only lists what happened within its watch window, 20 s by default). Switching
# back what the assistant switched, or switching another device instead, is as plain as
# saying "no" (the same weight as negative feedback). Skipping or stopping what it started
# within seconds of asking for it says the item was wrong: alone, either makes a defect
# (just: people also skip a song they merely do not fancy now, or stop one to leave);
# beside any other cue it is certain.
AFTER_ACTION_WEIGHT = {"undone": 3.0, "other_device": 3.0, "skipped": 2.8, "stopped": 2.6}


def defect_score(
    *,
    status: str | None,
    barge_in: bool,
    feedback: str | None,
    rephrased: float,
    abandoned: bool,
    asr_confidence: float | None,
    wake_score: float | None,
    after_action: Collection[str] = (),
) -> float:
    """A score in (0, 1); higher means more likely a defect.

    >>> defect_score(status="success", barge_in=False, feedback=None, rephrased=0.0,
    ...              abandoned=False, asr_confidence=0.95, wake_score=0.95) < 0.2
    True
    >>> defect_score(status="no_intent_match", barge_in=False, feedback=None, rephrased=0.9,
    ...              abandoned=False, asr_confidence=0.6, wake_score=0.95) > 0.8
    True
    >>> defect_score(status="success", barge_in=False, feedback=None, rephrased=0.0,
    ...              abandoned=False, asr_confidence=None, wake_score=None,
    ...              after_action=["undone"]) > 0.5
    True

    ``after_action``: the kinds of what the user did by hand right after (``undone``,
    ``other_device``, ``skipped``, ``stopped``), each counted once.
    """
    z = -2.4 + STATUS_WEIGHT.get(status or "unknown", 1.5)
    z += 1.4 * barge_in
    z += {"negative": 3.0, "positive": -2.5}.get(feedback or "", 0.0)
    z += 3.2 * rephrased  # said again: the plainest sign it failed, whatever its status
    z += 0.6 * abandoned
    if asr_confidence is not None:
        z += 2.0 * max(0.0, 0.85 - asr_confidence)
    if wake_score is not None:
        z += 6.0 * max(0.0, 0.8 - wake_score)
    z += sum(AFTER_ACTION_WEIGHT.get(kind, 0.0) for kind in set(after_action))
    return 1.0 / (1.0 + math.exp(-z))
