"""The A/B harness invents no effects and reports a harmful rewrite as losses."""

from __future__ import annotations

import json

import numpy as np

from selflearn.evaluate import Arm, harmful_table, relative_change, run_ab
from selflearn.rewrite import RewriteTable
from selflearn.sim import SimConfig

CONFIG = SimConfig(users=24, days=2, start_day=14, seed=3, workers=2)


def test_identical_arms_show_no_change_and_a_harmful_arm_shows_losses() -> None:
    result = run_ab(CONFIG, [Arm("control"), Arm("control-again", RewriteTable())])
    harmful = harmful_table(result.arms[0])
    result.arms.extend(run_ab(CONFIG, [Arm("harmful", harmful)]).arms)
    summary = result.summary(resamples=500)
    print("\nA/B:", json.dumps(summary["arms"]["harmful"]))
    same = summary["arms"]["control-again"]["change_vs_control"]
    for metric in ("defect_rate", "goal_success_rate", "friction", "wrong_action_rate"):
        assert same[metric]["low"] <= 0.0 <= same[metric]["high"], metric
    bad = summary["arms"]["harmful"]
    assert bad["rewrites_applied"] > 0
    assert bad["losses"] > 0 and bad["wins"] == 0
    assert bad["change_vs_control"]["wrong_action_rate"]["change"] > 0
    assert bad["change_vs_control"]["defect_rate"]["low"] > 0
    rows = result.top_rewrites()
    assert rows[0]["arm"] == "harmful" and rows[0]["lost"] == rows[0]["applied"]


def test_bootstrap_matches_a_direct_computation() -> None:
    rng = np.random.default_rng(0)
    den = rng.integers(50, 100, size=40).astype(float)
    control = rng.binomial(den.astype(int), 0.2).astype(float)
    arm = rng.binomial(den.astype(int), 0.1).astype(float)
    change = relative_change(arm, den, control, den, resamples=1000)
    assert abs(change["change"] - (arm.sum() / control.sum() - 1)) < 1e-3
    assert change["low"] < change["change"] < change["high"] < 0
