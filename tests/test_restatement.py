"""The restatement model: pre-trained on broad data, it says whether a later request
restates an earlier one — a mishearing said again, one request said another way — and
not a new request that shares words (another slot value, another request of the same
intent), from letters, sound and words alone; it is what ``compute_signals`` reads a log
with unless a rephrase model was trained on it."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from selflearn.errors import DataFileError
from selflearn.evaluate.real_logs import (
    JUDGED_KINDS,
    detector_scores,
    pair_scores,
    read_annotated,
)
from selflearn.evaluate.real_logs import rephrase_pairs as real_pairs
from selflearn.evaluate.speech_errors import read_asr_pairs
from selflearn.logs import events_to_table
from selflearn.signals import HeuristicRephraseDetector, RestatementModel, compute_signals
from selflearn.signals.restatement import FEATURES, PairCase, restatement_features
from tests.test_restated import _log  # the silent-failure log beyond the home

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(not (DATA / "slurp").is_dir(), reason="needs ../shared/data")


def _p(earlier: str, later: str, ei: str | None, li: str, failed: bool = False) -> float:
    return RestatementModel.shipped().scores([PairCase(earlier, later, ei, li, failed, True)])[0]


def test_restatements_and_new_requests() -> None:
    model = RestatementModel.shipped()
    assert model.FEATURES == FEATURES and model.threshold == 0.5
    # a visible failure, then the same request in other words
    assert _p("turn on the telly", "turn on the tv", None, "on", failed=True) >= 0.5
    # a mishearing read as another intent, then said again and heard right
    assert _p("wake me up at sex tomorrow", "wake me up at six tomorrow", "a", "b") >= 0.5
    assert _p("what is the whether in paris", "what is the weather in paris", "q", "w") >= 0.5
    # the same request said another way
    assert _p("could you turn the lights off", "please turn the lights off", "o", "o") >= 0.5
    # new requests that share words: another slot value, another request altogether
    assert _p("set an alarm for six am", "set an alarm for nine pm", "a", "a") < 0.5
    assert _p("play some jazz", "play some rock", "m", "m") < 0.5
    assert _p("email john about the meeting", "email sarah about the meeting", "e", "e") < 0.5
    # a spoken correction says the earlier failed, and restates it after its lead
    assert _p("send an email to jon", "no i said send an email to john smith", "e", "e") >= 0.5
    assert _p("set an alarm for six", "no i meant seven", "a", "a") >= 0.5
    assert _p("play the news", "no stop", "n", "n") < 0.5  # all verdict: gave up
    # the same words after a request that worked: a deliberate repeat, by rule
    assert _p("volume up", "volume up", "v", "v") == 0.0
    assert _p("next song", "next song", "n", "n", failed=True) > 0.0
    assert model.scores([PairCase("", "hello", None, None, False, True)]) == [0.0]
    assert model.scores([]) == []


def test_features_read_language_not_a_domain() -> None:
    f = dict(
        zip(
            FEATURES,
            restatement_features("turn of the light", "turn off the light", None, False, True),
            strict=True,
        )
    )
    assert f["least_alike_sound"] == 100.0 and f["number_changed"] == 0.0
    assert np.isnan(f["same_intent"])
    g = dict(
        zip(
            FEATURES,
            restatement_features("remind me at five", "remind me at nine", True, False, True),
            strict=True,
        )
    )
    assert g["number_changed"] == 1.0 and g["least_alike_sound"] < 50


def test_signals_read_silent_restatements_with_it(tmp_path: Path) -> None:
    table = events_to_table(_log())
    signals = compute_signals(table)
    assert signals.counts["rephrases"] > 0
    made_by = signals.table.schema.metadata[b"detector"].decode()
    assert "restatement model" in made_by
    # the heuristic still serves when asked for
    heuristic = compute_signals(table, detector=HeuristicRephraseDetector())
    assert "heuristic" in heuristic.table.schema.metadata[b"detector"].decode()


def test_a_broken_model_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "restatement.txt"
    bad.write_text("not a model", encoding="utf-8")
    with pytest.raises(DataFileError, match="not a readable restatement model"):
        RestatementModel.load(bad)
    saved = RestatementModel.shipped().save(tmp_path / "again.txt")
    again = RestatementModel.load(saved)
    assert again.threshold == 0.5 and again.info == RestatementModel.shipped().info


@needs_data
def test_it_beats_the_heuristic_on_real_utterance_pairs_it_never_saw() -> None:
    seen = set(RestatementModel.shipped().info["seen_sentences"])  # type: ignore[arg-type]
    records = [
        r
        for r in read_asr_pairs(DATA / "slurp" / "asr_pairs_dev.jsonl")
        if r["sentence_id"] not in seen
    ]
    assert records and len(seen) > 1000
    annotated = read_annotated(DATA / "slurp" / "devel.jsonl", skip=seen)
    pairs = real_pairs(records, annotated=annotated, seed=2)
    judged = [p for p in pairs if p["kind"] in JUDGED_KINDS]
    found = {}
    for name, detector in (
        ("heuristic", HeuristicRephraseDetector()),
        ("model", RestatementModel.shipped()),
    ):
        found[name] = pair_scores(judged, detector_scores(judged, detector), detector.threshold)
        words = pair_scores(pairs, detector_scores(pairs, detector), detector.threshold)
        found[name]["shares_words"] = words["called_restatement"]["shares_words"]
    print("\nreal utterance pairs of sentences the model never saw:", found)
    assert found["model"]["f1"] >= 0.85 > found["heuristic"]["f1"]
    assert found["model"]["precision"] >= 0.9
    assert found["model"]["called_restatement"]["other_slots"] <= 0.1
    assert found["model"]["shares_words"] <= found["heuristic"]["shares_words"] + 0.05


@pytest.mark.skipif(not (DATA / "hwu64").is_dir(), reason="needs ../shared/data")
@needs_data
def test_the_shipped_model_is_what_pretraining_makes() -> None:
    from selflearn.sim.pretrain import pretrain_restatement

    made = pretrain_restatement(DATA)
    shipped = RestatementModel.shipped()
    assert made.threshold == shipped.threshold
    assert made.info["seen_sentences"] == shipped.info["seen_sentences"]
    rows = np.asarray(
        [
            restatement_features(a, b, same, False, True)
            for a, b, same in (
                ("play sum jazz", "play some jazz", False),
                ("set an alarm for six", "set an alarm for seven", True),
                ("what s the time", "what time is it", True),
            )
        ]
    )
    # the same code and data make the same model (a library release may move the last digits)
    assert np.allclose(made.probabilities(rows), shipped.probabilities(rows), atol=0.02)


def test_pretraining_pairs_are_seeded() -> None:
    from selflearn.assistant.speech import SpeechChannel
    from selflearn.sim.pretrain import restatement_examples

    phrasings = [
        (f"{verb} the {thing} in the {room}", f"{verb}_{thing}")
        for verb in ("turn on", "turn off", "dim")
        for thing in ("light", "lamp", "fan")
        for room in ("kitchen", "bedroom", "office")
    ]
    annotations = [
        (f"{verb} the {thing} in the [room : {room}]", f"{verb}_{thing}")
        for verb, thing, room in (("dim", "lamp", "hall"), ("turn on", "fan", "garage"))
    ]
    channel = SpeechChannel.fitted()
    first = restatement_examples(phrasings, annotations, random.Random(3), channel, 200)
    again = restatement_examples(phrasings, annotations, random.Random(3), channel, 200)
    assert first[1] == again[1] and len(first[0]) == len(first[1]) == 200
    assert 0 < sum(first[1]) < 200
