"""``selflearn demo``: the whole loop on the embedded default.

Simulate a baseline period of households using the reference assistant → store the turn
log → learn with every learner that exists → replay held-out days as a paired A/B →
print a summary and write the HTML report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from selflearn.evaluate.runner import evaluate, save_document
from selflearn.evaluate.view import arms_table, curve_table, layers_table, peers_table
from selflearn.learn import SIGNALS_FILE, learn
from selflearn.logs.store import TurnStore
from selflearn.report import write_report
from selflearn.signals import Signals, read_truth, signal_quality
from selflearn.sim import SimConfig, Simulator

__all__ = ["run_demo"]


def run_demo(
    *,
    users: int,
    days: int,
    eval_days: int,
    seed: int,
    workers: int,
    data_dir: Path,
    console: Console,
    emit: Callable[[object], None],
) -> dict[str, Any]:
    """Run the loop; return (and emit) the summary."""
    started = time.perf_counter()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    baseline = SimConfig(users=users, days=days, seed=seed, workers=workers)
    sim = Simulator(baseline)
    console.print(
        f"[bold]selflearn demo[/]: {users} simulated users, {days} baseline days, "
        f"{eval_days} held-out days; real phrasings: {sim.real_source}",
        highlight=False,
    )
    log_path = data_dir / "baseline" / "turns.jsonl"
    truth_path = data_dir / "baseline" / "truth.jsonl"
    with progress:
        task = progress.add_task("1/5 simulate the baseline (households)", total=None)
        sim_summary = sim.write(
            log_path,
            truth_path,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    console.print(
        f"1/5 simulated {sim_summary['turns']:,} turns: defect rate "
        f"{sim_summary['defect_rate']:.1%}, failure points {sim_summary['failure_points']}",
        highlight=False,
    )

    store_path = data_dir / "turns.duckdb"
    store_path.unlink(missing_ok=True)
    with console.status("2/5 ingest into the store"), TurnStore.open(store_path) as store:
        ingested = store.ingest_file(log_path)
        again = store.ingest_file(log_path)
        turns = store.table()
    console.print(
        f"2/5 stored {ingested.accepted:,} turns in {store_path} "
        f"(re-ingesting the same log accepted {again.accepted})",
        highlight=False,
    )

    artefacts = data_dir / "artefacts"
    with console.status("3/5 learn from the log") as status:
        learned = learn(turns, artefacts, progress=lambda step: status.update(f"3/5 {step}"))
    signals = Signals.load(artefacts / SIGNALS_FILE)
    # Ground truth is read only to measure the signals, never to learn.
    quality = signal_quality(signals.table, read_truth(truth_path))
    model = learned["rephrase_model"]
    detector = (
        f"the contextual rephrase model (trained in {model['seconds']:.0f} s on "
        f"{model['trained_examples']:,} weak examples)"
        if model["used"]
        else f"the heuristic detector ({model.get('why_not', 'model off')})"
    )
    console.print(
        f"3/5 learned in {learned['seconds']['total']:.1f} s; rephrases by {detector}: "
        f"{learned['signals']['rephrases']:,} found (precision "
        f"{quality['rephrase']['precision']:.3f}, recall {quality['rephrase']['recall']:.3f}), "
        f"defect score AUC {quality['defect_score_auc']:.3f}; offline rewrites (absorbing "
        f"Markov chain): {learned['rewrites']['global']:,} global, "
        f"{learned['rewrites']['personal']:,} personal",
        highlight=False,
    )
    online = learned["online"]
    if online["used"]:
        ranker = online["rankers"]
        console.print(
            f"    online rewriter: {online['global_rows']:,} global and "
            f"{online['personal_rows']:,} personal utterances that worked, indexed; rankers "
            f"(LightGBM) global threshold {ranker['global']['threshold']:.2f}, personal "
            f"{ranker['personal']['threshold']:.2f} (held-out precision "
            f"{ranker['global']['precision']} / {ranker['personal']['precision']})",
            highlight=False,
        )
    else:
        console.print(
            f"    online rewriter: not learned ({online.get('why_not')})", highlight=False
        )

    held_out = SimConfig(users=users, days=eval_days, start_day=days, seed=seed, workers=workers)
    with progress:
        tasks: dict[str, Any] = {}

        def step(arm: str, done: int, total: int) -> None:
            if arm not in tasks:
                tasks[arm] = progress.add_task(f"4/5 A/B arm {arm}", total=total)
            progress.update(tasks[arm], completed=done)

        # Beside the learned arms, the harness checks itself: a second control must show
        # no effect, a rewrite of a common working request to a wrong one must show losses.
        # Home Assistant's own fallback (gazetteer-matcher) runs on the same traffic.
        document = evaluate(
            held_out,
            artefacts=artefacts,
            identical=True,
            harmful=True,
            peers=True,
            progress=step,
        )
    save_document(document, data_dir / "evaluation.json")
    arms = document["summary"]["arms"]
    console.print(
        arms_table(document["summary"], f"A/B on held-out days {days}–{days + eval_days - 1}")
    )
    console.print(layers_table(document["summary"], "rewrites by layer"))
    learned_arms = [c for c in document["curve"] if c["arm"] == "offline"]
    if learned_arms:
        console.print(
            curve_table(learned_arms, "offline table: precision against coverage, by support")
        )
    if document["peers"]:
        console.print(peers_table(document["peers"], "peers on the same traffic"))
    if not any(not name.startswith(("control", "check:")) for name in arms):
        console.print(
            "4/5 no rewriting learner produced an artefact yet: control and the harness checks."
        )

    report_path = write_report(
        data_dir / "report.html",
        turns=turns,
        truth=read_truth(truth_path),
        signals=signals.table,
        evaluation=document,
        title="selflearn demo report",
    )
    console.print(f"5/5 report: {report_path}", highlight=False)
    result: dict[str, Any] = {
        "baseline": {
            k: sim_summary[k] for k in ("turns", "goals", "defect_rate", "failure_points")
        },
        "stored": ingested.accepted,
        "reingest_accepted": again.accepted,
        "rewrites": {k: learned["rewrites"][k] for k in ("global", "personal")},
        "online": {k: online.get(k) for k in ("used", "global_rows", "personal_rows", "why_not")},
        "peers": document["peers"],
        "rephrase_model": {
            k: model.get(k) for k in ("used", "seconds", "trained_examples", "why_not")
        },
        "signals": {
            "rephrase_precision": quality["rephrase"]["precision"],
            "rephrase_recall": quality["rephrase"]["recall"],
            "defect_score_auc": quality["defect_score_auc"],
        },
        "arms": {
            name: {
                k: fig[k]
                for k in (
                    "defect_rate",
                    "goal_success_rate",
                    "friction",
                    "wrong_action_rate",
                    "wins",
                    "losses",
                    "coverage",
                )
            }
            for name, fig in arms.items()
        },
        "report": str(report_path),
        "seconds": round(time.perf_counter() - started, 1),
    }
    emit(result)
    return result
