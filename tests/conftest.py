"""Shared fixtures: expensive objects are built once per session and copied per test."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from selflearn.assistant import Assistant, Home

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_file(relative: str) -> Path:
    """A file under ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"needs ../shared/data/{relative} (the shared data folder beside the repo)")
    return path


@pytest.fixture(scope="session")
def _assistant_template() -> Assistant:
    return Assistant.create(speech=False)


@pytest.fixture
def assistant(_assistant_template: Assistant) -> Assistant:
    """A fresh assistant over the default home (speech off); states are per test."""
    bot = copy.copy(_assistant_template)
    home = Home.default()
    bot.home = home
    bot.resolver = type(bot.resolver)(home, bot.catalogue)
    bot.executor = type(bot.executor)(home)
    return bot


@pytest.fixture(scope="session")
def sim_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, object]]:
    """One simulated log with its ground truth (30 users, 3 days), shared by tests."""
    from selflearn.sim import SimConfig, Simulator

    out = tmp_path_factory.mktemp("sim")
    summary = Simulator(SimConfig(users=30, days=3, seed=11, workers=2)).write(
        out / "turns.jsonl", out / "truth.jsonl"
    )
    return out / "turns.jsonl", out / "truth.jsonl", summary


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One Spark engine (local[2], bound to 127.0.0.1) for every test that needs one."""
    pytest.importorskip("pyspark")
    from selflearn.engine import EngineConfig
    from selflearn.engine.spark import SparkEngine

    engine = SparkEngine.start(EngineConfig(name="spark", master="local[2]"))
    yield engine
    engine.close()


# -- the service as a real process (127.0.0.1 only; started and stopped by the tests) ------

SERVICE_TOKEN = "test-token-0123456789abcdef"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_service(data: Path, port: int, **env: str) -> subprocess.Popen[bytes]:
    """``selflearn serve`` on 127.0.0.1:``port`` over ``data``, once it answers /healthz."""
    import httpx

    environ = {
        **os.environ,
        "SELFLEARN_TOKEN": SERVICE_TOKEN,
        "SELFLEARN_DATA_DIR": str(data),
        "SELFLEARN_PORT": str(port),
        "SELFLEARN_HOST": "127.0.0.1",
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "selflearn.cli", "serve"],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the service did not start within 60 s")


def stop_service(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
