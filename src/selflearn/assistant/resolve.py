"""Entity resolution: names, areas and domains in the understood request → entity ids."""

from __future__ import annotations

from dataclasses import dataclass, field

from selflearn.assistant.home import Entity, Home, VoiceDevice, normalize_name
from selflearn.assistant.media import Catalogue, MediaMatch
from selflearn.assistant.nlu import NluResult

__all__ = ["EntityResolver", "ResolutionResult"]

# Intents that act on no entity of the home.
NO_TARGET_INTENTS = frozenset(
    {
        "HassStartTimer",
        "HassCancelTimer",
        "HassCancelAllTimers",
        "HassIncreaseTimer",
        "HassDecreaseTimer",
        "HassPauseTimer",
        "HassUnpauseTimer",
        "HassTimerStatus",
        "HassGetCurrentTime",
        "HassGetCurrentDate",
        "HassNevermind",
        "HassRespond",
        "HassBroadcast",
    }
)
MEDIA_CONTROL_INTENTS = frozenset(
    {
        "HassMediaPause",
        "HassMediaUnpause",
        "HassMediaNext",
        "HassMediaPrevious",
        "HassSetVolume",
        "HassSetVolumeRelative",
        "HassMediaPlayerMute",
        "HassMediaPlayerUnmute",
        "HassMediaSearchAndPlay",
    }
)
# Domains an intent can act on when the request names no domain.
INTENT_TARGET_DOMAINS = {
    "HassLightSet": ("light",),
    "HassClimateGetTemperature": ("climate",),
    "HassClimateSetTemperature": ("climate",),
    "HassClimateSetFanMode": ("climate",),
    "HassFanSetSpeed": ("fan",),
    "HassSetPosition": ("cover",),
    "HassGetWeather": ("weather",),
    "HassVacuumStart": ("vacuum",),
    "HassVacuumReturnToBase": ("vacuum",),
    "HassVacuumCleanArea": ("vacuum",),
    "HassLawnMowerDock": ("lawn_mower",),
    "HassLawnMowerStartMowing": ("lawn_mower",),
    "HassListAddItem": ("todo",),
    "HassListCompleteItem": ("todo",),
    "HassListRemoveItem": ("todo",),
    "HassShoppingListAddItem": ("todo",),
    "HassShoppingListCompleteItem": ("todo",),
}


@dataclass(frozen=True)
class ResolutionResult:
    """``status`` ok / no_match / ambiguous; ``targets`` the entity ids acted on."""

    status: str
    entities: list[tuple[str, str, str | None, float | None]] = field(default_factory=list)
    targets: tuple[str, ...] = ()
    media: MediaMatch | None = None
    # why the resolver had to pick one of several that fit the words, if it did
    guess: str | None = None


class EntityResolver:
    """Resolves the understood names against the home (and the media catalogue)."""

    def __init__(self, home: Home, catalogue: Catalogue) -> None:
        self.home = home
        self.catalogue = catalogue

    def resolve(
        self, nlu: NluResult, device: VoiceDevice | None, *, media_class: str | None = None
    ) -> ResolutionResult | None:
        """None when the intent acts on nothing (timers, time, …) or nothing matched.
        ``media_class``: the class the speaker taught they prefer where a title has
        several ("audiobook": the book, not the film)."""
        if nlu.intent is None or nlu.intent in NO_TARGET_INTENTS:
            return None
        slots = nlu.slots
        if nlu.unmatched:
            # Names the home does not have: say which, never act on a guess.
            return ResolutionResult(
                "no_match", [(slot, str(slots[slot]), None, None) for slot in nlu.unmatched]
            )
        domains = set(nlu.required_domains) | set(INTENT_TARGET_DOMAINS.get(nlu.intent, ()))
        if isinstance(slots.get("domain"), str):
            domains = {slots["domain"]}
        if nlu.intent in MEDIA_CONTROL_INTENTS:
            domains = {"media_player"}
        device_class = slots.get("device_class")
        here = device.area if device else None
        area = self.home.area_by_name(str(slots["area"])) if "area" in slots else None
        floor = self.home.floor_by_name(str(slots["floor"])) if "floor" in slots else None
        if ("area" in slots and area is None) or ("floor" in slots and floor is None):
            slot = "area" if "area" in slots and area is None else "floor"
            return ResolutionResult("no_match", [(slot, str(slots[slot]), None, None)])

        def fits(entity: Entity) -> bool:
            if domains and entity.domain not in domains:
                return False
            return not (device_class and entity.device_class != device_class)

        entities: list[tuple[str, str, str | None, float | None]] = []
        guess = None
        if area is not None:
            entities.append(("area", area.name, area.id, 1.0))
        if "name" in slots:
            name = str(slots["name"])
            key = normalize_name(name)
            found = [
                e for e in self.home.entities if key in map(normalize_name, e.names) and fits(e)
            ]
            if area is not None:
                found = [e for e in found if e.area == area.id] or found
            if len(found) > 1 and here is not None:
                in_room = [e for e in found if e.area == here]
                if len(in_room) == 1:
                    guess = "several devices of that name; the speaker's room picked"
                found = in_room or found
            if not found:
                return ResolutionResult("no_match", [*entities, ("name", name, None, None)])
            if len(found) > 1:
                return ResolutionResult(
                    "ambiguous", [*entities, *(("name", name, e.id, 0.5) for e in found)]
                )
            targets: tuple[str, ...] = (found[0].id,)
            entities.append(("name", name, found[0].id, 1.0))
        else:
            pool = [e for e in self.home.entities if fits(e)]
            if area is not None:
                pool = [e for e in pool if e.area == area.id]
            elif floor is not None:
                floor_areas = {a.id for a in self.home.areas if a.floor == floor.id}
                pool = [e for e in pool if e.area in floor_areas]
            elif nlu.intent in MEDIA_CONTROL_INTENTS and here is not None:
                pool = [e for e in pool if e.area == here] or pool
            if nlu.intent in MEDIA_CONTROL_INTENTS and nlu.intent != "HassMediaSearchAndPlay":
                playing = [e for e in pool if e.state in ("playing", "paused")]
                pool = playing or pool
            if nlu.intent == "HassMediaSearchAndPlay" and area is None and here is not None:
                # "play X" plays here: on this room's player, else on the voice device itself.
                pool = [e for e in pool if e.area == here][:1]
            elif nlu.intent == "HassMediaSearchAndPlay" and len(pool) > 1:
                pool = pool[:1]
            targets = tuple(e.id for e in pool)
            what = str(device_class or slots.get("domain") or ",".join(sorted(domains)) or "device")
            if not targets and not (nlu.intent == "HassMediaSearchAndPlay" and device is not None):
                return ResolutionResult("no_match", [*entities, ("domain", what, None, None)])
            if not targets and device is not None:
                targets = (device.id,)  # the voice device plays it itself
            entities.extend(("domain", what, t, 1.0) for t in targets)
        if nlu.intent == "HassMediaSearchAndPlay":
            return self._media(nlu, device, entities, targets, media_class)
        return ResolutionResult("ok", entities, targets, guess=guess)

    def _media(
        self,
        nlu: NluResult,
        device: VoiceDevice | None,
        entities: list[tuple[str, str, str | None, float | None]],
        targets: tuple[str, ...],
        preferred: str | None = None,
    ) -> ResolutionResult:
        query = str(nlu.slots.get("search_query", ""))
        media_class = nlu.slots.get("media_class")
        prefer_video = bool(device and device.type == "display") or any(
            t.startswith("media_player.")
            and (e := self.home.entity(t)) is not None
            and e.device_class == "tv"
            for t in targets
        )
        if preferred is not None:
            prefer_video = preferred in ("movie", "tv_show")
        match = self.catalogue.search(
            query, str(media_class) if media_class else None, prefer_video
        )
        if match is None:
            return ResolutionResult("no_match", [*entities, ("search_query", query, None, None)])
        entities = [*entities, ("search_query", query, match.item.id, round(match.score, 3))]
        guess = "another title nearly the same" if match.twins else None
        return ResolutionResult("ok", entities, targets, match, guess)
