"""Intent understanding: Home Assistant's own matcher (hassil) with its English templates."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from hassil import Intents, recognize_best
from hassil.expression import TextChunk
from hassil.intents import SlotList, TextSlotList, TextSlotValue
from hassil.recognize import MISSING_ENTITY
from home_assistant_intents import get_intents

from selflearn.assistant.home import Home

__all__ = ["IntentMatcher", "NluResult", "build_slot_lists", "load_intents"]

# Domain of intents whose targets do not name it (timers, time, media transport, …).
INTENT_DOMAINS = {
    "HassStartTimer": "timer",
    "HassCancelTimer": "timer",
    "HassCancelAllTimers": "timer",
    "HassIncreaseTimer": "timer",
    "HassDecreaseTimer": "timer",
    "HassPauseTimer": "timer",
    "HassUnpauseTimer": "timer",
    "HassTimerStatus": "timer",
    "HassGetCurrentTime": "datetime",
    "HassGetCurrentDate": "datetime",
    "HassGetWeather": "weather",
    "HassMediaSearchAndPlay": "media_player",
    "HassMediaPause": "media_player",
    "HassMediaUnpause": "media_player",
    "HassMediaNext": "media_player",
    "HassMediaPrevious": "media_player",
    "HassSetVolume": "media_player",
    "HassSetVolumeRelative": "media_player",
    "HassMediaPlayerMute": "media_player",
    "HassMediaPlayerUnmute": "media_player",
    "HassLightSet": "light",
    "HassClimateGetTemperature": "climate",
    "HassClimateSetTemperature": "climate",
    "HassClimateSetFanMode": "climate",
    "HassFanSetSpeed": "fan",
    "HassSetPosition": "cover",
    "HassVacuumStart": "vacuum",
    "HassVacuumReturnToBase": "vacuum",
    "HassVacuumCleanArea": "vacuum",
    "HassLawnMowerDock": "lawn_mower",
    "HassLawnMowerStartMowing": "lawn_mower",
    "HassListAddItem": "todo",
    "HassListCompleteItem": "todo",
    "HassListRemoveItem": "todo",
    "HassShoppingListAddItem": "todo",
    "HassShoppingListCompleteItem": "todo",
    "HassBroadcast": "assist_satellite",
    "HassNevermind": "homeassistant",
    "HassRespond": "homeassistant",
}


@lru_cache(maxsize=4)
def load_intents(language: str = "en") -> Intents:
    """Home Assistant's templates for ``language`` from the installed package."""
    data = get_intents(language)
    if data is None:
        raise ValueError(f"home-assistant-intents has no templates for language {language!r}")
    return Intents.from_dict(data)


def _values(pairs: Sequence[tuple[str, str, dict[str, Any] | None]]) -> list[TextSlotValue]:
    return [TextSlotValue(TextChunk(text), value, context=ctx) for text, value, ctx in pairs]


def build_slot_lists(home: Home) -> dict[str, SlotList]:
    """The ``area``, ``floor`` and ``name`` lists the way Home Assistant builds them."""
    areas = [(n, a.name, None) for a in home.areas for n in (a.name, *a.aliases)]
    floors = [(n, f.name, None) for f in home.floors for n in (f.name, *f.aliases)]
    names: list[tuple[str, str, dict[str, Any] | None]] = []
    for entity in home.entities:
        context: dict[str, Any] = {"domain": entity.domain}
        if entity.device_class:
            context["device_class"] = entity.device_class
        area_name = home.area_name(entity.area)
        if area_name:
            context["area"] = area_name
        names.extend((n, n, context) for n in entity.names)
    return {
        "area": TextSlotList(name="area", values=_values(areas)),
        "floor": TextSlotList(name="floor", values=_values(floors)),
        "name": TextSlotList(name="name", values=_values(names)),
    }


@dataclass(frozen=True)
class NluResult:
    """What the matcher understood. ``slots`` are the values as understood (names)."""

    intent: str | None
    domain: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    confidence: float | None = None
    required_domains: tuple[str, ...] = ()
    wildcards: tuple[str, ...] = ()
    unmatched: tuple[str, ...] = ()


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


CACHE_SIZE = 20_000
MAX_UNKNOWN_NAME_WORDS = 3


class IntentMatcher:
    """hassil over Home Assistant's templates with the home's names as slot lists.

    Build with :meth:`from_home`; :meth:`match` one utterance with the area of the
    voice device as context (templates that ``requires_context: area``). As Home
    Assistant's default agent does, a sentence that matches no template strictly is
    matched again allowing names that are not in the home, so that the answer can say
    which name was not found ("no device called the big light") instead of "sorry".
    """

    def __init__(
        self,
        intents: Intents,
        slot_lists: dict[str, SlotList],
        language: str = "en",
        *,
        unmatched_pass: bool = True,
    ) -> None:
        self.intents = intents
        self.slot_lists = slot_lists
        self.language = language
        self.unmatched_pass = unmatched_pass
        self._cache: dict[tuple[str, str | None, bool, str | None], NluResult] = {}
        self._subsets: dict[str, Intents] = {}

    @classmethod
    def from_home(cls, home: Home, language: str = "en") -> IntentMatcher:
        return cls(load_intents(language), build_slot_lists(home), language)

    def _only(self, intent: str) -> Intents:
        """The templates of one intent (for asking "does this text say *this* intent?")."""
        subset = self._subsets.get(intent)
        if subset is None:
            base = self.intents
            subset = dataclasses.replace(base, intents={intent: base.intents[intent]})
            self._subsets[intent] = subset
        return subset

    def recognize(
        self,
        text: str,
        area: str | None = None,
        *,
        unmatched: bool = False,
        only: str | None = None,
    ) -> Any:
        """hassil's raw best result, exactly as Home Assistant calls it (``only``: among
        one intent's templates)."""
        context = {"area": area} if area else None
        return recognize_best(
            text,
            self._only(only) if only else self.intents,
            slot_lists=self.slot_lists,
            intent_context=context,
            language=self.language,
            allow_unmatched_entities=unmatched,
            best_metadata_key="hass_custom_sentence",
            best_slot_name="name",
        )

    def match(
        self, text: str, area: str | None = None, *, strict: bool = False, only: str | None = None
    ) -> NluResult:
        """The understood intent and slots (cached: households repeat themselves).

        ``strict`` skips the second pass for names the home lacks; ``only`` matches
        against one intent's templates (strict), much faster than all of them.
        """
        key = (text, area, strict or only is not None, only)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._match(text, area, strict or only is not None, only)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = cached
        return cached

    def _match(self, text: str, area: str | None, strict: bool, only: str | None) -> NluResult:
        result = self.recognize(text, area, only=only)
        if result is None and self.unmatched_pass and not strict:
            result = self.recognize(text, area, unmatched=True)
            # As Home Assistant does, the template's own words must have matched something.
            if result is None or not result.unmatched_entities or result.text_chunks_matched < 1:
                return NluResult(intent=None)
            # Only a name or place that is not in the home; anything else is no match.
            # hassil marks optional slots it did not see with a "<missing>" placeholder.
            unmatched = {
                name: " ".join(str(e.text if hasattr(e, "text") else e.value).split())
                for name, e in result.unmatched_entities.items()
                if getattr(e, "text", None) != MISSING_ENTITY
            }
            # A name is a few words; a long "name" is a sentence the templates do not know.
            unknown_words = sum(len(v.split()) for v in unmatched.values())
            if (
                not unmatched
                or not set(unmatched) <= {"name", "area", "floor"}
                or not all(unmatched.values())
                or max(len(v.split()) for v in unmatched.values()) > MAX_UNKNOWN_NAME_WORDS
                or 2 * unknown_words > len(text.split())
            ):
                return NluResult(intent=None)
            slots = {n: _plain(e.value) for n, e in result.entities.items()}
            slots.update(unmatched)
            return NluResult(
                intent=result.intent.name,
                domain=slots.get("domain") or INTENT_DOMAINS.get(result.intent.name),
                slots=slots,
                confidence=0.5,
                unmatched=tuple(sorted(unmatched)),
            )
        if result is None:
            return NluResult(intent=None)
        slots = {name: _plain(entity.value) for name, entity in result.entities.items()}
        wildcards = tuple(n for n, e in result.entities.items() if e.is_wildcard)
        required = result.intent_data.requires_context.get("domain") if result.intent_data else None
        if isinstance(required, str):
            required_domains: tuple[str, ...] = (required,)
        elif isinstance(required, list):
            required_domains = tuple(str(d) for d in required)
        else:
            required_domains = ()
        domain = (
            slots.get("domain")
            or result.context.get("domain")
            or INTENT_DOMAINS.get(result.intent.name)
        )
        if domain is None and len(required_domains) == 1:
            domain = required_domains[0]
        # hassil matches templates exactly; what is left uncertain is how much of the
        # utterance a wildcard swallowed, so confidence falls with the wildcard share.
        wild_chars = sum(len(result.entities[n].text) for n in wildcards)
        confidence = round(1.0 - 0.5 * wild_chars / max(len(text), 1), 3)
        return NluResult(
            intent=result.intent.name,
            domain=str(domain) if domain is not None else None,
            slots=slots,
            confidence=max(0.0, min(1.0, confidence)),
            required_domains=required_domains,
            wildcards=wildcards,
        )
