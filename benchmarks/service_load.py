"""Service load benchmark: rewrites at a steady rate while events stream in and learning runs.

Starts ``selflearn serve`` on 127.0.0.1, fills it with a simulated log and learns once; then
for ``--seconds`` (60) a separate process asks ``POST /v1/rewrite`` at a steady ``--rps``
(200) while another posts ``--events`` (1,000) turn events a second, and a learning run
(``POST /v1/admin/learn``) starts a third of the way in and swaps its version in. Prints the
rewrite latency p50/p99 (measured by the client, from the scheduled send time), errors,
the server's resident memory at the start and the end, and the learning run. Targets:
p99 ≤ 10 ms, no errors, memory flat, no failed request across the swap. Last line: JSON.

    python benchmarks/service_load.py [--seconds 60] [--rps 200] [--events 1000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from queue import Empty
from typing import Any

import httpx
import numpy as np

from _figures import figures_line
from _memory import rss_mb
from selflearn.sim import SimConfig, Simulator

TOKEN = "benchmark-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Connection:
    """One kept-alive HTTP/1.1 connection (the standard library's: the load generator
    should spend as little of the machine's two cores as it can)."""

    def __init__(self, port: int, headers: dict[str, str] | None = None) -> None:
        self.port = port
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10.0)

    def post(self, path: str, body: bytes) -> bool:
        try:
            self.conn.request("POST", path, body=body, headers=self.headers)
            answer = self.conn.getresponse()
            answer.read()
            return answer.status == 200
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10.0)
            return False


def _cpu_ticks() -> tuple[int, int]:
    """(all, stolen) CPU ticks of the machine so far: on a shared virtual machine, time
    the hypervisor gave to others shows up as stolen."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields[:8]), fields[7] if len(fields) > 7 else 0


def _rewrites(port: int, rps: int, seconds: float, texts: list[str], out: Any) -> None:
    """Open-loop: request i is due at start + i/rps; latency counts from when it was due."""
    latencies: list[tuple[float, float]] = []
    errors = 0
    lock = threading.Lock()
    start = time.perf_counter() + 0.5
    total = int(rps * seconds)
    bodies = [
        json.dumps({"text": texts[i % len(texts)], "user_id": f"u{i % 50}"}).encode()
        for i in range(total)
    ]

    def worker(offset: int, step: int) -> None:
        nonlocal errors
        conn = _Connection(port)
        for i in range(offset, total, step):
            due = start + i / rps
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            ok = conn.post("/v1/rewrite", bodies[i])
            done = time.perf_counter()
            with lock:
                latencies.append((due - start, done - due))
                errors += not ok

    threads = [threading.Thread(target=worker, args=(k, 8)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put({"latencies": latencies, "errors": errors})


def _ingest(
    port: int, per_second: int, seconds: float, events: list[dict[str, Any]], out: Any
) -> None:
    conn = _Connection(port, AUTH)
    # each event serialised once, its turn_id filled in per batch: the load generator's own
    # work stays small beside the server's
    templates = [json.dumps({**e, "turn_id": "@ID@"}) for e in events]
    sent = errors = 0
    start = time.perf_counter()
    batch = max(1, per_second // 10)
    n = 0
    while time.perf_counter() - start < seconds:
        due = start + n / 10.0
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        chunk = [
            templates[(n * batch + k) % len(templates)].replace('"@ID@"', f'"load-{n}-{k}"')
            for k in range(batch)
        ]
        body = ('{"events": [' + ", ".join(chunk) + "]}").encode()
        errors += not conn.post("/v1/events", body)
        sent += len(chunk)
        n += 1
    out.put({"sent": sent, "errors": errors, "seconds": time.perf_counter() - start})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rps", type=int, default=200)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--no-swap", action="store_true", help="No learning run during the load.")
    parser.add_argument(
        "--smoke", action="store_true", help="5 s at 20 requests/s, 6 users × 2 days"
    )
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.rps, args.events, args.users = 5.0, 20, 100, 6
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        port = _port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "SELFLEARN_TOKEN": TOKEN, "SELFLEARN_DATA_DIR": tmp,
               "SELFLEARN_PORT": str(port), "SELFLEARN_HOST": "127.0.0.1"}  # fmt: skip
        server = subprocess.Popen([sys.executable, "-m", "selflearn.cli", "serve"], env=env)
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"{base}/healthz", timeout=0.5).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            days = 2 if args.smoke else 7
            say(f"simulating {args.users} users × {days} days for the service to learn from")
            runs = Simulator(SimConfig(users=args.users, days=days, seed=3)).runs()
            events = [json.loads(line) for run in runs for line in run.events]
            with httpx.Client(base_url=base, headers=AUTH, timeout=600.0) as http:
                for i in range(0, len(events), 1000):
                    http.post(
                        "/v1/events", json={"events": events[i : i + 1000]}
                    ).raise_for_status()
                say(f"stored {len(events):,} turns; first learning run")
                first = http.post("/v1/admin/learn").json()
            say(f"serving {first['version']} (learned in {first['seconds']:.0f} s)")
            texts = [e["asr"]["text"] for e in events[:2000]]
            rss_start = rss_mb(server.pid)
            ticks_start = _cpu_ticks()
            queue: Any = multiprocessing.get_context("spawn").Queue()
            rewriter = multiprocessing.get_context("spawn").Process(
                target=_rewrites, args=(port, args.rps, args.seconds, texts, queue)
            )
            ingester = multiprocessing.get_context("spawn").Process(
                target=_ingest, args=(port, args.events, args.seconds, events, queue)
            )
            say(f"load: {args.rps} rewrites/s and {args.events} events/s for {args.seconds:.0f} s")
            rewriter.start()
            ingester.start()
            swap: dict[str, Any] = {}

            def learn_during_the_load() -> None:
                time.sleep(args.seconds / 3)
                with httpx.Client(base_url=base, headers=AUTH, timeout=600.0) as http:
                    swap.update(http.post("/v1/admin/learn").json())
                say(f"hot swap during the load: {swap}")

            learning = threading.Thread(target=learn_during_the_load)
            if not args.no_swap:
                learning.start()
            rss, results = [rss_start], []
            while len(results) < 2:  # the processes end once their results are read
                try:
                    results.append(queue.get(timeout=min(10.0, args.seconds / 6)))
                except Empty:
                    rss.append(rss_mb(server.pid))
                    say(f"  server RSS {rss[-1]:.0f} MB")
            if not args.no_swap:
                learning.join()
            rewriter.join()
            ingester.join()
            rss_end = rss_mb(server.pid)
            ticks_end = _cpu_ticks()
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=20)
    rewrite = next(r for r in results if "latencies" in r)
    ingest = next(r for r in results if "sent" in r)
    when = np.array([t for t, _ in rewrite["latencies"]])
    ms = np.array([lat for _, lat in rewrite["latencies"]]) * 1000.0
    for second in range(0, int(args.seconds), 10):
        part = ms[(when >= second) & (when < second + 10)]
        if part.size:
            say(
                f"  {second:>3}-{second + 10:<3} s: p50 {np.percentile(part, 50):6.2f} ms, "
                f"p99 {np.percentile(part, 99):7.2f} ms, max {part.max():7.2f} ms"
            )
    out = {
        "rewrite_requests": len(ms),
        "rewrite_errors": rewrite["errors"],
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2),
        "events_sent": ingest["sent"],
        "events_per_s": round(ingest["sent"] / ingest["seconds"], 1),
        "event_errors": ingest["errors"],
        "rss_start_mb": round(rss_start, 1),
        "rss_end_mb": round(rss_end, 1),
        "rss_samples_mb": [round(r) for r in rss],
        "swap": swap,
        "cpu_stolen_share": round(
            (ticks_end[1] - ticks_start[1]) / max(ticks_end[0] - ticks_start[0], 1), 4
        ),
    }
    say(
        f"rewrite p50 {out['p50_ms']} ms, p99 {out['p99_ms']} ms, max {out['max_ms']} ms over "
        f"{out['rewrite_requests']:,} requests, {out['rewrite_errors']} errors; events "
        f"{out['events_sent']:,} ({out['events_per_s']}/s), {out['event_errors']} errors; "
        f"server RSS {out['rss_start_mb']} → {out['rss_end_mb']} MB; swap to {swap.get('version')}; "
        f"CPU time stolen by the host {out['cpu_stolen_share']:.1%}"
    )
    print(figures_line(out))


if __name__ == "__main__":
    main()
