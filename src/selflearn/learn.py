"""``selflearn learn`` as a library call: the turn log in, every learner's artefact out.

The steps: the heuristic signals; the contextual rephrase model trained on them (when the
``train`` extra, i.e. torch, is installed) and the signals recomputed with it; the offline
rewrite table mined from those signals. The artefacts folder holds what serving and
evaluation load: ``signals.parquet`` (DESIGN §3.3), ``rephrase_span.onnx`` with its JSON,
``rewrites.parquet`` (§3.2) and ``learn.json`` (what each learner did, with its
configuration and timings).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from selflearn._version import __version__
from selflearn.errors import ConfigError
from selflearn.rewrite.markov import MarkovConfig, MarkovMiner
from selflearn.signals import Signals, compute_signals
from selflearn.signals.span import SpanRephraseModel

if TYPE_CHECKING:
    from selflearn.signals.span_train import SpanTrainConfig

__all__ = ["LEARN_SUMMARY", "REWRITES_FILE", "SIGNALS_FILE", "learn"]

SIGNALS_FILE = "signals.parquet"
REWRITES_FILE = "rewrites.parquet"
LEARN_SUMMARY = "learn.json"


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def learn(
    turns: pa.Table,
    out: Path,
    *,
    markov: MarkovConfig | None = None,
    span: SpanTrainConfig | None = None,
    rephrase_model: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Compute the signals, train the rephrase model, mine the offline rewrites; write the
    artefacts and return a summary. Without torch the heuristic signals are used, and the
    summary says so."""
    markov = markov or MarkovConfig()
    say = progress or (lambda _step: None)
    started = time.perf_counter()
    say(f"signals over {turns.num_rows:,} turns")
    signals: Signals = compute_signals(turns)
    model: dict[str, Any] = {"used": False}
    if rephrase_model and not _torch_available():
        model["why_not"] = "torch is not installed (pip install 'selflearn[train]')"
    elif rephrase_model:
        from selflearn.signals.span_train import train_span_model

        try:
            trained = train_span_model(turns, out, span, progress=say)
        except ConfigError as exc:  # too little in the log to learn from: keep the heuristic
            model["why_not"] = str(exc)
        else:
            say("signals with the rephrase model")
            signals = compute_signals(turns, detector=SpanRephraseModel(out))
            model = {"used": True, **trained}
    signals_path = signals.save(out / SIGNALS_FILE)
    signals_s = time.perf_counter() - started
    mined = MarkovMiner(markov).mine(turns, signals.table, progress=lambda s: say(f"mining: {s}"))
    table_path = mined.table.save(out / REWRITES_FILE)
    summary: dict[str, Any] = {
        "producer": f"selflearn {__version__}",
        "turns": turns.num_rows,
        "signals": {"path": str(signals_path), **signals.counts},
        "rephrase_model": model,
        "rewrites": {
            "path": str(table_path),
            "global": sum(r["layer"] == "global" for r in mined.rows),
            "personal": sum(r["layer"] == "personal" for r in mined.rows),
            "chains": mined.stats,
            "config": dataclasses.asdict(markov),
        },
        "seconds": {
            "signals_and_rephrase_model": round(signals_s, 2),
            "total": round(time.perf_counter() - started, 2),
        },
    }
    (out / LEARN_SUMMARY).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary
