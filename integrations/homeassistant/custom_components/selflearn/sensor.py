"""Sensors that show the integration works: turns logged, rewrites applied, fail-opens,
events waiting to be sent. Read every few seconds, not written on every request (the
request path stays as short as it can be)."""

from __future__ import annotations

from datetime import timedelta

from homeassistant.components.sensor import SensorEntity, SensorStateClass
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .runtime import Runtime

SCAN_INTERVAL = timedelta(seconds=5)
PARALLEL_UPDATES = 0
SENSORS = (
    ("turns_logged", "mdi:counter", SensorStateClass.TOTAL_INCREASING),
    ("rewrites_applied", "mdi:auto-fix", SensorStateClass.TOTAL_INCREASING),
    ("fail_opens", "mdi:lan-disconnect", SensorStateClass.TOTAL_INCREASING),
    ("queued_events", "mdi:tray-full", SensorStateClass.MEASUREMENT),
)


async def async_setup_entry(
    hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddEntitiesCallback
) -> None:
    async_add_entities(SelflearnSensor(entry, *spec) for spec in SENSORS)


class SelflearnSensor(SensorEntity):
    _attr_has_entity_name = True
    _attr_should_poll = True

    def __init__(
        self, entry: ConfigEntry, key: str, icon: str, state_class: SensorStateClass
    ) -> None:
        self._entry = entry
        self._key = key
        self._attr_translation_key = key
        self._attr_unique_id = f"{entry.entry_id}-{key}"
        self._attr_icon = icon
        self._attr_state_class = state_class

    @property
    def native_value(self) -> int:
        runtime: Runtime = self._entry.runtime_data
        if self._key == "queued_events":
            return len(runtime.queue)
        return runtime.counters[self._key]
