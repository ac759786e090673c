"""The home: floors, areas, entities with names, aliases and states, voice devices."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from selflearn.assistant.datafiles import packaged_yaml, read_yaml_mapping
from selflearn.errors import DataFileError

__all__ = ["Area", "Entity", "Floor", "Home", "VoiceDevice", "normalize_name"]

VOICE_DEVICE_TYPES = ("speaker", "display", "satellite", "phone")


def normalize_name(text: str) -> str:
    """Case- and punctuation-insensitive form of a name, for lookups."""
    cleaned = "".join(ch if ch.isalnum() or ch.isspace() else " " for ch in text.lower())
    return " ".join(cleaned.replace("'", "").split())


@dataclass(frozen=True)
class Floor:
    id: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Area:
    """A room. ``noise`` scales the speech channel's error rates for requests heard here
    (1.0 = the level fitted to real recordings; a kitchen with appliances is above it)."""

    id: str
    name: str
    floor: str | None = None
    aliases: tuple[str, ...] = ()
    noise: float = 1.0


class _HasNames(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def aliases(self) -> tuple[str, ...]: ...


_Named = TypeVar("_Named", bound=_HasNames)


def _named(items: Sequence[_Named], name: str) -> _Named | None:
    """The first item whose name or alias is ``name`` (case and punctuation aside)."""
    key = normalize_name(name)
    for item in items:
        spoken: tuple[str, ...] = (item.name, *item.aliases)
        if key in map(normalize_name, spoken):
            return item
    return None


@dataclass
class Entity:
    """A controllable or readable thing; ``state`` and ``attributes`` change as it is used."""

    id: str
    name: str
    area: str | None = None
    aliases: tuple[str, ...] = ()
    state: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def domain(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def device_class(self) -> str | None:
        value = self.attributes.get("device_class")
        return str(value) if value is not None else None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class VoiceDevice:
    """A device that hears requests (a speaker satellite, a display, …) in an area."""

    id: str
    type: str
    area: str | None = None


@dataclass
class Home:
    """A whole home. Load with :meth:`default`, :meth:`from_yaml` or :meth:`from_dict`."""

    name: str
    floors: list[Floor]
    areas: list[Area]
    entities: list[Entity]
    devices: list[VoiceDevice]

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<home>") -> Home:
        try:
            floors = [
                Floor(str(f["id"]), str(f["name"]), tuple(f.get("aliases") or ()))
                for f in data.get("floors") or []
            ]
            areas = [
                Area(
                    str(a["id"]),
                    str(a["name"]),
                    a.get("floor"),
                    tuple(a.get("aliases") or ()),
                    float(a.get("noise", 1.0)),
                )
                for a in data.get("areas") or []
            ]
            entities = [
                Entity(
                    id=str(e["id"]),
                    name=str(e["name"]),
                    area=e.get("area"),
                    aliases=tuple(str(x) for x in e.get("aliases") or ()),
                    state=str(e.get("state", "")),
                    attributes=dict(e.get("attributes") or {}),
                )
                for e in data.get("entities") or []
            ]
            devices = [
                VoiceDevice(str(d["id"]), str(d.get("type", "speaker")), d.get("area"))
                for d in data.get("devices") or []
            ]
        except (KeyError, TypeError, AttributeError) as exc:
            raise DataFileError(
                f"{source}: malformed home definition ({exc!r} missing or wrong)"
            ) from exc
        home = cls(str(data.get("name", "home")), floors, areas, entities, devices)
        home._check(source)
        return home

    def _check(self, source: str) -> None:
        area_ids = {a.id for a in self.areas}
        floor_ids = {f.id for f in self.floors}
        for area in self.areas:
            if not 0.0 <= area.noise <= 10.0:
                raise DataFileError(
                    f"{source}: area '{area.id}' noise must be in [0, 10]; got {area.noise}"
                )
            if area.floor is not None and area.floor not in floor_ids:
                raise DataFileError(
                    f"{source}: area '{area.id}' names unknown floor '{area.floor}'"
                )
        seen: set[str] = set()
        for entity in self.entities:
            if "." not in entity.id:
                raise DataFileError(f"{source}: entity id '{entity.id}' must be 'domain.object_id'")
            if entity.id in seen:
                raise DataFileError(f"{source}: entity id '{entity.id}' appears twice")
            seen.add(entity.id)
            if entity.area is not None and entity.area not in area_ids:
                raise DataFileError(
                    f"{source}: entity '{entity.id}' names unknown area '{entity.area}'"
                )
        for device in self.devices:
            if device.area is not None and device.area not in area_ids:
                raise DataFileError(
                    f"{source}: device '{device.id}' names unknown area '{device.area}'"
                )

    @classmethod
    def from_yaml(cls, path: Path | str) -> Home:
        return cls.from_dict(read_yaml_mapping(path, "home file"), str(path))

    @classmethod
    def default(cls) -> Home:
        """The home that ships with selflearn."""
        return cls.from_dict(packaged_yaml("default_home.yaml"), "default_home.yaml")

    def copy(self) -> Home:
        """An independent copy: entities (states, attributes) are copied; floors, areas
        and devices are immutable and shared."""
        entities = []
        for entity in self.entities:
            twin = copy.copy(entity)
            twin.attributes = dict(entity.attributes)
            entities.append(twin)
        return Home(self.name, list(self.floors), list(self.areas), entities, list(self.devices))

    # -- lookups -------------------------------------------------------------

    def area(self, area_id: str | None) -> Area | None:
        return next((a for a in self.areas if a.id == area_id), None)

    def area_by_name(self, name: str) -> Area | None:
        return _named(self.areas, name)

    def floor_by_name(self, name: str) -> Floor | None:
        return _named(self.floors, name)

    def entity(self, entity_id: str) -> Entity | None:
        return next((e for e in self.entities if e.id == entity_id), None)

    def device(self, device_id: str) -> VoiceDevice | None:
        return next((d for d in self.devices if d.id == device_id), None)

    def area_name(self, area_id: str | None) -> str | None:
        area = self.area(area_id)
        return area.name if area else None

    def states(self) -> dict[str, str]:
        return {e.id: e.state for e in self.entities}
