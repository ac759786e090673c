"""The paired A/B harness (DESIGN §4): the same households, seeds and days under each arm.

An arm is a rewriter applied before intent matching (None for control). Every arm replays
the same simulated households over the same days with the same seeds, so the arms differ
only by what the rewriter changed. For every applied rewrite the simulator also runs the
original recognition on the same turn (same noise draw, same home state) and judges both:
a *win* turned a defect into a success, a *loss* turned a success into a defect or a wrong
action.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from selflearn.evaluate.bootstrap import relative_change
from selflearn.rewrite.base import SupportsRewrite
from selflearn.rewrite.table import RewriteTable
from selflearn.sim.simulator import HouseholdRun, SimConfig, Simulator

__all__ = ["PEER_COLUMNS", "ABResult", "Arm", "ArmResult", "harmful_table", "run_ab"]

METRICS = ("defect_rate", "goal_success_rate", "friction", "wrong_action_rate")
# The side-by-side table's columns (ABResult.peers), as shown in the terminal and the report.
PEER_COLUMNS = (
    "system",
    "recovered",
    "of control's failures",
    "broken",
    "defect rate",
    "wrong actions",
)


@dataclass(frozen=True)
class Arm:
    """A rewriter before intent matching, and/or a fallback matcher after it ("gazetteer":
    Home Assistant's 2026 fallback, gazetteer-matcher)."""

    name: str
    rewriter: SupportsRewrite | None = None
    fallback: str | None = None
    teaching: bool = False  # users may teach preferences; the assistant asks at moments


@dataclass
class _Household:
    turns: int = 0
    defects: int = 0
    wrong: int = 0
    goals: int = 0
    goals_ok: int = 0
    goal_turns_ok: int = 0


@dataclass
class ArmResult:
    """One arm's figures over all households, plus per-household and per-day counts."""

    name: str
    households: dict[str, _Household] = field(default_factory=dict)
    by_day: dict[int, list[int]] = field(default_factory=dict)  # day → [turns, defects]
    failure_points: Counter[str] = field(default_factory=Counter)
    rewrites: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (from, to, outcome)
    working: Counter[tuple[str, str]] = field(default_factory=Counter)  # (heard, intent)
    # (support, layer, method, outcome, original worked) → applied rewrites
    evidence: Counter[tuple[int, str, str, str, bool]] = field(default_factory=Counter)
    # (what changed the understanding: rewrite / fallback / both, outcome) → turns
    changes: Counter[tuple[str, str]] = field(default_factory=Counter)
    fail_opens: int = 0
    # teaching: the simulator's counts (questions, answers, …) and the turns with a meaning
    # only the user holds (personal:<kind>, taught_before, after_teaching, …)
    teaching: Counter[str] = field(default_factory=Counter)

    def add(self, run: HouseholdRun) -> None:
        house = self.households.setdefault(run.household_id, _Household())
        self.fail_opens += run.fail_opens
        self.teaching.update(run.teaching)
        goals: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record in run.truth:
            self._count_teaching(record)
            if record.get("teach") not in (None, "not_taken"):
                continue  # said to the teacher, not a request (one it missed is a defect)
            house.turns += 1
            house.defects += bool(record["defect"])
            house.wrong += bool(record["wrong_action"])
            day = self.by_day.setdefault(int(record["day"]), [0, 0])
            day[0] += 1
            day[1] += bool(record["defect"])
            self.failure_points[record["failure_point"]] += 1
            if record.get("goal_id"):
                goals[record["goal_id"]].append(record)
                if not record["defect"] and record.get("heard"):
                    self.working[(record["heard"], record["intent"])] += 1
            by = "+".join(
                k for k in ("rewrite", "fallback") if record.get(f"{k}_outcome") is not None
            )
            if by:
                outcome = record.get("rewrite_outcome") or record["fallback_outcome"]
                self.changes[(by, str(outcome))] += 1
            if record.get("rewrite_to") is not None:
                pair = (record["rewrite_from"], record["rewrite_to"])
                self.rewrites[(*pair, record["rewrite_outcome"])] += 1
                self.evidence[
                    (
                        int(record.get("rewrite_support") or 0),
                        str(record.get("rewrite_layer")),
                        str(record.get("rewrite_method")),
                        str(record["rewrite_outcome"]),
                        bool(record.get("rewrite_original_ok", True)),
                    )
                ] += 1
        for records in goals.values():
            house.goals += 1
            if records[0]["goal_success"]:
                house.goals_ok += 1
                house.goal_turns_ok += len(records)

    def _count_teaching(self, record: dict[str, Any]) -> None:
        count = self.teaching
        if record.get("teach"):
            count[f"teach:{record['teach']}"] += 1
            return
        kind = record.get("personal")
        if not kind:
            return
        defect = int(bool(record["defect"]))
        for key in ("personal", f"personal:{kind}"):
            count[f"{key}:turns"] += 1
            count[f"{key}:defects"] += defect
        if "taught_before" in record:
            when = "after" if record["taught_before"] else "before"
            count[f"{when}:turns"] += 1
            count[f"{when}:defects"] += defect
        if record.get("after_teaching"):
            count["next_attempt:turns"] += 1
            count["next_attempt:ok"] += 1 - defect

    def teaching_figures(self) -> dict[str, Any]:
        """Requests whose meaning only the user holds, and what teaching did for them."""
        count = self.teaching

        def rate(key: str, numerator: str = "defects") -> float | None:
            turns = count[f"{key}:turns"]
            return round(count[f"{key}:{numerator}"] / turns, 4) if turns else None

        kinds = sorted(
            {k.split(":")[1] for k in count if k.startswith("personal:") and k.count(":") == 2}
        )
        out: dict[str, Any] = {
            "personal_turns": count["personal:turns"],
            "personal_defect_rate": rate("personal"),
            "by_kind": {
                kind: {
                    "turns": count[f"personal:{kind}:turns"],
                    "defect_rate": rate(f"personal:{kind}"),
                }
                for kind in kinds
            },
        }
        if count["users"]:
            # user-weeks; a window shorter than a week counts as one (the budget is per
            # rolling week: 3 questions in 3 days is 3 that week, not 7)
            weeks = max(count["user_days"] / 7.0, float(count["users"]))
            out.update(
                {
                    "before_taught": {
                        "turns": count["before:turns"],
                        "defect_rate": rate("before"),
                    },
                    "after_taught": {"turns": count["after:turns"], "defect_rate": rate("after")},
                    "next_attempt_after_teaching": {
                        "turns": count["next_attempt:turns"],
                        "success_rate": rate("next_attempt", "ok"),
                    },
                    "questions_per_user_week": round(count["questions"] / weeks, 3)
                    if weeks
                    else None,
                    "questions": count["questions"],
                    "moments": count["moments"],
                    "answers": count["answers"],
                    "answers_stored": count["answers_stored"],
                    "answers_missed": count["teach:not_taken"],
                    "guided_questions": count["guided"],
                    "guided_stored": count["guided_stored"],
                    "users": count["users"],
                }
            )
        return out

    def _sum(self, attribute: str) -> int:
        return sum(getattr(h, attribute) for h in self.households.values())

    def figures(self) -> dict[str, Any]:
        turns, goals, ok = self._sum("turns"), self._sum("goals"), self._sum("goals_ok")
        wins = sum(n for (_, _, o), n in self.rewrites.items() if o == "won")
        losses = sum(n for (_, _, o), n in self.rewrites.items() if o == "lost")
        return {
            "turns": turns,
            "goals": goals,
            "defect_rate": round(self._sum("defects") / max(turns, 1), 4),
            "goal_success_rate": round(ok / max(goals, 1), 4),
            "friction": round(self._sum("goal_turns_ok") / max(ok, 1), 4),
            "wrong_action_rate": round(self._sum("wrong") / max(turns, 1), 4),
            "rewrites_applied": sum(self.rewrites.values()),
            # rewritten turns whose original recognition would have been a defect
            "rewrites_on_defects": sum(n for key, n in self.evidence.items() if not key[4]),
            "wins": wins,
            "losses": losses,
            "win_loss": round(wins / losses, 2) if losses else None,
            "fail_opens": self.fail_opens,
            "by_layer": self.by_layer(),
            "teaching": self.teaching_figures(),
        }

    def by_layer(self) -> dict[str, dict[str, Any]]:
        """Applied rewrites, wins and losses of each layer (offline rows say global or
        personal by their table layer; online ones by the layer that decided)."""
        out: dict[str, dict[str, Any]] = {}
        for (_, layer, method, outcome, _), n in sorted(self.evidence.items()):
            name = f"{method if method in ('online', 'taught', 'restated', 'misheard') else 'offline'} {layer}"
            row = out.setdefault(name, {"applied": 0, "wins": 0, "losses": 0})
            row["applied"] += n
            row["wins"] += n if outcome == "won" else 0
            row["losses"] += n if outcome == "lost" else 0
        for row in out.values():
            row["win_loss"] = round(row["wins"] / row["losses"], 1) if row["losses"] else None
        return out

    def arrays(self, order: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per-household (numerator, denominator) of each metric, in ``order``."""
        get = [self.households.get(h, _Household()) for h in order]

        def col(attribute: str) -> np.ndarray:
            return np.array([getattr(h, attribute) for h in get], dtype=float)

        return {
            "defect_rate": (col("defects"), col("turns")),
            "goal_success_rate": (col("goals_ok"), col("goals")),
            "friction": (col("goal_turns_ok"), col("goals_ok")),
            "wrong_action_rate": (col("wrong"), col("turns")),
        }


@dataclass
class ABResult:
    config: SimConfig
    arms: list[ArmResult]

    def summary(self, *, resamples: int = 2000) -> dict[str, Any]:
        """Figures per arm, and each arm's relative change against the first (control)."""
        control = self.arms[0]
        order = sorted(control.households)
        base = control.arrays(order)
        out: dict[str, Any] = {}
        for arm in self.arms:
            figures = arm.figures()
            if arm is not control:
                mine = arm.arrays(order)
                figures["change_vs_control"] = {
                    metric: relative_change(
                        *mine[metric], *base[metric], resamples=resamples, seed=self.config.seed
                    )
                    for metric in METRICS
                }
            # Coverage: the share of control's defective turns whose kind this arm rewrote.
            control_defects = control._sum("defects")
            figures["coverage"] = round(
                figures["rewrites_on_defects"] / control_defects if control_defects else 0.0, 4
            )
            out[arm.name] = figures
        return {
            "households": len(order),
            "users": self.config.users,
            "days": [self.config.start_day, self.config.start_day + self.config.days - 1],
            "seed": self.config.seed,
            "arms": out,
        }

    def curve(self, supports: tuple[int, ...] = (1, 2, 3, 4, 6, 10)) -> list[dict[str, Any]]:
        """Precision against coverage as the support threshold rises, per learned arm.

        Read off the arm's own applied rewrites (each knows its support): keeping only
        rows with support ≥ s. It assumes rewrites do not interact (a rewrite dropped at
        a higher threshold leaves later turns as they were), which holds to first order.
        """
        control_defects = self.arms[0]._sum("defects")
        out = []
        for arm in self.arms[1:]:
            for least in supports:
                kept = {k: n for k, n in arm.evidence.items() if k[0] >= least}
                if not kept and least > min(supports):
                    continue
                wins = sum(n for k, n in kept.items() if k[3] == "won")
                losses = sum(n for k, n in kept.items() if k[3] == "lost")
                covered = sum(n for k, n in kept.items() if not k[4])
                out.append(
                    {
                        "arm": arm.name,
                        "min_support": least,
                        "applied": sum(kept.values()),
                        "wins": wins,
                        "losses": losses,
                        "win_loss": round(wins / losses, 1) if losses else None,
                        "coverage": round(covered / control_defects, 4) if control_defects else 0.0,
                    }
                )
        return out

    def peers(self, names: dict[str, str]) -> list[dict[str, Any]]:
        """Side by side: for each named arm (``names``: shown name → arm name), the share
        of control's failing requests it recovered (turns whose recognised words hassil
        alone would have failed on, that the arm's rewrite or fallback made work), the
        turns it broke, and its wrong actions."""
        control = self.arms[0]
        control_defects = control._sum("defects")
        by_name = {arm.name: arm for arm in self.arms}
        out = []
        for shown, name in names.items():
            arm = by_name.get(name)
            if arm is None:
                continue
            won = sum(n for (_, o), n in arm.changes.items() if o == "won")
            lost = sum(n for (_, o), n in arm.changes.items() if o == "lost")
            turns = arm._sum("turns")
            out.append(
                {
                    "system": shown,
                    "arm": name,
                    "turns": turns,
                    "recovered": won,
                    "recovered_share": round(won / control_defects, 4) if control_defects else 0.0,
                    "broken": lost,
                    "defect_rate": round(arm._sum("defects") / max(turns, 1), 4),
                    "wrong_actions": arm._sum("wrong"),
                    "wrong_action_rate": round(arm._sum("wrong") / max(turns, 1), 4),
                }
            )
        return out

    def top_rewrites(self, limit: int = 20) -> list[dict[str, Any]]:
        """The applied rewrites of every arm with their wins, losses and neutral outcomes."""
        rows: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
        for arm in self.arms:
            for (source, target, outcome), n in arm.rewrites.items():
                rows[(arm.name, source, target)][outcome] += n
        ranked = sorted(rows.items(), key=lambda item: -sum(item[1].values()))
        return [
            {
                "arm": arm,
                "from": source,
                "to": target,
                "applied": sum(c.values()),
                "won": c["won"],
                "lost": c["lost"],
                "neutral": c["neutral"],
            }
            for (arm, source, target), c in ranked[:limit]
        ]


def run_ab(
    config: SimConfig,
    arms: list[Arm],
    progress: Callable[[str, int, int], None] | None = None,
) -> ABResult:
    """Replay ``config``'s households under every arm; the first arm is the control."""
    results = []
    for arm in arms:
        result = ArmResult(arm.name)

        def step(done: int, total: int, name: str = arm.name) -> None:
            if progress:
                progress(name, done, total)

        arm_config = replace(config, teaching=arm.teaching) if arm.teaching else config
        for run in Simulator(arm_config, arm.rewriter, fallback=arm.fallback).runs(step):
            result.add(run)
        results.append(result)
    return ABResult(config, results)


def harmful_table(control: ArmResult) -> RewriteTable:
    """A deliberately harmful rewrite: the most common working request → a working
    request of another intent that changes the home. The harness must report it as losses.
    """
    ranked = control.working.most_common()
    if not ranked:
        raise ValueError("the control arm has no working requests to build a harmful arm")
    (source, intent), _ = ranked[0]
    target = next(
        (
            text
            for (text, other), _ in ranked
            if other != intent and other in ("HassTurnOff", "HassTurnOn")
        ),
        None,
    )
    if target is None:
        raise ValueError("the control arm has no working on/off request to rewrite to")
    return RewriteTable.from_rows(
        [{"source": source, "rewrite": target, "score": 1.0, "support": 1, "method": "harmful"}]
    )


def with_days(config: SimConfig, start_day: int, days: int) -> SimConfig:
    return replace(config, start_day=start_day, days=days)
