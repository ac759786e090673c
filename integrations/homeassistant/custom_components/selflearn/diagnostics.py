"""The diagnostics download: settings (token hidden), counters, the queue, the service."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from .api import ServiceError
from .const import CONF_TOKEN
from .runtime import Runtime


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: ConfigEntry
) -> dict[str, Any]:
    runtime: Runtime = entry.runtime_data
    try:
        service: dict[str, Any] = await runtime.client.health()
    except ServiceError as err:
        service = {"error": str(err)}
    queue = runtime.queue
    return {
        "data": async_redact_data(dict(entry.data), {CONF_TOKEN}),
        "options": async_redact_data(dict(entry.options), {CONF_TOKEN}),
        "counters": dict(runtime.counters),
        "queue": {
            "waiting": len(queue),
            "sent": queue.sent,
            "rejected": queue.rejected,
            "dropped": queue.dropped,
            "last_error": queue.last_error,
        },
        "service": service,
    }
