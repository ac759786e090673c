"""Every benchmark runs at its smoke size, so a change that breaks one fails `make test`.

Each file in ``benchmarks/`` (helpers aside: ``_*.py``) takes ``--smoke``: the same code
path at a size that runs in seconds. Here each runs in a child process, from a scratch
folder, and must exit 0 with one strict JSON object (no NaN) on its last line, as its full
run does. The figures are not judged: at smoke size they mean nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = sorted(p for p in (ROOT / "benchmarks").glob("*.py") if not p.name.startswith("_"))
SMOKE_LIMIT_S = 240  # one benchmark at smoke size; all together run in about two minutes


def _not_json(constant: str) -> None:
    raise AssertionError(f"{constant} is not JSON: print figures with _figures.figures_line")


def test_every_benchmark_takes_a_smoke_size() -> None:
    lacking = [p.name for p in BENCHMARKS if '"--smoke"' not in p.read_text(encoding="utf-8")]
    assert not lacking, f"benchmarks without --smoke: {lacking}"


@pytest.mark.parametrize("benchmark", BENCHMARKS, ids=lambda p: p.stem)
def test_benchmark_runs_at_its_smoke_size(benchmark: Path, tmp_path: Path) -> None:
    env = {**os.environ, "SELFLEARN_BENCH_OUT": str(tmp_path / "bench-out")}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(benchmark), "--smoke"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=SMOKE_LIMIT_S,
    )
    seconds = time.perf_counter() - started
    print(f"\n{benchmark.name} --smoke: exit {done.returncode} in {seconds:.1f} s")
    assert done.returncode == 0, (
        f"{benchmark.name} --smoke failed (exit {done.returncode}):\n"
        f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines, f"{benchmark.name} --smoke printed nothing"
    figures = json.loads(lines[-1], parse_constant=_not_json)
    assert isinstance(figures, dict) and figures, (
        f"{benchmark.name}: last line is not a JSON object"
    )
