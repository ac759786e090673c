"""Lights of the test home."""

from __future__ import annotations

from typing import Any

from homeassistant.components.light import ATTR_BRIGHTNESS, ColorMode, LightEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

LIGHTS = ("Kitchen Light", "Ceiling Light", "Bed Light", "Desk Lamp")


async def async_setup_platform(
    hass: HomeAssistant, config: Any, add: AddEntitiesCallback, info: Any = None
) -> None:
    add(TestLight(name) for name in LIGHTS)


class TestLight(LightEntity):
    _attr_should_poll = False
    _attr_color_mode = ColorMode.BRIGHTNESS
    _attr_supported_color_modes = frozenset({ColorMode.BRIGHTNESS})

    def __init__(self, name: str) -> None:
        self._attr_name = name
        self._attr_unique_id = name.lower().replace(" ", "_")
        self._attr_is_on = True
        self._attr_brightness = 255

    async def async_turn_on(self, **kwargs: Any) -> None:
        self._attr_is_on = True
        self._attr_brightness = kwargs.get(ATTR_BRIGHTNESS, self._attr_brightness)
        self.async_write_ha_state()

    async def async_turn_off(self, **kwargs: Any) -> None:
        self._attr_is_on = False
        self.async_write_ha_state()
