"""Signals from the log alone, measured against the simulator's ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from selflearn.assistant import Assistant
from selflearn.errors import ConfigError
from selflearn.logs import events_to_table, read_turns
from selflearn.signals import (
    HeuristicRephraseDetector,
    SessionConfig,
    compute_signals,
    read_truth,
    signal_quality,
)
from selflearn.signals.sessions import sessionize


def test_signal_quality_against_ground_truth(sim_files: tuple[Path, Path, dict]) -> None:
    log, truth_path, _ = sim_files
    turns, rejected = read_turns([log])
    assert not rejected
    signals = compute_signals(turns)
    quality = signal_quality(signals.table, read_truth(truth_path))
    print("\nsignals vs ground truth:", json.dumps(quality))
    assert quality["rephrase"]["precision"] >= 0.85
    assert quality["rephrase"]["recall"] >= 0.6
    assert quality["defect_score_auc"] >= 0.85
    assert signals.table.num_rows == turns.num_rows
    assert signals.counts["barge_ins"] > 0


def _turns(assistant: Assistant, plan: list[tuple[str, str, float, str | None]]) -> list:
    return [
        assistant.handle(text, device_id=device, ts=ts, user_id=user, turn_id=f"t{i}").event
        for i, (text, device, ts, user) in enumerate(plan)
    ]


def test_sessions_split_on_gaps_and_devices(assistant: Assistant) -> None:
    events = _turns(
        assistant,
        [
            ("turn on the lamp", "satellite.bedroom", 1000.0, "a"),
            ("turn off the lamp", "satellite.bedroom", 1010.0, "a"),
            ("what time is it", "satellite.kitchen", 1012.0, "b"),
            ("turn on the lamp", "satellite.bedroom", 5000.0, "a"),
        ],
    )
    con = duckdb.connect()
    rows = sessionize(con, events_to_table(events), SessionConfig(session_gap_s=60)).to_pylist()
    session = {r["turn_id"]: r["session"] for r in rows}
    assert session["t0"] == session["t1"]
    assert len({session["t0"], session["t2"], session["t3"]}) == 3


def test_a_rephrase_after_a_failure_is_found_and_its_source_named(assistant: Assistant) -> None:
    events = _turns(
        assistant,
        [
            ("turn on the telly", "display.living_room", 2000.0, "u"),
            ("turn on the tv", "display.living_room", 2006.0, "u"),
            ("what time is it", "display.living_room", 2400.0, "u"),
            ("turn on the lamp", "satellite.bedroom", 2401.0, "v"),
        ],
    )
    signals = {r["turn_id"]: r for r in compute_signals(events_to_table(events)).table.to_pylist()}
    assert signals["t1"]["rephrase_of"] == "t0"
    assert signals["t0"]["defect_score"] > 0.8 > signals["t2"]["defect_score"]
    assert signals["t2"]["rephrase_of"] is None and signals["t3"]["rephrase_of"] is None
    assert not signals["t0"]["abandoned"]


def test_different_known_speakers_are_not_rephrases(assistant: Assistant) -> None:
    events = _turns(
        assistant,
        [
            ("turn on the telly", "display.living_room", 3000.0, "u"),
            ("turn on the tv", "display.living_room", 3005.0, "someone else"),
        ],
    )
    signals = {r["turn_id"]: r for r in compute_signals(events_to_table(events)).table.to_pylist()}
    assert signals["t1"]["rephrase_of"] is None
    assert signals["t0"]["abandoned"]


def test_detector_threshold_is_checked() -> None:
    with pytest.raises(ConfigError, match="'threshold' parameter of HeuristicRephraseDetector"):
        HeuristicRephraseDetector(threshold=1.5)


def test_a_request_for_the_opposite_or_after_a_fix_is_a_new_request() -> None:
    """In a home, "turn off X" then "turn on X" undoes, it does not restate; and once a
    restatement has worked, the next request is a new one, not the failure again."""
    from selflearn.logs.schema import TurnEvent

    def turn(i: int, text: str, status: str, intent: str | None, ts: float) -> TurnEvent:
        return TurnEvent.from_dict(
            {
                "turn_id": f"t{i}",
                "device_id": "satellite.kitchen",
                "device_type": "satellite",
                "ts": ts,
                "asr": {"text": text},
                "nlu": {"intent": intent},
                "response": {"text": "ok", "status": status},
            }
        )

    events = [
        turn(0, "turn of the kitchen light", "no_valid_targets", None, 100.0),
        turn(1, "turn off the kitchen light", "success", "HassTurnOff", 101.0),
        turn(2, "turn on the kitchen light", "success", "HassTurnOn", 102.0),
        turn(3, "turn off the desk lamp", "success", "HassTurnOff", 103.0),
    ]
    signals = {r["turn_id"]: r for r in compute_signals(events_to_table(events)).table.to_pylist()}
    assert signals["t1"]["rephrase_of"] == "t0"  # the misheard command said again
    assert signals["t2"]["rephrase_of"] is None  # the opposite: a new request
    assert signals["t3"]["rephrase_of"] is None  # t0 was fixed by t1: not t0 again
    assert signals["t1"]["defect_score"] < 0.5  # the fix worked and was not restated


def test_what_the_user_did_by_hand_right_after_reads_as_a_defect() -> None:
    """A light switched back by hand, or another one switched instead, says the action was
    wrong although the assistant answered success; so does skipping or stopping what it
    started within the watch window (a little less surely); what an automation did is not
    the user's."""
    from selflearn.logs.schema import TurnEvent

    def turn(i: int, text: str, after: list[dict[str, object]]) -> TurnEvent:
        return TurnEvent.from_dict(
            {
                "schema_version": "2",
                "turn_id": f"t{i}",
                "device_id": f"satellite.{i}",  # one device each: no turn restates another
                "device_type": "satellite",
                "ts": 100.0 + 60 * i,
                "asr": {"text": text},
                "nlu": {"intent": "HassTurnOn"},
                "response": {"text": "Turned on", "status": "success"},
                "after_action": after,
            }
        )

    def acted(kind: str, source: str = "device") -> dict[str, object]:
        return {"entity_id": "light.lamp", "kind": kind, "after_ms": 4000, "source": source}

    events = [
        turn(0, "turn on the lamp", []),
        turn(1, "turn on the lamp", [acted("undone")]),
        turn(2, "turn on the lamp", [acted("other_device")]),
        turn(3, "play some jazz", [acted("skipped")]),
        turn(4, "play some jazz", [acted("stopped")]),
        turn(5, "turn on the lamp", [acted("undone", source="automation")]),
    ]
    signals = {r["turn_id"]: r for r in compute_signals(events_to_table(events)).table.to_pylist()}
    score = {t: round(r["defect_score"], 3) for t, r in signals.items()}
    assert score["t1"] >= 0.5 and score["t2"] >= 0.5, score
    assert signals["t1"]["abandoned"]  # put right by hand and not asked again
    assert score["t0"] < 0.2 and score["t5"] == score["t0"], score
    assert 0.5 <= score["t4"] < score["t3"] < score["t1"], score
    assert signals["t3"]["abandoned"] and signals["t4"]["abandoned"]


def test_signals_of_a_grown_log_reuse_the_learning_runs(sim_files: tuple[Path, Path, dict]) -> None:
    """A log that grew since learning: the known signals serve the old turns, and the new
    ones (read in context) are what computing the whole log again gives."""
    import pyarrow.compute as pc

    from selflearn.signals.compute import extend_signals

    log, _, _ = sim_files
    turns, _ = read_turns([log])
    cut = pc.quantile(turns.column("ts"), q=0.7)[0].as_py()
    old = turns.filter(pc.less(turns.column("ts"), cut))
    known = compute_signals(old).table
    grown = extend_signals(turns, known)
    whole = {r["turn_id"]: r for r in compute_signals(turns).table.to_pylist()}
    rows = {r["turn_id"]: r for r in grown.to_pylist()}
    assert rows.keys() == whole.keys()
    new = set(turns.filter(pc.greater_equal(turns.column("ts"), cut)).column("turn_id").to_pylist())

    def read(row: dict[str, object]) -> dict[str, object]:  # session names are labels
        return {k: v for k, v in row.items() if k != "session_id"}

    assert new and all(read(rows[t]) == read(whole[t]) for t in new)
    same = sum(read(rows[t]) == read(whole[t]) for t in whole)
    assert same / len(whole) > 0.99  # old turns differ only where the cut split a session
    # the same sessions, named apart from every other
    by_name: dict[object, set[object]] = {}
    for t in whole:
        by_name.setdefault(rows[t]["session_id"], set()).add(whole[t]["session_id"])
    assert all(len(v) == 1 for v in by_name.values())
