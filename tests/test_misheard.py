"""The misheard-request model: a request nobody made work is rewritten to the nearest
request that did when the model, pre-trained on broad data and checked on the log, says
it is that request misheard — never when it adds a word that means something, changes a
number, or sits near nothing."""

from __future__ import annotations

import multiprocessing
import random
from pathlib import Path

import numpy as np
import pytest

from selflearn.logs import events_to_table
from selflearn.rewrite.base import RewriteRequest
from selflearn.rewrite.misheard import (
    FEATURES,
    MisheardModel,
    Near,
    could_be_misheard,
    pair_features,
)
from selflearn.rewrite.restated import RestatedConfig, RestatementMemory
from selflearn.signals import compute_signals
from tests.test_restated import _log, _target  # the silent-failure log beyond the home

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def memory() -> RestatementMemory:
    table = events_to_table(_log())
    return RestatementMemory.build(table, compute_signals(table).table)


def test_misrecognitions_of_working_requests_nobody_restated_are_fixed(
    memory: RestatementMemory,
) -> None:
    for heard, said in (
        ("tell me a joe", "tell me a joke"),
        ("what time is eat", "what time is it"),
        ("next son", "next song"),
        ("email jon about the meeting", "email john about the meeting"),
        ("what is the weather in lundon", "what is the weather in london"),
    ):
        found = memory.rewrite(RewriteRequest(heard))
        assert found is not None and found.target == said, heard
        assert found.method == "misheard" and found.layer == "global"
        assert memory.misheard_threshold <= found.score <= 1 and found.support >= 2


def test_other_requests_that_share_words_are_left_alone(memory: RestatementMemory) -> None:
    for text in (
        "set an alarm for five",  # another number
        "what is the weather in berlin",  # another town
        "tell me a joke please",  # said right, with a word more
        "play some rock in the kitchen",
        "what time is it now",
        "order a pizza with olives",  # near nothing
    ):
        assert _target(memory, text) is None, text


def test_what_a_recogniser_could_not_have_done_is_never_proposed() -> None:
    assert could_be_misheard("turn of the light", "turn off the light")
    assert could_be_misheard("play jazz in kitchen", "play jazz in the kitchen")
    assert not could_be_misheard("how is it outside today", "how cold is it outside today")
    assert not could_be_misheard("start the vacuum cleaner", "start the vacuum")
    assert not could_be_misheard("set a new alarm time", "set an alarm at six thirty am")
    assert not could_be_misheard("wake me at seven", "wake me at eleven")
    assert could_be_misheard("wake me at sex", "wake me at six")  # sounds like it


def test_the_shipped_model_is_whole_and_certified() -> None:
    model = MisheardModel.shipped()
    assert tuple(model.booster.feature_name()) == FEATURES
    assert 0.5 <= model.threshold <= 1.0
    held = model.info["held_out"]
    assert isinstance(held, dict) and held["precision"] >= held["target"]
    near = [Near("turn off the light", "off", 97.0), Near("turn on the light", "on", 90.0)]
    assert model.probability("turn of the light", near, 200) > model.threshold
    assert model.probability("anything", [], 200) == 0.0
    assert len(pair_features("turn of the light", near, 200)) == len(FEATURES)


def test_the_threshold_is_the_logs_once_it_has_enough_to_judge(
    memory: RestatementMemory,
) -> None:
    info = memory.info["misheard"]
    assert info["working_checked"] < RestatedConfig().misheard_min_asked
    assert info["from"].startswith("pre-trained") and info["threshold"] == info["prior"]
    table = events_to_table(_log())
    judged = RestatementMemory.build(
        table, compute_signals(table).table, RestatedConfig(misheard_min_asked=5)
    )
    info = judged.info["misheard"]
    assert info["from"] == "leave-one-out" or info["from"].startswith("off")
    budget = RestatedConfig().misheard_move_budget
    assert info["working_moved"] <= budget * info["working_checked"]
    off = RestatementMemory.build(
        table, compute_signals(table).table, RestatedConfig(misheard=False)
    )
    assert off.rewrite(RewriteRequest("tell me a joe")) is None


_FORKED: list[RestatementMemory] = []


def _rewrite_in_child(text: str) -> str | None:
    return _target(_FORKED[0], text)


def test_a_forked_worker_uses_the_model_the_parent_used(memory: RestatementMemory) -> None:
    # The A/B harness forks its workers after learning: a model whose threads did not
    # survive the fork would hang them.
    assert _target(memory, "next son") == "next song"  # the parent has used it
    _FORKED[:] = [memory]
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply_async(_rewrite_in_child, ("next son",)).get(timeout=60) == "next song"


def test_saved_and_loaded_memory_keeps_the_threshold(
    memory: RestatementMemory, tmp_path: Path
) -> None:
    memory.save(tmp_path)
    loaded = RestatementMemory.load(tmp_path)
    assert loaded.misheard_threshold == memory.misheard_threshold
    assert _target(loaded, "next son") == "next song"
    # a memory learned before the model existed serves as it was learned
    older = RestatementMemory(
        memory.rows, memory.threshold, {k: v for k, v in memory.info.items() if k != "misheard"}
    )
    assert _target(older, "next son") is None
    assert _target(older, "weak me up at seven tomorrow") == "wake me up at seven tomorrow"


@pytest.mark.skipif(not (DATA / "hwu64").is_dir(), reason="needs ../shared/data")
def test_the_shipped_model_is_what_pretraining_makes() -> None:
    from selflearn.sim.pretrain import pretrain

    made = pretrain(DATA)
    shipped = MisheardModel.shipped()
    # the same code and data make the same model (a library release may move the last digits)
    assert abs(made.threshold - shipped.threshold) <= 0.02
    rows = np.asarray(
        [
            pair_features(
                "play sum jazz",
                [Near("play some jazz", "m", 92.0), Near("play jazz", "m", 80.0)],
                n,
            )
            for n in (50, 500, 5000)
        ]
    )
    assert np.allclose(made.probabilities(rows), shipped.probabilities(rows), atol=0.02)


def test_pretraining_examples_are_seeded() -> None:
    from selflearn.assistant.speech import SpeechChannel
    from selflearn.sim.pretrain import examples

    phrasings = [
        (f"{verb} the {thing} in the {room}", f"{verb}_{thing}")
        for verb in ("turn on", "turn off", "dim", "open", "close")
        for thing in ("light", "lamp", "fan", "blinds", "heater")
        for room in ("kitchen", "bedroom", "office", "hall", "garage")
    ]
    channel = SpeechChannel.fitted()
    first = examples(phrasings, random.Random(4), channel)
    again = examples(phrasings, random.Random(4), channel)
    assert first == again and len(first[0]) == len(first[1]) > 0
    assert set(first[1]) <= {0, 1}
