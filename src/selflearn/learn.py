"""``selflearn learn`` as a library call: the turn log in, every learner's artefact out.

The steps: the signals read by the pre-trained restatement model; the contextual rephrase
model trained on them (when the ``train`` extra, i.e. torch, is installed) and the signals
recomputed with it; the offline rewrite table mined from those signals; the restatement
memory; the online rewriter's index of what works and its rankers. The artefacts folder holds what serving and evaluation load: ``signals.parquet``
(DESIGN §3.3), ``rephrase_span.onnx`` with its JSON, ``rewrites.parquet`` (§3.2),
``restated.parquet`` (restated failures and what worked, with the memory's threshold),
``online/`` (index and rankers) and ``learn.json`` (what each learner did, with its
configuration and timings).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from selflearn._version import __version__
from selflearn.engine import Engine, EngineConfig, open_engine
from selflearn.errors import ConfigError
from selflearn.learner import Learner
from selflearn.rewrite.explore import EXPLORE_DIR, ExplorationLearner
from selflearn.rewrite.guards import Guard
from selflearn.rewrite.index import IndexConfig, guard_vocabulary
from selflearn.rewrite.markov import MarkovConfig, MarkovMiner
from selflearn.rewrite.online import OnlineLearner
from selflearn.rewrite.ranker import RankerConfig
from selflearn.rewrite.restated import RESTATED_FILE, RestatedConfig, RestatementLearner
from selflearn.rewrite.table import REWRITES_FILE
from selflearn.signals import Signals, compute_signals
from selflearn.signals.span_train import RephraseLearner

if TYPE_CHECKING:
    from selflearn.dialogue.learner import DialogueConfig
    from selflearn.signals.span_train import SpanTrainConfig

__all__ = [
    "LEARN_SUMMARY",
    "REWRITES_FILE",
    "SIGNALS_FILE",
    "fit_and_save",
    "learn",
    "learn_dialogue",
    "learn_online",
    "learn_restated",
    "learner_classes",
]

SIGNALS_FILE = "signals.parquet"
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
    online: bool = True,
    restated: RestatedConfig | None = None,
    ranker: RankerConfig | None = None,
    index: IndexConfig | None = None,
    progress: Callable[[str], None] | None = None,
    annotations: Mapping[str, Mapping[str, Any]] | None = None,
    dialogue: DialogueConfig | None = None,
    engine: EngineConfig | None = None,
) -> dict[str, Any]:
    """Compute the signals, train the rephrase model, mine the offline rewrites; write the
    artefacts and return a summary. Without torch (or with too few new requests in the log
    to train on) the pre-trained restatement model's signals are used, and the summary
    says so. With ``annotations`` (turn_id → label, see :mod:`selflearn.dialogue.annotate`)
    the dialogue model is trained too. ``engine`` runs the log-sized SQL steps (sessions
    and candidate pairs, the chains, the index's table of what worked): the embedded DuckDB
    by default, or Spark; both give the same artefacts."""
    engine = engine or EngineConfig()
    say = progress or (lambda _step: None)
    if engine.name != "duckdb":
        say(f"starting {engine.name} ({engine.master})")
    with open_engine(engine) as steps:
        summary = _learn(
            turns, out, steps, markov, span, rephrase_model, online, restated, ranker, index,
            say, annotations, dialogue,
        )  # fmt: skip
    summary["engine"] = {
        "name": engine.name,
        **({"master": engine.master} if engine.name != "duckdb" else {}),
    }
    (out / LEARN_SUMMARY).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary


def learner_classes() -> tuple[type[Learner], ...]:
    """Every learner ``learn`` fits, in the order it fits them (the dialogue model needs
    torch: the ``train`` extra)."""
    from selflearn.dialogue.learner import DialogueLearner

    return (
        RephraseLearner,
        MarkovMiner,
        RestatementLearner,
        OnlineLearner,
        ExplorationLearner,
        DialogueLearner,
    )


def _learn(
    turns: pa.Table,
    out: Path,
    steps: Engine,
    markov: MarkovConfig | None,
    span: SpanTrainConfig | None,
    rephrase_model: bool,
    online: bool,
    restated: RestatedConfig | None,
    ranker: RankerConfig | None,
    index: IndexConfig | None,
    say: Callable[[str], None],
    annotations: Mapping[str, Mapping[str, Any]] | None,
    dialogue: DialogueConfig | None,
) -> dict[str, Any]:
    started = time.perf_counter()
    say(f"signals over {turns.num_rows:,} turns")
    signals: Signals = compute_signals(turns, engine=steps)
    model: dict[str, Any] = {"used": False}
    if rephrase_model and not _torch_available():
        model["why_not"] = "torch is not installed (pip install 'selflearn[train]')"
    elif rephrase_model:
        rephrase = RephraseLearner(span)
        model = fit_and_save(rephrase, turns, out, signals=signals.table, engine=steps, say=say)
        if model["used"]:
            say("signals with the rephrase model")
            detector = rephrase.model_
            signals = compute_signals(turns, detector=detector, engine=steps)
            model.pop("path")
    signals_path = signals.save(out / SIGNALS_FILE)
    signals_s = time.perf_counter() - started
    guard = guard_vocabulary(turns)  # what no rewrite may contradict, for every layer
    miner = MarkovMiner(markov)
    mined = fit_and_save(
        miner, turns, out, signals=signals.table, engine=steps, say=say, guard=guard
    )
    restated_summary = learn_restated(
        turns, signals.table, out, restated, index, guard=guard, progress=say, engine=steps
    )
    mined_s = time.perf_counter() - started
    online_summary: dict[str, Any] = {"used": False}
    if online:
        online_summary = learn_online(
            turns, signals.table, out, ranker, index, guard=guard, progress=say, engine=steps
        )
    # the exploration policy, where the log holds choices a policy logged
    explore_summary = fit_and_save(
        ExplorationLearner(), turns, out, signals=signals.table, engine=steps, say=say
    )
    if not explore_summary["used"]:
        shutil.rmtree(out / EXPLORE_DIR, ignore_errors=True)  # an older log's must not serve
    dialogue_summary: dict[str, Any] = {"used": False}
    if annotations is None:
        dialogue_summary["why_not"] = "no annotations (selflearn annotate, then --annotations)"
    elif not _torch_available():
        dialogue_summary["why_not"] = "torch is not installed (pip install 'selflearn[train]')"
    else:
        dialogue_summary = learn_dialogue(
            turns, signals.table, annotations, out, dialogue, progress=say
        )
    summary: dict[str, Any] = {
        "producer": f"selflearn {__version__}",
        "turns": turns.num_rows,
        "signals": {"path": str(signals_path), **signals.counts},
        "rephrase_model": model,
        "rewrites": {k: v for k, v in mined.items() if k != "used"},
        "restated": restated_summary,
        "online": online_summary,
        "explore": explore_summary,
        "dialogue": dialogue_summary,
        "seconds": {
            "signals_and_rephrase_model": round(signals_s, 2),
            "offline_rewrites": round(mined_s - signals_s, 2),
            "total": round(time.perf_counter() - started, 2),
        },
    }
    return summary


def fit_and_save(
    learner: Learner,
    turns: pa.Table,
    out: Path,
    *,
    signals: pa.Table,
    engine: Engine | None = None,
    say: Callable[[str], None] | None = None,
    **fit: Any,
) -> dict[str, Any]:
    """Fit one learner and save it into ``out``: its summary, with ``used`` and ``path``; or,
    where the log is too small for it (ConfigError), ``used`` false and why not."""
    try:
        learner.fit(turns, signals=signals, engine=engine, progress=say, **fit)
    except ConfigError as exc:
        return {"used": False, "why_not": str(exc)}
    path = learner.save(out)
    return {"used": True, "path": str(path), **learner.summary}


def learn_dialogue(
    turns: pa.Table,
    signals: pa.Table,
    annotations: Mapping[str, Mapping[str, Any]],
    out: Path,
    config: DialogueConfig | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The dialogue model (failure points, generated labels), pre-trained on the log and
    fine-tuned on the annotations, in ``out/dialogue``."""
    from selflearn.dialogue.learner import DialogueLearner

    return fit_and_save(
        DialogueLearner(config), turns, out, signals=signals, say=progress, labels=annotations
    )


def learn_restated(
    turns: pa.Table,
    signals: pa.Table,
    out: Path,
    config: RestatedConfig | None = None,
    index: IndexConfig | None = None,
    *,
    guard: Guard | None = None,
    progress: Callable[[str], None] | None = None,
    engine: Engine | None = None,
) -> dict[str, Any]:
    """The restatement memory in ``out/restated.parquet``, its threshold by leave-one-out
    on the log; a summary, with why not where the log has no restated failure."""
    learner = RestatementLearner(config, index)
    summary = fit_and_save(
        learner, turns, out, signals=signals, engine=engine, say=progress, guard=guard
    )
    if not summary["used"]:
        (out / RESTATED_FILE).unlink(missing_ok=True)  # an older log's must not serve
    return summary


def learn_online(
    turns: pa.Table,
    signals: pa.Table,
    out: Path,
    ranker: RankerConfig | None = None,
    index: IndexConfig | None = None,
    *,
    guard: Guard | None = None,
    progress: Callable[[str], None] | None = None,
    engine: Engine | None = None,
) -> dict[str, Any]:
    """The online rewriter's index (everything that worked) and its two rankers, in
    ``out/online``; a summary, with why not where the log is too small to learn from."""
    learner = OnlineLearner(ranker, index)
    return fit_and_save(
        learner, turns, out, signals=signals, engine=engine, say=progress, guard=guard
    )
