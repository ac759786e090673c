"""Mining benchmark: offline rewrite mining (absorbing Markov chain) at 250 k, 500 k and 1 M turns.

A simulated log (default 100 users × 7 days) and its signals are tiled into larger fleets:
copy k gets its own turn, user and device ids, so each copy is another set of households
saying the same kinds of things. Mining (chains in DuckDB SQL, the per-component solve,
the selection) is timed at each size; it should take ≤ 60 s at 1 M turns on 2 cores and
grow linearly. Last line: one JSON object.

    python benchmarks/mine.py [--sizes 250000,500000,1000000] [--users 100] [--days 7] [--smoke]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from _figures import figures_line
from selflearn.logs.io import read_turns
from selflearn.rewrite.markov import MarkovMiner
from selflearn.signals import compute_signals
from selflearn.sim import SimConfig, Simulator


def _suffix(column: pa.ChunkedArray, k: int) -> pa.ChunkedArray:
    return pc.binary_join_element_wise(column, pa.scalar(f"#{k}"), "")


def tile(turns: pa.Table, signals: pa.Table, copies: int, rows: int) -> tuple[pa.Table, pa.Table]:
    """``copies`` relabelled copies of the log and its signals, cut to ``rows`` turns."""
    turn_parts, signal_parts = [], []
    for k in range(copies):
        t = turns
        for name in ("turn_id", "user_id", "device_id"):
            t = t.set_column(t.schema.get_field_index(name), name, _suffix(t.column(name), k))
        s = signals
        for name in ("turn_id", "rephrase_of", "session_id"):
            s = s.set_column(s.schema.get_field_index(name), name, _suffix(s.column(name), k))
        turn_parts.append(t)
        signal_parts.append(s)
    big_turns = pa.concat_tables(turn_parts).slice(0, rows)
    big_signals = pa.concat_tables(signal_parts).slice(0, rows)
    return big_turns, big_signals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="250000,500000,1000000")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="10 users × 2 days, 20k/40k turns")
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.users, args.days = "20000,40000", 10, 2
    sizes = [int(x) for x in args.sizes.split(",")]

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "turns.jsonl"
        print(f"simulating {args.users} users × {args.days} days …", file=sys.stderr)
        Simulator(SimConfig(users=args.users, days=args.days, workers=2)).write(
            log, Path(tmp) / "truth.jsonl"
        )
        base, _ = read_turns([log])
    start = time.perf_counter()
    base_signals = compute_signals(base).table
    signals_per_turn = (time.perf_counter() - start) / base.num_rows
    print(f"base log: {base.num_rows:,} turns", file=sys.stderr)

    results = []
    for size in sizes:
        copies = -(-size // base.num_rows)
        turns, signals = tile(base, base_signals, copies, size)
        start = time.perf_counter()
        mined = MarkovMiner().mine(turns, signals)
        seconds = time.perf_counter() - start
        row = {
            "turns": turns.num_rows,
            "seconds": round(seconds, 2),
            "turns_per_s": round(turns.num_rows / seconds),
            "rewrites": len(mined.rows),
            "states": sum(s["states"] for s in mined.stats.values()),
        }
        results.append(row)
        print(
            f"{row['turns']:>9,} turns: mined in {row['seconds']:6.2f} s "
            f"({row['turns_per_s']:,} turns/s), {row['states']:,} states, "
            f"{row['rewrites']:,} rewrites",
            file=sys.stderr,
        )
    first, last = results[0], results[-1]
    growth = (last["seconds"] / first["seconds"]) / (last["turns"] / first["turns"])
    verdict = {
        "sizes": results,
        "linearity": round(growth, 2),  # 1.0 = exactly linear; < 1 sub-linear
        "one_million_within_60_s": any(
            r["turns"] >= 1_000_000 and r["seconds"] <= 60 for r in results
        ),
        "signals_seconds_per_million_turns": round(signals_per_turn * 1_000_000, 1),
    }
    print(
        f"growth relative to linear: {verdict['linearity']}; signals would take "
        f"{verdict['signals_seconds_per_million_turns']} s per 1 M turns",
        file=sys.stderr,
    )
    print(figures_line(verdict))


if __name__ == "__main__":
    main()
