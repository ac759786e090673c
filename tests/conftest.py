"""Shared fixtures: expensive objects are built once per session and copied per test."""

from __future__ import annotations

import copy
from pathlib import Path

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
