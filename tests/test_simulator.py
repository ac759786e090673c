"""The simulator: reproducible, a realistic defect rate with every failure point, honest truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from selflearn.errors import ConfigError
from selflearn.logs import TurnEvent
from selflearn.sim import FAILURE_POINTS, SimConfig, Simulator, make_household, population
from selflearn.sim.realdata import RealPhrasings


def test_same_seed_same_bytes_whatever_the_worker_count(tmp_path: Path) -> None:
    paths = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        Simulator(SimConfig(users=40, days=1, seed=5, workers=workers)).write(
            out / "turns.jsonl", out / "truth.jsonl"
        )
        paths.append(out)
    for name in ("turns.jsonl", "truth.jsonl"):
        assert (paths[0] / name).read_bytes() == (paths[1] / name).read_bytes()
    other = tmp_path / "other"
    Simulator(SimConfig(users=6, days=2, seed=6)).write(other / "t.jsonl", other / "g.jsonl")
    assert (other / "t.jsonl").read_bytes() != (paths[0] / "turns.jsonl").read_bytes()


def test_defect_rate_and_every_failure_point(sim_files: tuple[Path, Path, dict]) -> None:
    _, _, summary = sim_files
    print("\nsimulated:", json.dumps(summary))
    assert 0.10 <= summary["defect_rate"] <= 0.25
    assert set(summary["failure_points"]) == set(FAILURE_POINTS)


def test_log_is_valid_and_truth_is_beside_it_not_in_it(sim_files: tuple[Path, Path, dict]) -> None:
    log, truth_path, _ = sim_files
    events = [TurnEvent.from_json(line) for line in log.read_text().splitlines()]
    truth = {r["turn_id"]: r for r in map(json.loads, truth_path.read_text().splitlines())}
    assert [e.turn_id for e in events] == list(truth)
    for event in events[:200]:
        assert "failure" not in json.dumps(event.to_dict())
    required = {
        "spoken_text", "intent", "slots", "failure_point", "defect", "goal_id",
        "goal_success", "rephrase_of",
    }  # fmt: skip
    assert all(required <= set(r) for r in truth.values())
    by_id = {e.turn_id: e for e in events}
    for record in truth.values():
        if record["rephrase_of"] is not None:
            earlier = truth[record["rephrase_of"]]
            assert earlier["goal_id"] == record["goal_id"]
            assert by_id[record["rephrase_of"]].ts < by_id[record["turn_id"]].ts
        assert record["defect"] == (record["failure_point"] != "none")


def test_reactions_show_in_the_log(sim_files: tuple[Path, Path, dict]) -> None:
    log, truth_path, _ = sim_files
    events = [json.loads(line) for line in log.read_text().splitlines()]
    truth = [json.loads(line) for line in truth_path.read_text().splitlines()]
    assert any(e["barge_in_ms"] is not None for e in events)
    assert any(e["feedback"] == "negative" for e in events)
    strategies = {r["strategy"] for r in truth if r["strategy"]}
    assert {"repeat", "canonical", "real_name", "add_room"} <= strategies
    assert any(r["wrong_action"] for r in truth)
    # Gaps: seconds between attempts at one goal, much longer between goals.
    ts = {e["turn_id"]: e["ts"] for e in events}
    retries = [ts[r["turn_id"]] - ts[r["rephrase_of"]] for r in truth if r["rephrase_of"]]
    assert 1 < sorted(retries)[len(retries) // 2] < 30


def test_what_users_do_by_hand_shows_in_the_log(sim_files: tuple[Path, Path, dict]) -> None:
    """A wrong action is put right by hand far more often than a right one is touched; what
    the watcher saw is on the turn (contract 2), within its window; nothing is watched where
    nothing was done."""
    log, truth_path, _ = sim_files
    events = {e["turn_id"]: e for e in map(json.loads, log.read_text().splitlines())}
    truth = [json.loads(line) for line in truth_path.read_text().splitlines()]
    acted = [r for r in truth if events[r["turn_id"]]["after_action"] is not None]
    wrong = [r for r in acted if r["wrong_action"]]
    right = [r for r in acted if not r["defect"]]
    share = lambda rows: sum(bool(events[r["turn_id"]]["after_action"]) for r in rows) / len(rows)  # noqa: E731
    assert wrong and right
    assert share(wrong) > 0.5 > 0.1 > share(right), (share(wrong), share(right))
    seen = [a for e in events.values() for a in e["after_action"] or ()]
    assert {a["kind"] for a in seen} >= {"undone", "skipped"}
    assert all(0 < a["after_ms"] <= 20_000 for a in seen)
    queries = [r for r in truth if r.get("goal_kind") in ("time", "date", "weather")]
    assert queries and all(events[r["turn_id"]]["after_action"] is None for r in queries)


def test_hands_put_the_wrong_light_back_and_switch_the_meant_one() -> None:
    import random

    from selflearn.assistant.home import Home
    from selflearn.sim.hands import HandsConfig, react_by_hand

    config = HandsConfig(undo_wrong=1.0, do_it_by_hand=1.0)
    before = Home.default()
    lights = [e.id for e in before.entities if e.domain == "light"][:2]
    home = before.copy()
    home.entity(lights[0]).state = "on"  # type: ignore[union-attr]
    reaction = react_by_hand(
        {lights[1]: "on"}, {lights[0]: "on"}, True, home, before, 10.0, 8.0,
        random.Random(1), config,
    )  # fmt: skip
    assert reaction.done_by_hand
    assert [a["kind"] for a in reaction.seen or []] == ["undone", "other_device"]
    assert home.entity(lights[0]).state == before.entity(lights[0]).state  # type: ignore[union-attr]
    assert home.entity(lights[1]).state == "on"  # type: ignore[union-attr]
    nothing = react_by_hand({}, {}, False, home, before, 10.0, 8.0, random.Random(1), config)
    assert nothing.seen is None and not nothing.done_by_hand
    with pytest.raises(ConfigError, match="skip_wrong"):
        HandsConfig(skip_wrong=0.8, stop_wrong=0.5)


def test_households_vary_and_users_persist() -> None:
    a, b = make_household(0, seed=1), make_household(1, seed=1)
    names = lambda h: sorted(e.name for e in h.home.entities)  # noqa: E731
    assert names(a) != names(b) or [d.id for d in a.devices] != [d.id for d in b.devices]
    again = make_household(0, seed=1)
    assert [u.own_words for u in again.users] == [u.own_words for u in a.users]
    users = population(SimConfig(users=23))
    assert sum(len(h.users) for h in users) == 23
    assert all(1 <= len(h.users) <= 5 for h in users)


def test_without_shared_data_it_says_so(tmp_path: Path) -> None:
    real = RealPhrasings.load(tmp_path / "nowhere")
    assert not real
    assert "templates and our own rules only" in real.source or "not found" in real.source
    summary = Simulator(SimConfig(users=3, days=1, real_data=tmp_path / "nowhere")).write(
        tmp_path / "t.jsonl", tmp_path / "g.jsonl"
    )
    assert summary["turns"] > 0
    assert "not found" in summary["real_phrasings"]


def test_config_errors_name_the_parameter() -> None:
    with pytest.raises(ConfigError, match="'users' parameter of SimConfig"):
        SimConfig(users=0)
    with pytest.raises(ConfigError, match="'sources'"):
        SimConfig(sources=(0.0, 0.0, 0.0))


def test_defect_rate_is_configurable(tmp_path: Path) -> None:
    def rate(**changes: object) -> float:
        config = SimConfig(users=12, days=2, seed=2, **changes)  # type: ignore[arg-type]
        summary = Simulator(config).write(tmp_path / "t.jsonl", tmp_path / "g.jsonl")
        return float(summary["defect_rate"])

    easy = rate(noise_scale=0.0, false_wakes_per_hour=0.0, sources=(1.0, 0.0, 0.0))
    default = rate()
    hard = rate(noise_scale=4.0, sources=(0.5, 0.3, 0.2))
    print(f"\ndefect rate: easy {easy:.3f}, default {default:.3f}, hard {hard:.3f}")
    assert easy < default < hard
