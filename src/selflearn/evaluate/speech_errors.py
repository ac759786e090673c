"""Offline rewrites on real recogniser errors (SLURP recordings with their transcripts).

Each record is one recording: the sentence that was said, what the recogniser heard, the
gold intent, and the intent an NLU read in the transcript. A transcript *worked* when that
intent is the gold one. The records are split by recording (a stable hash of the file
name). From the mining part we build turn logs in the §3.1 format: a recording whose
transcript failed (the user says "no"), followed 6 s later by another recording of the same
sentence whose transcript worked, plus every working transcript on its own. The miner sees
only that log; the held-out recordings are then rewritten and judged by the intent of the
text they were rewritten to.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from selflearn.errors import DataFileError
from selflearn.logs import events_to_table
from selflearn.logs.schema import TurnEvent
from selflearn.rewrite import RewriteRequest, normalize_utterance
from selflearn.rewrite.markov import MarkovConfig, MarkovMiner
from selflearn.signals import compute_signals

__all__ = ["evaluate_speech_errors", "read_asr_pairs"]

START_TS = 1_767_225_600.0  # sessions are laid out one per hour from here


def read_asr_pairs(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise DataFileError(f"{path}: no such file (SLURP recordings with transcripts)")
    records = []
    with path.open(encoding="utf-8") as handle:
        for n, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                records.append(
                    {
                        "file": str(row["file"]),
                        "sentence_id": str(row["slurp_id"]),
                        "gold_sentence": str(row.get("gold_sentence", "")),
                        "heard": normalize_utterance(str(row["asr_text"])),
                        "gold_intent": str(row["gold_intent"]),
                        "read_intent": row.get("pred_intent"),
                    }
                )
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DataFileError(f"{path}:{n}: not a recording record ({exc})") from exc
    return records


def _held_out(file: str, share: float) -> bool:
    digest = hashlib.sha256(file.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def _event(turn_id: str, ts: float, record: dict[str, Any], worked: bool) -> TurnEvent:
    return TurnEvent.model_validate(
        {
            "schema_version": "1",
            "turn_id": turn_id,
            "user_id": f"user-{turn_id.split(':')[0]}",  # one person per session
            "device_id": f"device-{turn_id.split(':')[0]}",
            "device_type": "speaker",
            "ts": ts,
            "asr": {"text": record["heard"], "confidence": None},
            "nlu": {"intent": record["read_intent"], "slots": {}},
            "response": {"text": "done", "status": "success", "duration_ms": 1200},
            "feedback": None if worked else "negative",
            "context": {},
        }
    )


def build_log(records: list[dict[str, Any]]) -> list[TurnEvent]:
    """Sessions of the mining part: each failed transcript, then one of the same sentence
    that worked (each working transcript restates the failures in turn); and each working
    transcript once on its own."""
    by_sentence: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_sentence[record["sentence_id"]].append(record)
    events: list[TurnEvent] = []
    ts = START_TS
    for sentence, group in sorted(by_sentence.items()):
        worked = [r for r in group if r["read_intent"] == r["gold_intent"]]
        failed = [r for r in group if r["read_intent"] != r["gold_intent"]]
        for k, record in enumerate(worked):
            events.append(_event(f"{sentence}-ok{k}:a", ts, record, True))
            ts += 3600.0
        for k, record in enumerate(failed):
            if not worked:
                continue
            fix = worked[k % len(worked)]
            events.append(_event(f"{sentence}-fix{k}:a", ts, record, False))
            events.append(_event(f"{sentence}-fix{k}:b", ts + 6.0, fix, True))
            ts += 3600.0
    return events


def evaluate_speech_errors(
    path: Path, *, held_out_share: float = 0.5, config: MarkovConfig | None = None
) -> dict[str, Any]:
    """Mine on one part of the recordings, rewrite the other; count what changed."""
    records = read_asr_pairs(path)
    mining = [r for r in records if not _held_out(r["file"], held_out_share)]
    held = [r for r in records if _held_out(r["file"], held_out_share)]
    events = build_log(mining)
    turns = events_to_table(events)
    signals = compute_signals(turns)
    mined = MarkovMiner(config or MarkovConfig()).mine(turns, signals.table)
    # What each rewrite target means: the intent read in it when it worked in mining.
    meaning: dict[str, Counter[str]] = defaultdict(Counter)
    for r in mining:
        if r["read_intent"] == r["gold_intent"]:
            meaning[r["heard"]][r["gold_intent"]] += 1
    counts: Counter[str] = Counter()
    examples: list[dict[str, str]] = []
    for r in held:
        ok = r["read_intent"] == r["gold_intent"]
        counts["held_out_working" if ok else "held_out_failing"] += 1
        found = mined.table.rewrite(RewriteRequest(r["heard"]))
        if found is None:
            continue
        intent = meaning[found.target].most_common(1)[0][0] if meaning[found.target] else None
        right = intent == r["gold_intent"]
        if ok:
            counts["working_rewritten"] += 1
            counts["working_rewritten_to_wrong_intent"] += not right
        else:
            counts["failing_rewritten"] += 1
            counts["failing_rewritten_to_gold_intent"] += right
        if len(examples) < 8 and all(e["heard"] != r["heard"] for e in examples):
            examples.append({"heard": r["heard"], "rewrite": found.target, "right": str(right)})
    return {
        "recordings": len(records),
        "mining_recordings": len(mining),
        "held_out_recordings": len(held),
        "mining_turns": turns.num_rows,
        "rephrases_detected": signals.counts["rephrases"],
        "rewrite_rows": len(mined.rows),
        **{k: counts[k] for k in sorted(counts)},
        "examples": examples,
    }
