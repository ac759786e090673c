"""A little human annotation: which turns to label, the label file, and a simulated annotator.

Labels are a JSONL file, one object per labelled turn, keyed by ``turn_id``; every other
field may be left out (a partial label teaches what it says and nothing more)::

    {"turn_id": "h0003-002-0011-1", "failure_point": "asr", "defect": true,
     "goal_start": true, "goal_success": false, "intent": "HassTurnOn",
     "slots": {"name": "Desk Lamp"}}

``failure_point`` is one of :data:`FAILURE_POINTS`: the first component that failed
irrecoverably, ``none`` for a turn that served its goal (or recovered from a slip).
``goal_start``: this turn starts a new goal; ``goal_success``: the goal it belongs to was
served in the end; ``intent``/``slots``: what the user meant.

Annotation is dear, so :func:`pick_for_annotation` spends half of it on turns that look
defective (the assistant failed, was interrupted, or heard a similar request right after)
and half on the rest, at random. The simulator's ground truth stands in for annotators
(:func:`simulated_annotations`), through a single-pass error rate: each field of each label
is wrong with that probability, as one annotator working alone is.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from selflearn.errors import ConfigError, DataFileError

__all__ = [
    "ANNOTATOR_ERROR",
    "FAILURE_POINTS",
    "LABEL_FIELDS",
    "labels_from_truth",
    "pick_for_annotation",
    "read_failure_points",
    "read_labels",
    "simulated_annotations",
    "strata",
    "suspicion",
    "write_labels",
]

FAILURE_POINTS = ("false_wake", "asr", "nlu", "entity", "result", "none")
LABEL_FIELDS = ("failure_point", "defect", "goal_start", "goal_success", "intent", "slots")
ANNOTATOR_ERROR = 0.08  # a single annotator's error rate per field (the default)
_SUSPECT_SHARE = 0.7


def suspicion(row: Mapping[str, Any], nxt: Mapping[str, Any] | None) -> str:
    """Why a turn looks defective from the log alone, or ``"quiet"`` when nothing does: the
    first of failed, negative, barge_in, by_hand (the user put the action right by hand:
    switched it back, skipped or stopped it), low_wake, followed (another turn of the session
    came after it)."""
    if row["status"] not in ("success", None):
        return "failed"
    if row["feedback"] == "negative":
        return "negative"
    if row["barge_in_ms"] is not None:
        return "barge_in"
    if row.get("after_kinds"):
        return "by_hand"
    if (row["wake_score"] or 1.0) < 0.8:
        return "low_wake"
    if nxt is not None and nxt["session"] == row["session"]:
        return "followed"
    return "quiet"


def strata(rows: list[dict[str, Any]]) -> list[str]:
    """Each row's :func:`suspicion` (rows in session order, as ``flat_turns`` gives them)."""
    return [suspicion(r, rows[i + 1] if i + 1 < len(rows) else None) for i, r in enumerate(rows)]


def pick_for_annotation(rows: list[dict[str, Any]], n: int, *, seed: int = 0) -> list[str]:
    """``n`` turn ids to label (rows as :func:`~selflearn.dialogue.features.flat_turns`
    gives them): 70 % among turns that look defective, spread over the reasons they do (so
    a rare kind of trouble gets labels too), the rest at random among the others."""
    if n < 1:
        raise ConfigError("pick_for_annotation", "n", n, "an int >= 1")
    rng = random.Random(seed)
    groups: dict[str, list[str]] = {}
    for row, stratum in zip(rows, strata(rows), strict=True):
        groups.setdefault(stratum, []).append(row["turn_id"])
    for ids in groups.values():
        rng.shuffle(ids)
    rest = groups.pop("quiet", [])
    # each reason gets labels in proportion to the square root of how common it is: the
    # common one (a failed response) still most, rare ones (barge-ins, "no") many more
    # than their share
    want = min(round(n * _SUSPECT_SHARE), sum(map(len, groups.values())))
    roots = {k: math.sqrt(len(v)) for k, v in groups.items()}
    total = sum(roots.values())
    quota = {k: min(len(groups[k]), round(want * r / total)) for k, r in roots.items()}
    suspect = [t for k in sorted(groups) for t in groups[k][: quota[k]]]
    leftover = [t for k in sorted(groups) for t in groups[k][quota[k] :]]
    rng.shuffle(leftover)
    short = max(0, want - len(suspect))  # quotas rounded down: top up from the rest
    suspect += leftover[:short]
    picked = suspect + rest[: n - len(suspect)]
    picked += leftover[short:][: n - len(picked)]  # too few quiet turns: more suspects
    return sorted(picked)


def labels_from_truth(record: Mapping[str, Any]) -> dict[str, Any]:
    """The label a perfect annotator gives a turn, from the simulator's truth record."""
    goal = record.get("goal_id")
    return {
        "turn_id": record["turn_id"],
        "failure_point": record["failure_point"],
        "defect": bool(record["defect"]),
        "goal_start": bool(goal) and int(record.get("attempt") or 1) == 1,
        "goal_success": record.get("goal_success"),
        "intent": record.get("intent"),
        "slots": record.get("slots") or {},
    }


def _slip(field: str, value: Any, rng: random.Random, intents: list[str]) -> Any:
    if field == "failure_point":
        return rng.choice([p for p in FAILURE_POINTS if p != value])
    if field in ("defect", "goal_start", "goal_success"):
        return None if value is None else not value
    if field == "intent":
        others = [i for i in intents if i != value]
        return rng.choice(others) if others else value
    if field == "slots" and value:
        dropped = rng.choice(sorted(value))
        return {k: v for k, v in value.items() if k != dropped}
    return value


def simulated_annotations(
    truth: Iterable[Mapping[str, Any]],
    turn_ids: Iterable[str],
    *,
    error_rate: float = ANNOTATOR_ERROR,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Labels for ``turn_ids`` as a single annotator would give them: the truth, each
    field wrong with probability ``error_rate``."""
    if not 0.0 <= error_rate < 1.0:
        raise ConfigError("simulated_annotations", "error_rate", error_rate, "in [0, 1)")
    records = {r["turn_id"]: r for r in truth}
    intents = sorted({str(r["intent"]) for r in records.values() if r.get("intent")})
    rng = random.Random(seed)
    out = []
    for turn_id in turn_ids:
        record = records.get(turn_id)
        if record is None:
            continue
        label = labels_from_truth(record)
        for field in LABEL_FIELDS:
            if rng.random() < error_rate:
                label[field] = _slip(field, label[field], rng, intents)
        out.append(label)
    return out


def write_labels(labels: Iterable[Mapping[str, Any]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for label in labels:
            out.write(json.dumps(dict(label), separators=(",", ":")) + "\n")
    return path


def _check(label: Any, where: str) -> dict[str, Any]:
    if not isinstance(label, dict) or not isinstance(label.get("turn_id"), str):
        raise DataFileError(f"{where}: a label needs a string turn_id")
    point = label.get("failure_point")
    if point is not None and point not in FAILURE_POINTS:
        raise DataFileError(f"{where}: failure_point {point!r} is not one of {FAILURE_POINTS}")
    for field in ("defect", "goal_start", "goal_success"):
        if label.get(field) is not None and not isinstance(label[field], bool):
            raise DataFileError(f"{where}: {field} must be true, false or null")
    if label.get("intent") is not None and not isinstance(label["intent"], str):
        raise DataFileError(f"{where}: intent must be a string or null")
    if label.get("slots") is not None and not isinstance(label["slots"], dict):
        raise DataFileError(f"{where}: slots must be an object")
    unknown = sorted(set(label) - {"turn_id", *LABEL_FIELDS})
    if unknown:
        raise DataFileError(f"{where}: unknown field(s) {unknown}; known: {LABEL_FIELDS}")
    return label


def read_labels(path: Path) -> dict[str, dict[str, Any]]:
    """turn_id → label, from a label file; a malformed line is an error naming it."""
    if not path.is_file():
        raise DataFileError(f"{path}: no such label file")
    labels: dict[str, dict[str, Any]] = {}
    for number, label in _json_lines(path):
        label = _check(label, f"{path}:{number}")
        labels[label["turn_id"]] = label
    return labels


def _json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, value) for each non-blank line; a line that is not JSON is an error
    naming it."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataFileError(f"{path}:{number}: not JSON ({exc.msg})") from None


def read_failure_points(path: Path) -> dict[str, dict[str, Any]]:
    """turn_id → {failure_point, confidence, intent}, from what ``selflearn isolate`` wrote
    (.parquet or JSON lines); a malformed file is an error naming it."""
    if not path.is_file():
        raise DataFileError(
            f"{path}: no such failure-point file (write one with `selflearn isolate`)"
        )
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            rows = pq.read_table(path).to_pylist()
        except (OSError, pa.ArrowException) as exc:
            raise DataFileError(f"{path}: not a readable parquet file ({exc})") from None
    else:
        rows = [row for _, row in _json_lines(path)]
    points = {}
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not {"turn_id", "failure_point"} <= row.keys():
            raise DataFileError(f"{path}: row {number} lacks turn_id or failure_point")
        if row["failure_point"] not in FAILURE_POINTS:
            raise DataFileError(
                f"{path}: row {number}: failure point {row['failure_point']!r} is not one of "
                + ", ".join(FAILURE_POINTS)
            )
        points[str(row["turn_id"])] = row
    return points
