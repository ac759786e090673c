from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from selflearn.cli import app

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


def test_real_process_smoke(tmp_path: Path) -> None:
    done = _cli("demo", "--requests", "40", "--data-dir", str(tmp_path), timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["requests"] == 40
    assert summary["stored"] == summary["turns"]
    assert summary["reingest_accepted"] == 0
