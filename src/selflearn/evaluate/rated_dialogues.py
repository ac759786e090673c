"""Defects on real dialogues whose users rated every answer (USS: ReDial and CCPE parts).

Each user line becomes one turn event (its words, the system's answer after it), one
session per dialogue. A user line's rating judges the system's answer just before it, so
turn k counts as *unhappy* when the mean rating of user turn k+1 is at most 2.5. The
defect score is computed from the log alone — it never reads the ratings — and scored by
ROC AUC against that label.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from selflearn.errors import DataFileError
from selflearn.logs import events_to_table
from selflearn.logs.schema import TurnEvent

__all__ = ["defect_auc", "rated_log", "read_rated_dialogues", "roc_auc"]

UNHAPPY_AT_MOST = 2.5
_START = 1_767_225_600.0


def read_rated_dialogues(path: Path) -> list[list[dict[str, Any]]]:
    """Dialogues as lists of ``{"speaker", "text", "rating"}`` (rating: mean or None)."""
    if not path.is_file():
        raise DataFileError(f"{path}: no such file (rated dialogues, one line an utterance)")
    dialogues: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for n, line in enumerate(handle, 1):
            line = line.rstrip("\n")
            if not line.strip():
                if current:
                    dialogues.append(current)
                current = []
                continue
            parts = line.split("\t")
            if len(parts) < 2 or parts[0] not in ("USER", "SYSTEM"):
                raise DataFileError(f"{path}:{n}: not a 'USER'/'SYSTEM' tab-separated line")
            if parts[1] == "OVERALL":
                continue
            scores = [int(x) for x in (parts[3] if len(parts) > 3 else "").split(",") if x.strip()]
            current.append(
                {
                    "speaker": parts[0],
                    "text": parts[1],
                    "rating": sum(scores) / len(scores) if scores else None,
                }
            )
    if current:
        dialogues.append(current)
    return dialogues


def rated_log(
    dialogues: Sequence[Sequence[dict[str, Any]]], prefix: str = "d"
) -> tuple[list[TurnEvent], dict[str, bool]]:
    """The turn events of the user lines and, per turn, whether the user was unhappy with
    the answer to it (the next user line rated ≤ 2.5; turns with no rated next line are
    left out of the labels)."""
    events: list[TurnEvent] = []
    unhappy: dict[str, bool] = {}
    for d, dialogue in enumerate(dialogues):
        user_lines = [i for i, u in enumerate(dialogue) if u["speaker"] == "USER"]
        ts = _START + d * 3600.0
        for k, i in enumerate(user_lines):
            end = user_lines[k + 1] if k + 1 < len(user_lines) else len(dialogue)
            answer = " ".join(u["text"] for u in dialogue[i + 1 : end])
            turn_id = f"{prefix}{d}-{k}"
            events.append(
                TurnEvent.model_validate(
                    {
                        "schema_version": "1",
                        "turn_id": turn_id,
                        "session_id": f"{prefix}{d}",
                        "user_id": f"{prefix}{d}",
                        "device_id": f"{prefix}{d}",
                        "device_type": "phone",
                        "ts": ts,
                        "asr": {"text": dialogue[i]["text"], "confidence": None},
                        "nlu": {"intent": None, "slots": {}},
                        "response": {
                            "text": answer,
                            "status": "success" if answer else "unknown",
                            "duration_ms": 2000,
                        },
                        "context": {},
                    }
                )
            )
            ts += 6.0
            following = dialogue[user_lines[k + 1]] if k + 1 < len(user_lines) else None
            if following is not None and following["rating"] is not None:
                unhappy[turn_id] = following["rating"] <= UNHAPPY_AT_MOST
    return events, unhappy


def roc_auc(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """ROC AUC by ranks (ties share their mean rank)."""
    from scipy.stats import rankdata

    y = np.asarray(labels, dtype=bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(np.asarray(scores, dtype=np.float64))
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def defect_auc(paths: Sequence[Path]) -> dict[str, Any]:
    """The implicit defect score's ROC AUC against the users' own ratings, per file and
    all together."""
    from selflearn.signals import compute_signals

    out: dict[str, Any] = {}
    all_y: list[bool] = []
    all_s: list[float] = []
    for path in paths:
        events, unhappy = rated_log(read_rated_dialogues(path), prefix=path.stem)
        signals = compute_signals(events_to_table(events)).table.to_pylist()
        score = {row["turn_id"]: row["defect_score"] for row in signals}
        ids = sorted(unhappy)
        y = [unhappy[i] for i in ids]
        s = [score[i] for i in ids]
        all_y += y
        all_s += s
        out[path.stem] = {
            "turns": len(events),
            "labelled": len(ids),
            "unhappy": sum(y),
            "defect_score_auc": round(roc_auc(y, s), 4),
        }
    out["all"] = {
        "labelled": len(all_y),
        "unhappy": sum(all_y),
        "defect_score_auc": round(roc_auc(all_y, all_s), 4),
    }
    return out
