"""The restatement memory: requests like a restated failure get the restatement's words,
from a small log in any domain, with a threshold the log itself sets."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from selflearn.cli import app
from selflearn.errors import ConfigError
from selflearn.learn import learn
from selflearn.logs import events_to_table
from selflearn.logs.schema import TurnEvent
from selflearn.rewrite.base import RewriteRequest
from selflearn.rewrite.restated import RESTATED_FILE, RestatedConfig, RestatementMemory
from selflearn.rewrite.rewriter import Rewriter, available_layers
from selflearn.signals import compute_signals

# (what was meant, its intent, how the recogniser got it wrong, the intent that was read)
MISHEARD = [
    ("wake me up at seven tomorrow", "alarm_set", "weak me up at seven tomorrow", "qa_factoid"),
    ("email mary about the budget", "email_send", "email marry a bout the budget", "social_post"),
    ("play some jazz in the kitchen", "play_music", "play some jars in the kitchen", "lists_add"),
    ("what is the weather in paris", "weather_query", "what is the whether in pairs", "qa_def"),
    ("remind me to call my mother", "calendar_set", "remind me to cool my mother", "iot_cool"),
    ("add milk to my shopping list", "lists_add", "at milk to my shopping list", "qa_factoid"),
    ("read my new emails", "email_query", "red my new e mails", "qa_factoid"),
    ("skip this song", "music_next", "skip this son", "general_quirky"),
]
# requests that work as said, several of them close to another meaning
WORKING = [
    ("set an alarm for six", "alarm_set"),
    ("set an alarm for seven", "alarm_set"),
    ("email john about the meeting", "email_send"),
    ("play some rock in the bedroom", "play_music"),
    ("what is the weather in london", "weather_query"),
    ("remind me to water the plants", "calendar_set"),
    ("add eggs to my shopping list", "lists_add"),
    ("what time is it", "datetime_query"),
    ("tell me a joke", "general_joke"),
    ("next song", "music_next"),
]


def _event(turn_id: str, user: str, ts: float, text: str, intent: str) -> TurnEvent:
    return TurnEvent.model_validate(
        {
            "schema_version": "1",
            "turn_id": turn_id,
            "user_id": user,
            "device_id": f"phone-{user}",
            "device_type": "phone",
            "ts": ts,
            "asr": {"text": text, "confidence": None},
            "nlu": {"intent": intent, "slots": {}},
            "response": {"text": "Done.", "status": "success", "duration_ms": 1500},
            "context": {},
        }
    )


def _log(turns: int = 500, seed: int = 0) -> list[TurnEvent]:
    """A silent-failure log beyond the smart home: a misheard request answered ``success``
    as another intent, said again 3–8 s later and understood; working requests alone."""
    rng = random.Random(seed)
    events: list[TurnEvent] = []
    ts, n = 1_767_225_600.0, 0
    while len(events) < turns:
        user = f"user-{rng.randrange(40)}"
        if rng.random() < 0.25:
            meant, intent, heard, read = rng.choice(MISHEARD)
            events.append(_event(f"t{n}-0", user, ts, heard, read))
            events.append(_event(f"t{n}-1", user, ts + 1.5 + rng.uniform(3, 8), meant, intent))
        else:
            text, intent = rng.choice(WORKING + [(m, i) for m, i, _, _ in MISHEARD])
            events.append(_event(f"t{n}-0", user, ts, text, intent))
        ts += 3600.0
        n += 1
    return events


@pytest.fixture(scope="module")
def memory() -> RestatementMemory:
    table = events_to_table(_log())
    return RestatementMemory.build(table, compute_signals(table).table)


def _target(memory: RestatementMemory, text: str) -> str | None:
    found = memory.rewrite(RewriteRequest(text))
    return None if found is None else found.target


def test_a_restated_failure_is_rewritten_to_its_restatement(memory: RestatementMemory) -> None:
    assert memory.info["from"] == "leave-one-out" and memory.info["precision"] >= 0.92
    for meant, _, heard, _ in MISHEARD:
        assert _target(memory, heard) == meant, heard
    found = memory.rewrite(RewriteRequest("Weak me up at seven tomorrow!"))
    assert found is not None and found.layer == "global" and found.method == "restated"
    assert found.support >= 1 and 0 < found.score <= 1


def test_misrecognitions_no_one_made_twice_are_reached(memory: RestatementMemory) -> None:
    assert _target(memory, "weak me up at seven tomorrow please") == "wake me up at seven tomorrow"
    assert _target(memory, "email marry a bout the budgets") == "email mary about the budget"


def test_what_works_and_other_meanings_are_left_alone(memory: RestatementMemory) -> None:
    for text, _ in WORKING:
        assert _target(memory, text) is None, text
    for meant, _, _, _ in MISHEARD:
        assert _target(memory, meant) is None, meant
    # near a known working request of another meaning, or near nothing at all
    assert _target(memory, "set an alarm for five") is None
    assert _target(memory, "what is the weather in berlin") is None
    assert _target(memory, "order a pizza with olives") is None
    assert _target(memory, "") is None
    # near a restated failure in letters, but a word swapped for one that sounds nothing
    # like it: another request, not that failure heard again


def _with(
    memory: RestatementMemory,
    *rows: tuple[str, str, int, int, int],
    config: RestatedConfig | None = None,
) -> RestatementMemory:
    """The memory with (text, target, failed, worked, users) rows added, threshold 0."""
    extra = [
        {"text": t, "target": g, "failed": f, "worked": w, "users": u, "intent": None}
        for t, g, f, w, u in rows
    ]
    table = pa.Table.from_pylist(memory.rows.to_pylist() + extra, memory.rows.schema)
    return RestatementMemory(table, 0.0, config=config)


def test_a_request_near_a_failure_is_it_heard_again_only_when_it_sounds_alike(
    memory: RestatementMemory,
) -> None:
    rows = (
        ("can i get a recipe for eggs", "can i get a recipe for turkey", 3, 0, 3),
        ("can i get a recipe for turkey", "can i get a recipe for turkey", 0, 5, 3),
    )
    near = _with(memory, *rows)
    assert _target(near, "can i get a recipe for eggs") == "can i get a recipe for turkey"
    assert _target(near, "can i get the recipe for eggs") == "can i get a recipe for turkey"
    # another dish, near in letters: not that failure heard again
    assert _target(near, "can i get a recipe for brownies") is None
    loose = _with(memory, *rows, config=RestatedConfig(swap_alike=0.0))
    assert _target(loose, "can i get a recipe for brownies") == "can i get a recipe for turkey"


def test_the_guard_holds(memory: RestatementMemory) -> None:
    guarded = _with(
        memory,
        ("turn of the light", "turn on the light", 3, 0, 3),
        ("turn on the light", "turn on the light", 0, 5, 3),
        ("is the whether warm in rome", "is the weather warm in rome", 3, 0, 3),
        ("is the weather warm in rome", "is the weather warm in rome", 0, 5, 3),
    )
    assert _target(guarded, "turn of the light") is None  # "of" may be "off": never "on"
    assert _target(guarded, "is the whether warm in rome") == "is the weather warm in rome"


def test_one_users_words_stay_theirs(memory: RestatementMemory) -> None:
    shared = _with(
        memory,
        ("buzz my sister", "text my sister", 2, 0, 2),
        ("text my sister", "text my sister", 0, 4, 2),
        ("buzz my brother", "text my brother", 2, 0, 1),
        ("text my brother", "text my brother", 0, 4, 1),  # worked for one person only
    )
    assert _target(shared, "buzz my sister") == "text my sister"
    assert _target(shared, "buzz my brother") is None


def test_save_and_load_give_the_same_answers(memory: RestatementMemory, tmp_path: Path) -> None:
    path = memory.save(tmp_path)
    assert path.name == RESTATED_FILE
    loaded = RestatementMemory.load(tmp_path)
    assert loaded.threshold == memory.threshold and loaded.info == memory.info
    for _, _, heard, _ in MISHEARD:
        assert _target(loaded, heard) == _target(memory, heard)
    path.write_bytes(b"not parquet")
    with pytest.raises(ValueError, match="not a readable restatement memory"):
        RestatementMemory.load(tmp_path)


def test_a_log_without_restatements_says_so() -> None:
    table = events_to_table(
        [_event(f"t{i}", "u", 1e9 + 3600 * i, "what time is it", "q") for i in range(5)]
    )
    with pytest.raises(ConfigError, match="restated failures"):
        RestatementMemory.build(table, compute_signals(table).table)


def test_a_tiny_log_serves_the_prior() -> None:
    table = events_to_table(_log(turns=12, seed=3))
    built = RestatementMemory.build(table, compute_signals(table).table)
    assert built.info["from"] == "prior" and built.threshold == RestatedConfig().prior_margin


def test_a_500_turn_log_beyond_the_home_is_learned_and_served(tmp_path: Path) -> None:
    art = tmp_path / "art"
    summary = learn(events_to_table(_log()), art, rephrase_model=False, online=False)
    assert summary["restated"]["used"] and (art / RESTATED_FILE).is_file()
    assert available_layers(art) == ("offline", "global", "personal")
    rewriter = Rewriter.load(art, cache=False)
    assert "global" in rewriter.layers and rewriter.online is None
    found = rewriter.rewrite(RewriteRequest("red my new e mails please"))
    assert found is not None and found.target == "read my new emails"
    result = CliRunner().invoke(
        app, ["rewrite", "what is the whether in pairs", "--artefacts", str(art)]
    )
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout.splitlines()[-1])
    assert decision["rewrite"]["to"] == "what is the weather in paris"
    assert decision["before"] is None  # no home given: the rewrite alone
