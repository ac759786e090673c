"""Exploring close interpretations: the logged choice (contract), the exploring rewriter's
budgets and safety, learning the policy from logged choices, off-policy estimates, and the
simulator's hands after an action."""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from selflearn.errors import SchemaError
from selflearn.evaluate.off_policy import ips_estimates
from selflearn.logs.arrow import TURN_SCHEMA, events_to_table, table_to_events
from selflearn.logs.schema import TurnEvent
from selflearn.rewrite.base import Considered, Rewrite, RewriteRequest
from selflearn.rewrite.explore import (
    ExplorationLearner,
    ExploreConfig,
    ExploringRewriter,
    option_domain,
)
from selflearn.signals.compute import SIGNALS_SCHEMA

CHOICE = {
    "options": [
        {"text": "play hunger games", "layer": "heard", "score": None},
        {"text": "play the audiobook hunger games", "layer": "personal", "score": 0.55},
    ],
    "chosen": 1,
    "default": 0,
    "preferred": 0,
    "propensity": 0.2,
    "policy": "explore:1",
}


def _event(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "turn_id": f"t{i}",
        "device_id": "display.living_room",
        "device_type": "display",
        "ts": 1_790_000_000.0 + 60 * i,
        "asr": {"text": "play hunger games", "confidence": 0.9},
        "nlu": {"intent": "HassMediaSearchAndPlay", "slots": {}, "confidence": 1.0},
        "response": {"text": "Playing", "status": "success"},
        **extra,
    }


def test_a_logged_choice_round_trips_and_a_bad_one_is_named() -> None:
    event = TurnEvent.from_dict(_event(1, choice=CHOICE))
    assert event.choice is not None and event.choice.propensity == 0.2
    back = table_to_events(events_to_table([event]))[0]
    assert back.choice == event.choice
    for bad, field in (
        ({**CHOICE, "chosen": 2}, "choice.chosen"),
        ({**CHOICE, "propensity": 0.0}, "choice.propensity"),
        ({**CHOICE, "options": CHOICE["options"][:1]}, "choice.options"),
    ):
        with pytest.raises(SchemaError) as err:
            TurnEvent.from_dict(_event(2, choice=bad))
        assert field in str(err.value)
    with pytest.raises(SchemaError, match="choice"):
        TurnEvent.from_dict(_event(3, schema_version="1", choice=CHOICE))


def test_columnar_checks_know_the_choice(tmp_path: Path) -> None:
    from selflearn.logs.io import Batch
    from selflearn.logs.store import TurnStore

    rows = events_to_table([TurnEvent.from_dict(_event(1, choice=CHOICE))]).to_pylist()
    rows[0]["choice"]["propensity"] = 1.5
    with TurnStore.open(tmp_path / "s.duckdb") as store:
        summary = store.ingest_batch(
            Batch("x", pa.Table.from_pylist(rows, schema=TURN_SCHEMA), [1], [], 0)
        )
    assert summary.accepted == 0 and "choice" in str(summary.rejected[0])


class _Index:
    """What the exploring rewriter reads of the online index: each known text's intent
    and devices."""

    def __init__(self, known: dict[str, tuple[str, list[str]]]) -> None:
        self.texts = list(known)
        self.intent = [known[t][0] for t in self.texts]
        self._entities = [known[t][1] for t in self.texts]

    def row(self, scope: str, text: str) -> int | None:
        return self.texts.index(text) if text in self.texts and scope == "global" else None

    def entities(self, row: int) -> list[str]:
        return self._entities[row]


class _Rewriter:
    """A rewriter holding one rewrite just under its threshold for every request."""

    online = None

    def __init__(self, target: str, score: float = 0.5, fail: bool = False) -> None:
        self.target, self.score, self.fail = target, score, fail

    def consider(self, request: RewriteRequest) -> list[Considered]:
        if self.fail:
            raise RuntimeError("broken index")
        why = "ranker score below the global threshold"
        return [Considered(self.target, "global", "online", self.score, 0.6, 3, why)]

    def rewrite(self, request: RewriteRequest) -> Rewrite | None:
        return None


KNOWN = {
    "turn on the lamp": ("HassTurnOn", ["light.lamp"]),
    "turn on the lamb": ("HassTurnOn", ["light.lamp"]),
    "unlock the door": ("HassTurnOff", ["lock.front_door"]),
    "unlock the doors": ("HassTurnOff", ["lock.front_door"]),
    "what is the weather": ("HassGetWeather", []),
}


def _request(text: str, user: str, i: int, day: int = 0) -> RewriteRequest:
    return RewriteRequest(
        text, user, f"d-{user}", "speaker", "kitchen", {"local_time": "07:00"}, 0.8,
        ts=1_790_000_000.0 + day * 86_400 + i,
    )  # fmt: skip


def test_option_domains_name_only_what_is_cheap_to_undo() -> None:
    index: Any = _Index(KNOWN)
    assert option_domain(index, None, "turn on the lamp") == "light"
    assert option_domain(index, None, "what is the weather") == "query"
    assert option_domain(index, None, "unlock the door") is None  # a lock: never
    assert option_domain(index, None, "open the garage") is None  # unknown: never
    assert option_domain(None, None, "turn on the lamp") is None


def test_exploring_keeps_its_budget_and_never_touches_a_lock() -> None:
    config = ExploreConfig(epsilon=0.5, per_user_day=2, domain_share=1.0)
    index: Any = _Index(KNOWN)
    lamp = ExploringRewriter(_Rewriter("turn on the lamp"), config=config, index=index)
    served = [lamp.rewrite(_request("turn on the lamb", f"u{i % 5}", i)) for i in range(200)]
    choices = [r.choice for r in served if r is not None and r.choice is not None]
    assert len(choices) == 200  # every request had a choice, and it was logged
    explored = [c for c in choices if c["chosen"] != c["preferred"]]
    # five speakers, two explorations each per day at most, epsilon 0.5 of the rest
    assert 1 <= len(explored) <= 10
    assert all(c["propensity"] == 0.5 for c in explored)
    assert all(c["policy"].startswith(("explore", "greedy")) for c in choices)
    # the next day the budget is fresh again
    later = [lamp.rewrite(_request("turn on the lamb", "u0", i, day=1)) for i in range(50)]
    assert any(r is not None and r.choice and r.choice["chosen"] == 1 for r in later)
    door = ExploringRewriter(_Rewriter("unlock the door"), config=config, index=index)
    for i in range(100):
        answer = door.rewrite(_request("unlock the doors", "u1", i))
        assert answer is not None and answer.choice is not None
        assert answer.choice["chosen"] == 0 and answer.choice["propensity"] == 1.0


def test_a_failing_rewriter_fails_open() -> None:
    broken = ExploringRewriter(_Rewriter("turn on the lamp", fail=True), index=_Index(KNOWN))  # type: ignore[arg-type]
    assert broken.rewrite(_request("turn on the lamb", "u1", 1)) is None
    assert broken.metrics["fail_open:error"] == 1


def _logged(n: int, seed: int = 0) -> tuple[pa.Table, pa.Table]:
    """Choices between the words as heard and one rewrite, drawn uniformly: the rewrite
    works for u1 (defect 0.05) and fails for u2 (0.9); the words as heard fail for u1 and
    work for u2."""
    rng = random.Random(seed)
    events, signals = [], []
    for i in range(n):
        user = "u1" if i % 2 else "u2"
        chosen = rng.randrange(2)
        choice = {**CHOICE, "chosen": chosen, "preferred": 0, "propensity": 0.5}
        event = _event(i, user_id=user, choice=choice)
        event["context"] = {"area": "living room", "local_time": "19:00", "weekday": 2}
        events.append(TurnEvent.from_dict(event))
        works = (user == "u1") == (chosen == 1)
        signals.append({"turn_id": f"t{i}", "defect_score": 0.05 if works else 0.9})
    table = events_to_table(events)
    columns = {f.name: [s.get(f.name) for s in signals] for f in SIGNALS_SCHEMA}
    return table, pa.table(columns, schema=SIGNALS_SCHEMA)


def test_the_policy_learns_who_wants_which_and_saves(tmp_path: Path) -> None:
    turns, signals = _logged(400)
    learner = ExplorationLearner(ExploreConfig(seed=1)).fit(turns, signals=signals)
    policy = learner.policy_
    assert policy is not None and policy.trained_on == 400
    index: Any = _Index(
        {
            "play hunger games": ("HassMediaSearchAndPlay", ["media_player.tv"]),
            "play the audiobook hunger games": ("HassMediaSearchAndPlay", ["media_player.tv"]),
        }
    )

    class Held(_Rewriter):
        def consider(self, request: RewriteRequest) -> list[Considered]:
            why = "ranker score below the personal threshold"
            return [Considered(self.target, "personal", "online", 0.55, 0.6, 2, why)]

    exploring = ExploringRewriter(
        Held("play the audiobook hunger games"), policy,
        ExploreConfig(explore=False), index=index,
    )  # fmt: skip

    def ask(user: str) -> RewriteRequest:
        return RewriteRequest(
            "play hunger games", user, "display.living_room", "display", "living room",
            {"area": "living room", "local_time": "19:00", "weekday": 2}, 0.9, ts=1.8e9,
        )  # fmt: skip

    u1, u2 = exploring.rewrite(ask("u1")), exploring.rewrite(ask("u2"))
    assert u1 is not None and u1.target == "play the audiobook hunger games"
    assert u2 is not None and u2.target == u2.source  # the words as heard, unchanged
    assert u1.choice is not None and u1.choice["propensity"] == 1.0
    # a speaker with no evidence gets what the rewriter serves, whatever VW thinks
    u3 = exploring.rewrite(ask("u3"))
    assert u3 is not None and u3.target == u3.source
    # saved and loaded (and pickled for worker processes), it decides the same
    learner.save(tmp_path)
    again = ExplorationLearner.load(tmp_path)
    options = exploring.options(ask("u1"))[0]
    assert again.choose(ask("u1"), options) == learner.choose(ask("u1"), options) == 1
    copy = pickle.loads(pickle.dumps(policy))
    assert copy.preferred(ask("u2"), options, 0) == policy.preferred(ask("u2"), options, 0)
    meta = json.loads((tmp_path / "explore" / "policy.json").read_text())
    assert meta["trained_on"] == 400


def test_a_log_without_choices_learns_no_policy() -> None:
    from selflearn.errors import ConfigError

    turns = events_to_table([TurnEvent.from_dict(_event(1))])
    signals = pa.table({f.name: [None] for f in SIGNALS_SCHEMA}, schema=SIGNALS_SCHEMA).set_column(
        0, "turn_id", pa.array(["t1"])
    )
    with pytest.raises(ConfigError, match="no logged choice"):
        ExplorationLearner().fit(turns, signals=signals)


def test_inverse_propensity_estimates_recover_a_policys_value() -> None:
    """Uniformly logged choices; the target always picks option 1, which works 80 % of the
    time (option 0: 30 %): IPS and SNIPS find 0.8 within their intervals."""
    rng = random.Random(3)
    logged = []
    for i in range(4000):
        chosen = rng.randrange(2)
        works = rng.random() < (0.8 if chosen == 1 else 0.3)
        logged.append({"chosen": chosen, "propensity": 0.5, "r": float(works), "g": f"h{i % 80}"})
    out = ips_estimates(
        logged, lambda c: 1, lambda c: c["r"], group=lambda c: c["g"], resamples=300
    )
    assert out["ips_ci"][0] <= 0.8 <= out["ips_ci"][1]
    assert out["snips_ci"][0] <= 0.8 <= out["snips_ci"][1]
    assert abs(out["snips"] - 0.8) < 0.03


def test_the_owners_report_counts_close_calls_and_explorations() -> None:
    from selflearn.report.owner import owner_view

    turns, signals = _logged(40)
    view = owner_view(turns, signals, days=0)
    seen = view.data["explored"]
    assert seen["choices"] == 40
    assert 0 < seen["explored"] < 40  # drawn at random between the two (preferred: 0)
    assert seen["explored_worked"] is not None and seen["preferred_worked"] is not None


def test_the_simulator_counts_as_explored_only_what_the_policy_did_not_prefer() -> None:
    """An option the learned policy prefers over the rewriter's pick is its choice, not an
    exploration: the truth marks (and previews against) the policy's preference."""
    from types import SimpleNamespace

    from selflearn.logs.schema import Choice
    from selflearn.sim.simulator import _note_choice

    class Previewed:
        def preview(self, text: str, **_: Any) -> Any:
            raise AssertionError("nothing was explored: nothing to compare")

    kept = Choice.model_validate({**CHOICE, "chosen": 1, "default": 0, "preferred": 1})
    record: dict[str, Any] = {}
    turn: Any = SimpleNamespace(event=SimpleNamespace(choice=kept, ts=1.0))
    goal: Any = SimpleNamespace(device_id="d")
    _note_choice(record, turn, goal, True, False, Previewed(), (None, None))
    assert record == {"choice": True}


def test_every_choice_reaches_the_turn_whatever_was_chosen() -> None:
    """A choice is logged with its turn whether the words as heard were chosen or the
    assistant declined the chosen rewrite (a guess among two lamps): leaving either out
    would over-count explorations among the logged choices."""
    from selflearn.assistant import Assistant

    class Chooser:
        def __init__(self, chosen: int) -> None:
            self.chosen = chosen

        def rewrite(self, request: RewriteRequest) -> Rewrite:
            options = [request.text, "turn on the lamp"]
            choice = {
                "options": [{"text": t, "layer": "x", "score": None} for t in options],
                "chosen": self.chosen, "default": 1, "preferred": self.chosen,
                "propensity": 0.8, "policy": "explore:1",
            }  # fmt: skip
            target = options[self.chosen]
            return Rewrite(request.text, target, "global", 0.5, "online", 3, choice=choice)

    heard = Assistant.create(speech=False, rewriter=Chooser(0))
    turn = heard.handle("lamp thingy", device_id="satellite.bedroom")
    assert turn.rewrite is None and turn.event.choice is not None
    assert turn.event.choice.chosen == 0
    # two lamps in the home: the rewrite is a guess and declined, the choice still logged
    declined = Assistant.create(speech=False, rewriter=Chooser(1))
    turn = declined.handle("lamp thingy", device_id="satellite.bedroom")
    assert turn.rewrite is None and declined.rewrites_declined == 1
    assert turn.event.choice is not None and turn.event.choice.chosen == 1
