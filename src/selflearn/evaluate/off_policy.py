"""Off-policy estimates: what a policy would have scored on requests another policy served.

Every choice among close interpretations is logged with the probability it was drawn with
(the turn event's ``choice``). A target policy's value is then estimated from the log alone:

* **IPS** (inverse propensity scoring): the mean over logged choices of
  ``1[target picks the logged option] / propensity × reward``; unbiased where every option
  the target picks had a logged probability above zero.
* **SNIPS**: the same, divided by the mean weight instead of the count — a little biased,
  much less variable where weights are large.

Intervals come from resampling households (a household's choices are not independent of
each other), as the A/B's do. The formulas are two lines each; the libraries that carry them
(obp, VW's estimators) pull in torch or pandas for what numpy does here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["ips_estimates"]


def ips_estimates(
    logged: Sequence[dict[str, Any]],
    target: Callable[[dict[str, Any]], int],
    reward: Callable[[dict[str, Any]], float],
    *,
    group: Callable[[dict[str, Any]], str],
    resamples: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """IPS and SNIPS values of ``target`` (logged choice → the option index it picks) on
    ``logged`` choices (each with ``chosen`` and ``propensity``), with 95 % intervals by
    resampling the groups ``group`` names (households).

    >>> logged = [{"chosen": 0, "propensity": 0.5, "r": 1.0, "g": "a"},
    ...           {"chosen": 1, "propensity": 0.5, "r": 0.0, "g": "b"}]
    >>> out = ips_estimates(logged, lambda c: 0, lambda c: c["r"], group=lambda c: c["g"])
    >>> out["ips"], out["snips"], out["matched"]
    (1.0, 1.0, 1)
    """
    if not logged:
        nan = float("nan")
        return {"choices": 0, "matched": 0, "ips": nan, "snips": nan, "ips_ci": [nan, nan],
                "snips_ci": [nan, nan]}  # fmt: skip
    groups: dict[str, int] = {}
    index = np.array([groups.setdefault(group(c), len(groups)) for c in logged])
    weights = np.array(
        [(target(c) == c["chosen"]) / float(c["propensity"]) for c in logged], dtype=float
    )
    rewards = np.array([reward(c) for c in logged], dtype=float)
    # per group: the sums the estimators are ratios of
    n = len(groups)
    count = np.bincount(index, minlength=n).astype(float)
    wr = np.bincount(index, weights=weights * rewards, minlength=n)
    w = np.bincount(index, weights=weights, minlength=n)

    def estimates(pick: np.ndarray) -> tuple[float, float]:
        total_w = w[pick].sum()
        ips = wr[pick].sum() / max(count[pick].sum(), 1.0)
        snips = wr[pick].sum() / total_w if total_w > 0 else float("nan")
        return float(ips), float(snips)

    ips, snips = estimates(np.arange(n))
    rng = np.random.default_rng(seed)
    draws = np.array([estimates(rng.integers(0, n, size=n)) for _ in range(resamples)])
    ips_ci = np.nanpercentile(draws[:, 0], [2.5, 97.5])
    snips_ci = np.nanpercentile(draws[:, 1], [2.5, 97.5])
    return {
        "choices": len(logged),
        "matched": int((weights > 0).sum()),
        "ips": round(ips, 4),
        "snips": round(snips, 4),
        "ips_ci": [round(float(v), 4) for v in ips_ci],
        "snips_ci": [round(float(v), 4) for v in snips_ci],
    }
