"""The HTML report is self-contained and renders with its plots in headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from selflearn.evaluate import Arm, run_ab
from selflearn.evaluate.runner import evaluation_document
from selflearn.logs import read_turns
from selflearn.report import write_report
from selflearn.rewrite import RewriteTable
from selflearn.signals import compute_signals, read_truth
from selflearn.sim import SimConfig

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("SELFLEARN_SKIP_BROWSER"):
            pytest.skip("SELFLEARN_SKIP_BROWSER is set and Chromium is not installed")
        pytest.fail("Chromium is not installed: `make test` installs Debian's chromium package")
    return found


@pytest.fixture(scope="module")
def report_path(
    sim_files: tuple[Path, Path, dict], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    log, truth, _ = sim_files
    turns, _ = read_turns([log])
    table = RewriteTable.from_rows(
        [{"source": "lamp off", "rewrite": "turn off the lamp", "score": 0.9, "support": 5}]
    )
    result = run_ab(
        SimConfig(users=8, days=1, start_day=3, seed=11), [Arm("control"), Arm("offline", table)]
    )
    return write_report(
        tmp_path_factory.mktemp("report") / "report.html",
        turns=turns,
        truth=read_truth(truth),
        signals=compute_signals(turns).table,
        evaluation=evaluation_document(result, resamples=200),
    )


def test_report_is_self_contained(report_path: Path) -> None:
    text = report_path.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", text)
    assert "<script src" not in text and "<link" not in text
    for plot in (
        "defect rate by day and arm",
        "mix of failure points",
        "most frequent failing requests",
        "applied rewrites with wins and losses",
    ):
        assert f"data-plot='{plot}'" in text


def test_report_renders_with_plots_in_headless_chromium(report_path: Path, tmp_path: Path) -> None:
    chromium = _chromium()
    common = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*common, "--dump-dom", report_path.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    figures = re.findall(r"<figure class=\"plot\" data-plot=\"([^\"]+)\">\s*<svg", dom)
    print("\nrendered plots:", figures)
    assert len(figures) == 4
    assert dom.count("<path") > 50  # the plots drew lines and bars
    shot = tmp_path / "report.png"
    subprocess.run(
        [*common, "--window-size=1000,2600", f"--screenshot={shot}", report_path.as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert shot.is_file() and shot.stat().st_size > 20_000
