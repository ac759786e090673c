"""The dialogue model: turn features, annotation, training, failure points and labels."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from selflearn.cli import app
from selflearn.dialogue import (
    FAILURE_POINTS,
    flat_turns,
    pick_for_annotation,
    read_failure_points,
    read_labels,
    simulated_annotations,
    turn_features,
    write_labels,
)
from selflearn.errors import DataFileError
from selflearn.logs import read_turns
from selflearn.signals import read_truth


@pytest.fixture(scope="module")
def log(sim_files: tuple[Path, Path, dict]) -> tuple[object, dict]:
    turns, _ = read_turns([sim_files[0]])
    return turns, read_truth(sim_files[1])


def test_every_turn_is_read_in_session_order(log: tuple) -> None:
    turns, truth = log
    features, vocabulary = turn_features(turns)
    assert sorted(features.turn_ids) == sorted(truth)
    assert features.numeric.shape[0] == len(features) and np.isfinite(features.numeric).all()
    for a, b in features.sessions():  # a session is one device's, in time order
        assert len({features.devices[i] for i in range(a, b)}) == 1
        assert [features.rows[i]["ts"] for i in range(a, b)] == sorted(
            features.rows[i]["ts"] for i in range(a, b)
        )
    # unseen values get the "unknown" id, not an error
    assert vocabulary.ids("intent", "HassNoSuchIntent") == 1 and vocabulary.ids("intent", None) == 0


def test_annotation_picks_defective_looking_turns_and_slips_at_the_rate(log: tuple) -> None:
    turns, truth = log
    rows = flat_turns(turns)
    picked = pick_for_annotation(rows, 300, seed=1)
    assert len(picked) == len(set(picked)) == 300
    defects = sum(truth[t]["defect"] for t in picked) / 300
    assert defects > 1.5 * sum(r["defect"] for r in truth.values()) / len(truth)
    exact = simulated_annotations(truth.values(), picked, error_rate=0.0)
    assert all(a["failure_point"] == truth[a["turn_id"]]["failure_point"] for a in exact)
    noisy = simulated_annotations(truth.values(), picked, error_rate=0.3, seed=2)
    wrong = sum(a["failure_point"] != b["failure_point"] for a, b in zip(noisy, exact, strict=True))
    assert 0.2 < wrong / 300 < 0.4


def test_picks_are_distinct_when_few_turns_look_fine() -> None:
    rows = [
        {
            "turn_id": str(i),
            "status": "success" if i % 3 == 0 else "no_intent_match",
            "feedback": "negative" if i % 7 == 0 else None,
            "barge_in_ms": None,
            "wake_score": 1.0,
            "session": i,
        }
        for i in range(100)
    ]
    for n in (10, 90, 100):
        picked = pick_for_annotation(rows, n)
        assert len(picked) == len(set(picked)) == n


def test_label_files_round_trip_and_name_bad_lines(tmp_path: Path, log: tuple) -> None:
    _, truth = log
    labels = simulated_annotations(truth.values(), list(truth)[:20])
    path = write_labels(labels, tmp_path / "labels.jsonl")
    assert read_labels(path) == {a["turn_id"]: a for a in labels}
    path.write_text('{"turn_id": "t1", "failure_point": "keyboard"}\n', encoding="utf-8")
    with pytest.raises(DataFileError, match=r"labels.jsonl:1: failure_point 'keyboard'"):
        read_labels(path)
    path.write_text('{"turn_id": "t1"}\nnot json\n', encoding="utf-8")
    with pytest.raises(DataFileError, match=r"labels.jsonl:2: not JSON"):
        read_labels(path)


def test_cli_annotate_learn_isolate_label(
    tmp_path: Path, sim_files: tuple[Path, Path, dict]
) -> None:
    turns, truth, _ = sim_files
    runner = CliRunner()
    labels = tmp_path / "labels.jsonl"
    done = runner.invoke(
        app, ["annotate", str(turns), "--truth", str(truth), "--n", "600", "--out", str(labels)]
    )
    assert done.exit_code == 0, done.output
    assert len(read_labels(labels)) == 600
    blank = tmp_path / "to_label.jsonl"
    done = runner.invoke(app, ["annotate", str(turns), "--n", "5", "--out", str(blank)])
    assert done.exit_code == 0, done.output
    first = json.loads(blank.read_text().splitlines()[0])
    assert first["request"] is not None and first["failure_point"] is None
    art = tmp_path / "art"
    done = runner.invoke(
        app,
        [
            "learn",
            str(turns),
            "--out",
            str(art),
            "--no-online",
            "--no-rephrase-model",
            "--annotations",
            str(labels),
        ],
    )
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["dialogue"]["used"] and summary["dialogue"]["labelled"] == 600
    points = tmp_path / "fp.jsonl"
    done = runner.invoke(
        app,
        [
            "isolate",
            str(turns),
            "--artefacts",
            str(art),
            "--truth",
            str(truth),
            "--out",
            str(points),
        ],
    )
    assert done.exit_code == 0, done.output
    scores = json.loads(done.stdout.strip().splitlines()[-1])["failure_point"]
    rows = [json.loads(line) for line in points.read_text().splitlines()]
    assert {r["failure_point"] for r in rows} <= set(FAILURE_POINTS)
    assert all(0.0 <= r["confidence"] <= 1.0 for r in rows)
    # far better than calling every turn fine, on the log it learned from
    share_none = Counter(t["failure_point"] for t in read_truth(truth).values())["none"] / len(rows)
    assert scores["accuracy"] > share_none + 0.08
    assert scores["recall"]["false_wake"] >= 0.8
    # the report names which stage fails, by intent, device and day
    html_path = tmp_path / "report.html"
    done = runner.invoke(
        app,
        ["report", str(turns), "--failure-points", str(points), "--out", str(html_path)],
    )
    assert done.exit_code == 0, done.output
    page = html_path.read_text()
    for heading in ("By what the user meant", "By device type", "By day"):
        assert heading in page
    assert "Failure points of defective turns (model)" in page
    out = tmp_path / "labels.parquet"
    done = runner.invoke(
        app,
        ["label", str(turns), "--artefacts", str(art), "--truth", str(truth), "--out", str(out)],
    )
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["scores"]["goal_start"]["model_f1"] > 0.9
    import pyarrow.parquet as pq

    table = pq.read_table(out)
    assert table.num_rows == len(rows) and "slots_confidence" in table.column_names


def test_a_bad_failure_point_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "fp.jsonl"
    bad.write_text(
        '{"turn_id": "a", "failure_point": "none"}\n{"turn_id": "b", "failure_point": "asr?"}\n'
    )
    with pytest.raises(DataFileError, match=r"row 2: failure point 'asr\?'"):
        read_failure_points(bad)
    bad.write_text('{"turn_id": "a"\n')
    with pytest.raises(DataFileError, match=r"fp.jsonl:1: not JSON"):
        read_failure_points(bad)
    with pytest.raises(DataFileError, match="no such failure-point file"):
        read_failure_points(tmp_path / "missing.jsonl")


def test_a_missing_model_is_a_clear_error(
    tmp_path: Path, sim_files: tuple[Path, Path, dict]
) -> None:
    command = ["isolate", str(sim_files[0]), "--artefacts", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, "-m", "selflearn.cli", *command],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "no dialogue model" in done.stderr and "Traceback" not in done.stderr


def test_alternatives_that_disagree_with_the_best_guess_are_counted() -> None:
    from selflearn.dialogue.features import NUMERIC, turn_features

    heard = "set an the work lamp brightness to 90 percent"
    alternatives = ["set the work lamp brightness 90 percent", "set thus worked camp to 90 percent"]
    row = _row("t1", heard, alternatives)
    clean = _row("t2", "ceiling light turn on", ["light turn on", "ceiling line turn on"])
    dropped = _row(
        "t3", "you set the temp to 23", ["can you set the temp to 23", "can you set temp to 23"]
    )
    features, _ = turn_features([row, clean, dropped])
    doubted = features.numeric[:, NUMERIC.index("nbest_doubted")]
    lacking = features.numeric[:, NUMERIC.index("nbest_dropped")]
    # "an" survives in no alternative; every word of a request heard right survives in one
    assert doubted[0] > 0 and doubted[1] == 0
    # both alternatives hear a "can" the best guess lacks
    assert lacking[2] > 0 and lacking[0] == 0 and lacking[1] == 0


def test_names_people_often_put_right_carry_their_trouble_rate() -> None:
    from selflearn.dialogue.features import NUMERIC, turn_features

    def play(turn_id: str, title: str, after: list[str]) -> dict:
        row = _row(turn_id, f"play {title}", [])
        return {**row, "matched_values": [title], "matched_ids": [f"media.{title}"],
                "after_kinds": after}  # fmt: skip

    shared = [play(f"s{i}", "summer nights", ["skipped"] if i % 3 == 0 else []) for i in range(12)]
    single = [play(f"p{i}", "paper hearts", ["skipped"] if i == 0 else []) for i in range(12)]
    features, vocabulary = turn_features([*shared, *single])
    trouble = features.numeric[:, NUMERIC.index("matched_trouble")]
    # a title skipped after a third of its plays reads as riskier than one skipped once
    assert trouble[:12].min() > trouble[12:].max()
    # a turn's own skip is left out of its own figure (it is the answer, not evidence)
    assert trouble[0] < trouble[1]
    # a new log is read with the rates of the log the vocabulary was fitted on
    fresh, _ = turn_features([play("n1", "summer nights", []), play("n2", "paper hearts", [])],
                             vocabulary)  # fmt: skip
    later = fresh.numeric[:, NUMERIC.index("matched_trouble")]
    assert later[0] > later[1] > 0
    # a name never seen reads as the overall rate
    assert turn_features([play("n3", "golden hour", [])], vocabulary)[0].numeric[
        0, NUMERIC.index("matched_trouble")
    ] == pytest.approx(5 / 24, abs=1e-6)


def test_failures_the_user_let_pass_are_told_apart() -> None:
    from selflearn.dialogue.metrics import silent_failures

    rows = [
        _row("g1-1", "play summer nights", [], status="success"),
        _row("g2-1", "play summer nights", [], status="success", barge_in=900),
        _row("g3-1", "play blue morning", [], status="success"),
        _row("g3-2", "play blue morning by marlow", [], status="success"),
        _row("g4-1", "turn on the kitchen light", [], status="no_valid_targets"),
    ]
    truth = {
        "g1-1": {"failure_point": "result", "goal_id": "g1", "attempt": 1},
        "g2-1": {"failure_point": "result", "goal_id": "g2", "attempt": 1},
        "g3-1": {"failure_point": "result", "goal_id": "g3", "attempt": 1},
        "g3-2": {"failure_point": "none", "goal_id": "g3", "attempt": 2},
        "g4-1": {"failure_point": "entity", "goal_id": "g4", "attempt": 1},
    }
    # only the first: said to have worked, not interrupted, not tried again
    assert silent_failures(rows, truth) == {"g1-1"}


def _row(
    turn_id: str,
    text: str,
    nbest: list[str],
    *,
    status: str = "success",
    barge_in: int | None = None,
) -> dict:
    """One flat turn as ``flat_turns`` gives it, each in a session of its own."""
    return {
        "turn_id": turn_id, "session": turn_id, "device_rank": 0, "ts": 0.0, "end_ts": 1.0,
        "text": text, "response_text": "Done", "asr_confidence": 0.9, "intent": "HassTurnOn",
        "nlu_confidence": 0.9, "status": status, "duration_ms": 800, "barge_in_ms": barge_in,
        "feedback": None, "wake_score": 0.95, "device_type": "speaker", "user_id": "u1",
        "device_id": "d1", "domain": "light", "slots": {}, "nbest_count": len(nbest),
        "nbest_top": 0.8 if nbest else None, "nbest_texts": nbest, "resolution": "ok",
        "entity_score_min": 1.0, "entities_unmatched": 0, "unmatched_values": [],
        "matched_values": [], "matched_ids": [],
        "media_score": None, "rewritten": False, "rewrite_score": None,
    }  # fmt: skip
