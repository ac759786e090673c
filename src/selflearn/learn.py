"""``selflearn learn`` as a library call: the turn log in, every learner's artefact out.

The artefacts folder holds what serving and evaluation load: ``signals.parquet`` (DESIGN
§3.3), ``rewrites.parquet`` (the offline rewrite table, §3.2) and ``learn.json`` (what each
learner did, with its configuration and timings).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from selflearn._version import __version__
from selflearn.rewrite.markov import MarkovConfig, MarkovMiner
from selflearn.signals import Signals, compute_signals

__all__ = ["LEARN_SUMMARY", "REWRITES_FILE", "SIGNALS_FILE", "learn"]

SIGNALS_FILE = "signals.parquet"
REWRITES_FILE = "rewrites.parquet"
LEARN_SUMMARY = "learn.json"


def learn(
    turns: pa.Table,
    out: Path,
    *,
    markov: MarkovConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Compute the signals, mine the offline rewrites, write the artefacts; return a summary."""
    markov = markov or MarkovConfig()
    say = progress or (lambda _step: None)
    started = time.perf_counter()
    say(f"signals over {turns.num_rows:,} turns")
    signals: Signals = compute_signals(turns)
    signals_path = signals.save(out / SIGNALS_FILE)
    signals_s = time.perf_counter() - started
    mined = MarkovMiner(markov).mine(turns, signals.table, progress=lambda s: say(f"mining: {s}"))
    table_path = mined.table.save(out / REWRITES_FILE)
    summary: dict[str, Any] = {
        "producer": f"selflearn {__version__}",
        "turns": turns.num_rows,
        "signals": {"path": str(signals_path), **signals.counts},
        "rewrites": {
            "path": str(table_path),
            "global": sum(r["layer"] == "global" for r in mined.rows),
            "personal": sum(r["layer"] == "personal" for r in mined.rows),
            "chains": mined.stats,
            "config": dataclasses.asdict(markov),
        },
        "seconds": {
            "signals": round(signals_s, 2),
            "total": round(time.perf_counter() - started, 2),
        },
    }
    (out / LEARN_SUMMARY).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary
