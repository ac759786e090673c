from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from selflearn.cli import app
from selflearn.rewrite import RewriteTable

runner = CliRunner()


def test_schema_prints_json_schema() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "turn_id" in schema["properties"]


def test_assistant_reads_stdin_and_prints_each_stage(tmp_path: Path) -> None:
    log = tmp_path / "turns.jsonl"
    result = runner.invoke(
        app,
        ["assistant", "--device", "satellite.bedroom", "--log", str(log)],
        input="turn on the lamp\nplay the hunger games\n",
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["nlu"]["intent"] for r in rows] == ["HassTurnOn", "HassMediaSearchAndPlay"]
    assert set(rows[0]) >= {"wake", "asr", "nlu", "resolution", "response", "changed"}
    assert len(log.read_text().splitlines()) == 2


def test_ingest_reports_rejections_and_is_idempotent(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    runner.invoke(
        app, ["assistant", "--log", str(log)], input="turn on the kettle\nwhat time is it\n"
    )
    with log.open("a") as handle:
        handle.write('{"turn_id": "broken"}\n')
    store = tmp_path / "s.duckdb"
    first = runner.invoke(app, ["ingest", str(log), "--store", str(store), "--quiet"])
    summary = json.loads(first.stdout)
    assert (summary["accepted"], summary["rejected"]) == (2, 1)
    assert summary["rejections"][0]["line"] == 3
    assert "device_id" in summary["rejections"][0]["reason"]
    second = json.loads(
        runner.invoke(app, ["ingest", str(log), "--store", str(store), "--quiet"]).stdout
    )
    assert (second["accepted"], second["duplicates"], second["stored"]) == (0, 2, 2)


def _cli(*args: str, timeout: int = 60) -> subprocess.CompletedProcess[str]:
    """The real ``selflearn`` command in its own process."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, "-m", "selflearn.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def test_bad_input_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    missing = _cli("ingest", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2
    assert "nope.jsonl: no such file" in missing.stderr
    assert "Traceback" not in missing.stderr
    device = _cli("assistant", "hello", "--device", "toaster")
    assert device.returncode == 2
    assert "'device_id' parameter" in device.stderr
    assert "Traceback" not in device.stderr


def test_loop_commands_in_process(tmp_path: Path) -> None:
    sim = runner.invoke(
        app, ["simulate", "--users", "5", "--days", "2", "--out", str(tmp_path / "sim"), "--quiet"]
    )
    assert sim.exit_code == 0, sim.output
    summary = json.loads(sim.stdout.splitlines()[-1])
    assert summary["turns"] > 0 and summary["turns_per_s"] > 0
    log, truth = tmp_path / "sim" / "turns.jsonl", tmp_path / "sim" / "truth.jsonl"
    learned = runner.invoke(app, ["learn", str(log), "--out", str(tmp_path / "art")])
    assert learned.exit_code == 0, learned.output
    assert (tmp_path / "art" / "signals.parquet").is_file()
    mined = json.loads(learned.stdout.splitlines()[-1])
    assert (tmp_path / "art" / "rewrites.parquet").is_file()
    assert {"global", "personal", "chains"} <= set(mined["rewrites"])
    # A hand-written table row, to see `selflearn rewrite` apply it and show both outcomes.
    hand = tmp_path / "hand"
    hand.mkdir()
    RewriteTable.from_rows(
        [
            {
                "source": "kill the {name}",
                "rewrite": "turn off the {name}",
                "score": 0.9,
                "support": 5,
            }
        ]
    ).save(hand / "rewrites.parquet")
    shown = runner.invoke(
        app, ["rewrite", "Kill the porch light", "--artefacts", str(hand), "--home", "default"]
    )
    assert shown.exit_code == 0, shown.output
    decision = json.loads(shown.stdout.splitlines()[-1])
    assert decision["rewrite"]["to"] == "turn off the porch light"
    assert decision["before"]["status"] == "no_intent_match"
    assert decision["after"]["status"] == "success"
    alone = runner.invoke(app, ["rewrite", "Kill the porch light", "--artefacts", str(hand)])
    assert alone.exit_code == 0, alone.output
    plain = json.loads(alone.stdout.splitlines()[-1])  # no home: the rewrite alone
    assert plain["rewrite"]["to"] == "turn off the porch light" and plain["before"] is None
    passes = runner.invoke(app, ["rewrite", "turn off the porch light", "--artefacts", str(hand)])
    assert json.loads(passes.stdout.splitlines()[-1])["rewrite"] is None
    missing = _cli("rewrite", "hello", "--artefacts", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no such artefacts folder" in missing.stderr
    quality = runner.invoke(app, ["signals", str(log), "--truth", str(truth)])
    assert quality.exit_code == 0, quality.output
    by_detector = json.loads(quality.stdout.splitlines()[-1])
    assert set(by_detector) == {"restatement model", "heuristic"}
    assert set(by_detector["restatement model"]) >= {"rephrase", "defect_score_auc"}
    table = tmp_path / "bad.jsonl"
    table.write_text(
        '{"source": "what time is it", "rewrite": "turn off the lights", "score": 1, "support": 1}\n'
    )
    ab = runner.invoke(
        app,
        ["evaluate", "--users", "5", "--days", "1", "--table", str(table), "--identical",
         "--out", str(tmp_path / "eval.json"), "--quiet"],
    )  # fmt: skip
    assert ab.exit_code == 0, ab.output
    arms = json.loads(ab.stdout.splitlines()[-1])["arms"]
    assert list(arms) == ["control", "check:identical", "table:bad"]
    report = runner.invoke(
        app,
        ["report", str(log), "--truth", str(truth), "--evaluation", str(tmp_path / "eval.json"),
         "--out", str(tmp_path / "r.html")],
    )  # fmt: skip
    assert report.exit_code == 0, report.output
    assert "<svg" in (tmp_path / "r.html").read_text()


def test_loop_commands_name_bad_input(tmp_path: Path) -> None:
    bad = _cli("simulate", "--users", "0", "--out", str(tmp_path))
    assert bad.returncode == 2 and "'users' parameter of SimConfig" in bad.stderr
    sources = _cli("simulate", "--sources", "1,2", "--out", str(tmp_path))
    assert sources.returncode == 2 and "--sources" in sources.stderr
    no_truth = _cli("signals", str(tmp_path / "none.jsonl"), "--truth", str(tmp_path / "t.jsonl"))
    assert no_truth.returncode == 2 and "no such file" in no_truth.stderr
    for result in (bad, sources, no_truth):
        assert "Traceback" not in result.stderr


def test_real_process_demo(tmp_path: Path) -> None:
    done = _cli(
        "demo", "--users", "6", "--days", "2", "--eval-days", "1", "--data-dir", str(tmp_path),
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["stored"] == summary["baseline"]["turns"] > 0
    assert summary["reingest_accepted"] == 0
    assert "control" in summary["arms"]
    assert (tmp_path / "report.html").is_file()
