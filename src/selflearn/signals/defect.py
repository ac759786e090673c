"""The implicit defect score: how likely a turn failed its user, from the log alone.

Cues (DESIGN §2 item 2): the answer's status, a barge-in, explicit feedback, a rephrase
that followed, giving up, a low recognition confidence, a marginal wake-word score. The
weights say how strongly each cue indicates a defect; they are set by hand.
"""

from __future__ import annotations

import math

__all__ = ["defect_score"]

STATUS_WEIGHT = {
    "success": 0.0,
    "no_intent_match": 2.6,
    "no_valid_targets": 2.4,
    "failed_to_handle": 2.0,
    "unknown": 1.5,
}


def defect_score(
    *,
    status: str | None,
    barge_in: bool,
    feedback: str | None,
    rephrased: float,
    abandoned: bool,
    asr_confidence: float | None,
    wake_score: float | None,
) -> float:
    """A score in (0, 1); higher means more likely a defect.

    >>> defect_score(status="success", barge_in=False, feedback=None, rephrased=0.0,
    ...              abandoned=False, asr_confidence=0.95, wake_score=0.95) < 0.2
    True
    >>> defect_score(status="no_intent_match", barge_in=False, feedback=None, rephrased=0.9,
    ...              abandoned=False, asr_confidence=0.6, wake_score=0.95) > 0.8
    True
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
    return 1.0 / (1.0 + math.exp(-z))
