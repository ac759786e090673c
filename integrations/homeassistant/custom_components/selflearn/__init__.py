"""selflearn for Home Assistant: a conversation agent that learns from every turn.

The integration is a thin client of a selflearn service (``selflearn serve``): it never
imports selflearn. See the project's README, "Use with Home Assistant".
"""

from __future__ import annotations

import logging
from datetime import timedelta

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.event import async_track_time_interval

from .api import SelflearnClient
from .const import CONF_TOKEN, CONF_URL, DEFAULT_URL, SEND_EVERY_S
from .queue import EventQueue
from .runtime import Runtime
from .watch import AfterActionWatcher

_LOGGER = logging.getLogger(__name__)
PLATFORMS = [Platform.CONVERSATION, Platform.SENSOR]

type SelflearnConfigEntry = ConfigEntry[Runtime]


async def async_setup_entry(hass: HomeAssistant, entry: SelflearnConfigEntry) -> bool:
    """Start the client, load the queued events, start sending and watching."""
    url = entry.options.get(CONF_URL, entry.data.get(CONF_URL, DEFAULT_URL))
    token = entry.options.get(CONF_TOKEN, entry.data.get(CONF_TOKEN)) or None
    client = SelflearnClient(async_get_clientsession(hass), url, token)
    queue = EventQueue(hass, client, entry.entry_id)
    await queue.async_load()
    runtime = Runtime(client, queue, AfterActionWatcher(hass, queue))
    entry.runtime_data = runtime

    async def send(_now: object = None) -> None:
        await queue.async_send()

    entry.async_on_unload(
        async_track_time_interval(
            hass, send, timedelta(seconds=SEND_EVERY_S), name="selflearn send events"
        )
    )

    async def stopping(_event: Event) -> None:
        await queue.async_save_now()

    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, stopping))
    entry.async_on_unload(runtime.watcher.close)
    entry.async_on_unload(entry.add_update_listener(_reload))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def _reload(hass: HomeAssistant, entry: SelflearnConfigEntry) -> None:
    await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: SelflearnConfigEntry) -> bool:
    """Stop; what is still queued is saved and sent after the next start."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.queue.async_save_now()
    return unloaded
