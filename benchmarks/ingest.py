"""Ingest throughput: 1,000,000 generated turns from Parquet and from JSON Lines.

Run: .venv/bin/python benchmarks/ingest.py [--turns N] [--smoke]
Prints progress to stderr and, last, one JSON line:
{"ingest_turns_per_s": ..., "jsonl_turns_per_s": ..., "bytes_per_turn": ...}
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from _figures import figures_line
from selflearn import TURN_SCHEMA, TurnStore
from selflearn.logs.arrow import ADDED_COLUMNS

SENTENCES = [
    "turn on the kitchen lights",
    "turn off the lamp",
    "what is the temperature",
    "play the hunger games",
    "set a timer for ten minutes",
    "open the garage door",
    "lock the front door",
    "set the thermostat to twenty degrees",
    "pause",
    "what time is it",
]
INTENTS = [
    "HassTurnOn",
    "HassTurnOff",
    "HassClimateGetTemperature",
    "HassMediaSearchAndPlay",
    "HassStartTimer",
    "HassTurnOn",
    "HassTurnOn",
    "HassClimateSetTemperature",
    "HassMediaPause",
    "HassGetCurrentTime",
]
STATUSES = ["success", "no_intent_match", "no_valid_targets", "failed_to_handle"]


def generate(n: int, seed: int = 0) -> pa.Table:
    """``n`` realistic turns as an Arrow table in the contract's columns (vectorised)."""
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(SENTENCES), n)
    noise = rng.integers(0, 1000, n)
    text = pa.array(
        [
            f"{SENTENCES[p]} {k}" if k < 150 else SENTENCES[p]
            for p, k in zip(pick, noise, strict=False)
        ]
    )
    intent = pa.array([INTENTS[p] for p in pick])
    conf = pa.array(np.round(rng.beta(8, 2, n), 3))
    ts = 1_790_000_000.0 + np.cumsum(rng.exponential(3.0, n))
    status = pa.array(np.array(STATUSES)[rng.choice(4, n, p=[0.8, 0.1, 0.07, 0.03])])
    devices = pa.array(np.array([f"satellite.{i}" for i in range(500)])[rng.integers(0, 500, n)])
    empty_hyps = pa.array([[]] * n, type=TURN_SCHEMA.field("asr").type.field("nbest").type)
    areas = np.array(["Kitchen", "Bedroom", "Living Room", "Office"])[rng.integers(0, 4, n)]
    context = pa.array(
        [
            f'{{"area":"{a}","local_time":"{h:02d}:{m:02d}","weekday":{w}}}'
            for a, h, m, w in zip(
                areas,
                rng.integers(0, 24, n),
                rng.integers(0, 60, n),
                rng.integers(0, 7, n),
                strict=False,
            )
        ]
    )
    asr_type = TURN_SCHEMA.field("asr").type
    nlu_type = TURN_SCHEMA.field("nlu").type
    resp_type = TURN_SCHEMA.field("response").type
    wake_type = TURN_SCHEMA.field("wake").type
    null_str = pa.nulls(n, pa.string())
    columns = {
        "schema_version": pa.array(["1"] * n),
        "turn_id": pa.array([f"turn-{seed}-{i:08d}" for i in range(n)]),
        "session_id": null_str,
        "user_id": pa.array(np.array([f"user{i}" for i in range(1000)])[rng.integers(0, 1000, n)]),
        "device_id": devices,
        "device_type": pa.array(np.array(["speaker", "display"])[rng.integers(0, 2, n)]),
        "ts": pa.array(ts),
        "wake": pa.StructArray.from_arrays(
            [pa.array(["hey selflearn"] * n), pa.array(np.round(rng.uniform(0.5, 1, n), 3))],
            fields=list(wake_type),
        ),
        "asr": pa.StructArray.from_arrays([text, conf, empty_hyps], fields=list(asr_type)),
        "nlu": pa.StructArray.from_arrays(
            [
                intent,
                pa.array(["light"] * n),
                pa.array(['{"name":"Lamp"}'] * n),
                pa.array([1.0] * n),
            ],
            fields=list(nlu_type),
        ),
        "resolution": pa.nulls(n, TURN_SCHEMA.field("resolution").type),
        "response": pa.StructArray.from_arrays(
            [pa.array(["Done"] * n), status, pa.array(rng.integers(300, 3000, n))],
            fields=list(resp_type),
        ),
        "barge_in_ms": pa.nulls(n, pa.int64()),
        "feedback": null_str,
        "context": context,
        "rewrite": pa.nulls(n, TURN_SCHEMA.field("rewrite").type),
    }
    for name in ADDED_COLUMNS:  # what later contract versions added: not in these turns
        columns[name] = pa.nulls(n, TURN_SCHEMA.field(name).type)
    return pa.Table.from_pydict(columns, schema=TURN_SCHEMA)


def write_jsonl(table: pa.Table, path: Path) -> None:
    """JSON Lines with the free-form objects as real JSON objects, as producers write them."""
    con = duckdb.connect()
    con.register("t", table)
    con.execute(
        f"COPY (SELECT * REPLACE (context::JSON AS context, "
        f"struct_update(nlu, slots := nlu.slots::JSON) AS nlu) FROM t) TO '{path}' (FORMAT JSON)"
    )
    con.close()


def timed_ingest(path: Path, store_path: Path, label: str) -> tuple[float, int]:
    done = [0]
    size = path.stat().st_size

    def progress(n: int) -> None:
        done[0] += n
        print(f"\r{label}: {100 * done[0] / size:5.1f}%", end="", file=sys.stderr, flush=True)

    with TurnStore.open(store_path) as store:
        start = time.perf_counter()
        summary = store.ingest_file(path, progress=progress)
        store.checkpoint()
        elapsed = time.perf_counter() - start
        assert not summary.rejected, summary.rejected[:3]
    print(file=sys.stderr)
    return elapsed, summary.accepted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=1_000_000)
    parser.add_argument("--smoke", action="store_true", help="20,000 turns: does it run")
    args = parser.parse_args()
    if args.smoke:
        args.turns = 20_000
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print(f"generating {args.turns:,} turns", file=sys.stderr)
        table = generate(args.turns)
        parquet, jsonl = work / "turns.parquet", work / "turns.jsonl"
        pq.write_table(table, parquet, compression="zstd")
        write_jsonl(table, jsonl)
        del table
        pq_s, pq_n = timed_ingest(parquet, work / "a.duckdb", "parquet")
        with TurnStore.open(work / "a.duckdb") as store:
            size = store.size_bytes()
            again = store.ingest_file(parquet)
        js_s, js_n = timed_ingest(jsonl, work / "b.duckdb", "jsonl")
        result = {
            "turns": args.turns,
            "parquet_seconds": round(pq_s, 2),
            "jsonl_seconds": round(js_s, 2),
            "reingest_accepted": again.accepted,
            "store_bytes": size,
            "ingest_turns_per_s": round(pq_n / pq_s),
            "jsonl_turns_per_s": round(js_n / js_s),
            "bytes_per_turn": round(size / pq_n, 1),
        }
        print(figures_line(result))


if __name__ == "__main__":
    main()
