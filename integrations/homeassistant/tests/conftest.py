"""Real Home Assistant core and a real selflearn service process, both on this machine.

The service runs from the project's own environment (``../../.venv``, or the ``selflearn``
command named by ``SELFLEARN_BIN``) on 127.0.0.1 and a free port, with a fresh data folder;
each test that needs it starts one and stops it. Home Assistant is the test harness's real
core with the real default agent (hassil and the intents package), the test home's lights
and speakers (tests/home) placed in areas, and a voice satellite device in the kitchen.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "testing"))

from service_process import ServiceProcess, running_service  # noqa: E402


def _custom_components() -> None:
    """Home Assistant finds custom integrations by importing ``custom_components``; the
    harness's own test folder holds a package of that name too. Import ours first (the
    integration and the test home, both portions of one namespace package), so that the
    loader sees them."""
    import custom_components

    for folder in (HERE.parent / "custom_components", HERE / "home" / "custom_components"):
        if str(folder) not in list(custom_components.__path__):
            raise RuntimeError(f"custom_components resolves without {folder}")


_custom_components()


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load the integration from ``custom_components/`` beside these tests."""


@pytest.fixture
def service(tmp_path: Path, socket_enabled: None) -> Iterator[ServiceProcess]:
    with running_service(tmp_path / "service") as proc:
        yield proc


@pytest.fixture
def exploring_service(tmp_path: Path, socket_enabled: None) -> Iterator[ServiceProcess]:
    """The service with exploration on: its answers carry the choice among readings."""
    with running_service(tmp_path / "service", {"SELFLEARN_EXPLORE": "1"}) as proc:
        yield proc


async def say(
    hass: HomeAssistant,
    agent: str,
    text: str,
    *,
    user_id: str | None = None,
    device: str | None = None,
) -> Any:
    """One request to ``agent``, with its own context, as Home Assistant sends each one."""
    from homeassistant.components import conversation
    from homeassistant.core import Context

    return await conversation.async_converse(
        hass, text, None, Context(user_id=user_id), "en", agent_id=agent, device_id=device
    )


AREAS = {"kitchen": "Kitchen", "living_room": "Living Room", "bedroom": "Bedroom"}
# demo entity → area it is placed in
PLACES = {
    "light.kitchen_light": "kitchen",
    "light.ceiling_light": "living_room",
    "light.desk_lamp": "living_room",
    "light.bed_light": "bedroom",
    "media_player.kitchen_speaker": "kitchen",
    "media_player.bedroom_speaker": "bedroom",
}


async def setup_home(hass: HomeAssistant) -> dict[str, str]:
    """The home: Assist, the demo's lights and players in areas, a kitchen satellite.
    Returns the satellite's device id."""
    hass.config.language = "en"
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    assert await async_setup_component(hass, "intent", {})
    assert await async_setup_component(hass, "light", {"light": [{"platform": "testhome"}]})
    assert await async_setup_component(
        hass, "media_player", {"media_player": [{"platform": "testhome"}]}
    )
    await hass.async_block_till_done()
    areas = ar.async_get(hass)
    ids = {key: areas.async_get_or_create(name).id for key, name in AREAS.items()}
    entities = er.async_get(hass)
    for entity_id, area in PLACES.items():
        assert entities.async_get(entity_id) is not None, entity_id
        entities.async_update_entity(entity_id, area_id=ids[area])
    sat_entry = MockConfigEntry(domain="esphome")
    sat_entry.add_to_hass(hass)
    satellite = dr.async_get(hass).async_get_or_create(
        config_entry_id=sat_entry.entry_id,
        identifiers={("esphome", "kitchen-satellite")},
        name="Kitchen satellite",
        suggested_area="Kitchen",
    )
    dr.async_get(hass).async_update_device(satellite.id, area_id=ids["kitchen"])
    entities.async_get_or_create(
        "assist_satellite", "esphome", "kitchen-satellite-assist", device_id=satellite.id
    )
    return {"satellite": satellite.id, **ids}


async def add_selflearn(
    hass: HomeAssistant, service: ServiceProcess, **options: Any
) -> tuple[str, str]:
    """Add the integration as a user does (config flow, then options); its entry id and
    its agent's entity id."""
    flow = await hass.config_entries.flow.async_init("selflearn", context={"source": "user"})
    assert flow["type"] == "form"
    done = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"url": service.url, "token": service.token}
    )
    assert done["type"] == "create_entry", done
    entry = done["result"]
    await hass.async_block_till_done()
    if options:
        step = await hass.config_entries.options.async_init(entry.entry_id)
        merged = {
            "agent_id": "conversation.home_assistant",
            "budget_ms": 1000,  # functional tests; the latency test and benchmark set 50
            "shadow": False,
            "window_s": 20,
            "url": service.url,
            **options,
        }
        result = await hass.config_entries.options.async_configure(step["flow_id"], merged)
        assert result["type"] == "create_entry", result
        await hass.async_block_till_done()
    agent = er.async_get(hass).async_get_entity_id(
        "conversation", "selflearn", f"{entry.entry_id}-agent"
    )
    assert agent is not None
    return entry.entry_id, agent


async def drain(hass: HomeAssistant, entry_id: str, timeout_s: float = 30.0) -> None:
    """Wait until every queued event has been acknowledged by the service."""
    runtime = hass.config_entries.async_get_entry(entry_id).runtime_data
    deadline = time.monotonic() + timeout_s
    while len(runtime.queue):
        await runtime.queue.async_send(force=True)
        if not len(runtime.queue):
            break
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{len(runtime.queue)} events still queued: {runtime.queue.last_error}"
            )
        await asyncio.sleep(0.2)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
