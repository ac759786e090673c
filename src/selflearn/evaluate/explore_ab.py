"""The exploration A/B: the same households and days without exploring and exploring (its
policy learned again every night from its own log); then, on days after those, the policy it
learned serving without exploring, checked against the off-policy estimate of it.

Learning period (``config.days`` days from ``config.start_day``), over one learned rewriter
whose artefacts stay fixed:

* ``no exploration``: the rewriter as it is;
* ``exploration``: :class:`~selflearn.rewrite.explore.ExploringRewriter`, day by day; each
  night :class:`~selflearn.rewrite.explore.ExplorationLearner` fits the policy again on the
  arm's log so far (its signals: what users said and did next).

Check period (``check_days`` days after it): the last night's policy, fixed,

* ``learned policy``: without exploring — its value on its own choices (on-policy);
* ``learned policy, exploring``: the same policy exploring as in the learning period — the
  log its off-policy estimate is read from (never trained on, so the estimate is fair).

Figures: the whole A/B's (defect rate, goal success, wrong actions, with paired intervals
against no exploration); goal success on the goals where interpretations were held close
(the requests exploring is for); what exploring cost (explored turns whose preferred option
would have served and the explored one did not) against its budget; the learned policy's
on-policy value beside its off-policy estimates.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from selflearn.errors import ConfigError
from selflearn.evaluate.ab import ABResult, ArmResult, with_days
from selflearn.evaluate.bootstrap import relative_change
from selflearn.evaluate.off_policy import ips_estimates
from selflearn.logs import read_turns
from selflearn.rewrite.base import SupportsRewrite
from selflearn.rewrite.explore import (
    ExplorationLearner,
    ExplorationPolicy,
    ExploreConfig,
    ExploringRewriter,
    logged_choices,
)
from selflearn.rewrite.rewriter import Rewriter
from selflearn.signals import compute_signals
from selflearn.sim.simulator import HouseholdRun, SimConfig, Simulator

__all__ = ["ARMS", "run_explore_ab"]

LEARNING = ("no exploration", "exploration")
CHECK = ("no exploration, later", "learned policy", "learned policy, exploring")
ARMS = LEARNING + CHECK
Progress = Callable[[str, int, int], None]


def _day(
    config: SimConfig, day: int, rewriter: Any, progress: Progress | None, name: str
) -> list[HouseholdRun]:
    def step(done: int, total: int) -> None:
        if progress:
            progress(f"{name}, day {day - config.start_day + 1}/{config.days}", done, total)

    return list(Simulator(with_days(config, day, 1), rewriter).runs(step))


def _learn(log: Path, config: ExploreConfig) -> ExplorationPolicy | None:
    """The policy fitted on the arm's log so far; None while it holds no choice."""
    turns, _ = read_turns(sorted(log.glob("day-*.jsonl")))
    try:
        return ExplorationLearner(config).fit(turns, signals=compute_signals(turns).table).policy_
    except ConfigError:
        return None


def _held_goals(
    runs: list[HouseholdRun], held: set[str], order: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Per household (in ``order``): goals of ``held`` (goal ids) served, and all of them."""
    served: dict[str, int] = dict.fromkeys(order, 0)
    total: dict[str, int] = dict.fromkeys(order, 0)
    for run in runs:
        first: dict[str, bool] = {}
        for record in run.truth:
            goal = record.get("goal_id")
            if goal in held and goal not in first:
                first[goal] = bool(record["goal_success"])
        served[run.household_id] = served.get(run.household_id, 0) + sum(first.values())
        total[run.household_id] = total.get(run.household_id, 0) + len(first)
    return (
        np.array([served[h] for h in order], dtype=float),
        np.array([total[h] for h in order], dtype=float),
    )


def run_explore_ab(
    config: SimConfig,
    artefacts: Path,
    explore: ExploreConfig | None = None,
    *,
    check_days: int = 7,
    work: Path | None = None,
    budget_s: float = 1.0,
    resamples: int = 2000,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the learning period's arms day by day, then the check period's; the figures."""
    explore = explore or ExploreConfig()
    base = Rewriter.load(artefacts, budget_s=budget_s)
    with tempfile.TemporaryDirectory() as tmp:
        folder = work or Path(tmp)
        logs = {name: folder / name.replace(" ", "_").replace(",", "") for name in ARMS}
        for path in logs.values():
            path.mkdir(parents=True, exist_ok=True)
            for old in [*path.glob("day-*.jsonl"), *path.glob("truth-*.jsonl")]:
                old.unlink()
        runs: dict[str, list[HouseholdRun]] = {name: [] for name in ARMS}
        policy: ExplorationPolicy | None = None
        nightly = []
        for day in range(config.start_day, config.start_day + config.days):
            exploring = ExploringRewriter(base, policy, explore, budget_s=budget_s)
            for name, rewriter in (("no exploration", base), ("exploration", exploring)):
                done = _day(config, day, rewriter, progress, name)
                runs[name] += done
                _write(logs[name] / f"day-{day:03d}.jsonl", done)
            policy = _learn(logs["exploration"], explore) or policy
            nightly.append({"day": day, "policy": policy.version if policy else None})
        final = policy or ExplorationPolicy(explore)
        learned = ExploringRewriter(base, final, replace(explore, explore=False), budget_s=budget_s)
        later = replace(config, start_day=config.start_day + config.days, days=check_days)
        check: list[tuple[str, SupportsRewrite]] = [
            (CHECK[0], base),
            (CHECK[1], learned),
            (CHECK[2], ExploringRewriter(base, final, explore, budget_s=budget_s)),
        ]
        for name, serving in check:

            def step(done: int, total: int, name: str = name) -> None:
                if progress:
                    progress(name, done, total)

            runs[name] = list(Simulator(later, serving).runs(step))
            _write(logs[name] / f"day-{later.start_day:03d}.jsonl", runs[name])
        return _figures(config, later, runs, logs, explore, nightly, resamples)


def _write(path: Path, runs: list[HouseholdRun]) -> None:
    """The day's turn log, and its ground truth beside it (``truth-…``)."""
    with path.open("w", encoding="utf-8") as out:
        for run in runs:
            out.writelines(line + "\n" for line in run.events)
    with path.with_name(path.name.replace("day-", "truth-")).open("w", encoding="utf-8") as out:
        for run in runs:
            out.writelines(json.dumps(r, separators=(",", ":")) + "\n" for r in run.truth)


def _period(
    config: SimConfig, names: tuple[str, ...], runs: dict[str, list[HouseholdRun]],
    resamples: int,
) -> dict[str, Any]:  # fmt: skip
    """One period's arms against its first: the whole A/B, wrong actions per goal (a rate
    per turn rises when fewer retries are needed), and goal success where some arm held
    interpretations close."""
    arms = []
    for name in names:
        arm = ArmResult(name)
        for run in runs[name]:
            arm.add(run)
        arms.append(arm)
    summary = ABResult(config, arms).summary(resamples=resamples)
    order = sorted(arms[0].households)
    held = {
        r["goal_id"]
        for name in names
        for run in runs[name]
        for r in run.truth
        if r.get("choice") and r.get("goal_id")
    }
    novel = {
        r["goal_id"]
        for run in runs[names[0]]
        for r in run.truth
        if r.get("novel") and r.get("goal_id")
    }
    out: dict[str, Any] = {"arms": summary["arms"], "households": summary["households"]}
    out["held_close"] = _goal_success(runs, names, held, order, resamples, config.seed)
    # goals whose meaning changed since the rewriter learned
    out["novel"] = _goal_success(runs, names, novel, order, resamples, config.seed) if novel else {}
    out["wrong_actions"] = {}
    per_goal = [
        (a["wrong_action_rate"][0], a["goal_success_rate"][1])
        for a in (arm.arrays(order) for arm in arms)
    ]
    for name, (wrong, goals) in zip(names, per_goal, strict=True):
        out["wrong_actions"][name] = {
            "count": int(wrong.sum()),
            "per_goal": round(float(wrong.sum() / max(goals.sum(), 1.0)), 5),
        }
        if name != names[0]:
            out["wrong_actions"][name]["change_per_goal"] = relative_change(
                wrong, goals, *per_goal[0], resamples=resamples, seed=config.seed
            )
    return out


def _goal_success(
    runs: dict[str, list[HouseholdRun]],
    names: tuple[str, ...],
    goals: set[str],
    order: list[str],
    resamples: int,
    seed: int,
) -> dict[str, Any]:
    """Goal success on ``goals`` (goal ids) per arm, and each arm's change against the first."""
    base = _held_goals(runs[names[0]], goals, order)
    out: dict[str, Any] = {}
    for name in names:
        num, den = _held_goals(runs[name], goals, order)
        out[name] = {
            "goals": int(den.sum()),
            "goal_success_rate": round(float(num.sum() / max(den.sum(), 1.0)), 4),
        }
        if name != names[0]:
            out[name]["change"] = relative_change(num, den, *base, resamples=resamples, seed=seed)
    return out


def _figures(
    config: SimConfig,
    later: SimConfig,
    runs: dict[str, list[HouseholdRun]],
    logs: dict[str, Path],
    explore: ExploreConfig,
    nightly: list[dict[str, Any]],
    resamples: int,
) -> dict[str, Any]:
    learning = _period(config, LEARNING, runs, resamples)
    check = _period(later, CHECK, runs, resamples)
    return {
        "config": {
            "users": config.users,
            "days": [config.start_day, config.start_day + config.days - 1],
            "check_days": [later.start_day, later.start_day + later.days - 1],
            "seed": config.seed,
            "explore": explore.__dict__,
        },
        "arms": learning["arms"],
        "households": learning["households"],
        "held_close": learning["held_close"],
        "novel": learning["novel"],
        "wrong_actions": learning["wrong_actions"],
        "cost": _cost(runs["exploration"], explore, config),
        "check": {**check, "cost": _cost(runs["learned policy, exploring"], explore, later)},
        "policy": _policy_value(runs, logs, resamples, config.seed),
        "nightly": nightly,
    }


def _cost(runs: list[HouseholdRun], explore: ExploreConfig, config: SimConfig) -> dict[str, Any]:
    """What exploring cost: explored turns, those it lost (the preferred option would have
    served and the explored one did not, or it did something unwanted), against the budget
    (``per_user_day`` explorations per speaker and day)."""
    records = [r for run in runs for r in run.truth]
    explored = [r for r in records if r.get("explored")]
    outcomes = {k: sum(r.get("explore_outcome") == k for r in explored) for k in
                ("won", "lost", "neutral")}  # fmt: skip
    users = {r["user_id"] for r in records if r.get("user_id")}
    budget = explore.per_user_day * len(users) * config.days
    turns = sum(1 for r in records if not r.get("teach"))
    return {
        "explored": len(explored),
        **outcomes,
        "turns": turns,
        "explored_share": round(len(explored) / max(turns, 1), 4),
        "defects_caused": outcomes["lost"],
        "defects_caused_share": round(outcomes["lost"] / max(turns, 1), 4),
        "budget": budget,
        "within_budget": len(explored) <= budget,
    }


def _policy_value(
    runs: dict[str, list[HouseholdRun]],
    logs: dict[str, Path],
    resamples: int,
    seed: int,
) -> dict[str, Any]:
    """The learned policy on its own choices in the check period (reward: the turn served
    its goal, by the simulator's truth; and 1 − the signals' defect score, from the log
    alone), beside the off-policy estimates of it from the same period's exploring arm's
    logged choices (which it was never trained on)."""
    names = ("learned policy, exploring", "learned policy")
    truth = {r["turn_id"]: r for name in names for run in runs[name] for r in run.truth}
    out: dict[str, Any] = {}
    for name in names:
        turns, _ = read_turns(sorted(logs[name].glob("day-*.jsonl")))
        signals = compute_signals(turns).table
        choices = logged_choices(turns, signals)
        for c in choices:
            c["household"] = c["turn_id"].split("-", 1)[0]
            c["served"] = not truth[c["turn_id"]]["defect"] if c["turn_id"] in truth else False
        out[name] = choices
    on = out["learned policy"]

    Choice = dict[str, Any]

    def value(choices: list[Choice], pick: str, reward: Callable[[Choice], float]) -> Any:
        return ips_estimates(
            choices, lambda c: int(c[pick]), reward, group=lambda c: c["household"],
            resamples=resamples, seed=seed,
        )  # fmt: skip

    def served(c: Choice) -> float:
        return float(c["served"])

    def from_signals(c: Choice) -> float:
        return -float(c["cost"])

    # The policy evaluated off-policy is the one that logged, without exploring: what it
    # preferred is in the log (recomputing it from the logged context would read the
    # targets' states the turn event adds, which the request did not carry).
    logged = out["learned policy, exploring"]
    return {
        "on_policy": {
            "truth": value(on, "chosen", served),
            "signals": value(on, "chosen", from_signals),
        },
        "off_policy": {
            "truth": value(logged, "preferred", served),
            "signals": value(logged, "preferred", from_signals),
        },
        "logging_policy": {"truth": value(logged, "chosen", served)},
    }


def save(document: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, default=str), encoding="utf-8")
    return path
