"""The home: floors, areas, entities with names, aliases and states, voice devices."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

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
    id: str
    name: str
    floor: str | None = None
    aliases: tuple[str, ...] = ()


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
                Area(str(a["id"]), str(a["name"]), a.get("floor"), tuple(a.get("aliases") or ()))
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
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise DataFileError(f"{path}: cannot read home file ({exc})") from exc
        if not isinstance(data, dict):
            raise DataFileError(
                f"{path}: a home file must hold a mapping with floors, areas, entities"
            )
        return cls.from_dict(data, str(path))

    @classmethod
    def default(cls) -> Home:
        """The home that ships with selflearn."""
        text = resources.files("selflearn.assistant").joinpath("data/default_home.yaml").read_text()
        return cls.from_dict(yaml.safe_load(text), "default_home.yaml")

    def copy(self) -> Home:
        return copy.deepcopy(self)

    # -- lookups -------------------------------------------------------------

    def area(self, area_id: str | None) -> Area | None:
        return next((a for a in self.areas if a.id == area_id), None)

    def area_by_name(self, name: str) -> Area | None:
        key = normalize_name(name)
        for area in self.areas:
            if key in (normalize_name(n) for n in (area.name, *area.aliases)):
                return area
        return None

    def floor_by_name(self, name: str) -> Floor | None:
        key = normalize_name(name)
        for floor in self.floors:
            if key in (normalize_name(n) for n in (floor.name, *floor.aliases)):
                return floor
        return None

    def entity(self, entity_id: str) -> Entity | None:
        return next((e for e in self.entities if e.id == entity_id), None)

    def device(self, device_id: str) -> VoiceDevice | None:
        return next((d for d in self.devices if d.id == device_id), None)

    def area_name(self, area_id: str | None) -> str | None:
        area = self.area(area_id)
        return area.name if area else None

    def states(self) -> dict[str, str]:
        return {e.id: e.state for e in self.entities}
