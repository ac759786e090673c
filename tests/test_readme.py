"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "turn of the light",  # the service's client, with no service running: the original
        "HassTurnOff success ['light.bedroom_ceiling', 'light.bedroom_lamp']",
        "1 0",
        "rewrites.parquet True",  # a learner saved and loaded answers as it did
    ]
