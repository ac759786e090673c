"""Learning from logs shaped like real assistants' logs, on real recogniser errors, with the
simplest peers in the same run.

From ``slurp/asr_pairs_dev.jsonl``: per sentence, 60 % of its recordings build the mining
log and 40 % are held out. Two log shapes (silent: a misrecognition answered ``success``,
then said again; interrupted: the same with a barge-in). Rows: an exact-match table,
rapidfuzz nearest working request at ratio 80 / 85 / 90, selflearn offline, selflearn with
all layers; the learning curve at 25 / 50 / 100 % of the mining log. Then rephrase
detection on real utterance pairs (the heuristic, the pre-trained restatement model that
`selflearn learn` reads a log with, and the rephrase model trained on the silent log), and the defect score against real users'
ratings (``uss_dev``). Progress on stderr; the last line is JSON.

    python benchmarks/real_logs.py [--data ../shared/data] [--seed 1] [--quick] [--smoke]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from _figures import figures_line
from selflearn.evaluate.rated_dialogues import defect_auc
from selflearn.evaluate.real_logs import (
    JUDGED_KINDS,
    SHAPES,
    ExactPeer,
    FuzzyPeer,
    build_log,
    detector_scores,
    judge_rewrites,
    learn_log,
    model_scores,
    pair_scores,
    read_annotated,
    rephrase_pairs,
    sample_sessions,
    served,
    split_records,
    train_model_anyway,
)
from selflearn.evaluate.speech_errors import read_asr_pairs
from selflearn.signals.rephrase import HeuristicRephraseDetector
from selflearn.signals.restatement import RestatementModel


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def row(name: str, judged: dict[str, Any]) -> str:
    return (
        f"  {name:<28} fixed {judged['fixed']:>4} of {judged['reachable']} reachable "
        f"({judged['fixed_of_reachable']:.1%}), wrong {judged['wrong']:>3}, "
        f"unchanged {judged['unchanged']:>3}, moved {judged['moved']:>3} of {judged['working']} "
        f"({judged['moved_of_working']:.2%}); intent: fixed {judged['intent_fixed']}, "
        f"broken {judged['intent_broken']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    parser.add_argument("--data", type=Path, default=default)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--held-out", type=float, default=0.4)
    parser.add_argument("--quick", action="store_true", help="one shape, no learning curve")
    parser.add_argument(
        "--smoke", action="store_true", help="--quick on a quarter of the sentences: does it run"
    )
    args = parser.parse_args()
    args.quick = args.quick or args.smoke
    path = args.data / "slurp" / "asr_pairs_dev.jsonl"
    if not path.is_file():
        sys.exit(f"needs {path} (the shared data folder beside the repository)")
    started = time.perf_counter()
    records = read_asr_pairs(path)
    if args.smoke:
        kept = set(sorted({r["sentence_id"] for r in records})[::4])
        records = [r for r in records if r["sentence_id"] in kept]
    split = split_records(records, args.held_out, args.seed)
    say(
        f"{len(records):,} recordings of {len({r['sentence_id'] for r in records}):,} sentences: "
        f"{len(split.mining):,} mined, {len(split.held):,} held out (seed {args.seed})"
    )
    result: dict[str, Any] = {"seed": args.seed, "shapes": {}}
    model_folder: Path | None = None  # the silent log's, whole: its rephrase model is judged
    silent_log: list[Any] | None = None
    for shape in SHAPES[:1] if args.quick else SHAPES:
        events = build_log(split.mining, shape, seed=args.seed)
        say(f"{shape}: a log of {len(events):,} turns")
        rows: dict[str, Any] = {}
        peers: list[Any] = [ExactPeer(events)] + [FuzzyPeer(events, r) for r in (80, 85, 90)]
        for peer in peers:
            rows[peer.name] = judge_rewrites(
                split.held, split.mining, records, lambda r, p=peer: p.rewrite(r["heard"])
            )
            say(row(peer.name, rows[peer.name]))
        curve: dict[str, Any] = {}
        for share in (1.0,) if args.quick else (0.25, 0.5, 1.0):
            log = events if share == 1.0 else sample_sessions(events, share, args.seed)
            say(f"{shape}: selflearn learn on {share:.0%} of the log ({len(log):,} turns)")
            folder, summary = learn_log(log, progress=lambda s: say(f"    {s}"))
            if shape == "silent" and share == 1.0:
                model_folder, silent_log = folder, log
            for layers in (("offline",), None):
                name = "selflearn offline" if layers else "selflearn all layers"
                judged = judge_rewrites(split.held, split.mining, records, served(folder, layers))
                if share == 1.0:
                    rows[name] = judged
                    rows[name]["learned"] = {
                        "rephrases": summary["signals"]["rephrases"],
                        "rewrite_rows": summary["rewrites"]["global"]
                        + summary["rewrites"]["personal"],
                        "online": summary["online"].get("used", False),
                        "why_not": summary["online"].get("why_not"),
                        "restated": {
                            k: summary["restated"].get(k)
                            for k in ("failures", "threshold", "misheard", "why_not")
                        },
                    }
                curve.setdefault(name, {})[f"{share:.0%}"] = {
                    k: judged[k] for k in ("fixed", "wrong", "moved", "fixed_of_reachable")
                }
                say(row(f"{name} ({share:.0%})", judged))
        result["shapes"][shape] = {"turns": len(events), "rows": rows, "learning_curve": curve}

    say("rephrase detection on real utterance pairs (sentences the restatement model never saw)")
    seen = set(RestatementModel.shipped().info.get("seen_sentences", ()))  # type: ignore[arg-type]
    annotated_path = args.data / "slurp" / "devel.jsonl"
    annotated = read_annotated(annotated_path, skip=seen) if annotated_path.is_file() else []
    unseen = [r for r in records if r["sentence_id"] not in seen]
    every = rephrase_pairs(unseen, annotated=annotated, seed=args.seed)
    pairs = [p for p in every if p["kind"] in JUDGED_KINDS]
    result["rephrase_pairs"] = {"pairs": len(pairs), "sentences_left_out": len(seen)}

    def judged(scores: list[float], threshold: float) -> dict[str, Any]:
        """F1 over the judged kinds; beside it, the share of the pairs that share words
        (another intent) called a restatement."""
        out = pair_scores(
            pairs,
            [s for s, p in zip(scores, every, strict=True) if p["kind"] in JUDGED_KINDS],
            threshold,
        )
        words = [s for s, p in zip(scores, every, strict=True) if p["kind"] == "shares_words"]
        out["called_restatement"]["shares_words"] = round(
            sum(s >= threshold for s in words) / max(len(words), 1), 4
        )
        return out

    for name, detector in (
        ("heuristic", HeuristicRephraseDetector()),
        ("restatement_model", RestatementModel.shipped()),
    ):
        result["rephrase_pairs"][name] = judged(
            detector_scores(every, detector), detector.threshold
        )
        say(f"  {name}: {result['rephrase_pairs'][name]}")
    model = model_scores(every, model_folder) if model_folder is not None else None
    result["rephrase_pairs"]["span_model_used_by_learn"] = model is not None
    # At smoke size the span model is not trained here (its training has tests of its own).
    if model is None and model_folder is not None and silent_log is not None and not args.smoke:
        # `selflearn learn` kept the restatement model on this log (too few new requests in
        # it for the span model to learn from): trained here anyway, to show what it would do.
        say("  the span model, which learn did not use on the silent log, trained for this")
        model = model_scores(every, train_model_anyway(silent_log))
    if model is not None:
        result["rephrase_pairs"]["span_model"] = judged(model, 0.5)
        say(f"  span model (learned from the silent log): {result['rephrase_pairs']['span_model']}")

    uss = [args.data / "uss_dev" / f"{name}.txt" for name in ("ReDial", "CCPE")]
    if all(p.is_file() for p in uss):
        say("defect score against real users' ratings (uss_dev)")
        result["rated_dialogues"] = defect_auc(uss)
        say(f"  {result['rated_dialogues']}")
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(figures_line(result))


if __name__ == "__main__":
    main()
