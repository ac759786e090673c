"""Rewrite tables and the assistant's rewrite hook: applied, recorded, failing open."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from selflearn.assistant import Assistant
from selflearn.errors import ConfigError, DataFileError
from selflearn.rewrite import Rewrite, RewriteRequest, RewriteTable

ROWS = [
    {"source": "switch the telly on", "rewrite": "turn on the tv", "score": 0.9, "support": 14},
    {
        "source": "lights please",
        "rewrite": "turn on the lamp",
        "score": 0.8,
        "support": 3,
        "layer": "personal",
        "user_id": "ann",
    },
]


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_table_round_trip_and_personal_rows_stay_personal(tmp_path: Path, suffix: str) -> None:
    table = RewriteTable.from_rows(ROWS)
    loaded = RewriteTable.load(table.save(tmp_path / f"t{suffix}"))
    assert len(loaded) == 2
    hit = loaded.rewrite(RewriteRequest("Switch the telly ON"))
    assert hit is not None and hit.target == "turn on the tv" and hit.layer == "global"
    assert loaded.rewrite(RewriteRequest("lights please", user_id="ann")) is not None
    assert loaded.rewrite(RewriteRequest("lights please", user_id="bob")) is None
    assert loaded.rewrite(RewriteRequest("lights please")) is None
    strict = RewriteTable.load(tmp_path / f"t{suffix}", min_support=5)
    assert strict.rewrite(RewriteRequest("lights please", user_id="ann")) is None


def test_bad_tables_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"source": "a", "rewrite": "b", "score": 3, "support": 1}\n')
    with pytest.raises(DataFileError, match=r"bad.jsonl:1: score must be in \[0, 1\]"):
        RewriteTable.load(bad)
    with pytest.raises(ConfigError, match="'min_score' parameter of RewriteTable"):
        RewriteTable(min_score=2.0)


def test_assistant_applies_and_records_a_rewrite(assistant: Assistant) -> None:
    assistant.rewriter = RewriteTable.from_rows(ROWS)
    turn = assistant.handle("switch the telly on", device_id="display.living_room")
    assert turn.event.rewrite is not None
    assert turn.event.rewrite.to == "turn on the tv"
    assert turn.changed == {"media_player.living_room_tv": "on"}
    plain = assistant.handle("what time is it", device_id="display.living_room")
    assert plain.event.rewrite is None


class _Broken:
    def rewrite(self, request: RewriteRequest) -> Rewrite | None:
        raise RuntimeError("index unavailable")


class _Slow:
    def rewrite(self, request: RewriteRequest) -> Rewrite | None:
        time.sleep(0.08)
        return Rewrite(request.text, "turn off the lamp", "global", 0.99)


@pytest.mark.parametrize("rewriter", [_Broken(), _Slow()])
def test_rewriter_errors_and_timeouts_fail_open(assistant: Assistant, rewriter: object) -> None:
    assistant.rewriter = rewriter  # type: ignore[assignment]
    turn = assistant.handle("turn on the lamp", device_id="satellite.bedroom")
    assert turn.event.rewrite is None
    assert turn.changed == {"light.bedroom_lamp": "on"}
    assert assistant.fail_opens == 1
