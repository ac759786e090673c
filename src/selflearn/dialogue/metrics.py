"""How generated labels compare with ground truth: confusion, recall, F1, and how precision
grows as a confidence threshold gives up coverage."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from selflearn.dialogue.annotate import (
    ANNOTATOR_ERROR,
    FAILURE_POINTS,
    labels_from_truth,
    simulated_annotations,
)
from selflearn.errors import DataFileError

if TYPE_CHECKING:
    from selflearn.dialogue.learner import Predictions

__all__ = ["against_truth", "binary_f1", "confusion", "precision_coverage", "silent_failures"]


def confusion(
    gold: Sequence[str], predicted: Sequence[str], classes: Sequence[str]
) -> dict[str, Any]:
    """Counts by (gold, predicted), accuracy, and each class's recall and precision.

    >>> c = confusion(["a", "a", "b"], ["a", "b", "b"], ["a", "b"])
    >>> c["accuracy"], c["recall"]["a"], c["precision"]["b"]
    (0.6667, 0.5, 0.5)
    """
    pairs = Counter(zip(gold, predicted, strict=True))
    matrix = {g: {p: pairs[(g, p)] for p in classes} for g in classes}
    recall: dict[str, float | None] = {}
    precision: dict[str, float | None] = {}
    for c in classes:
        truly = sum(matrix[c].values())
        said = sum(matrix[g][c] for g in classes)
        recall[c] = round(matrix[c][c] / truly, 4) if truly else None
        precision[c] = round(matrix[c][c] / said, 4) if said else None
    right = sum(pairs[(c, c)] for c in classes)
    return {
        "turns": len(gold),
        "accuracy": round(right / len(gold), 4) if gold else None,
        "recall": recall,
        "precision": precision,
        "matrix": matrix,
    }


def binary_f1(gold: np.ndarray, predicted: np.ndarray) -> float:
    """F1 of the positive class.

    >>> binary_f1(np.array([True, True, False]), np.array([True, False, False]))
    0.6667
    """
    tp = float(np.sum(gold & predicted))
    denominator = float(np.sum(gold) + np.sum(predicted))
    return round(2 * tp / denominator, 4) if denominator else 1.0


def precision_coverage(
    confidence: np.ndarray, correct: np.ndarray, coverages: Sequence[float] = (1.0, 0.9, 0.75, 0.5)
) -> list[dict[str, float]]:
    """Accuracy of the labels kept when only the most confident share is kept.

    >>> precision_coverage(np.array([0.9, 0.8, 0.3, 0.2]), np.array([1, 1, 0, 1]), (1.0, 0.5))
    [{'coverage': 1.0, 'threshold': 0.2, 'precision': 0.75}, {'coverage': 0.5, 'threshold': 0.8, 'precision': 1.0}]
    """
    order = np.argsort(-confidence, kind="stable")
    out = []
    for coverage in coverages:
        k = max(1, round(coverage * len(order)))
        kept = order[:k]
        out.append(
            {
                "coverage": coverage,
                "threshold": round(float(confidence[kept[-1]]), 4),
                "precision": round(float(np.mean(correct[kept])), 4),
            }
        )
    return out


def silent_failures(
    rows: Sequence[Mapping[str, Any]], truth: Mapping[str, Mapping[str, Any]]
) -> set[str]:
    """The failed turns the user let pass: the assistant said it succeeded, and the user
    neither talked over it nor said "no" nor put it right by hand, and never tried that
    goal again (they got the
    wrong song and let it play). Only what the turn itself shows can give these away;
    where it shows nothing either (a title said as its near twin's), no reader of the log
    can tell them from turns that worked. False wakes are left out: the user was not
    talking to the assistant, and the wake itself is their trace.

    ``rows``: the flat turns (:func:`~selflearn.dialogue.features.flat_turns`)."""
    last: dict[str, int] = {}
    for each in truth.values():
        goal = each.get("goal_id")
        if goal is not None:
            last[str(goal)] = max(last.get(str(goal), 0), int(each.get("attempt") or 0))
    out = set()
    for row in rows:
        record = truth.get(str(row["turn_id"]))
        if record is None or record["failure_point"] in ("none", "false_wake"):
            continue
        tried_again = int(record.get("attempt") or 0) < last.get(str(record.get("goal_id")), 0)
        if (
            row["status"] == "success"
            and row["barge_in_ms"] is None
            and row["feedback"] != "negative"
            and not row.get("after_kinds")
            and not tried_again
        ):
            out.add(str(row["turn_id"]))
    return out


def against_truth(
    predictions: Predictions,
    truth: Mapping[str, Mapping[str, Any]],
    *,
    error_rate: float = ANNOTATOR_ERROR,
    seed: int = 0,
    silent: set[str] | None = None,
) -> dict[str, Any]:
    """The model's failure points, goal starts and goal successes scored against the
    simulator's truth, beside a single annotator's (the truth through ``error_rate``) on
    the same turns, with the model's precision as its confidence threshold rises.

    ``silent`` (:func:`silent_failures`): failure points are also scored without these
    turns, and each class's share of turns the user reacted to is given."""
    ids = [t for t in predictions.turn_ids if t in truth]
    if not ids:
        raise DataFileError("the truth file has none of the log's turns")
    at = {t: i for i, t in enumerate(predictions.turn_ids)}
    rows = np.array([at[t] for t in ids])
    gold = [labels_from_truth(truth[t]) for t in ids]
    annotator = {
        a["turn_id"]: a
        for a in simulated_annotations(
            (truth[t] for t in ids), ids, error_rate=error_rate, seed=seed
        )
    }
    points, confidence = predictions.failure_points()
    predicted = [points[i] for i in rows]
    said_points = [annotator[t]["failure_point"] for t in ids]
    out: dict[str, Any] = {
        "failure_point": confusion([g["failure_point"] for g in gold], predicted, FAILURE_POINTS),
        "annotator_failure_point_accuracy": round(
            float(
                np.mean([s == g["failure_point"] for s, g in zip(said_points, gold, strict=True)])
            ),
            4,
        ),
        "failure_point_by_confidence": precision_coverage(
            confidence[rows],
            np.array([p == g["failure_point"] for p, g in zip(predicted, gold, strict=True)]),
        ),
    }
    if silent is not None:
        traced = [k for k, t in enumerate(ids) if t not in silent]
        out["failure_point_traced"] = confusion(
            [gold[k]["failure_point"] for k in traced],
            [predicted[k] for k in traced],
            FAILURE_POINTS,
        )
        classes = Counter(g["failure_point"] for g in gold)
        quiet = Counter(gold[k]["failure_point"] for k, t in enumerate(ids) if t in silent)
        out["reacted_share"] = {
            c: round(1.0 - quiet[c] / classes[c], 4) if classes[c] else None for c in FAILURE_POINTS
        }
    for name in ("goal_start", "goal_success"):
        known = np.array([g[name] is not None for g in gold])
        truly = np.array([bool(g[name]) for g in gold])[known]
        p = getattr(predictions, name)[rows][known]
        said = np.array([bool(annotator[t][name]) for t in ids])[known]
        model = p >= 0.5
        out[name] = {
            "turns": int(known.sum()),
            "model_f1": binary_f1(truly, model),
            "annotator_f1": binary_f1(truly, said),
            "model_accuracy": round(float(np.mean(model == truly)), 4),
            "annotator_accuracy": round(float(np.mean(said == truly)), 4),
            "by_confidence": precision_coverage(np.maximum(p, 1 - p), model == truly),
        }
    return out
