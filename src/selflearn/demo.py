"""``selflearn demo``: the loop as far as it exists, on the embedded default."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from selflearn.assistant import Assistant, Home
from selflearn.assistant.media import Catalogue
from selflearn.assistant.speech import tokenize
from selflearn.logs.io import write_jsonl
from selflearn.logs.store import TurnStore
from selflearn.sim.requests import RequestSampler

__all__ = ["run_demo"]

START_TS = 1_790_000_000.0  # a fixed day, so seeded runs give identical logs
# Speech-channel noise per household member: 1.0 is the level fitted to real recordings
# (close and far microphones mixed); a clear speaker near the device is well below it.
USER_NOISE = {"user1": 0.3, "user2": 0.6, "user3": 1.0}


def run_demo(
    *,
    requests: int,
    seed: int,
    data_dir: Path,
    console: Console,
    emit: Callable[[object], None],
) -> dict[str, object]:
    """Simulate ``requests`` through the assistant (speech on), log, ingest, summarise."""
    rng = random.Random(seed)
    home = Home.default()
    catalogue = Catalogue.default()
    console.print(
        f"[bold]selflearn demo[/]: home '{home.name}' — {len(home.areas)} areas, "
        f"{len(home.entities)} entities, {len(home.devices)} voice devices"
    )
    bot = Assistant.create(home, catalogue, speech=True)
    sampler = RequestSampler.from_home(home.copy(), catalogue)
    plan = sampler.sample(rng, requests)

    turns = []
    ts = START_TS
    start = time.perf_counter()
    with console.status("running the assistant") as status:
        for i, request in enumerate(plan, start=1):
            ts += rng.expovariate(1 / 600.0)
            user = rng.choice(list(USER_NOISE))
            turns.append(
                bot.handle(
                    request.text,
                    device_id=request.device_id,
                    ts=ts,
                    rng=rng,
                    user_id=user,
                    noise=USER_NOISE[user],
                    turn_id=f"demo-{seed}-{i:05d}",
                )
            )
            if i % 50 == 0:
                status.update(f"running the assistant: {i}/{len(plan)} requests")
        for _ in range(bot.wake.false_wakes(rng, hours=(ts - START_TS) / 3600)):
            ts += rng.expovariate(1 / 600.0)
            spoken = bot.wake.background_utterance(rng)
            device = rng.choice(home.devices).id
            turns.append(
                bot.handle(
                    spoken,
                    device_id=device,
                    ts=ts,
                    rng=rng,
                    intended=False,
                    turn_id=f"demo-{seed}-bg{len(turns):05d}",
                )
            )
    elapsed = time.perf_counter() - start

    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "turns.jsonl"
    write_jsonl((t.event for t in turns), log_path)
    with TurnStore.open(data_dir / "turns.duckdb") as store:
        summary = store.ingest_file(log_path)
        again = store.ingest_file(log_path)
        stored = store.count()

    statuses = Counter(t.event.response.status for t in turns)
    misheard = sum(1 for t in turns if t.event.asr.text != " ".join(tokenize(t.spoken)))
    # zip stops at the planned requests; the false wakes appended after them have no intent
    understood = sum(1 for t, r in zip(turns, plan, strict=False) if t.event.nlu.intent == r.intent)
    table = Table(title="turns by outcome")
    table.add_column("status")
    table.add_column("turns", justify="right")
    for name, count in statuses.most_common():
        table.add_row(name, str(count))
    console.print(table)
    result: dict[str, object] = {
        "requests": len(plan),
        "false_wakes": len(turns) - len(plan),
        "turns": len(turns),
        "turns_per_s": round(len(turns) / elapsed, 1),
        "statuses": dict(statuses),
        "misheard_share": round(misheard / len(turns), 3),
        "intent_as_meant_share": round(understood / max(len(plan), 1), 3),
        "ingested": summary.accepted,
        "reingest_accepted": again.accepted,
        "stored": stored,
        "log": str(log_path),
    }
    console.print(
        f"log: {log_path}  store: {data_dir / 'turns.duckdb'}  "
        f"(re-ingesting the same log accepted {again.accepted})"
    )
    emit(result)
    return result
