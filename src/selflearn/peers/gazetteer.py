"""Home Assistant's 2026 fallback matcher, ``gazetteer-matcher`` (PyPI), over our home.

Home Assistant tries its sentence templates (hassil) first and hands what they cannot
match to the fallback. This adapter gives the fallback the home as a gazetteer (areas,
floors, entities with their names and aliases) and turns its first frame back into the
assistant's understanding: entity and area ids become the names our resolver resolves.
Compound requests (several frames) are not something the reference assistant executes, so
only single-frame interpretations are taken.
"""

from __future__ import annotations

from typing import Any

from selflearn.assistant.home import Home
from selflearn.assistant.nlu import INTENT_DOMAINS, NluResult
from selflearn.errors import ConfigError

__all__ = ["GazetteerFallback"]


def gazetteer_home(home: Home) -> dict[str, Any]:
    """The home in the matcher's gazetteer format."""
    return {
        "floors": {f.id: {"name": f.name, "aliases": list(f.aliases)} for f in home.floors},
        "areas": {
            a.id: {"name": a.name, "aliases": list(a.aliases), "floor": a.floor} for a in home.areas
        },
        "entities": {
            e.id: {
                "name": e.name,
                "aliases": list(e.aliases),
                "domain": e.domain,
                "area": e.area,
                **({"device_class": e.device_class} if e.device_class else {}),
            }
            for e in home.entities
        },
    }


class GazetteerFallback:
    """``match(text, area_name)`` → the fallback's understanding, or None."""

    name = "gazetteer-matcher"

    def __init__(self, home: Home) -> None:
        try:
            from gazetteer_matcher import GazetteerMatcher
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise ConfigError(
                "peers", "gazetteer-matcher", "not installed", "pip install gazetteer-matcher"
            ) from exc
        self.home = home
        self.matcher = GazetteerMatcher(home=gazetteer_home(home))
        self._areas = {a.id: a.name for a in home.areas}
        self._floors = {f.id: f.name for f in home.floors}
        self._names = {e.id: e.name for e in home.entities}

    def match(self, text: str, area_name: str | None = None) -> NluResult | None:
        try:
            result = self.matcher.interpret(text, context_area=area_name)
        except (ValueError, KeyError):
            return None
        if not result.accepted or len(result.frames) != 1:
            return None
        frame = result.frames[0]
        slots: dict[str, Any] = {}
        for slot, value in frame.slots.items():
            if slot == "name":
                slots[slot] = self._names.get(str(value), value)
            elif slot == "area":
                slots[slot] = self._areas.get(str(value), value)
            elif slot == "floor":
                slots[slot] = self._floors.get(str(value), value)
            else:
                slots[slot] = value.value if hasattr(value, "value") else value
        domain = slots.get("domain") or INTENT_DOMAINS.get(frame.intent)
        if domain is None and "name" in frame.slots:
            domain = str(frame.slots["name"]).split(".", 1)[0]
        return NluResult(
            intent=frame.intent,
            domain=str(domain) if domain else None,
            slots=slots,
            confidence=0.5,
        )
