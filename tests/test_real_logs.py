"""Logs shaped like real assistants' logs: silent misrecognitions, feedback in the user's
words, real recordings and real users' ratings (read from ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from selflearn.evaluate.rated_dialogues import defect_auc, rated_log, roc_auc
from selflearn.evaluate.real_logs import (
    JUDGED_KINDS,
    ExactPeer,
    FuzzyPeer,
    build_log,
    detector_scores,
    judge_rewrites,
    pair_scores,
    read_annotated,
    rephrase_pairs,
    split_records,
)
from selflearn.evaluate.speech_errors import read_asr_pairs
from selflearn.logs import events_to_table
from selflearn.logs.schema import TurnEvent
from selflearn.signals import HeuristicRephraseDetector, compute_signals
from selflearn.signals.said import read_feedback

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SLURP = DATA / "slurp" / "asr_pairs_dev.jsonl"
needs_data = pytest.mark.skipif(not SLURP.is_file(), reason="needs ../shared/data")


def _turn(turn_id: str, ts: float, text: str, intent: str | None, **extra: object) -> TurnEvent:
    return TurnEvent.model_validate(
        {
            "schema_version": "1",
            "turn_id": turn_id,
            "user_id": "u1",
            "device_id": "phone-1",
            "device_type": "phone",
            "ts": ts,
            "asr": {"text": text, "confidence": None},
            "nlu": {"intent": intent, "slots": {}},
            "response": {
                "text": extra.pop("answer", "Done."),
                "status": "success",
                "duration_ms": 1500,
            },
            "context": {},
            **extra,
        }
    )


@pytest.mark.parametrize(
    ("earlier", "later", "intents", "restates"),
    [
        # misheard, read as another intent, answered success, said again: a restatement
        (
            "wake me up at seven a m tomorrow",
            "wake me up at seven am tomorrow",
            ("calendar_set", "alarm_set"),
            True,
        ),
        (
            "what 's the weather like in pairs",
            "what's the weather like in paris",
            ("qa_factoid", "weather_query"),
            True,
        ),
        # a deliberate repeat of a request that worked
        ("next song", "next song", ("music_next", "music_next"), False),
        ("volume up", "volume up", ("volume_up", "volume_up"), False),
        # the same intent with other slots: a new request
        ("set an alarm for six", "set an alarm for seven", ("alarm_set", "alarm_set"), False),
        (
            "email mary about the meeting",
            "email john about the meeting",
            ("email_send", "email_send"),
            False,
        ),
        # a new request that shares words, a follow-up, a confirmation
        ("play jazz", "play the news", ("play_music", "news_query"), False),
        ("yes", "read my new emails", (None, "email_query"), False),
    ],
)
def test_heuristic_reads_silent_restatements(
    earlier: str, later: str, intents: tuple[str | None, str | None], restates: bool
) -> None:
    detector = HeuristicRephraseDetector()
    score = detector.score(earlier, later, intents[0], intents[1], False, 4.0, True)
    assert (score >= detector.threshold) is restates, score


def test_a_silent_failure_said_again_is_a_defect() -> None:
    """Both turns answered success, the first read as another intent: only the quick,
    close restatement says the first one failed."""
    events = [
        _turn("a", 1000.0, "what 's the weather like in pairs", "qa_factoid"),
        _turn("b", 1006.0, "what's the weather like in paris", "weather_query"),
        _turn("c", 5000.0, "next song", "music_next"),
        _turn("d", 5004.0, "next song", "music_next"),
    ]
    rows = {r["turn_id"]: r for r in compute_signals(events_to_table(events)).table.to_pylist()}
    assert rows["b"]["rephrase_of"] == "a"
    assert rows["a"]["defect_score"] >= 0.5 > rows["b"]["defect_score"]
    assert rows["d"]["rephrase_of"] is None and rows["c"]["defect_score"] < 0.5


@pytest.mark.parametrize(
    ("said", "feedback", "gave_up"),
    [
        ("no that's wrong", "negative", False),
        ("No, play it on the bedroom speaker instead", "negative", False),
        ("I said the kitchen", "negative", False),
        ("not that one", "negative", False),
        ("never mind", "negative", True),
        ("stop", "negative", True),
        ("thanks", "positive", False),
        ("perfect, thank you", "positive", False),
        ("play no doubt", None, False),
        ("what time is it", None, False),
        ("set an alarm for seven", None, False),
    ],
)
def test_feedback_in_the_users_words(said: str, feedback: str | None, gave_up: bool) -> None:
    read = read_feedback(said)
    assert (read.feedback, read.gave_up) == (feedback, gave_up)


def test_the_next_words_judge_the_answer_before_them() -> None:
    events = [
        _turn("a", 1000.0, "play the news", "news_query"),
        _turn("b", 1005.0, "no stop", None),
        _turn("c", 2000.0, "turn on the porch light", "light_on"),
        _turn("d", 2004.0, "thanks", None),
        _turn("e", 3000.0, "delete my alarms", "alarm_remove", answer="All of them?"),
        _turn("f", 3004.0, "no", None),
    ]
    signals = compute_signals(events_to_table(events))
    rows = {r["turn_id"]: r for r in signals.table.to_pylist()}
    assert rows["a"]["feedback"] == "negative" and rows["a"]["abandoned"]
    assert rows["c"]["feedback"] == "positive"
    assert rows["a"]["defect_score"] > 0.5 > rows["c"]["defect_score"]
    assert rows["e"]["feedback"] is None  # a bare "no" answers the question asked
    assert signals.counts["feedback_said"] == 2


def test_roc_auc_matches_the_pairwise_definition() -> None:
    rng = np.random.default_rng(0)
    labels = rng.random(300) < 0.3
    scores = np.round(rng.random(300) + 0.4 * labels, 1)  # ties included
    pos, neg = scores[labels], scores[~labels]
    pairwise = ((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])).mean()
    assert roc_auc(labels.tolist(), scores.tolist()) == pytest.approx(pairwise)


def test_rated_dialogue_labels_judge_the_answer_before(tmp_path: Path) -> None:
    path = tmp_path / "rated.txt"
    path.write_text(
        "USER\tfind me a film\t\t3,3\nSYSTEM\thow about a western?\t\t\n"
        "USER\tno, I hate westerns\t\t1,2\nSYSTEM\ta comedy then\t\t\n"
        "USER\tthanks\t\t5,4\nUSER\tOVERALL\t\t3\n\n",
        encoding="utf-8",
    )
    from selflearn.evaluate.rated_dialogues import read_rated_dialogues

    events, unhappy = rated_log(read_rated_dialogues(path))
    assert [e.asr.text for e in events] == ["find me a film", "no, I hate westerns", "thanks"]
    assert unhappy == {"d0-0": True, "d0-1": False}
    result = defect_auc([path])
    assert result["rated"]["defect_score_auc"] == 1.0


@needs_data
def test_real_log_shapes_and_peers() -> None:
    records = read_asr_pairs(SLURP)
    split = split_records(records, 0.4, seed=1)
    assert {r["file"] for r in split.mining}.isdisjoint(r["file"] for r in split.held)
    silent = build_log(split.mining, "silent", seed=1)
    assert all(e.response.status == "success" and e.barge_in_ms is None for e in silent)
    interrupted = build_log(split.mining, "interrupted", seed=1)
    assert sum(e.barge_in_ms is not None for e in interrupted) > 100
    exact = judge_rewrites(
        split.held, split.mining, records, lambda r: ExactPeer(silent).rewrite(r["heard"])
    )
    assert exact["moved"] == 0 and exact["fixed"] > 0 and exact["reachable"] > 100
    fuzzy = FuzzyPeer(silent, 85)
    judged = judge_rewrites(split.held, split.mining, records, lambda r: fuzzy.rewrite(r["heard"]))
    assert judged["fixed"] > exact["fixed"] and judged["moved"] > 0
    with pytest.raises(ValueError, match="'shape'"):
        build_log(split.mining, "loud")


@needs_data
def test_heuristic_on_real_utterance_pairs() -> None:
    records = read_asr_pairs(SLURP)
    pairs = [
        p
        for p in rephrase_pairs(records, annotated=read_annotated(DATA / "slurp" / "devel.jsonl"))
        if p["kind"] in JUDGED_KINDS
    ]
    detector = HeuristicRephraseDetector()
    scores = detector_scores(pairs, detector)
    quality = pair_scores(pairs, scores, detector.threshold)
    print("\nreal utterance pairs:", quality)
    assert quality["precision"] >= 0.8 and quality["f1"] >= 0.75
    assert quality["called_restatement"]["misheard_then_right"] >= 0.8
    assert quality["called_restatement"]["other_slots"] <= 0.2
