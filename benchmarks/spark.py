"""Spark benchmark: the learning steps on DuckDB and on Spark, at fleet sizes, with the same output.

A simulated log (default 100 users × 7 days) is tiled into larger fleets (copy k gets its own
turn, user and device ids, as in ``benchmarks/mine.py``) and written as Parquet. At each size,
each engine runs in a child process of its own that reads the log through the engine (never
whole into its own memory): the signals (sessions and candidate pairs in the engine; the pairs
scored and the signals assembled device by device, here on DuckDB, in the executors on
Spark), the chains and the miner's selection (all six layers), and the index's table of what
worked. Printed per size and engine: seconds per step, the peak memory of the driver (this
Python) and of the JVMs (Spark's driver and executors: the largest one), and whether Spark's
signals, rewrite table and index table equal DuckDB's (rows in order; floats to 1e-9).
``--cluster`` runs Spark in ``local-cluster[2,1,2048]`` too (two executor processes);
``--memory-limit`` caps DuckDB's memory (it spills past it). Last line: one JSON object; the
exit status is 1 when any output differs.

    python benchmarks/spark.py [--sizes 1000000,5000000,10000000] [--cluster]
        [--engines duckdb,spark] [--memory-limit 8GB] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from _figures import figures_line
from mine import tile  # type: ignore[import-not-found]

HERE = Path(__file__).resolve().parent


def _descendants_peak_mb() -> dict[str, int]:
    """Peak resident memory (VmHWM) of this process's descendants — Spark's driver JVM and,
    in local-cluster mode, its worker and executor JVMs: the largest and their sum, in MB."""
    peaks: list[int] = []
    todo = [Path("/proc/self").resolve().name]
    while todo:
        pid = todo.pop()
        for task in Path(f"/proc/{pid}/task").glob("*"):
            children = (
                (task / "children").read_text().split() if (task / "children").exists() else []
            )
            for child in children:
                todo.append(child)
                status = Path(f"/proc/{child}/status")
                if status.exists():
                    for line in status.read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            peaks.append(int(line.split()[1]) // 1024)
    return {"largest": max(peaks, default=0), "sum": sum(peaks)}


def _one(log: Path, engine: str, master: str, out: Path, memory: str | None) -> None:
    """One engine over one log, in this (child) process: outputs to ``out``, figures to stdout."""
    from selflearn.engine import EngineConfig, open_engine
    from selflearn.rewrite.index import build_entries
    from selflearn.rewrite.markov import MarkovMiner
    from selflearn.signals import compute_signals

    turns = ds.dataset(log)  # scanned by the engine, never whole in this process
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    with open_engine(EngineConfig(name=engine, master=master, memory_limit=memory)) as steps:
        seconds["start"] = time.perf_counter() - started
        mark = time.perf_counter()
        signals = compute_signals(turns, engine=steps).table
        seconds["signals"] = time.perf_counter() - mark
        mark = time.perf_counter()
        mined = MarkovMiner().mine(turns, signals, engine=steps)
        seconds["mine"] = time.perf_counter() - mark
        mark = time.perf_counter()
        entries = build_entries(turns, signals, engine=steps)
        seconds["index_table"] = time.perf_counter() - mark
        jvm = _descendants_peak_mb()  # before the JVMs exit
    pq.write_table(signals, out / "signals.parquet")
    pq.write_table(pa.Table.from_pylist(mined.rows), out / "rewrites.parquet")
    pq.write_table(entries, out / "entries.parquet")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        figures_line(
            {
                "seconds": {k: round(v, 2) for k, v in seconds.items()},
                "total_s": round(time.perf_counter() - started, 2),
                "driver_peak_mb": round(own),
                "jvm_peak_mb": jvm if engine == "spark" else None,
                "rewrites": len(mined.rows),
                "index_rows": entries.num_rows,
            }
        )
    )


def _equal(a: Path, b: Path) -> dict[str, bool]:
    """Each output of run ``b`` against run ``a``: rows in order, floats to 1e-9; a column
    at a time, so a 10 M-row output is never Python objects."""

    def same(x: pa.ChunkedArray, y: pa.ChunkedArray) -> bool:
        if pa.types.is_floating(x.type) or pa.types.is_floating(y.type):
            u = x.to_numpy(zero_copy_only=False).astype(float)
            v = y.to_numpy(zero_copy_only=False).astype(float)
            return bool(np.allclose(u, v, rtol=0.0, atol=1e-9, equal_nan=True))
        if pa.types.is_decimal(x.type) or pa.types.is_decimal(y.type):
            # DuckDB sums to 128-bit decimals, Spark to 64-bit ints
            return x.cast(pa.int64()).equals(y.cast(pa.int64()))
        if x.type != y.type and pa.types.is_integer(x.type) and pa.types.is_integer(y.type):
            return x.cast(pa.int64()).equals(y.cast(pa.int64()))
        return x.equals(y)

    out = {}
    for name in ("signals", "rewrites", "entries"):
        left = pq.read_table(a / f"{name}.parquet")
        right = pq.read_table(b / f"{name}.parquet")
        out[name] = (
            left.num_rows == right.num_rows
            and left.column_names == right.column_names
            and all(same(left.column(c), right.column(c)) for c in left.column_names)
        )
    return out


def _run(log: Path, engine: str, master: str, out: Path, memory: str) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, __file__, "--one", str(log), engine, master, str(out), memory],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        java = [x.strip() for x in lines if "Caused by:" in x or "OutOfMemoryError" in x]
        tail = "\n".join(java[-2:] + lines[-5:])
        raise SystemExit(f"the {engine} run at {log.name} failed (exit {done.returncode}):\n{tail}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,5000000,10000000")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--cluster", action="store_true", help="also local-cluster[2,1,2048]")
    parser.add_argument(
        "--engines", default="duckdb,spark", help="which to run: duckdb, spark or both"
    )
    parser.add_argument("--smoke", action="store_true", help="10 users × 2 days, 3,000 turns")
    parser.add_argument(
        "--memory-limit", default="", help="DuckDB's memory before it spills (8GB); its default"
    )
    parser.add_argument("--one", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        log, engine, master, out, memory = args.one
        _one(Path(log), engine, master or "local[2]", Path(out), memory or None)
        return
    if args.smoke:
        args.sizes, args.users, args.days = "3000", 10, 2
    sizes = [int(x) for x in args.sizes.split(",")]

    from selflearn.logs.io import read_turns
    from selflearn.signals import compute_signals
    from selflearn.sim import SimConfig, Simulator

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"simulating {args.users} users × {args.days} days …", file=sys.stderr)
        Simulator(SimConfig(users=args.users, days=args.days, workers=2)).write(
            folder / "turns.jsonl", folder / "truth.jsonl"
        )
        base, _ = read_turns([folder / "turns.jsonl"])
        base_signals = compute_signals(base).table  # tiling needs them; the runs recompute
        chosen = set(args.engines.split(","))
        if not chosen or not chosen <= {"duckdb", "spark"}:
            raise SystemExit(f"--engines: duckdb, spark or both; got {args.engines!r}")
        engines = [("duckdb", "")] if "duckdb" in chosen else []
        if "spark" in chosen:
            engines.append(("spark", args.master))
            if args.cluster:
                engines.append(("spark", "local-cluster[2,1,2048]"))
        for size in sizes:
            turns, _ = tile(base, base_signals, -(-size // base.num_rows), size)
            log = folder / f"turns-{size}.parquet"
            pq.write_table(turns, log)
            row: dict[str, Any] = {"turns": turns.num_rows, "runs": {}}
            del turns  # the runs read the file; this process keeps none of it
            for engine, master in engines:
                label = engine if not master else f"{engine} {master}"
                print(f"{size:>11,} turns: {label} …", file=sys.stderr)
                run = _run(
                    log, engine, master, folder / f"{size}-{len(row['runs'])}", args.memory_limit
                )
                if engine != "duckdb" and "duckdb" in chosen:
                    run["same_as_duckdb"] = _equal(
                        folder / f"{size}-0", folder / f"{size}-{len(row['runs'])}"
                    )
                row["runs"][label] = run
                print(
                    f"{'':>11}  {label}: {run['total_s']:.1f} s {run['seconds']}, driver "
                    f"{run['driver_peak_mb']} MB, JVMs {run['jvm_peak_mb']} MB, "
                    f"{run['rewrites']} rewrites"
                    + (
                        f", same as DuckDB: {run['same_as_duckdb']}"
                        if "same_as_duckdb" in run
                        else ""
                    ),
                    file=sys.stderr,
                )
            log.unlink()
            results.append(row)
    growth = {}
    if len(results) > 1:
        first, last = results[0], results[-1]
        for label in first["runs"]:
            ratio = last["runs"][label]["total_s"] / first["runs"][label]["total_s"]
            growth[label] = round(ratio / (last["turns"] / first["turns"]), 2)
    identical = all(
        all(run["same_as_duckdb"].values())
        for row in results
        for run in row["runs"].values()
        if "same_as_duckdb" in run
    )
    verdict = {
        "sizes": results,
        "growth_vs_linear": growth,  # time ratio over size ratio, first to last size
        "identical": identical,
    }
    print(figures_line(verdict))
    if not identical:
        sys.exit(1)


if __name__ == "__main__":
    main()
