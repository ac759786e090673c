"""Speakers of the test home."""

from __future__ import annotations

from typing import Any

from homeassistant.components.media_player import (
    MediaPlayerEntity,
    MediaPlayerEntityFeature,
    MediaPlayerState,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

PLAYERS = ("Kitchen Speaker", "Bedroom Speaker")
TRACKS = ("Morning Song", "Second Song", "Third Song")


async def async_setup_platform(
    hass: HomeAssistant, config: Any, add: AddEntitiesCallback, info: Any = None
) -> None:
    add(TestPlayer(name) for name in PLAYERS)


class TestPlayer(MediaPlayerEntity):
    _attr_should_poll = False
    _attr_supported_features = (
        MediaPlayerEntityFeature.PLAY
        | MediaPlayerEntityFeature.PAUSE
        | MediaPlayerEntityFeature.STOP
        | MediaPlayerEntityFeature.NEXT_TRACK
        | MediaPlayerEntityFeature.VOLUME_SET
        | MediaPlayerEntityFeature.TURN_ON
        | MediaPlayerEntityFeature.TURN_OFF
    )

    def __init__(self, name: str) -> None:
        self._attr_name = name
        self._attr_unique_id = name.lower().replace(" ", "_")
        self._attr_state = MediaPlayerState.IDLE
        self._attr_volume_level = 0.5
        self._track = 0

    @property
    def media_title(self) -> str | None:
        return TRACKS[self._track] if self.state == MediaPlayerState.PLAYING else None

    async def async_media_play(self) -> None:
        self._attr_state = MediaPlayerState.PLAYING
        self.async_write_ha_state()

    async def async_media_pause(self) -> None:
        self._attr_state = MediaPlayerState.PAUSED
        self.async_write_ha_state()

    async def async_media_stop(self) -> None:
        self._attr_state = MediaPlayerState.IDLE
        self.async_write_ha_state()

    async def async_media_next_track(self) -> None:
        self._track = (self._track + 1) % len(TRACKS)
        self.async_write_ha_state()

    async def async_set_volume_level(self, volume: float) -> None:
        self._attr_volume_level = volume
        self.async_write_ha_state()

    async def async_turn_on(self) -> None:
        self._attr_state = MediaPlayerState.IDLE
        self.async_write_ha_state()

    async def async_turn_off(self) -> None:
        self._attr_state = MediaPlayerState.OFF
        self.async_write_ha_state()
