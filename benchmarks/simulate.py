"""Simulator benchmark: 200 users over 14 days, through the real `selflearn simulate` command.

Prints turns/s and checks the acceptance figures: at least 50,000 turns with ground truth
in under 3 minutes on a 2-core machine, and the same seed giving byte-identical logs (the
run is repeated and the files compared). Last line: one JSON object.

    python benchmarks/simulate.py [--users 200] [--days 14] [--no-repeat]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _figures import figures_line


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(out: Path, users: int, days: int, seed: int) -> tuple[dict[str, object], float]:
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable, "-m", "selflearn.cli", "simulate", "--users", str(users),
            "--days", str(days), "--seed", str(seed), "--out", str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"selflearn simulate failed:\n{done.stderr}")
    sys.stderr.write(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1]), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-repeat", action="store_true", help="skip the reproducibility run")
    parser.add_argument("--smoke", action="store_true", help="5 users × 1 day")
    args = parser.parse_args()
    if args.smoke:
        args.users, args.days = 5, 1
    with tempfile.TemporaryDirectory() as tmp:
        first, elapsed = _run(Path(tmp) / "a", args.users, args.days, args.seed)
        print(
            f"simulate: {first['turns']:,} turns in {elapsed:.1f} s "
            f"({first['turns'] / elapsed:,.0f} turns/s, command included); "
            f"defect rate {first['defect_rate']:.1%}; failure points {first['failure_points']}"
        )
        identical = None
        if not args.no_repeat:
            _run(Path(tmp) / "b", args.users, args.days, args.seed)
            identical = all(
                _digest(Path(tmp) / "a" / name) == _digest(Path(tmp) / "b" / name)
                for name in ("turns.jsonl", "truth.jsonl")
            )
            print(f"same seed, byte-identical log and truth: {identical}")
    result = {
        "users": args.users,
        "days": args.days,
        "turns": first["turns"],
        "seconds": round(elapsed, 1),
        "turns_per_s": round(float(first["turns"]) / elapsed, 1),  # type: ignore[arg-type]
        "defect_rate": first["defect_rate"],
        "failure_points": first["failure_points"],
        "byte_identical": identical,
        "ok": first["turns"] >= 50_000 and elapsed < 180 and identical is not False,  # type: ignore[operator]
    }
    print(figures_line(result))


if __name__ == "__main__":
    main()
