"""The HTML report is self-contained and renders with its plots in headless Chromium: on a
simulated log with an A/B, and on a real-shaped log (real recordings, every status
`success`, no ground truth) with the artefacts learned from it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from selflearn.cli import app
from selflearn.evaluate import Arm, run_ab
from selflearn.evaluate.real_logs import build_log
from selflearn.evaluate.runner import evaluation_document
from selflearn.evaluate.speech_errors import read_asr_pairs
from selflearn.learn import learn
from selflearn.logs import events_to_table, read_turns
from selflearn.report import report_figures, write_report
from selflearn.rewrite import RewriteTable
from selflearn.signals import compute_signals, read_truth
from selflearn.sim import SimConfig
from tests.conftest import shared_file

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


def _render(path: Path, tmp_path: Path) -> tuple[list[str], str]:
    """The plots headless Chromium drew, and its DOM; a screenshot is taken too."""
    chromium = _chromium()
    common = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*common, "--dump-dom", path.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    figures = re.findall(r"<figure class=\"plot\" data-plot=\"([^\"]+)\">\s*<svg", dom)
    print("\nrendered plots:", figures)
    shot = tmp_path / "report.png"
    subprocess.run(
        [*common, "--window-size=1000,2600", f"--screenshot={shot}", path.as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert shot.is_file() and shot.stat().st_size > 20_000
    return figures, dom


def _figures(path: Path) -> dict[str, Any]:
    return report_figures(path.read_text())


def test_report_renders_with_plots_in_headless_chromium(report_path: Path, tmp_path: Path) -> None:
    figures, dom = _render(report_path, tmp_path)
    assert len(figures) == 4
    assert dom.count("<path") > 50  # the plots drew lines and bars


@pytest.fixture(scope="module")
def real_shaped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A log of real recordings in the silent shape (a misheard request answered success,
    then said again) and what ``selflearn learn`` learned from it."""
    records = read_asr_pairs(shared_file("slurp/asr_pairs_dev.jsonl"))
    events = build_log(records, "silent", seed=1)
    folder = tmp_path_factory.mktemp("real-shaped")
    log = folder / "turns.jsonl"
    log.write_text("".join(e.model_dump_json() + "\n" for e in events), encoding="utf-8")
    learn(events_to_table(events), folder / "artefacts", rephrase_model=False)
    return log, folder / "artefacts"


@pytest.mark.parametrize("days", [7, 0])
def test_owner_report_on_a_real_shaped_log(
    real_shaped: tuple[Path, Path], tmp_path: Path, days: int
) -> None:
    log, artefacts = real_shaped
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        app,
        [
            "report", str(log), "--artefacts", str(artefacts), "--days", str(days),
            "--preferences", str(tmp_path / "none.json"), "--out", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = out.read_text()
    owner = _figures(out)["owner"]
    failing = owner["failing"]
    # every failing request of the period says what selflearn now does with it, and why
    assert failing["requests"] > 0 and failing["top"]
    for entry in failing["top"]:
        assert entry["now"]["category"] and entry["now"]["detail"]
    categories = {c["now"] for c in failing["coverage"]}
    assert "rewritten" in categories
    if days == 0:
        assert len(categories) >= 3  # some fixed, some not, each with its reason
    rewritten = [e for e in failing["top"] if e["now"]["category"] == "rewritten"]
    assert all(e["now"]["target"] and e["now"]["layer"] for e in rewritten)
    # what was learned, with its evidence
    learned = owner["learned"]["rewrites"]
    assert len(learned) >= 10 and all(r["support"] >= 1 for r in learned)
    # dates, not day indexes; the empty sections are sentences, the A/B is absent
    assert re.search(r"2026-\d\d-\d\d \d\d:\d\d to 2026-", text)
    assert "day 3" not in text and "A/B" not in text
    assert "No turn in this period was rewritten" in text
    assert "Nobody taught a preference yet" in text
    assert "No dialogue model named the failing stage" in text
    assert "Undone by hand: this log does not record" in text
    plots = re.findall(r"data-plot='([^']+)'", text)
    assert set(plots) <= {"defect rate by week", "most frequent failing requests"}
    assert "defect rate by week" in plots  # the log covers months


def test_owner_report_renders_in_headless_chromium(
    real_shaped: tuple[Path, Path], tmp_path: Path
) -> None:
    log, artefacts = real_shaped
    out = tmp_path / "report.html"
    turns, _ = read_turns([log])
    write_report(out, turns=turns, artefacts=artefacts, days=0)
    figures, dom = _render(out, tmp_path)
    assert figures == ["defect rate by week", "most frequent failing requests"]
    assert dom.count("<path") > 20
    assert dom.count("<tr>") > 40  # the failing requests and the learned rewrites


def test_a_report_with_nothing_to_show_says_so(tmp_path: Path) -> None:
    from selflearn.logs.schema import TurnEvent

    event = TurnEvent.model_validate(
        {
            "schema_version": "1",
            "turn_id": "t1",
            "device_id": "kitchen",
            "device_type": "speaker",
            "ts": 1_767_225_600.0,
            "asr": {"text": "what time is it"},
            "nlu": {"intent": "HassGetCurrentTime", "slots": {}},
            "response": {"text": "Nine.", "status": "success"},
            "context": {"local_time": "01:00"},
        }
    )
    out = write_report(tmp_path / "r.html", turns=events_to_table([event]))
    text = out.read_text()
    assert "data-plot=" not in text  # no chart without data
    assert "No request failed in this period." in text
    assert "no artefacts folder was given" in text
    assert "local time (UTC+01:00)" in text
