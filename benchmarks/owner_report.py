"""The owner's report on a real-shaped log, made as a new user makes it.

The log: every SLURP recording of ``../shared/data/slurp/asr_pairs_dev.jsonl`` as a turn in
the silent shape real assistants write (a misheard request executed as something else and
answered ``success``, then said again; one session an hour, 150 speakers). Then, through the
command line: ``selflearn learn`` on it, and ``selflearn report`` for the last 7 days and for
the whole log, with screenshots in headless Chromium where it is installed. With
``--demo DIR`` (a ``make demo`` output folder, ``selflearn-data/demo``) the demo's report is
made and shot too.

    python benchmarks/owner_report.py [--seed 1] [--demo selflearn-data/demo] [--smoke]

Prints what each report says: failing requests and what selflearn now does with them (by
category), rewrites learned, plots drawn; the last line is JSON.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _figures import figures_line
from _paths import bench_out

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "slurp" / "asr_pairs_dev.jsonl"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def selflearn(*args: str) -> None:
    """One `selflearn` command in a child process; its failure fails the benchmark."""
    command = [sys.executable, "-m", "selflearn.cli", *args]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        sys.exit(f"selflearn {args[0]} failed (exit {done.returncode}): {tail}")


def screenshot(page: Path) -> str | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return None
    shot = page.with_suffix(".png")
    subprocess.run(
        [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            f"--user-data-dir={page.parent / 'chromium-profile'}", "--window-size=1000,5000",
            f"--screenshot={shot}", page.as_uri(),
        ],
        capture_output=True,
        timeout=180,
    )  # fmt: skip
    return str(shot) if shot.is_file() else None


def read_report(page: Path) -> dict[str, Any]:
    """What a report shows, from its embedded figures and its plots."""
    from selflearn.errors import DataFileError
    from selflearn.report import report_figures

    text = page.read_text(encoding="utf-8")
    try:
        owner = report_figures(text)["owner"]
    except DataFileError as exc:
        sys.exit(f"{page}: {exc}")
    failing = owner["failing"]
    return {
        "period": f"{owner['period']['from']} to {owner['period']['to']}",
        "turns": owner["signals"]["period"]["turns"],
        "defect_rate": owner["signals"]["period"]["defect_rate"],
        "failing_requests": failing["requests"],
        "failing_turns": failing["turns"],
        "now": {
            c["now"]: {"requests": c["requests"], "turns": c["turns"]} for c in failing["coverage"]
        },
        "learned_rewrites": owner["learned"].get("rewrites_total", 0),
        "plots": re.findall(r"data-plot='([^']+)'", text),
        "top": [
            (e["request"], e["failed"], e["now"]["category"], e["now"].get("target"))
            for e in failing["top"][:5]
            if "now" in e
        ],
        "screenshot": screenshot(page),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=bench_out("owner-report"))
    parser.add_argument("--demo", type=Path, help="a `make demo` folder: its report too")
    parser.add_argument("--smoke", action="store_true", help="a fifth of the recordings")
    args = parser.parse_args()
    if not DATA.is_file():
        sys.exit(f"needs {DATA} (the shared data folder beside the repository)")
    from selflearn.evaluate.real_logs import build_log
    from selflearn.evaluate.speech_errors import read_asr_pairs

    started = time.perf_counter()
    records = read_asr_pairs(DATA)
    if args.smoke:
        sentences = sorted({r["sentence_id"] for r in records})[::5]
        records = [r for r in records if r["sentence_id"] in set(sentences)]
    events = build_log(records, "silent", seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    log, artefacts = args.out / "turns.jsonl", args.out / "artefacts"
    log.write_text("".join(e.model_dump_json() + "\n" for e in events), encoding="utf-8")
    say(f"a real-shaped log: {len(events):,} turns of {len(records):,} recordings -> {log}")
    say("selflearn learn ...")
    selflearn("learn", str(log), "--out", str(artefacts))
    learned_s = time.perf_counter() - started
    result: dict[str, Any] = {"turns": len(events), "seed": args.seed, "reports": {}}
    for days in (7, 0):
        page = args.out / f"report-{days or 'all'}.html"
        began = time.perf_counter()
        selflearn(
            "report", str(log), "--artefacts", str(artefacts), "--days", str(days),
            "--preferences", str(args.out / "no-preferences.json"), "--out", str(page),
        )  # fmt: skip
        shown = read_report(page)
        shown["seconds"] = round(time.perf_counter() - began, 1)
        result["reports"][f"real-shaped, {'last 7 days' if days else 'whole log'}"] = shown
    if args.demo is not None:
        demo = args.demo
        page = args.out / "report-demo.html"
        began = time.perf_counter()
        selflearn(
            "report", str(demo / "turns.duckdb"), "--artefacts", str(demo / "artefacts"),
            "--truth", str(demo / "baseline" / "truth.jsonl"),
            "--evaluation", str(demo / "evaluation.json"),
            "--failure-points", str(demo / "failure_points.jsonl"),
            "--preferences", str(args.out / "no-preferences.json"), "--out", str(page),
        )  # fmt: skip
        shown = read_report(page)
        shown["seconds"] = round(time.perf_counter() - began, 1)
        result["reports"]["demo"] = shown
    for name, shown in result["reports"].items():
        say(
            f"{name}: {shown['turns']:,} turns, {shown['failing_requests']} failing requests "
            f"({shown['failing_turns']} turns); now: "
            + ", ".join(f"{k} {v['requests']}" for k, v in shown["now"].items())
            + f"; {shown['learned_rewrites']} rewrites learned; plots {shown['plots']}; "
            f"{shown['seconds']} s"
        )
    result["learn_seconds"] = round(learned_s, 1)
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(figures_line(result))


if __name__ == "__main__":
    main()
