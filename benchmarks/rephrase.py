"""Rephrase model benchmark: training time on the demo's log, and inference pairs/s on 2 cores.

Simulates the demo's baseline (60 users × 7 days), trains the contextual rephrase model on
it as `selflearn demo` does (target: under 5 minutes), then scores every candidate pair of
a held-out log through ONNX Runtime (target: ≥ 300 pairs/s) and prints the model's F1 and
span exact-match beside the heuristic's and the restatement model's on those held-out
days. Last line: JSON.

    python benchmarks/rephrase.py [--users 60] [--days 7] [--held-out-days 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from _figures import figures_line
from selflearn.logs.io import read_turns
from selflearn.signals import (
    HeuristicRephraseDetector,
    RestatementModel,
    compute_signals,
    read_truth,
    signal_quality,
)
from selflearn.signals.compute import pair_text
from selflearn.signals.sessions import SessionConfig, candidate_pairs, sessionize
from selflearn.signals.span import SpanRephraseModel
from selflearn.signals.span_train import SpanTrainConfig, train_span_model
from selflearn.sim import SimConfig, Simulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--held-out-days", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="20 users, 3 + 1 days, 10 s training")
    args = parser.parse_args()
    config = SpanTrainConfig()
    if args.smoke:
        args.users, args.days, args.held_out_days = 20, 3, 1
        config = SpanTrainConfig(
            max_seconds=10.0, min_passes=0, epochs=1, min_negatives=0, min_negative_share=0.0
        )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, start, days in (
            ("train", 0, args.days),
            ("test", args.days, args.held_out_days),
        ):
            print(f"simulating {name}: {args.users} users, days {start}–{start + days - 1}",
                  file=sys.stderr)  # fmt: skip
            Simulator(SimConfig(users=args.users, days=days, start_day=start, workers=2)).write(
                root / name / "turns.jsonl", root / name / "truth.jsonl"
            )
        train, _ = read_turns([root / "train" / "turns.jsonl"])
        test, _ = read_turns([root / "test" / "turns.jsonl"])
        started = time.perf_counter()
        meta = train_span_model(
            train, root / "model", config, progress=lambda m: print(m, file=sys.stderr)
        )
        train_s = time.perf_counter() - started
        model = SpanRephraseModel(root / "model")

        con = duckdb.connect()
        sessionize(con, test, SessionConfig())
        pairs = [pair_text(p) for p in candidate_pairs(con, SessionConfig()).to_pylist()]
        model.predict(pairs[:64])  # warm-up
        started = time.perf_counter()
        model.predict(pairs)
        infer_s = time.perf_counter() - started

        truth = read_truth(root / "test" / "truth.jsonl")
        quality = {
            name: signal_quality(compute_signals(test, detector=detector).table, truth)["rephrase"]
            for name, detector in (
                ("heuristic", HeuristicRephraseDetector()),
                ("restatement", RestatementModel.shipped()),
                ("span model", model),
            )
        }
    result = {
        "train_turns": train.num_rows,
        "train_seconds": round(train_s, 1),
        "trained_examples": meta["trained_examples"],
        "pairs": len(pairs),
        "pairs_per_s": round(len(pairs) / infer_s, 1),
        "held_out": quality,
    }
    print(
        f"trained on {train.num_rows:,} turns in {train_s:.1f} s "
        f"({meta['trained_examples']:,} example passes); inference {result['pairs_per_s']} pairs/s",
        file=sys.stderr,
    )
    for name, q in quality.items():
        print(
            f"  {name:10s} P {q['precision']:.3f} R {q['recall']:.3f} F1 {q['f1']:.3f} "
            f"span exact {q['span_exact']:.3f} (corrections {q['span_exact_corrections']:.3f})",
            file=sys.stderr,
        )
    print(figures_line(result))


if __name__ == "__main__":
    main()
