"""Offline rewrites on real speech errors: SLURP recordings, mined on half, applied to the rest.

Prints how many held-out failing transcripts are rewritten to a sentence with the gold
intent, and how many working ones are rewritten to a wrong intent. Last line: JSON.

    python benchmarks/slurp_rewrites.py [--data ../shared/data] [--held-out 0.5] [--smoke]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from _figures import figures_line
from selflearn.evaluate.speech_errors import evaluate_speech_errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    parser.add_argument("--data", type=Path, default=default)
    parser.add_argument("--held-out", type=float, default=0.5)
    # mining one development set takes seconds: the smoke run is the full run
    parser.add_argument("--smoke", action="store_true", help="the same run (it takes seconds)")
    args = parser.parse_args()
    path = args.data / "slurp" / "asr_pairs_dev.jsonl"
    if not path.is_file():
        sys.exit(f"needs {path} (the shared data folder beside the repository)")
    result = evaluate_speech_errors(path, held_out_share=args.held_out)
    failing, working = result["held_out_failing"], result["held_out_working"]
    print(
        f"{result['recordings']:,} recordings: mined {result['mining_recordings']:,} "
        f"({result['rephrases_detected']} rephrases found, {result['rewrite_rows']} rewrites), "
        f"held out {result['held_out_recordings']:,}",
        file=sys.stderr,
    )
    print(
        f"held-out failing transcripts: {failing}; rewritten {result.get('failing_rewritten', 0)}, "
        f"to the gold intent {result.get('failing_rewritten_to_gold_intent', 0)}",
        file=sys.stderr,
    )
    print(
        f"held-out working transcripts: {working}; rewritten {result.get('working_rewritten', 0)}, "
        f"to a wrong intent {result.get('working_rewritten_to_wrong_intent', 0)}",
        file=sys.stderr,
    )
    for example in result["examples"]:
        print(
            f"  {example['heard']!r} → {example['rewrite']!r} ({example['right']})", file=sys.stderr
        )
    print(figures_line(result))


if __name__ == "__main__":
    main()
