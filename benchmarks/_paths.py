"""Where benchmarks write what they build (indexes, logs, pages) between runs."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bench_out(name: str) -> Path:
    """``bench-out/NAME`` in the repository, or under ``$SELFLEARN_BENCH_OUT`` (the smoke
    test points it at a scratch folder)."""
    base = os.environ.get("SELFLEARN_BENCH_OUT")
    return (Path(base) if base else ROOT / "bench-out") / name
