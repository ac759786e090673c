"""The dialogue model on held-out households: learning curve, ablation and throughput.

Trains on one simulated log (default 200 users × 14 days, seed 0) with labels a single
annotator (8 % error per field) gave to turns picked as ``selflearn annotate`` picks them;
scores failure points, goal starts and goal successes on other households (default 100
users × 7 days, seed 1) against ground truth. One pre-training is shared by the label
counts; each ablation (no pre-training, no dialogue context, no numbers) is trained on its
own. Prints a table per step; the last line is JSON.

    python benchmarks/dialogue.py [--labels 250,500,1000,2000,4000] [--users 200] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from _figures import figures_line
from selflearn.dialogue import flat_turns, pick_for_annotation, simulated_annotations
from selflearn.dialogue.features import turn_features
from selflearn.dialogue.learner import DialogueConfig, ablated, encode_turns, train_dialogue
from selflearn.dialogue.metrics import against_truth, silent_failures
from selflearn.logs import read_turns
from selflearn.rewrite.encoder import SentenceEncoder
from selflearn.signals import compute_signals, read_truth
from selflearn.sim import SimConfig, Simulator


def simulated(folder: Path, users: int, days: int, seed: int) -> tuple[Path, Path]:
    turns, truth = folder / "turns.jsonl", folder / "truth.jsonl"
    if not turns.is_file():
        Simulator(SimConfig(users=users, days=days, seed=seed, workers=2)).write(turns, truth)
    return turns, truth


def score(model: Any, test: tuple[Any, Any, dict[str, Any], set[str]]) -> dict[str, Any]:
    features, vectors, truth, silent = test
    started = time.perf_counter()
    predictions = model.predict(features, vectors)
    seconds = time.perf_counter() - started
    scores = against_truth(predictions, truth, silent=silent)
    fp = scores["failure_point"]
    return {
        "accuracy": fp["accuracy"],
        "recall": fp["recall"],
        "min_recall": min(r for r in fp["recall"].values() if r is not None),
        "goal_start_f1": scores["goal_start"]["model_f1"],
        "goal_success_f1": scores["goal_success"]["model_f1"],
        "model_turns_per_s": round(len(features) / seconds),
        "scores": scores,
    }


def line(name: str, result: dict[str, Any]) -> str:
    recall = " ".join(f"{k}={v:.3f}" for k, v in result["recall"].items() if v is not None)
    return (
        f"{name:24s} accuracy {result['accuracy']:.4f}  min recall {result['min_recall']:.3f}  "
        f"goal start F1 {result['goal_start_f1']:.4f}  goal success F1 "
        f"{result['goal_success_f1']:.4f}  [{recall}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labels", default="250,500,1000,2000,4000")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--test-users", type=int, default=100)
    parser.add_argument("--work", type=Path, default=Path("selflearn-data/bench-dialogue"))
    parser.add_argument("--quick", action="store_true", help="30 users, 250/500 labels")
    parser.add_argument("--smoke", action="store_true", help="8 users, 3 days, 200 labels")
    args = parser.parse_args()
    if args.quick:
        args.users, args.days, args.test_users, args.labels = 30, 7, 20, "250,500"
    if args.smoke:  # its own folder: the logs there are kept between runs
        args.users, args.days, args.test_users, args.labels = 8, 3, 4, "200"
        args.work = args.work / "smoke"
    counts = [int(n) for n in args.labels.split(",")]
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731

    train_log, train_truth = simulated(args.work / "train", args.users, args.days, 0)
    test_log, test_truth = simulated(args.work / "test", args.test_users, 7, 1)
    turns, _ = read_turns([train_log])
    truth = read_truth(train_truth)
    encoder = SentenceEncoder(threads=2)
    rows = flat_turns(turns)
    features, vocabulary = turn_features(rows)
    started = time.perf_counter()
    vectors = encode_turns(features, encoder)
    say(f"train: {len(features):,} turns, encoded in {time.perf_counter() - started:.0f} s")
    signals = compute_signals(turns).table
    test_turns, _ = read_turns([test_log])
    test_features, _ = turn_features(test_turns, vocabulary)
    started = time.perf_counter()
    test_vectors = encode_turns(test_features, encoder)
    encode_rate = len(test_features) / (time.perf_counter() - started)
    test_truth_records = read_truth(test_truth)
    silent = silent_failures(test_features.rows, test_truth_records)
    test = (test_features, test_vectors, test_truth_records, silent)
    prepared = (features, vocabulary, vectors)

    def labels(n: int) -> dict[str, dict[str, Any]]:
        picked = pick_for_annotation(rows, n, seed=0)
        return {a["turn_id"]: a for a in simulated_annotations(truth.values(), picked, seed=0)}

    config = DialogueConfig()
    if args.smoke:  # the same steps, each as short as it can be
        config = replace(config, pretrain_epochs=1, finetune_epochs=2, members=1)
    started = time.perf_counter()
    base = train_dialogue(turns, {}, signals=signals, config=config, prepared=prepared)
    pretrain_s = time.perf_counter() - started
    say(f"pre-trained in {pretrain_s:.0f} s")
    curve: dict[int, dict[str, Any]] = {}
    for n in counts:
        started = time.perf_counter()
        model = train_dialogue(
            turns, labels(n), signals=signals, config=config, prepared=prepared, start_from=base
        )
        curve[n] = {**score(model, test), "finetune_s": round(time.perf_counter() - started, 1)}
        say(line(f"{n} labels", curve[n]))
    full = curve[max(counts)]
    ablation: dict[str, dict[str, Any]] = {}
    for what in ("pretraining", "context", "numeric"):
        model = train_dialogue(
            turns,
            labels(max(counts)),
            signals=signals,
            config=ablated(config, what),
            prepared=prepared,
        )
        ablation[what] = score(model, test)
        say(line(f"without {what}", ablation[what]))
    print(f"failure points with {max(counts)} labels (truth by row, model by column):")
    matrix = full["scores"]["failure_point"]["matrix"]
    for gold, row in matrix.items():
        print(f"  {gold:10s} " + " ".join(f"{v:6d}" for v in row.values()))
    traced = full["scores"]["failure_point_traced"]["recall"]
    reacted = full["scores"]["reacted_share"]
    print(
        f"failures the user let pass ({len(silent)} turns: the assistant said it succeeded, no "
        "barge-in, no 'no', no second try) — share of each class the user reacted to, and "
        "recall without the others:\n  "
        + ", ".join(
            f"{c} {reacted[c]:.3f} → recall {traced[c]:.3f}"
            for c in reacted
            if reacted[c] is not None and traced[c] is not None and c != "none"
        )
    )
    print("learning curve:")
    for n, result in curve.items():
        print("  " + line(f"{n} labels", result))
    print("ablation (each without one part, same labels):")
    print("  " + line("full model", full))
    for what, result in ablation.items():
        print("  " + line(f"without {what}", result))
    print("goals, against truth, beside one annotator's labels on the same turns:")
    for name in ("goal_start", "goal_success"):
        goal = full["scores"][name]
        curve_text = ", ".join(
            f"{c['coverage']:.0%} → {c['precision']:.4f}" for c in goal["by_confidence"]
        )
        print(
            f"  {name:13s} F1 model {goal['model_f1']:.4f} vs annotator {goal['annotator_f1']:.4f};"
            f" accuracy model {goal['model_accuracy']:.4f} vs annotator "
            f"{goal['annotator_accuracy']:.4f}; precision by coverage: {curve_text}"
        )
    points = full["scores"]["failure_point_by_confidence"]
    print(
        "  failure point precision by coverage: "
        + ", ".join(f"{c['coverage']:.0%} → {c['precision']:.4f}" for c in points)
        + f" (annotator accuracy {full['scores']['annotator_failure_point_accuracy']:.4f})"
    )
    turns_per_s = 1 / (1 / encode_rate + 1 / full["model_turns_per_s"])
    print(
        f"inference: {turns_per_s:.0f} turns/s (encoding {encode_rate:.0f}/s, model "
        f"{full['model_turns_per_s']}/s); training {pretrain_s:.0f} s pre-training + "
        f"{full['finetune_s']:.0f} s fine-tuning on {len(features):,} turns"
    )
    out = {
        "train_turns": len(features),
        "test_turns": len(test_features),
        "curve": {n: {k: v for k, v in r.items() if k != "scores"} for n, r in curve.items()},
        "ablation": {w: {k: v for k, v in r.items() if k != "scores"} for w, r in ablation.items()},
        "inference_turns_per_s": round(turns_per_s),
        "pretrain_s": round(pretrain_s),
        "train_s": round(pretrain_s + full["finetune_s"]),
        "goals": {k: full["scores"][k] for k in ("goal_start", "goal_success")},
        "silent_failures": len(silent),
        "reacted_share": full["scores"]["reacted_share"],
        "recall_where_reacted": full["scores"]["failure_point_traced"]["recall"],
    }
    print(figures_line(out))


if __name__ == "__main__":
    main()
