"""Paired bootstrap over households: the relative change of a ratio metric, with a 95 % interval."""

from __future__ import annotations

import numpy as np

__all__ = ["relative_change"]


def relative_change(
    arm_num: np.ndarray,
    arm_den: np.ndarray,
    control_num: np.ndarray,
    control_den: np.ndarray,
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> dict[str, float]:
    """(Σnum/Σden)_arm / (Σnum/Σden)_control − 1, households resampled in pairs.

    Arrays hold one value per household, in the same order for both arms.

    >>> ones = np.ones(20)
    >>> relative_change(ones, ones * 10, ones, ones * 10)["change"]
    0.0
    """

    def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(num / den, dtype=float)

    point_control = control_num.sum() / max(control_den.sum(), 1e-12)
    point_arm = arm_num.sum() / max(arm_den.sum(), 1e-12)
    change = point_arm / point_control - 1.0 if point_control > 0 else float("nan")
    n = len(arm_num)
    if n == 0:
        return {"change": float("nan"), "low": float("nan"), "high": float("nan")}
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(resamples, n))
    arm = ratio(arm_num[picks].sum(axis=1), arm_den[picks].sum(axis=1))
    control = ratio(control_num[picks].sum(axis=1), control_den[picks].sum(axis=1))
    changes = ratio(arm, control) - 1.0
    changes = changes[np.isfinite(changes)]
    if changes.size == 0:
        return {"change": round(float(change), 4), "low": float("nan"), "high": float("nan")}
    low, high = np.percentile(changes, [2.5, 97.5])
    return {
        "change": round(float(change), 4),
        "low": round(float(low), 4),
        "high": round(float(high), 4),
    }
