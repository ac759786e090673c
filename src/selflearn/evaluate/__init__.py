"""Measuring the loop: the paired A/B harness and its bootstrap intervals (DESIGN §4)."""

from selflearn.evaluate.ab import ABResult, Arm, ArmResult, harmful_table, run_ab
from selflearn.evaluate.bootstrap import relative_change

__all__ = ["ABResult", "Arm", "ArmResult", "harmful_table", "relative_change", "run_ab"]
