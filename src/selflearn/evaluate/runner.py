"""``selflearn evaluate`` as a library call: which arms, one run, one evaluation document."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from selflearn.evaluate.ab import ABResult, Arm, harmful_table, run_ab
from selflearn.learn import REWRITES_FILE
from selflearn.rewrite.online import ONLINE_DIR
from selflearn.rewrite.rewriter import Rewriter
from selflearn.rewrite.table import RewriteTable
from selflearn.sim.simulator import SimConfig

__all__ = ["evaluate", "evaluation_document"]


# The A/B judges what the rewriters decide; their latency is the benchmark's to measure.
# A generous budget keeps a run reproducible on a busy machine (no timing-dependent
# fail-opens); serving keeps the tight one.
AB_BUDGET_S = 1.0
TASTE_RATE = 0.15  # share of music goals that are "play something I like" under --teach

PEERS = {
    "hassil strict (Home Assistant default)": "control",
    "hassil + gazetteer-matcher (Home Assistant 2026 fallback)": "peer:gazetteer",
    "selflearn (offline + global + personal)": "offline+global+personal",
    "selflearn + gazetteer-matcher": "peer:selflearn+gazetteer",
}


def evaluation_document(result: ABResult, *, resamples: int = 2000) -> dict[str, Any]:
    """Everything the report needs from an A/B run, JSON-ready."""
    peers = result.peers(PEERS)
    return {
        "peers": peers if len(peers) > 1 else [],
        "summary": result.summary(resamples=resamples),
        "by_day": {
            arm.name: {
                str(day): round(n[1] / n[0], 4) for day, n in sorted(arm.by_day.items()) if n[0]
            }
            for arm in result.arms
        },
        "failure_points": {
            arm.name: dict(sorted(arm.failure_points.items())) for arm in result.arms
        },
        "top_rewrites": result.top_rewrites(),
        "teaching": {
            arm.name: arm.teaching_figures()
            for arm in result.arms
            if arm.name == "control" or "teach" in arm.name
        }
        if any("teach" in arm.name for arm in result.arms)
        else {},
        "curve": result.curve(),
    }


def evaluate(
    config: SimConfig,
    *,
    tables: list[Path] | None = None,
    artefacts: Path | None = None,
    identical: bool = False,
    harmful: bool = False,
    peers: bool = False,
    teach: bool = False,
    resamples: int = 2000,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Run control and every requested arm on the same households and days.

    ``tables`` are rewrite tables (Parquet or JSONL, DESIGN §3.2); ``artefacts`` is a
    ``selflearn learn`` output folder whose learned rewriters become arms (offline, and
    where the folder has the online index, offline+global and offline+global+personal); ``identical``
    adds a second control (an empty rewrite table: it must show no effect); ``harmful``
    adds a rewrite of the most common working request to a wrong one (it must show losses);
    ``peers`` adds Home Assistant's fallback (hassil + gazetteer-matcher) and selflearn with
    that fallback, for the side-by-side table. ``teach`` adds teaching on (users state
    preferences, the assistant asks at teachable moments) alone, and on top of the learned
    rewriters where there are some; every arm then draws "play something I like" goals
    (``TASTE_RATE`` of music goals), so control has the same requests.
    """
    if teach and config.taste_rate == 0.0:
        config = replace(config, taste_rate=TASTE_RATE)
    arms = [Arm("control")]
    if identical:
        arms.append(Arm("check:identical", RewriteTable()))
    for path in tables or []:
        arms.append(Arm(f"table:{path.stem}", RewriteTable.load(path)))
    if artefacts is not None and (artefacts / REWRITES_FILE).is_file():
        arms.append(
            Arm("offline", Rewriter.load(artefacts, layers=("offline",), budget_s=AB_BUDGET_S))
        )
        # The personal layer (the speaker's own rows and index) goes on top of the others.
        more = [("offline", "global"), ("offline", "global", "personal")]
        for layers in more if (artefacts / ONLINE_DIR).is_dir() else [("offline", "personal")]:
            arms.append(
                Arm("+".join(layers), Rewriter.load(artefacts, layers=layers, budget_s=AB_BUDGET_S))
            )
    if peers:
        arms.append(Arm("peer:gazetteer", fallback="gazetteer"))
        if artefacts is not None and (artefacts / ONLINE_DIR).is_dir():
            full = Rewriter.load(
                artefacts, layers=("offline", "global", "personal"), budget_s=AB_BUDGET_S
            )
            arms.append(Arm("peer:selflearn+gazetteer", full, fallback="gazetteer"))
    if teach:
        learned = [a for a in arms if a.name in ("offline+global+personal", "offline+personal")]
        arms.append(Arm("teach", teaching=True))
        if learned:
            arms.append(Arm(f"{learned[-1].name}+teach", learned[-1].rewriter, teaching=True))
    result = run_ab(config, arms, progress)
    if harmful:
        extra = run_ab(config, [Arm("check:harmful", harmful_table(result.arms[0]))], progress)
        result.arms.extend(extra.arms)
    return evaluation_document(result, resamples=resamples)


def save_document(document: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path
