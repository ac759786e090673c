"""Fail open: with the service stopped or answering slowly every request is answered as
the wrapped agent answers it, within the budget; the turns queued meanwhile reach the
store once the service is back, across a restart of Home Assistant: none lost, none twice."""

from __future__ import annotations

import os
import signal
import time

from homeassistant.components import conversation
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.loader import DATA_CUSTOM_COMPONENTS
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
)

from .conftest import ServiceProcess, add_selflearn, drain, setup_home

BUDGET_MS = 50
COMMANDS = ("turn off the kitchen light", "turn on the kitchen light", "is the desk lamp on")


async def timed(hass: HomeAssistant, agent: str, text: str, device: str | None):
    started = time.perf_counter()
    result = await conversation.async_converse(
        hass, text, None, Context(), "en", agent_id=agent, device_id=device
    )
    return result, time.perf_counter() - started


async def answers_as_wrapped(hass: HomeAssistant, agent: str, device: str, tag: str) -> list[float]:
    """Each command through selflearn and through the wrapped agent alone: the same answer;
    the extra time selflearn took."""
    added = []
    for text in COMMANDS:
        ours, ours_s = await timed(hass, agent, text, device)
        theirs, theirs_s = await timed(hass, "conversation.home_assistant", text, device)
        assert ours.response.response_type == theirs.response.response_type, (tag, text)
        assert ours.response.speech == theirs.response.speech, (tag, text)
        added.append(ours_s - theirs_s)
    return added


def turn_ids(hass: HomeAssistant, entry_id: str) -> set[str]:
    runtime = hass.config_entries.async_get_entry(entry_id).runtime_data
    return set(runtime.queue._items)


async def test_fail_open_and_nothing_lost_across_restarts(
    hass: HomeAssistant, service: ServiceProcess, hass_storage: dict
) -> None:
    home = await setup_home(hass)
    entry_id, agent = await add_selflearn(hass, service, window_s=0, budget_ms=BUDGET_MS)
    runtime = hass.config_entries.async_get_entry(entry_id).runtime_data
    logged: set[str] = set()

    def note() -> None:  # this queue's own items: it may fire after the entry unloads
        logged.update(runtime.queue._items)

    runtime.queue.listeners.append(note)
    # the service up: answered and stored
    await answers_as_wrapped(hass, agent, home["satellite"], "up")
    await drain(hass, entry_id)

    # the service killed: every request answered as the wrapped agent answers it
    service.kill()
    added = await answers_as_wrapped(hass, agent, home["satellite"], "killed")
    assert max(added) < BUDGET_MS / 1000 + 0.05, added
    # the service answering slowly (stopped mid-flight): the budget bounds the wait
    service.start()
    os.kill(service.proc.pid, signal.SIGSTOP)
    try:
        added = await answers_as_wrapped(hass, agent, home["satellite"], "slow")
    finally:
        os.kill(service.proc.pid, signal.SIGCONT)
    assert max(added) < BUDGET_MS / 1000 + 0.05, added
    assert runtime.counters["fail_opens"] == 2 * len(COMMANDS)
    service.kill()
    await runtime.queue.async_send(force=True)  # fails: kept, and backing off
    waiting = turn_ids(hass, entry_id)
    assert len(waiting) >= 2 * len(COMMANDS)

    # Home Assistant stops (saving the queue) and starts again with the same storage
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    entry = hass.config_entries.async_get_entry(entry_id)
    data, options = dict(entry.data), dict(entry.options)
    assert await hass.config_entries.async_unload(entry_id)
    assert hass_storage[f"selflearn.queue.{entry_id}"]["data"]["items"].keys() == waiting

    async with async_test_home_assistant() as second:
        second.data.pop(DATA_CUSTOM_COMPONENTS, None)
        home2 = await setup_home(second)
        again = MockConfigEntry(domain="selflearn", entry_id=entry_id, data=data, options=options)
        again.add_to_hass(second)
        assert await second.config_entries.async_setup(entry_id)
        await second.async_block_till_done()
        assert turn_ids(second, entry_id) == waiting  # nothing lost in the restart
        agent2 = er.async_get(second).async_get_entity_id(
            "conversation", "selflearn", f"{entry_id}-agent"
        )
        await answers_as_wrapped(second, agent2, home2["satellite"], "restarted, service down")
        logged |= turn_ids(second, entry_id)
        # the service comes back: the queue drains
        service.start()
        await drain(second, entry_id, timeout_s=60)
        assert await second.config_entries.async_unload(entry_id)
        await second.async_stop(force=True)

    service.stop()
    stored = service.stored()
    ids = [t["turn_id"] for t in stored]
    assert len(ids) == len(set(ids))  # none twice
    assert len(logged) == 4 * len(COMMANDS)
    assert set(ids) == logged  # and none lost
