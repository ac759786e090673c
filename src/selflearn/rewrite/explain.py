"""Why a request is, or is not, rewritten — in words an owner reads.

A rewrite served names its layer and its evidence (how often people restated it so, how
often what it becomes worked, the score against the threshold). A request no layer serves
names what stopped it: a guard, too few people, a score below the threshold, or nothing to
learn from (nobody restated it, or what they said instead failed too). The miner's side of
that is :func:`mining_near_misses`: the miner run again with every threshold open, each
candidate checked against the thresholds the real run used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa

from selflearn.rewrite.base import Considered, RewriteRequest, normalize_utterance
from selflearn.rewrite.markov import MarkovConfig, MarkovMiner
from selflearn.rewrite.rewriter import Rewriter
from selflearn.rewrite.table import GUARD_BLOCKED

__all__ = ["CATEGORIES", "Explanation", "explain", "mining_near_misses"]

# What an explanation says happens to a request, in the order a report lists them.
CATEGORIES = (
    "rewritten",
    "blocked by a guard",
    "too few people",
    "below the threshold",
    "what people said instead failed too",
    "nobody restated it",
    "left alone: it usually works",
    "a layer failed (the request passes through)",
)


@dataclass(frozen=True)
class Explanation:
    """What selflearn does with one request now, and why."""

    request: str
    category: str  # one of CATEGORIES
    detail: str  # the evidence, or what stopped it, in a sentence
    target: str | None = None  # the rewrite served, or the nearest withheld one
    layer: str | None = None
    method: str | None = None
    score: float | None = None
    threshold: float | None = None
    support: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def mining_near_misses(
    turns: pa.Table, signals: pa.Table, config: MarkovConfig | None = None
) -> dict[str, dict[str, Any]]:
    """For every request people restated: the reformulation the miner liked best with every
    threshold open (exact requests, everyone's chain), ``short`` — the thresholds of
    ``config`` it misses (empty where it would be mined) — and ``few``: whether too few people
    or restatements are among them."""
    config = config or MarkovConfig()
    open_ = replace(
        config,
        min_support=1,
        min_users=1,
        personal_support=1,
        min_score=0.0,
        min_direct=0.0,
        min_margin=0.0,
        min_share=0.0,
        personal=False,
        templates=False,
    )
    rows = MarkovMiner(open_).mine(turns, signals).rows
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        short = []
        if row["users"] < config.min_users:
            short.append(f"{row['users']} of the {config.min_users} people needed")
        if row["support"] < config.min_support:
            short.append(f"{row['support']} of the {config.min_support} restatements needed")
        if row["score"] < config.min_score:
            short.append(f"ends in success with p {row['score']:.2f} < {config.min_score:.2f}")
        if row["rewrite_direct"] < config.min_direct:
            short.append(
                f"works {row['rewrite_direct']:.0%} of the times it is said "
                f"(< {config.min_direct:.0%})"
            )
        if row["score"] - row["source_score"] < config.min_margin:
            short.append(
                f"not enough better than the request itself ({row['score']:.2f} vs "
                f"{row['source_score']:.2f})"
            )
        few = row["users"] < config.min_users or row["support"] < config.min_support
        out[row["source"]] = {**row, "short": short, "few": few}
    return out


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _evidence(found: Considered) -> str:
    who = "this speaker's own" if found.layer == "personal" else "everyone's"
    if found.method.startswith("markov"):
        return (
            f"mined from {who} restatements: restated to it {_times(found.support)}, ends in "
            f"success with p {found.score:.2f}"
        )
    if found.method == "online":
        return (
            f"the nearest request that worked ({_times(found.support)}) by meaning and sound; "
            f"ranker score {found.score:.2f} (threshold {found.threshold:.2f})"
        )
    if found.method == "restated":
        return (
            f"this failure was restated to it {_times(found.support)}; nearer to it than to "
            f"any other request by {found.score * 100:.1f} points (needs "
            f"{found.threshold * 100:.1f})"
        )
    if found.method == "misheard":
        return (
            f"sounds like a request that worked {_times(found.support)}; misheard with p "
            f"{found.score:.2f} (threshold {found.threshold:.2f})"
        )
    return f"{found.method}: score {found.score:.2f}"


def _with(found: Considered, category: str, detail: str, request: str) -> Explanation:
    return Explanation(
        request,
        category,
        detail,
        found.target,
        found.layer,
        found.method,
        found.score,
        found.threshold,
        found.support,
    )


def explain(
    rewriter: Rewriter,
    request: RewriteRequest,
    *,
    near_misses: Mapping[str, Mapping[str, Any]] | None = None,
    restated: int = 0,
    works: bool = False,
) -> Explanation:
    """What ``rewriter`` does with ``request`` and why. ``near_misses``: from
    :func:`mining_near_misses` on the log learned from; ``restated``: how often people
    restated this request in that log; ``works``: whether it worked more often than not."""
    text = normalize_utterance(request.text)
    try:
        considered = rewriter.consider(request)
    except Exception as exc:  # a broken layer is what the owner must read here, not a crash
        return Explanation(text, CATEGORIES[-1], f"{type(exc).__name__}: {exc}")
    # a layer whose threshold no score reaches is off (its ranker found nothing it trusts)
    considered = [c for c in considered if c.withheld is None or c.threshold < 1.0]
    served = next((c for c in considered if c.withheld is None), None)
    if served is not None:
        return _with(served, "rewritten", _evidence(served), text)
    blocked = next(
        (c for c in considered if c.withheld and c.withheld.startswith(GUARD_BLOCKED)), None
    )
    if blocked is not None:
        detail = f"{blocked.withheld} (would become “{blocked.target}”, {_evidence(blocked)})"
        return _with(blocked, "blocked by a guard", detail, text)
    miss = (near_misses or {}).get(text)
    if miss is not None and miss["short"]:
        detail = (
            f"people restated it as “{miss['rewrite']}” {_times(miss['support'])} "
            f"({miss['users']} {'person' if miss['users'] == 1 else 'people'}): "
            + "; ".join(miss["short"])
        )
        category = "too few people" if miss["few"] else "below the threshold"
        nearest = next(iter(considered), None)
        if nearest is not None:
            detail += f". Nearest other: “{nearest.target}”, {nearest.withheld}"
        return Explanation(
            text,
            category,
            detail,
            miss["rewrite"],
            "global",
            "markov",
            round(float(miss["score"]), 4),
            None,
            int(miss["support"]),
        )
    if considered:
        best = max(considered, key=lambda c: c.score / c.threshold if c.threshold > 0 else 0.0)
        detail = f"{best.withheld}: “{best.target}”, {_evidence(best)}"
        return _with(best, "below the threshold", detail, text)
    if works:
        return Explanation(text, "left alone: it usually works", "it worked more often than not")
    if restated:
        return Explanation(
            text,
            "what people said instead failed too",
            f"restated {_times(restated)}, but nothing said instead worked often enough to "
            "learn from",
        )
    return Explanation(
        text, "nobody restated it", "people gave up or moved on: there is nothing to learn from yet"
    )
