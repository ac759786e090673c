"""How good the signals are, against the simulator's ground truth (never used to learn)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from scipy.stats import rankdata

from selflearn.errors import DataFileError
from selflearn.rewrite.base import normalize_utterance

__all__ = ["auc", "read_truth", "signal_quality"]


def read_truth(path: Path) -> dict[str, dict[str, Any]]:
    """Ground truth by turn_id (JSON Lines, as :mod:`selflearn.sim` writes it)."""
    if not path.is_file():
        raise DataFileError(f"{path}: no such ground-truth file")
    truth: dict[str, dict[str, Any]] = {}
    with path.open(encoding="utf-8") as handle:
        for n, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                truth[str(record["turn_id"])] = record
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DataFileError(f"{path}:{n}: not a ground-truth record ({exc})") from exc
    return truth


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney), ties counted half.

    >>> round(auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])), 2)
    0.75
    """
    labels = labels.astype(bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _pr(tp: int, predicted: int, actual: int) -> dict[str, float]:
    precision = tp / predicted if predicted else 0.0
    recall = tp / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def signal_quality(signals: pa.Table, truth: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Rephrase precision/recall/F1, abandonment precision/recall, defect-score AUC."""
    rows = [r for r in signals.to_pylist() if r["turn_id"] in truth]
    if not rows:
        raise DataFileError("none of the signal turns are in the ground truth")
    tp = sum(
        r["rephrase_of"] is not None and r["rephrase_of"] == truth[r["turn_id"]]["rephrase_of"]
        for r in rows
    )
    predicted = sum(r["rephrase_of"] is not None for r in rows)
    actual = sum(truth[r["turn_id"]]["rephrase_of"] is not None for r in rows)
    # A goal was abandoned at its last turn when it never succeeded.
    last_of_goal: dict[str, str] = {}
    for turn_id, record in truth.items():
        goal = record.get("goal_id")
        if goal and record.get("goal_success") is False:
            best = last_of_goal.get(goal)
            if best is None or truth[best]["attempt"] < record["attempt"]:
                last_of_goal[goal] = turn_id
    abandoned_truth = set(last_of_goal.values())
    ab_tp = sum(r["abandoned"] and r["turn_id"] in abandoned_truth for r in rows)
    # Span: on the rephrases found, does the span name exactly the words that restate the
    # request? Judged where the recogniser heard the turn right (else no span could match).
    spans = [
        (
            normalize_utterance(r["rephrase_span"] or "") == normalize_utterance(t["span"]),
            normalize_utterance(t["span"]) != normalize_utterance(t["spoken_text"]),
        )
        for r in rows
        if r["rephrase_of"] is not None
        and (t := truth[r["turn_id"]])["rephrase_of"] == r["rephrase_of"]
        and t.get("span") is not None
        and normalize_utterance(t.get("heard") or "") == normalize_utterance(t["spoken_text"])
    ]
    labels = np.array([bool(truth[r["turn_id"]]["defect"]) for r in rows])
    scores = np.array([r["defect_score"] for r in rows])
    return {
        "turns": len(rows),
        "rephrase": {
            **_pr(tp, predicted, actual),
            "predicted": predicted,
            "actual": actual,
            "span_exact": round(sum(s for s, _ in spans) / len(spans), 4) if spans else None,
            "spans_judged": len(spans),
            # the spoken corrections alone ("no I said …"): the span is part of the turn
            "span_exact_corrections": round(
                sum(s for s, c in spans if c) / max(1, sum(c for _, c in spans)), 4
            ),
            "corrections_judged": sum(c for _, c in spans),
        },
        "abandoned": _pr(ab_tp, sum(r["abandoned"] for r in rows), len(abandoned_truth)),
        "defect_score_auc": round(auc(labels, scores), 4),
        "defect_rate_truth": round(float(labels.mean()), 4),
    }
