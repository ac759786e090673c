"""The result stage: carry out the intent on the home and answer, in Home Assistant's codes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from selflearn.assistant.home import Entity, Home
from selflearn.assistant.nlu import NluResult
from selflearn.assistant.resolve import ResolutionResult

__all__ = ["ActionResult", "Executor", "Timer"]

ON_STATES = {
    "light": "on",
    "switch": "on",
    "fan": "on",
    "media_player": "on",
    "climate": "heat",
    "cover": "open",
    "lock": "locked",
    "vacuum": "cleaning",
    "lawn_mower": "mowing",
}
OFF_STATES = {
    "light": "off",
    "switch": "off",
    "fan": "off",
    "media_player": "off",
    "climate": "off",
    "cover": "closed",
    "lock": "unlocked",
    "vacuum": "docked",
    "lawn_mower": "docked",
}
MS_PER_WORD = 330  # spoken response length, for duration_ms


@dataclass
class Timer:
    seconds: int
    name: str | None = None
    area: str | None = None
    paused: bool = False


@dataclass(frozen=True)
class ActionResult:
    text: str
    status: str
    changed: dict[str, str] = field(default_factory=dict)

    @property
    def duration_ms(self) -> int:
        return len(self.text.split()) * MS_PER_WORD


def _seconds(slots: dict[str, Any]) -> int:
    total = 0.0
    for unit, factor in (("hours", 3600), ("minutes", 60), ("seconds", 1)):
        value = slots.get(unit)
        if isinstance(value, int | float):
            total += float(value) * factor
    return int(total)


def _names(entities: list[Entity]) -> str:
    names = [e.name for e in entities]
    return names[0] if len(names) == 1 else f"{len(names)} devices"


class Executor:
    """Executes intents against the home's states; keeps timers."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self.timers: list[Timer] = []

    def execute(
        self, nlu: NluResult, resolution: ResolutionResult | None, now: datetime, area: str | None
    ) -> ActionResult:
        if nlu.intent is None:
            return ActionResult("Sorry, I couldn't understand that", "no_intent_match")
        if resolution is not None and resolution.status != "ok":
            slot, what = next(
                ((s, v) for s, v, eid, _ in resolution.entities if eid is None), ("name", "")
            )
            if resolution.status == "ambiguous":
                areas = {
                    self.home.area_name(entity.area) or "?"
                    for _, _, eid, _ in resolution.entities
                    if eid and (entity := self.home.entity(eid)) is not None
                }
                where = f" ({', '.join(sorted(areas))})" if areas != {"?"} else ""
                return ActionResult(
                    f"There are several called {resolution.entities[-1][1]}{where}; which one?",
                    "no_valid_targets",
                )
            kind = {"area": "area", "floor": "floor", "search_query": "media"}.get(slot, "device")
            return ActionResult(
                f"Sorry, I am not aware of any {kind} called {what}", "no_valid_targets"
            )
        targets = [
            e for t in (resolution.targets if resolution else ()) if (e := self.home.entity(t))
        ]
        handler = getattr(self, "_" + nlu.intent, None)
        if handler is None:
            return ActionResult("Sorry, I can't do that yet", "failed_to_handle")
        result: ActionResult = handler(nlu.slots, targets, resolution, now, area)
        return result

    # -- on/off and settings --------------------------------------------------

    def _set_state(self, targets: list[Entity], table: dict[str, str]) -> dict[str, str]:
        changed = {}
        for entity in targets:
            new = table.get(entity.domain)
            if new is not None:
                entity.state = new
                changed[entity.id] = new
        return changed

    def _HassTurnOn(self, slots: dict[str, Any], targets: list[Entity], *_: Any) -> ActionResult:
        changed = self._set_state(targets, ON_STATES)
        if not changed:
            return ActionResult("Sorry, that device can't be turned on", "failed_to_handle")
        verb = {"cover": "Opened", "lock": "Locked"}.get(targets[0].domain, "Turned on")
        return ActionResult(f"{verb} {_names(targets)}", "success", changed)

    def _HassTurnOff(self, slots: dict[str, Any], targets: list[Entity], *_: Any) -> ActionResult:
        changed = self._set_state(targets, OFF_STATES)
        if not changed:
            return ActionResult("Sorry, that device can't be turned off", "failed_to_handle")
        verb = {"cover": "Closed", "lock": "Unlocked"}.get(targets[0].domain, "Turned off")
        return ActionResult(f"{verb} {_names(targets)}", "success", changed)

    def _set_attribute(
        self, targets: list[Entity], attribute: str, value: Any, state: str | None = None
    ) -> dict[str, str]:
        changed = {}
        for entity in targets:
            entity.attributes[attribute] = value
            if state is not None:
                entity.state = state
            changed[entity.id] = f"{attribute}={value}"
        return changed

    def _HassLightSet(self, slots: dict[str, Any], targets: list[Entity], *_: Any) -> ActionResult:
        for key in ("brightness", "color", "temperature"):
            if key in slots:
                value = slots[key]
                changed = self._set_attribute(targets, key, value, "on")
                return ActionResult(f"Set {_names(targets)} {key} to {value}", "success", changed)
        return ActionResult("Sorry, what should I set?", "failed_to_handle")

    def _HassClimateSetTemperature(
        self, slots: dict[str, Any], targets: list[Entity], *_: Any
    ) -> ActionResult:
        value = slots.get("temperature")
        changed = self._set_attribute(targets, "temperature", value)
        return ActionResult(f"Set {_names(targets)} to {value} degrees", "success", changed)

    def _HassClimateGetTemperature(
        self, slots: dict[str, Any], targets: list[Entity], *_: Any
    ) -> ActionResult:
        entity = targets[0]
        return ActionResult(
            f"{entity.name} is at {entity.attributes.get('current_temperature', 'unknown')} degrees",
            "success",
        )

    def _HassFanSetSpeed(
        self, slots: dict[str, Any], targets: list[Entity], *_: Any
    ) -> ActionResult:
        value = slots.get("fan_speed", slots.get("percentage"))
        changed = self._set_attribute(targets, "percentage", value, "on")
        return ActionResult(f"Set {_names(targets)} to {value} percent", "success", changed)

    def _HassSetPosition(
        self, slots: dict[str, Any], targets: list[Entity], *_: Any
    ) -> ActionResult:
        value = slots.get("position")
        state = "closed" if value == 0 else "open"
        changed = self._set_attribute(targets, "position", value, state)
        return ActionResult(f"Set {_names(targets)} to {value} percent", "success", changed)

    def _HassGetState(self, slots: dict[str, Any], targets: list[Entity], *_: Any) -> ActionResult:
        wanted = slots.get("state")
        if wanted is None:
            entity = targets[0]
            return ActionResult(f"{entity.name} is {entity.state}", "success")
        matching = [e for e in targets if e.state == str(wanted)]
        if len(targets) == 1:
            answer = "Yes" if matching else "No"
            return ActionResult(f"{answer}, {targets[0].name} is {targets[0].state}", "success")
        return ActionResult(f"{len(matching)} of {len(targets)} are {wanted}", "success")

    def _HassGetWeather(
        self, slots: dict[str, Any], targets: list[Entity], *_: Any
    ) -> ActionResult:
        entity = targets[0]
        temp = entity.attributes.get("temperature")
        return ActionResult(f"{temp} degrees and {entity.state}", "success")

    # -- media ----------------------------------------------------------------

    def _HassMediaSearchAndPlay(
        self, slots: dict[str, Any], targets: list[Entity], resolution: ResolutionResult, *_: Any
    ) -> ActionResult:
        assert resolution.media is not None  # resolution returns no_match otherwise
        item = resolution.media.item
        changed = {}
        for entity in targets:
            entity.state = "playing"
            entity.attributes["media_title"] = item.title
            entity.attributes["media_content_id"] = item.id
            changed[entity.id] = f"playing {item.id}"
        where = targets[0].name if targets else "here"
        label = item.media_class.replace("_", " ")
        return ActionResult(
            f"Playing the {label} {item.title} on {where}",
            "success",
            changed or {resolution.targets[0]: f"playing {item.id}"},
        )

    def _media(
        self, targets: list[Entity], state: str | None, text: str, **attrs: Any
    ) -> ActionResult:
        changed = {}
        for entity in targets:
            if state is not None:
                entity.state = state
            entity.attributes.update(attrs)
            changed[entity.id] = state or ",".join(f"{k}={v}" for k, v in attrs.items()) or "next"
        return ActionResult(text, "success", changed)

    def _HassMediaPause(
        self, slots: dict[str, Any], targets: list[Entity], *_: Any
    ) -> ActionResult:
        return self._media(targets, "paused", "Paused")

    def _HassMediaUnpause(
        self, slots: dict[str, Any], targets: list[Entity], *_: Any
    ) -> ActionResult:
        return self._media(targets, "playing", "Resumed")

    def _HassMediaNext(self, slots: dict[str, Any], targets: list[Entity], *_: Any) -> ActionResult:
        return self._media(targets, None, "Playing next")

    def _HassMediaPrevious(
        self, slots: dict[str, Any], targets: list[Entity], *_: Any
    ) -> ActionResult:
        return self._media(targets, None, "Playing previous")

    def _HassSetVolume(self, slots: dict[str, Any], targets: list[Entity], *_: Any) -> ActionResult:
        value = slots.get("volume_level", slots.get("volume"))
        return self._media(targets, None, f"Volume set to {value}", volume_level=value)

    def _HassSetVolumeRelative(
        self, slots: dict[str, Any], targets: list[Entity], *_: Any
    ) -> ActionResult:
        step = slots.get("volume_step", "up")
        return self._media(targets, None, f"Volume {step}", volume_step=step)

    def _HassMediaPlayerMute(
        self, slots: dict[str, Any], targets: list[Entity], *_: Any
    ) -> ActionResult:
        return self._media(targets, None, "Muted", is_volume_muted=True)

    def _HassMediaPlayerUnmute(
        self, slots: dict[str, Any], targets: list[Entity], *_: Any
    ) -> ActionResult:
        return self._media(targets, None, "Unmuted", is_volume_muted=False)

    # -- timers, time, and the rest --------------------------------------------

    def _HassStartTimer(
        self,
        slots: dict[str, Any],
        targets: list[Entity],
        res: Any,
        now: datetime,
        area: str | None,
    ) -> ActionResult:
        seconds = _seconds(slots)
        if seconds <= 0:
            return ActionResult("Sorry, for how long?", "failed_to_handle")
        name = slots.get("name")
        self.timers.append(Timer(seconds, str(name) if name else None, area))
        return ActionResult("Timer started", "success", {"timer": str(seconds)})

    def _find_timers(self, slots: dict[str, Any], everything: bool = False) -> list[Timer]:
        timers = self.timers
        if "name" in slots:
            timers = [t for t in timers if t.name == slots["name"]]
        if "area" in slots:
            timers = [t for t in timers if t.area == slots["area"]] or timers
        return timers if everything else timers[-1:]

    def _HassCancelTimer(self, slots: dict[str, Any], *_: Any) -> ActionResult:
        found = self._find_timers(slots)
        if not found:
            return ActionResult("There are no timers", "failed_to_handle")
        self.timers.remove(found[0])
        return ActionResult("Timer cancelled", "success", {"timer": "cancelled"})

    def _HassCancelAllTimers(self, slots: dict[str, Any], *_: Any) -> ActionResult:
        found = self._find_timers(slots, everything=True)
        for timer in found:
            self.timers.remove(timer)
        return ActionResult(f"Canceled {len(found)} timers", "success", {"timer": "cancelled"})

    def _adjust_timer(self, slots: dict[str, Any], sign: int) -> ActionResult:
        found = self._find_timers(slots)
        if not found:
            return ActionResult("There are no timers", "failed_to_handle")
        found[0].seconds = max(0, found[0].seconds + sign * _seconds(slots))
        return ActionResult("Timer updated", "success", {"timer": str(found[0].seconds)})

    def _HassIncreaseTimer(self, slots: dict[str, Any], *_: Any) -> ActionResult:
        return self._adjust_timer(slots, 1)

    def _HassDecreaseTimer(self, slots: dict[str, Any], *_: Any) -> ActionResult:
        return self._adjust_timer(slots, -1)

    def _pause_timer(self, slots: dict[str, Any], paused: bool) -> ActionResult:
        found = self._find_timers(slots)
        if not found:
            return ActionResult("There are no timers", "failed_to_handle")
        found[0].paused = paused
        return ActionResult("Timer paused" if paused else "Timer resumed", "success")

    def _HassPauseTimer(self, slots: dict[str, Any], *_: Any) -> ActionResult:
        return self._pause_timer(slots, True)

    def _HassUnpauseTimer(self, slots: dict[str, Any], *_: Any) -> ActionResult:
        return self._pause_timer(slots, False)

    def _HassTimerStatus(self, slots: dict[str, Any], *_: Any) -> ActionResult:
        if not self.timers:
            return ActionResult("There are no timers", "success")
        left = self.timers[-1].seconds
        return ActionResult(f"{left // 60} minutes and {left % 60} seconds left", "success")

    def _HassGetCurrentTime(
        self, slots: dict[str, Any], targets: Any, res: Any, now: datetime, *_: Any
    ) -> ActionResult:
        return ActionResult(f"It is {now:%H:%M}", "success")

    def _HassGetCurrentDate(
        self, slots: dict[str, Any], targets: Any, res: Any, now: datetime, *_: Any
    ) -> ActionResult:
        return ActionResult(f"Today is {now:%A %B} {now.day}", "success")

    def _HassNevermind(self, *_: Any) -> ActionResult:
        return ActionResult("", "success")

    def _HassRespond(self, slots: dict[str, Any], *_: Any) -> ActionResult:
        return ActionResult(str(slots.get("response", "OK")), "success")

    def _HassBroadcast(self, slots: dict[str, Any], *_: Any) -> ActionResult:
        return ActionResult("Done", "success", {"broadcast": str(slots.get("message", ""))})
