"""What users want: goals over their household's devices, shaped by context.

A goal is an intent with its meaning (target entity, value, media item) and a
*canonical* phrasing: an unambiguous way to say it that the assistant understands.
What "done right" means — the state changes or the answer the user expects — is
taken from the assistant's own preview of the canonical phrasing, so the judge and
the assistant can never disagree about what an intent does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from selflearn.assistant.home import Entity, Home
from selflearn.assistant.media import Catalogue, MediaItem
from selflearn.assistant.pipeline import Assistant, Outcome
from selflearn.sim.household import User

__all__ = ["GOAL_KINDS", "Goal", "GoalSampler"]

# Goal kinds and how often each comes up (before context reshapes them).
GOAL_KINDS: dict[str, float] = {
    "power_on": 0.16,
    "power_off": 0.14,
    "area_lights_on": 0.05,
    "area_lights_off": 0.05,
    "brightness": 0.05,
    "set_temperature": 0.04,
    "get_temperature": 0.05,
    "get_state": 0.05,
    "weather": 0.07,
    "timer_start": 0.06,
    "timer_cancel": 0.02,
    "timer_status": 0.02,
    "time": 0.04,
    "date": 0.02,
    "play_music": 0.08,
    "play_media": 0.07,
    "media_control": 0.06,
    "cover_position": 0.02,
}
MISREMEMBER = 0.4  # how often a title with a near-twin is said as the twin's
OWN_WORD_SKIP = 0.4  # how often a user names a thing by its real name despite a word of their own
POWER_DOMAINS = ("light", "switch", "fan", "media_player", "cover", "lock")
ON_VERBS = {"cover": "open", "lock": "lock"}
OFF_VERBS = {"cover": "close", "lock": "unlock"}
MEDIA_WORDS = {
    "movie": "movie",
    "audiobook": "audiobook",
    "podcast": "podcast",
    "playlist": "playlist",
    "album": "album",
    "tv_show": "show",
    "artist": "artist",
}


@dataclass(frozen=True)
class Goal:
    """One thing a user wants. ``ref`` is how the user names the target, by default."""

    kind: str
    intent: str
    canonical: str
    device_id: str
    target: str | None = None  # entity id (or area id for area goals)
    area: str | None = None  # the target's area name
    name: str | None = None  # the target's name in the home
    ref: str | None = None  # how this user refers to it (may be their own word)
    value: Any = None
    media: MediaItem | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    expected_changes: dict[str, str] = field(default_factory=dict)
    expected_targets: tuple[str, ...] = ()
    query: bool = False
    ambiguous_name: bool = False  # the home has several things with the target's name
    device_area: str | None = None  # the name of the room the user speaks in
    # a meaning only this user holds: "alias" (their own word for the target), "place" (an
    # ambiguous town they mean one of), "taste" ("play some music": what they like)
    personal: str | None = None


def _the(name: str) -> str:
    lowered = name.lower()
    return lowered if lowered.startswith(("the ", "my ")) else f"the {lowered}"


class GoalSampler:
    """Draws a user's next goal from their household's home, their habits and context."""

    def __init__(
        self, home: Home, catalogue: Catalogue, assistant: Assistant, taste_rate: float = 0.0
    ) -> None:
        self.home = home
        self.catalogue = catalogue
        self.assistant = assistant
        self.taste_rate = taste_rate  # share of music goals that are "play something I like"

    # -- the pieces ---------------------------------------------------------------

    def _entities(self, domains: tuple[str, ...]) -> list[Entity]:
        return [e for e in self.home.entities if e.domain in domains]

    def _pick_entity(
        self, rng: random.Random, domains: tuple[str, ...], here: str | None
    ) -> Entity | None:
        pool = self._entities(domains)
        local = [e for e in pool if e.area == here]
        if local and rng.random() < 0.65:
            return rng.choice(local)
        return rng.choice(pool) if pool else None

    def _ambiguous(self, entity: Entity) -> bool:
        key = entity.name.lower()
        return sum(1 for e in self.home.entities if e.name.lower() == key) > 1

    def _entity_goal(
        self,
        kind: str,
        intent: str,
        entity: Entity,
        phrase: str,
        device_id: str,
        user: User,
        rng: random.Random,
    ) -> Goal:
        area = self.home.area_name(entity.area)
        ambiguous = self._ambiguous(entity)
        canonical = phrase.format(ref=_the(entity.name))
        if ambiguous and area:
            canonical += f" in the {area.lower()}"
        own = entity.id in user.own_words and rng.random() >= OWN_WORD_SKIP
        return Goal(
            kind=kind,
            intent=intent,
            canonical=canonical,
            device_id=device_id,
            target=entity.id,
            area=area,
            name=entity.name,
            ref=user.own_words[entity.id] if own else _the(entity.name),
            slots={"name": entity.name, **({"area": area} if area else {})},
            ambiguous_name=ambiguous,
            personal="alias" if own else None,
        )

    # -- kinds ----------------------------------------------------------------------

    def _draft(
        self, kind: str, rng: random.Random, user: User, device_id: str, hint: str
    ) -> Goal | None:
        device = self.home.device(device_id)
        here = device.area if device else None
        if kind in ("power_on", "power_off"):
            entity = self.home.entity(hint) if hint else None
            entity = entity or self._pick_entity(rng, POWER_DOMAINS, here)
            if entity is None:
                return None
            on = kind == "power_on"
            verb = (ON_VERBS if on else OFF_VERBS).get(entity.domain)
            phrase = f"{verb} {{ref}}" if verb else f"turn {'on' if on else 'off'} {{ref}}"
            return self._entity_goal(
                kind, "HassTurnOn" if on else "HassTurnOff", entity, phrase, device_id, user, rng
            )
        if kind in ("area_lights_on", "area_lights_off"):
            areas = {e.area for e in self._entities(("light",)) if e.area}
            area_id = (
                hint if hint in areas else (here if here in areas and rng.random() < 0.7 else None)
            )
            area_id = area_id or rng.choice(sorted(areas))
            area = self.home.area_name(area_id) or ""
            on = kind == "area_lights_on"
            return Goal(
                kind=kind,
                intent="HassTurnOn" if on else "HassTurnOff",
                canonical=f"turn {'on' if on else 'off'} the lights in the {area.lower()}",
                device_id=device_id,
                target=area_id,
                area=area,
                ref=f"the {area.lower()} lights",
                slots={"area": area, "domain": "light"},
            )
        if kind == "brightness":
            entity = self._pick_entity(rng, ("light",), here)
            if entity is None:
                return None
            value = rng.choice((10, 20, 30, 40, 50, 60, 70, 80, 90, 100))
            goal = self._entity_goal(
                kind,
                "HassLightSet",
                entity,
                f"set {{ref}} brightness to {value} percent",
                device_id,
                user,
                rng,
            )
            return _with(goal, value=value, slots={**goal.slots, "brightness": value})
        if kind == "set_temperature":
            entity = self.home.entity("climate.thermostat") or self.home.entity(
                "climate.bedroom_ac"
            )
            if entity is None:
                return None
            value = rng.randint(17, 24)
            goal = self._entity_goal(
                kind,
                "HassClimateSetTemperature",
                entity,
                f"set {{ref}} to {value} degrees",
                device_id,
                user,
                rng,
            )
            return _with(goal, value=value, slots={**goal.slots, "temperature": value})
        if kind == "get_temperature":
            oven = self.home.entity("climate.oven")
            # Context: in the kitchen with the oven on, "the temperature" is the oven's.
            if here == "kitchen" and oven is not None and oven.state == "heat":
                entity = oven
            else:
                entity = self.home.entity("climate.thermostat") or oven
            if entity is None:
                return None
            return self._entity_goal(
                kind,
                "HassClimateGetTemperature",
                entity,
                "what is the temperature of {ref}",
                device_id,
                user,
                rng,
            )
        if kind == "get_state":
            entity = self._pick_entity(rng, ("lock", "cover"), here)
            if entity is None:
                return None
            word = "locked" if entity.domain == "lock" else "open"
            return self._entity_goal(
                kind, "HassGetState", entity, f"is {{ref}} {word}", device_id, user, rng
            )
        if kind == "weather":
            towns = [e for e in self.home.entities if e.id == user.place]
            if towns and rng.random() < 0.2:
                town = towns[0]
                return Goal(
                    kind=kind,
                    intent="HassGetWeather",
                    canonical=f"what is the weather in {town.aliases[0].lower()}",
                    device_id=device_id,
                    target=town.id,
                    name=town.name,
                    ref=town.name.lower(),
                    slots={"name": town.name},
                    ambiguous_name=self._ambiguous(town),
                    personal="place" if self._ambiguous(town) else None,
                )
            return Goal(kind, "HassGetWeather", "what is the weather", device_id)
        if kind == "timer_start":
            minutes = rng.choice((1, 2, 3, 5, 5, 10, 10, 15, 20, 25, 30, 45))
            return Goal(
                kind,
                "HassStartTimer",
                f"set a timer for {minutes} minutes",
                device_id,
                value=minutes,
                slots={"minutes": minutes},
            )
        if kind == "timer_cancel":
            if not self.assistant.executor.timers:
                return None
            return Goal(kind, "HassCancelTimer", "cancel the timer", device_id)
        if kind == "timer_status":
            if not self.assistant.executor.timers:
                return None
            return Goal(kind, "HassTimerStatus", "how much time is left on the timer", device_id)
        if kind == "time":
            return Goal(kind, "HassGetCurrentTime", "what time is it", device_id)
        if kind == "date":
            return Goal(kind, "HassGetCurrentDate", "what is the date today", device_id)
        if kind == "play_music" and self.taste_rate > 0 and rng.random() < self.taste_rate:
            return self._taste_goal(user, device_id)
        if kind == "play_music":
            tracks = [
                i for i in self.catalogue.items if i.media_class in ("track", "album", "playlist")
            ]
            mine = [i for i in tracks if i.artist in user.artists]
            item = rng.choice(mine if mine and rng.random() < 0.7 else tracks)
            return self._media_goal(kind, item, device_id, rng)
        if kind == "play_media":
            is_display = device is not None and device.type == "display"
            classes = (
                ("movie", "tv_show", "audiobook", "podcast")
                if is_display
                else ("audiobook", "podcast")
            )
            if is_display and user.wants_audiobooks:
                classes = ("audiobook", "podcast")
            items = [i for i in self.catalogue.items if i.media_class in classes]
            return self._media_goal(kind, rng.choice(items), device_id, rng) if items else None
        if kind == "media_control":
            playing = [
                e
                for e in self._entities(("media_player",))
                if e.area == here and e.state in ("playing", "paused")
            ]
            if not playing:
                return None
            paused = playing[0].state == "paused"
            action = rng.choice(
                ("resume",)
                if paused
                else ("pause", "next", "volume_up", "volume_down", "volume_set")
            )
            level: int | None = rng.choice((20, 30, 40, 50, 60)) if action == "volume_set" else None
            canonical, intent = {
                "resume": ("resume", "HassMediaUnpause"),
                "pause": ("pause", "HassMediaPause"),
                "next": ("next track", "HassMediaNext"),
                "volume_up": ("turn up the volume", "HassSetVolumeRelative"),
                "volume_down": ("turn down the volume", "HassSetVolumeRelative"),
                "volume_set": (f"set the volume to {level} percent", "HassSetVolume"),
            }[action]
            slots: dict[str, Any] = {"action": action}
            if level is not None:
                slots["volume"] = level
            return Goal(
                kind, intent, canonical, device_id, target=playing[0].id, value=level, slots=slots
            )
        if kind == "cover_position":
            entity = self._pick_entity(rng, ("cover",), here)
            if entity is None or entity.attributes.get("device_class") == "garage":
                return None
            value = rng.choice((25, 50, 75))
            goal = self._entity_goal(
                kind,
                "HassSetPosition",
                entity,
                f"set {{ref}} position to {value} percent",
                device_id,
                user,
                rng,
            )
            return _with(goal, value=value, slots={**goal.slots, "position": value})
        return None

    def _near_twin(self, item: MediaItem) -> MediaItem | None:
        """Another item whose title differs by a word ending ("Summer Night(s)")."""
        key = item.title.lower().rstrip("s")
        for other in self.catalogue.items:
            if other.id != item.id and other.title.lower().rstrip("s") == key:
                return other
        return None

    def _taste_goal(self, user: User, device_id: str) -> Goal | None:
        """ "Play some music", meaning the artist this user likes best (never said)."""
        artists = {i.title: i for i in self.catalogue.items if i.media_class == "artist"}
        liked = next((artists[a] for a in user.artists if a in artists), None)
        if liked is None:
            return None
        return Goal(
            "play_taste",
            "HassMediaSearchAndPlay",
            f"play {liked.title.lower()}",
            device_id,
            media=liked,
            ref="some music",
            slots={"search_query": liked.title.lower(), "media_class": "artist"},
            personal="taste",
        )

    def _media_goal(
        self, kind: str, item: MediaItem, device_id: str, rng: random.Random | None = None
    ) -> Goal:
        if item.media_class == "track" and item.artist:
            canonical = f"play {item.title.lower()} by {item.artist.lower()}"
        else:
            canonical = f"play the {MEDIA_WORDS.get(item.media_class, '')} {item.title.lower()}"
        # People misremember titles: a near-twin's title plays the wrong thing.
        twin = self._near_twin(item)
        said = twin.title if twin and rng is not None and rng.random() < MISREMEMBER else item.title
        return Goal(
            kind,
            "HassMediaSearchAndPlay",
            " ".join(canonical.split()),
            device_id,
            media=item,
            ref=said.lower(),
            slots={"search_query": item.title.lower(), "media_class": item.media_class},
        )

    # -- the whole draw -------------------------------------------------------------

    def expect(self, goal: Goal, ts: float) -> Goal | None:
        """``goal`` with what done-right means, from a preview of its canonical phrasing;
        None when even the canonical phrasing would not serve it (the goal is dropped).

        The canonical phrasing is judged by hassil alone, never by a fallback matcher the
        assistant may have: every arm of an A/B run must draw the same goals."""
        outcome: Outcome = self.assistant.preview(
            goal.canonical, device_id=goal.device_id, ts=ts, fallback=False
        )
        if outcome.nlu.intent != goal.intent or outcome.action.status != "success":
            return None
        targets = outcome.resolution.targets if outcome.resolution else ()
        if goal.media is not None and (
            outcome.resolution is None
            or outcome.resolution.media is None
            or outcome.resolution.media.item.id != goal.media.id
        ):
            return None
        changes = dict(outcome.action.changed)
        device = self.home.device(goal.device_id)
        return _with(
            goal,
            device_area=self.home.area_name(device.area) if device else None,
            expected_changes=changes,
            expected_targets=tuple(sorted(targets)),
            query=not changes,
        )

    def sample(
        self,
        rng: random.Random,
        user: User,
        device_id: str,
        ts: float,
        habit: tuple[str, str] | None = None,
    ) -> Goal | None:
        """The user's goal now, or None if nothing servable came up in a few draws."""
        kinds = list(GOAL_KINDS)
        weights = list(GOAL_KINDS.values())
        for attempt in range(6):
            if habit is not None and attempt == 0:
                kind, hint = habit
            else:
                kind, hint = rng.choices(kinds, weights=weights)[0], ""
            draft = self._draft(kind, rng, user, device_id, hint)
            if draft is None:
                continue
            goal = self.expect(draft, ts)
            if goal is not None:
                return goal
        return None


def _with(goal: Goal, **changes: Any) -> Goal:
    from dataclasses import replace

    return replace(goal, **changes)
