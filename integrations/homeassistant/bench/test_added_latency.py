"""What selflearn adds to each Assist request: the agent through selflearn against the
wrapped agent alone, on the same words, in the same Home Assistant, the service up on
loopback. Run by ``python benchmarks/ha_agent_latency.py`` (prints figures, JSON last)."""

from __future__ import annotations

import json
import os
import statistics
import time

from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant

from tests.conftest import ServiceProcess, add_selflearn, setup_home

REQUESTS = int(os.environ.get("SELFLEARN_BENCH_REQUESTS", "1000"))
TEXTS = (
    "turn off the kitchen light",
    "turn on the kitchen light",
    "is the desk lamp on",
    "turn of the kitchen light",
    "pause the kitchen speaker",
)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _once(hass: HomeAssistant, agent: str, text: str, device: str) -> float:
    started = time.perf_counter()
    await conversation.async_converse(
        hass, text, None, Context(), "en", agent_id=agent, device_id=device
    )
    return time.perf_counter() - started


async def test_added_latency(hass: HomeAssistant, service: ServiceProcess) -> None:
    home = await setup_home(hass)
    _, agent = await add_selflearn(hass, service, budget_ms=50)
    wrapped = "conversation.home_assistant"
    for text in TEXTS:  # warm both paths (intents loaded, connection open)
        await _once(hass, agent, text, home["satellite"])
        await _once(hass, wrapped, text, home["satellite"])
    ours, theirs, added = [], [], []
    for i in range(REQUESTS):
        text = TEXTS[i % len(TEXTS)]
        # alternate which goes first, so neither always meets a warm cache
        if i % 2:
            a = await _once(hass, agent, text, home["satellite"])
            b = await _once(hass, wrapped, text, home["satellite"])
        else:
            b = await _once(hass, wrapped, text, home["satellite"])
            a = await _once(hass, agent, text, home["satellite"])
        ours.append(a)
        theirs.append(b)
        added.append(a - b)
    ms = 1000.0
    result = {
        "requests": REQUESTS,
        "added_ms": {
            "p50": round(_pct(added, 0.5) * ms, 3),
            "p90": round(_pct(added, 0.9) * ms, 3),
            "p99": round(_pct(added, 0.99) * ms, 3),
            "mean": round(statistics.fmean(added) * ms, 3),
        },
        "through_selflearn_ms": {
            "p50": round(_pct(ours, 0.5) * ms, 3),
            "p99": round(_pct(ours, 0.99) * ms, 3),
        },
        "wrapped_alone_ms": {
            "p50": round(_pct(theirs, 0.5) * ms, 3),
            "p99": round(_pct(theirs, 0.99) * ms, 3),
        },
        "target_p99_added_ms": 10.0,
    }
    print()
    print(
        f"added by selflearn over {REQUESTS} requests: p50 {result['added_ms']['p50']} ms, "
        f"p90 {result['added_ms']['p90']} ms, p99 {result['added_ms']['p99']} ms "
        f"(wrapped agent alone: p50 {result['wrapped_alone_ms']['p50']} ms)"
    )
    print(json.dumps(result))
