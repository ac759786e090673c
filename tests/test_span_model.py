"""The contextual rephrase model: trained on the log's weak signals, served through ONNX."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from selflearn.logs import read_turns
from selflearn.signals import compute_signals, read_truth, signal_quality
from selflearn.signals.span import PairText, SpanRephraseModel, best_span
from selflearn.signals.span_train import SpanTrainConfig, _aligned_span, train_span_model

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tiny_model(
    sim_files: tuple[Path, Path, dict], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    log, _, _ = sim_files
    turns, _ = read_turns([log])
    out = tmp_path_factory.mktemp("span")
    meta = train_span_model(turns, out, SpanTrainConfig(layers=2, max_examples=400, min_passes=0))
    assert meta["steps"] > 0 and meta["examples"]["log_positives"] > 0
    return out


def test_tiny_model_trains_in_seconds_and_detects_rephrases(
    tiny_model: Path, sim_files: tuple[Path, Path, dict]
) -> None:
    meta = json.loads((tiny_model / "rephrase_span.json").read_text())
    print("\ntiny rephrase model:", meta["seconds"], "s,", meta["examples"])
    assert meta["seconds"] < 120
    log, truth, _ = sim_files
    turns, _ = read_turns([log])
    signals = compute_signals(turns, detector=SpanRephraseModel(tiny_model))
    quality = signal_quality(signals.table, read_truth(truth))["rephrase"]
    print("tiny model against ground truth:", quality)
    assert quality["f1"] >= 0.8
    assert json.loads(signals.table.schema.metadata[b"detector"])["kind"] == "span-model"


def test_spans_lie_inside_the_later_utterance(tiny_model: Path) -> None:
    model = SpanRephraseModel(tiny_model)
    pairs = [
        PairText("turn on the kitchen light", "Sorry, I couldn't understand that",
                 "no i said turn on the kitchen light", 4.0, earlier_failed=True),
        PairText("what time is it", "It is 10:02", "play some jazz", 30.0,
                 later_worked=True, same_intent=False),
    ]  # fmt: skip
    results = model.predict(pairs)
    for pair, (probability, span) in zip(pairs, results, strict=True):
        assert 0.0 <= probability <= 1.0
        assert span is not None and span in pair.later
    assert results[0][0] > results[1][0]


def test_weak_span_labels_trim_only_spoken_corrections() -> None:
    later = "no i said turn on the kitchen light"
    begin, end = _aligned_span("turn on the kitchen light", later)
    assert later[begin:end] == "turn on the kitchen light"
    other = "switch the lights on in the kitchen"
    assert _aligned_span("kitchen lights on", other) == (0, len(other))


def test_best_span_stays_on_the_later_tokens() -> None:
    start = np.array([9.0, 0.0, 0.0, 1.0, 5.0, 0.0])
    end = np.array([9.0, 0.0, 0.0, 0.0, 2.0, 4.0])
    later = np.array([0, 0, 0, 1, 1, 1], dtype=np.float32)
    assert best_span(start, end, later) == (4, 5)
