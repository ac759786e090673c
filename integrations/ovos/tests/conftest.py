"""A real selflearn service process for the plug-in's tests (see integrations/testing)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "testing"))

from service_process import ServiceProcess, running_service


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServiceProcess]:
    with running_service(tmp_path / "service") as proc:
        yield proc
