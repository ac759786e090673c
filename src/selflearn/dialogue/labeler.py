"""Running a trained dialogue model over a log: per-turn failure points (``selflearn
isolate``) and generated labels (``selflearn label``), each with its confidence (DESIGN
§3.3). Needs torch.

A generated label's slots are what the assistant understood on the turn that served the
goal: the goal's last turn that worked with the meant intent (none if no turn did).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from selflearn.dialogue.features import TurnFeatures, turn_features
from selflearn.dialogue.learner import DIALOGUE_DIR, DialogueModel, Predictions, encode_turns
from selflearn.errors import DataFileError
from selflearn.rewrite.encoder import SentenceEncoder

__all__ = [
    "DIALOGUE_DIR",
    "FAILURE_POINT_SCHEMA",
    "LABEL_SCHEMA",
    "failure_point_table",
    "isolate_log",
    "label_table",
    "load_dialogue_model",
    "predict_log",
]

FAILURE_POINT_SCHEMA = pa.schema(
    [
        ("turn_id", pa.string()),
        ("failure_point", pa.string()),
        ("confidence", pa.float64()),
        ("intent", pa.string()),  # what the user meant, as the model reads it
    ]
)
LABEL_SCHEMA = pa.schema(
    [
        ("turn_id", pa.string()),
        ("defect", pa.bool_()),
        ("defect_confidence", pa.float64()),
        ("goal_start", pa.bool_()),
        ("goal_start_confidence", pa.float64()),
        ("goal_success", pa.bool_()),
        ("goal_success_confidence", pa.float64()),
        ("intent", pa.string()),
        ("intent_confidence", pa.float64()),
        ("slots", pa.string()),  # JSON, as in the turn log
        ("slots_confidence", pa.float64()),
    ]
)


def load_dialogue_model(artefacts: Path) -> DialogueModel:
    folder = artefacts / DIALOGUE_DIR
    if not folder.is_dir():
        raise DataFileError(
            f"{folder}: no dialogue model; run `selflearn learn --annotations LABELS` first"
        )
    return DialogueModel.load(folder)


def predict_log(
    turns: pa.Table,
    model: DialogueModel,
    *,
    encoder: SentenceEncoder | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[TurnFeatures, Predictions]:
    """Every turn's features and the model's probabilities for it."""
    features, _ = turn_features(turns, model.vocabulary)
    vectors = encode_turns(features, encoder or SentenceEncoder(threads=2), progress)
    return features, model.predict(features, vectors)


def failure_point_table(predictions: Predictions) -> pa.Table:
    points, confidence = predictions.failure_points()
    return pa.table(
        {
            "turn_id": predictions.turn_ids,
            "failure_point": points,
            "confidence": confidence.astype(np.float64).round(4),
            "intent": _meant(predictions),
        },
        schema=FAILURE_POINT_SCHEMA,
    )


def isolate_log(turns: pa.Table, artefacts: Path) -> dict[str, dict[str, Any]]:
    """turn_id → failure point, confidence and meant intent, by the dialogue model in
    ``artefacts`` (as ``selflearn isolate`` writes them)."""
    _, predictions = predict_log(turns, load_dialogue_model(artefacts))
    return {r["turn_id"]: r for r in failure_point_table(predictions).to_pylist()}


def _meant(predictions: Predictions) -> list[str | None]:
    intents = [predictions.intents[i] for i in predictions.intent.argmax(axis=1)]
    return [None if i in ("<none>", "<unknown>") else i for i in intents]


def _sure(p: np.ndarray) -> np.ndarray:
    """The confidence of a yes/no decision taken at 0.5."""
    sure: np.ndarray = np.maximum(p, 1.0 - p).astype(np.float64).round(4)
    return sure


def _slots(
    features: TurnFeatures, starts: np.ndarray, intents: list[str]
) -> tuple[list[str], list[float]]:
    """Per turn: the slots of its goal's last turn that worked with the meant intent."""
    slots: list[str] = ["{}"] * len(features)
    found: list[float] = [0.0] * len(features)
    for a, b in features.sessions():
        goal: list[int] = []
        for i in [*range(a, b), b]:
            if goal and (i == b or starts[i]):
                served = [
                    j
                    for j in goal
                    if features.rows[j]["status"] == "success"
                    and features.rows[j]["intent"] == intents[j]
                ]
                if served:
                    for j in goal:
                        slots[j] = features.rows[served[-1]]["slots"] or "{}"
                        found[j] = 1.0
                goal = []
            if i < b:
                goal.append(i)
    return slots, found


def label_table(features: TurnFeatures, predictions: Predictions) -> pa.Table:
    """Generated labels for every turn, each with its confidence."""
    intents = [predictions.intents[i] for i in predictions.intent.argmax(axis=1)]
    meant = _meant(predictions)
    starts = predictions.goal_start >= 0.5
    starts[features.starts[:-1]] = True  # a session starts a goal
    slots, found = _slots(features, starts, intents)
    intent_confidence = predictions.intent.max(axis=1).astype(np.float64).round(4)
    success = predictions.goal_success
    return pa.table(
        {
            "turn_id": predictions.turn_ids,
            "defect": predictions.defect >= 0.5,
            "defect_confidence": _sure(predictions.defect),
            "goal_start": starts,
            "goal_start_confidence": _sure(predictions.goal_start),
            "goal_success": success >= 0.5,
            "goal_success_confidence": _sure(success),
            "intent": meant,
            "intent_confidence": intent_confidence,
            "slots": slots,
            "slots_confidence": (intent_confidence * np.array(found)).round(4),
        },
        schema=LABEL_SCHEMA,
    )


def write_table(table: pa.Table, path: Path) -> Path:
    """Parquet for ``.parquet``, JSON lines otherwise."""
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        pq.write_table(table, path, compression="zstd")
        return path
    with path.open("w", encoding="utf-8") as out:
        for row in table.to_pylist():
            out.write(json.dumps(_plain(row), separators=(",", ":")) + "\n")
    return path


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    if isinstance(row.get("slots"), str):
        row = {**row, "slots": json.loads(row["slots"])}
    return row
