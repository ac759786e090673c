"""What the Home Assistant agent adds to each request over the agent it wraps.

Runs inside real Home Assistant core (the integration's own environment, made by
``make ha-test``) with a real selflearn service on loopback: 1,000 requests, each through
selflearn and through the wrapped agent alone; p50/p90/p99 of the difference. JSON last.

    python benchmarks/ha_agent_latency.py [--requests N] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HA = ROOT / "integrations" / "homeassistant"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--smoke", action="store_true", help="30 requests: does it run")
    args = parser.parse_args()
    if args.smoke:
        args.requests = 30
    python = HA / ".venv" / "bin" / "python"
    if not python.exists():
        print("no Home Assistant environment: run `make ha-test` first", file=sys.stderr)
        return 2
    env = {**os.environ, "SELFLEARN_BENCH_REQUESTS": str(args.requests)}
    command = [str(python), "-m", "pytest", "-q", "-s", "-p", "no:randomly", "bench"]
    done = subprocess.run(command, cwd=HA, env=env, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    figures = [line for line in lines if line.startswith(("added by", "{"))]
    if done.returncode != 0 or not figures:
        print(done.stdout[-4000:], done.stderr[-2000:], file=sys.stderr)
        print("the benchmark failed", file=sys.stderr)
        return 1
    print("\n".join(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
