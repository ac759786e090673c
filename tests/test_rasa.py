"""Rasa's event stream as turn events: a few hundred generated conversations in Rasa's
format (a file event broker's lines, a tracker export, its SQL event broker's table), with
fallbacks and rephrases, ingested and learned from end to end."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from selflearn.cli import app
from selflearn.logs.rasa import rasa_batches
from selflearn.logs.store import TurnStore

runner = CliRunner()
# (said, intent, answer): the bot understands these
UNDERSTOOD = [
    ("where is my order", "order_status", "Your order ships tomorrow."),
    ("cancel my order", "order_cancel", "Your order is cancelled."),
    ("talk to a human", "handoff", "Connecting you to an agent."),
    ("what are your opening hours", "hours", "We are open 9 to 5."),
]
# misheard / mistyped ways of saying the first two, which fall back, then said again right
GARBLED = {"wear is my oder": "where is my order", "cancel my odor": "cancel my order"}


def _conversation(rng: random.Random, sender: str, t0: float) -> list[dict[str, Any]]:
    t = t0
    events: list[dict[str, Any]] = [
        {"event": "action", "name": "action_session_start", "timestamp": t},
        {"event": "session_started", "timestamp": t},
        {"event": "action", "name": "action_listen", "timestamp": t},
    ]

    def user(text: str, intent: str, confidence: float) -> None:
        nonlocal t
        t += rng.uniform(3, 8)
        events.append(
            {
                "event": "user",
                "timestamp": t,
                "text": text,
                "message_id": f"{sender}-{len(events)}",
                "input_channel": "rest",
                "parse_data": {
                    "text": text,
                    "intent": {"name": intent, "confidence": confidence},
                    "entities": [{"entity": "item", "value": "order", "start": 0, "end": 5}]
                    if "order" in text
                    else [],
                },
            }
        )

    def bot(text: str, action: str) -> None:
        events.append({"event": "action", "name": action, "timestamp": t + 0.2})
        events.append({"event": "bot", "text": text, "timestamp": t + 0.3, "data": {}})
        events.append({"event": "action", "name": "action_listen", "timestamp": t + 0.4})

    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.4:
            garbled = rng.choice(sorted(GARBLED))
            user(garbled, "nlu_fallback", 0.31)
            bot("Sorry, I didn't get that. Can you rephrase?", "action_default_fallback")
            meant = GARBLED[garbled]
            said, intent, answer = next(u for u in UNDERSTOOD if u[0] == meant)
        else:
            said, intent, answer = rng.choice(UNDERSTOOD)
        user(said, intent, 0.97)
        bot(answer, f"utter_{intent}")
        t += rng.uniform(60, 300)
    return events


def _export(tmp: Path, conversations: int = 300) -> tuple[Path, list[tuple[str, dict]]]:
    """A file event broker's log (events of all conversations interleaved, each with its
    sender_id), with a few malformed lines."""
    rng = random.Random(5)
    streams = [
        [
            {**e, "sender_id": f"user{i % 120}-c{i}"}
            for e in _conversation(rng, f"c{i}", 1_790_000_000.0 + i * 400)
        ]
        for i in range(conversations)
    ]
    merged = sorted((e for s in streams for e in s), key=lambda e: e["timestamp"])
    path = tmp / "rasa_event.log"
    lines = [json.dumps(e) for e in merged]
    lines.insert(10, "{not json")
    lines.insert(20, json.dumps({"sender_id": "x", "timestamp": 1.0}))
    lines.insert(30, json.dumps({"event": "user", "sender_id": "y", "text": "hi"}))
    path.write_text("\n".join(lines) + "\n")
    return path, [(e["sender_id"], e) for e in merged]


def test_rasa_events_become_turns_and_learning_runs_end_to_end(tmp_path: Path) -> None:
    path, merged = _export(tmp_path)
    users = [e for _, e in merged if e["event"] == "user"]
    store = tmp_path / "turns.duckdb"
    result = runner.invoke(app, ["ingest", "--from", "rasa", str(path), "--store", str(store)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["accepted"] == len(users)  # nothing that converts is lost
    reasons = {r["line"]: r["reason"] for r in summary["rejections"]}
    assert set(reasons) == {11, 21, 31}
    assert "not a Rasa event" in reasons[21] and "timestamp" in reasons[31]
    # the same file again stores nothing twice
    again = runner.invoke(app, ["ingest", "--from", "rasa", str(path), "--store", str(store)])
    assert json.loads(again.stdout.strip().splitlines()[-1])["duplicates"] == len(users)

    with TurnStore.open(store, read_only=True) as turn_store:
        events = turn_store.events()
    by_text = {e.asr.text: e for e in events}
    garbled = by_text["wear is my oder"]
    assert garbled.response.status == "no_intent_match" and garbled.nlu.intent is None
    assert garbled.response.text.startswith("Sorry")
    right = by_text["where is my order"]
    assert right.response.status == "success" and right.nlu.intent == "order_status"
    assert right.nlu.slots == {"item": "order"} and right.nlu.confidence == 0.97
    assert right.device_type == "chat" and right.session_id and right.user_id

    out = tmp_path / "artefacts"
    learned = runner.invoke(app, ["learn", str(store), "--out", str(out), "--no-rephrase-model"])
    assert learned.exit_code == 0, learned.output
    for heard, meant in GARBLED.items():
        answer = runner.invoke(app, ["rewrite", heard, "--artefacts", str(out)])
        assert answer.exit_code == 0, answer.output
        assert json.loads(answer.stdout.strip().splitlines()[-1])["rewrite"]["to"] == meant
    for said, _, _ in UNDERSTOOD:
        kept = runner.invoke(app, ["rewrite", said, "--artefacts", str(out)])
        assert json.loads(kept.stdout.strip().splitlines()[-1])["rewrite"] is None


def test_rasa_sql_broker_and_tracker_exports(tmp_path: Path) -> None:
    import sqlalchemy

    rng = random.Random(2)
    conversation = _conversation(rng, "c0", 1_790_000_000.0)
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'rasa.db'}")
    with engine.begin() as con:
        con.execute(
            sqlalchemy.text(
                "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT,"
                " timestamp REAL, intent_name TEXT, action_name TEXT, data TEXT)"
            )
        )
        for e in conversation:
            con.execute(
                sqlalchemy.text(
                    "INSERT INTO events (sender_id, type_name, timestamp, data)"
                    " VALUES (:s, :t, :ts, :d)"
                ),
                {"s": "c0", "t": e["event"], "ts": e["timestamp"], "d": json.dumps(e)},
            )
    from_sql = [
        r for b in rasa_batches(f"sqlite:///{tmp_path / 'rasa.db'}") for r in b.table.to_pylist()
    ]
    tracker = tmp_path / "trackers.jsonl"
    tracker.write_text(json.dumps({"sender_id": "c0", "events": conversation}) + "\n")
    from_tracker = [r for b in rasa_batches(tracker) for r in b.table.to_pylist()]
    users = [e for e in conversation if e["event"] == "user"]
    assert len(from_sql) == len(from_tracker) == len(users)
    assert [r["turn_id"] for r in from_sql] == [r["turn_id"] for r in from_tracker]
    assert all(r["user_id"] == "c0" for r in from_sql)
