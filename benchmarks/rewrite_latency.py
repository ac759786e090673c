"""Latency of ``Rewriter.rewrite`` in-process, with a 1,000,000-entry global index.

The index: what worked in a simulated fleet, SLURP's transcripts
(``../shared/data/slurp/lm_sentences.txt``) and variants generated from both (politeness
and filler words around them), 1,000,000 distinct utterances in all, encoded with the
int8 MiniLM-L6 and indexed in faiss (meaning and sound). The rankers and the personal
index come from ``selflearn learn`` on the simulated log. The index is built once into
``bench-out/index-1m`` (encoding a million sentences takes a while on 2 cores; progress is
shown) and reused; the timing runs in a fresh process, so its memory is the serving
process's own. Requests: a held-out simulated week's recognised utterances with their
context, each through all layers (offline table, personal, global).

    python benchmarks/rewrite_latency.py [--entries 1000000] [--requests 3000] [--smoke]

Targets: p99 ≤ 5 ms, resident memory ≤ 2 GiB, the index built in ≤ 15 minutes. Last line:
JSON with ``p50_ms``, ``p99_ms``, ``rss_mb``, ``stage_ms`` (per request, over all and over
those that had to be encoded) and ``build`` (seconds per step of the build, sentences
encoded per second; kept from the run that built the index).
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import random
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from _figures import figures_line
from _memory import rss_mb
from _paths import bench_out

ROOT = Path(__file__).resolve().parents[1]
SLURP = ROOT.parent / "shared" / "data" / "slurp" / "lm_sentences.txt"
PREFIXES = (
    "",
    "please",
    "hey",
    "can you",
    "could you",
    "would you",
    "i want you to",
    "go ahead and",
    "now",
    "quickly",
    "ok",
    "just",
)
BUILD_FILE = "build.json"  # the index build's figures, kept beside what it built
SUFFIXES = ("", "please", "now", "for me", "thanks", "right now", "again", "thank you")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _learn(out: Path, users: int = 100, days: int = 10) -> None:
    """A simulated fleet's log → artefacts (offline table, rankers, personal index)."""
    from selflearn.learn import learn
    from selflearn.logs.io import read_turns
    from selflearn.sim import SimConfig, Simulator

    sim = out / "sim"
    if not (sim / "turns.jsonl").is_file():
        _say(f"simulating {users} users × {days} days for the rankers and the personal index")
        Simulator(SimConfig(users=users, days=days, seed=11)).write(
            sim / "turns.jsonl", sim / "truth.jsonl"
        )
        Simulator(SimConfig(users=users, days=2, start_day=days, seed=11)).write(
            sim / "test.jsonl", sim / "test_truth.jsonl"
        )
    turns, _ = read_turns([sim / "turns.jsonl"])
    learn(turns, out / "artefacts", rephrase_model=False, progress=_say)


def _variants(bases: list[str], total: int) -> list[str]:
    out: dict[str, None] = dict.fromkeys(bases)
    rng = random.Random(7)
    combos = [(p, s) for p in PREFIXES for s in SUFFIXES if p or s]
    rng.shuffle(combos)
    for prefix, suffix in combos:
        for base in bases:
            if len(out) >= total:
                return list(out)[:total]
            out[" ".join(w for w in (prefix, base, suffix) if w)] = None
    return list(out)[:total]


def _build(out: Path, total: int, users: int, days: int) -> None:
    """The artefacts, then their global rows grown to ``total`` with SLURP and variants."""
    from selflearn.rewrite import index as index_module
    from selflearn.rewrite.base import normalize_utterance
    from selflearn.rewrite.encoder import SentenceEncoder
    from selflearn.rewrite.index import GLOBAL, RetrievalIndex
    from selflearn.rewrite.online import ONLINE_DIR

    _learn(out, users, days)
    build_started = time.perf_counter()
    online = out / "artefacts" / ONLINE_DIR
    entries = pq.read_table(online / "entries.parquet")
    own = RetrievalIndex.load(online).own_vectors
    known = set(entries.filter(pa.compute.equal(entries["scope"], GLOBAL))["text"].to_pylist())
    slurp = [normalize_utterance(s) for s in SLURP.read_text(encoding="utf-8").splitlines()]
    bases = sorted(known | {s for s in slurp if s})
    extra = [t for t in _variants(bases, total + len(known)) if t not in known][
        : total - len(known)
    ]
    _say(
        f"global rows: {len(known):,} that worked in the simulated fleet + {len(extra):,} "
        f"from SLURP and variants"
    )
    rng = np.random.default_rng(3)
    n = len(extra)
    successes = rng.integers(2, 40, n)
    added = pa.table(
        {
            "scope": [GLOBAL] * n,
            "text": extra,
            "successes": successes,
            "tries": successes + rng.integers(0, 4, n),
            "users": np.minimum(successes, rng.integers(2, 30, n)),
            "intent": [None] * n,
            "entities": pa.array([[]] * n, type=pa.list_(pa.string())),
            "areas": ["{}"] * n,
            "device_types": ["{}"] * n,
            "hour_sin": np.zeros(n),
            "hour_cos": np.zeros(n),
        }
    ).cast(entries.schema)
    grown = pa.concat_tables([entries, added]).sort_by(
        [("scope", "ascending"), ("text", "ascending")]
    )
    scope = grown["scope"].to_pylist()
    texts = grown["text"].to_pylist()
    g_texts = [t for s, t in zip(scope, texts, strict=True) if s == GLOBAL]
    _say(f"encoding {len(g_texts):,} global utterances (int8 MiniLM-L6, 2 threads)")
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    last = [0.0]

    def progress(done: int, all_: int) -> None:
        if time.perf_counter() - last[0] > 30 or done == all_:
            last[0] = time.perf_counter()
            rate = done / (last[0] - started)
            _say(
                f"  encoded {done:,}/{all_:,} ({rate:,.0f}/s, {(all_ - done) / rate / 60:.1f} min left)"
            )

    g_vectors = SentenceEncoder(threads=2).encode(g_texts, progress=progress)
    seconds["encode"] = time.perf_counter() - started
    vectors = np.zeros((grown.num_rows, g_vectors.shape[1]), dtype=np.float32)
    is_global = np.array([s == GLOBAL for s in scope])
    vectors[is_global] = g_vectors
    vectors[~is_global] = own  # personal rows keep their order (sorted by scope, text)
    _say("building the faiss HNSW indexes (meaning, then sound)")
    with (
        _timed(index_module, "sound_vectors", seconds, "sound_vectors"),
        _timed(RetrievalIndex, "_build_ann", seconds, "hnsw_meaning", "hnsw_sound"),
    ):
        started = time.perf_counter()
        index = RetrievalIndex(grown, vectors)
        seconds["index_total"] = time.perf_counter() - started
    started = time.perf_counter()
    index.save(out / "artefacts-1m" / ONLINE_DIR)
    seconds["save"] = time.perf_counter() - started
    figures = {
        "global_rows": len(g_texts),
        "encoded_per_s": round(len(g_texts) / seconds["encode"], 1),
        **{f"{k}_s": round(v, 1) for k, v in seconds.items()},
        "build_s": round(time.perf_counter() - build_started, 1),
    }
    _say(
        f"built in {figures['build_s'] / 60:.1f} min: encoding {seconds['encode'] / 60:.1f} min "
        f"({figures['encoded_per_s']:,.0f}/s), sound vectors {seconds.get('sound_vectors', 0):.0f} s, "
        f"HNSW meaning {seconds.get('hnsw_meaning', 0):.0f} s, HNSW sound {seconds.get('hnsw_sound', 0):.0f} s"
    )
    (out / BUILD_FILE).write_text(json.dumps(figures), encoding="utf-8")


@contextmanager
def _timed(owner: Any, name: str, seconds: dict[str, float], *stages: str) -> Iterator[None]:
    """Clocks ``owner.name`` while in the block: its n-th call's seconds under ``stages[n]``
    (the last stage takes any further calls)."""
    inner = getattr(owner, name)
    calls = [0]

    def run(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            stage = stages[min(calls[0], len(stages) - 1)]
            seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - t0
            calls[0] += 1

    setattr(owner, name, run)
    try:
        yield
    finally:
        setattr(owner, name, inner)


def _refresh(out: Path, users: int, days: int) -> None:
    """Everything of the small artefacts but the grown index (the offline table, the guard,
    the restatement memory, the rankers, …) copied beside the big index, relearned first
    when this version computes other features than the rankers were trained on."""
    from selflearn.errors import DataFileError
    from selflearn.rewrite.online import ONLINE_DIR
    from selflearn.rewrite.ranker import RankerModel

    small, big = out / "artefacts", out / "artefacts-1m"
    try:
        RankerModel.load(small / ONLINE_DIR / "ranker_global.lgb")
    except DataFileError:
        _learn(out, users, days)
    for path in small.iterdir():  # whatever `selflearn learn` writes there, this version's
        if path.is_file():
            (big / path.name).write_bytes(path.read_bytes())
    for model in (small / ONLINE_DIR).glob("ranker_*"):
        (big / ONLINE_DIR / model.name).write_bytes(model.read_bytes())


def _child(target: object, *args: object) -> None:
    """``target(*args)`` in a fresh process; the benchmark fails when it does."""
    child = multiprocessing.get_context("spawn").Process(target=target, args=args)
    child.start()
    child.join()
    if child.exitcode != 0:
        name = getattr(target, "__name__", "a step")
        sys.exit(f"{name.strip('_')} failed in its child process (exit {child.exitcode})")


def _measure(out: Path, requests: int) -> dict[str, Any]:
    from selflearn.logs.io import read_events
    from selflearn.rewrite import Rewriter, RewriteRequest

    start_rss = rss_mb()
    started = time.perf_counter()
    rewriter = Rewriter.load(out / "artefacts-1m", budget_s=10.0)
    load_s = time.perf_counter() - started
    gc.freeze()  # as the service does once a version is loaded: no collection walks it again
    events = read_events(out / "sim" / "test.jsonl")
    rng = random.Random(5)
    rng.shuffle(events)
    asks = [
        RewriteRequest(
            e.asr.text,
            e.user_id,
            e.device_id,
            e.device_type,
            e.context.area,
            e.context.model_dump(),
            e.asr.confidence,
        )
        for e in events[: requests + 700]
        if e.asr.text
    ]
    for ask in asks[:200]:  # warm-up
        rewriter.rewrite(ask)
    times = []
    applied = 0
    for ask in asks[200 : 200 + requests]:
        t0 = time.perf_counter()
        answer = rewriter.rewrite(ask)
        times.append((time.perf_counter() - t0) * 1000)
        applied += answer is not None
    ms = np.array(times)
    index = rewriter.online.index if rewriter.online else None
    stages = _stages(rewriter, asks[200 + len(times) :] or asks[200:])
    return {
        "global_entries": len(index.global_rows) if index else 0,
        "requests": len(times),
        "rewritten": applied,
        "load_s": round(load_s, 2),
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p90_ms": round(float(np.percentile(ms, 90)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "max_ms": round(float(ms.max()), 3),
        "rss_mb": round(rss_mb(), 1),
        "rss_before_load_mb": round(start_rss, 1),
        "fail_opens": rewriter.fail_opens,
        "stage_ms": stages,
    }


def _stages(rewriter: Any, asks: list[Any]) -> dict[str, Any]:
    """Mean milliseconds per request in each stage of the path, on requests the timed
    loop did not see: each stage's function is wrapped with a clock, in this process only.
    Stages nest (the guard runs inside the candidates). ``encoded``: the same over the
    requests that had to be encoded (the slow ones, which make the p99)."""
    from selflearn.rewrite import candidates, online
    from selflearn.rewrite.encoder import SentenceEncoder
    from selflearn.rewrite.guards import Guard
    from selflearn.rewrite.index import RetrievalIndex
    from selflearn.rewrite.ranker import RankerModel
    from selflearn.rewrite.restated import RestatementMemory

    spent: dict[str, float] = {}
    targets = [
        ("encode", SentenceEncoder, "encode_one"),
        ("probes", RetrievalIndex, "global_search"),
        ("probes", RetrievalIndex, "personal_search"),
        ("sound", candidates, "sound_vector"),
        ("guard", Guard, "reason"),
        ("features", online, "features"),
        ("scoring", RankerModel, "score"),
        ("memory", RestatementMemory, "consider"),
    ]
    encoded: dict[str, float] = {}  # the stages of the requests that needed encoding
    n_encoded = 0
    with ExitStack() as clocks:
        for stage, owner, name in targets:
            clocks.enter_context(_timed(owner, name, spent, stage))
        started = time.perf_counter()
        for ask in asks:
            before = dict(spent)
            t0 = time.perf_counter()
            rewriter.rewrite(ask)
            if spent.get("encode", 0.0) > before.get("encode", 0.0):
                n_encoded += 1
                for stage, seconds in spent.items():
                    encoded[stage] = encoded.get(stage, 0.0) + seconds - before.get(stage, 0.0)
                encoded["total"] = encoded.get("total", 0.0) + time.perf_counter() - t0
        total = time.perf_counter() - started
    n = max(len(asks), 1)
    out: dict[str, Any] = {k: round(v * 1000 / n, 3) for k, v in sorted(spent.items())}
    out["total"] = round(total * 1000 / n, 3)
    out["encoded_requests"] = n_encoded
    out["encoded"] = {k: round(v * 1000 / max(n_encoded, 1), 3) for k, v in sorted(encoded.items())}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="does it run: 2,000 entries from 12 users × 3 days, 100 requests",
    )
    args = parser.parse_args()
    users, days = (12, 3) if args.smoke else (100, 10)
    if args.smoke:
        args.entries, args.requests = 2_000, 100
    if args.out is None:
        name = "index-smoke" if args.smoke else "index-1m"
        args.out = bench_out(name)
    if not SLURP.is_file():
        sys.exit(f"needs {SLURP} (the shared data folder beside the repository)")
    marker = args.out / f"built-{args.entries}"
    if not marker.is_file():
        # built in a child process, so the timed process holds only what serving holds
        _child(_build, args.out, args.entries, users, days)
        marker.write_text("ok", encoding="utf-8")
    _child(_refresh, args.out, users, days)
    figures = _measure(args.out, args.requests)
    build = args.out / BUILD_FILE
    if build.is_file():
        figures["build"] = json.loads(build.read_text(encoding="utf-8"))
    _say(
        f"{figures['global_entries']:,} global entries; {figures['requests']:,} requests "
        f"({figures['rewritten']:,} rewritten); p50 {figures['p50_ms']} ms, p90 "
        f"{figures['p90_ms']} ms, p99 {figures['p99_ms']} ms; resident memory "
        f"{figures['rss_mb']:,.0f} MB (load {figures['load_s']} s)"
    )
    stages = dict(figures["stage_ms"])
    encoded, n_encoded = stages.pop("encoded"), stages.pop("encoded_requests")
    _say(
        "per request, ms (stages nest: the guard runs inside the candidates): "
        + ", ".join(f"{k} {v}" for k, v in stages.items())
    )
    _say(
        f"per request that had to be encoded ({n_encoded}), ms: "
        + ", ".join(f"{k} {v}" for k, v in encoded.items())
    )
    print(figures_line(figures))


if __name__ == "__main__":
    main()
