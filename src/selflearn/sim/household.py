"""Simulated households: a home of their own, voice devices in rooms, and 1–5 users.

Every household varies the shipped home (other names and aliases, rooms and devices
dropped or added, two towns that share a name), and every user keeps, across days,
hidden preferences, habits, their own words for things, a speech clarity and a patience.
Nothing here is visible to a learner except through what users say.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from selflearn.assistant.home import Entity, Home, VoiceDevice
from selflearn.assistant.media import Catalogue

__all__ = ["Habit", "Household", "User", "make_household"]

# Other names a household may give to the shipped home's things (entity id → names).
RENAMES: dict[str, tuple[str, ...]] = {
    "light.living_room_ceiling": ("Main Light", "Overhead Light"),
    "light.kitchen_counter": ("Cabinet Lights", "Strip Lights"),
    "light.bedroom_lamp": ("Bedside Light", "Nightstand Lamp"),
    "light.office_desk_lamp": ("Work Lamp", "Study Lamp"),
    "media_player.living_room_tv": ("Television", "Living Room TV"),
    "switch.coffee_maker": ("Espresso Machine", "Coffee Machine"),
    "cover.living_room_blinds": ("Living Room Blinds", "Shades"),
    "climate.thermostat": ("Heating", "Nest"),
    "light.garden_string": ("Garden Lights", "Patio Lights"),
    "switch.christmas_tree": ("Tree Lights", "Christmas Lights"),
}
AREA_RENAMES: dict[str, tuple[str, ...]] = {
    "living_room": ("Lounge", "Family Room", "Den"),
    "kids_room": ("Nursery", "Playroom", "Little Room"),
    "office": ("Study", "Home Office"),
    "garden": ("Backyard", "Patio"),
}
# A user's own words for a thing, by entity id: the home's names do not contain them.
OWN_WORDS: dict[str, tuple[str, ...]] = {
    "light.living_room_ceiling": ("the big light", "the main lights"),
    "light.kitchen_ceiling": ("the big light", "the top light"),
    "light.bedroom_ceiling": ("the big light",),
    "media_player.living_room_tv": ("the telly", "the box", "the tele"),
    "switch.coffee_maker": ("the coffee thing", "the brewer"),
    "switch.kettle": ("the water boiler",),
    "cover.living_room_blinds": ("the shutters", "the window things"),
    "climate.thermostat": ("the heat", "the furnace"),
    "light.garden_string": ("the twinkle lights",),
    "light.office_desk_lamp": ("my lamp",),
    "fan.bedroom_ceiling": ("the whirly fan",),
    "switch.office_heater": ("the little heater",),
}
# Towns that exist twice; each household's weather list holds one such pair.
TWIN_TOWNS = (
    ("Springfield", ("Illinois", "Massachusetts")),
    ("Portland", ("Oregon", "Maine")),
    ("Columbus", ("Ohio", "Georgia")),
    ("Wilkerson", ("California", "Nevada")),
)
GENRES = ("jazz", "rock", "pop", "classical", "hip hop", "country", "folk", "electronic")
TEAMS = ("Warriors", "Lakers", "Celtics", "Yankees", "Giants", "Arsenal", "Bulls")
CUISINES = ("Italian", "Thai", "Mexican", "Indian", "Japanese", "Greek", "Korean")
VOICE_ROOMS = ("kitchen", "living_room", "bedroom", "office", "kids_room")
USERS_PER_HOUSEHOLD = (1, 2, 3, 4, 5)
USERS_WEIGHTS = (0.2, 0.3, 0.25, 0.15, 0.1)


@dataclass(frozen=True)
class Habit:
    """A routine: at ``hour`` (± ``spread`` hours) on ``weekdays``, the user wants ``goal``.

    ``goal`` names a goal kind of :mod:`selflearn.sim.goals` and its target, e.g.
    ``("power_on", "switch.coffee_maker")``; ``after`` names the event it follows.
    """

    hour: float
    spread: float
    goal: tuple[str, str]
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
    after: str | None = None


@dataclass(frozen=True)
class User:
    """A household member. Hidden from learners; the simulator acts on it."""

    id: str
    clarity: float  # the speech channel's noise factor for this speaker (lower is clearer)
    patience: int  # attempts at one goal before giving up
    enrolled: bool  # the assistant recognises the voice (user_id is logged)
    home_device: str  # the device this user talks to most
    own_words: dict[str, str] = field(default_factory=dict)  # entity id → their word
    artists: tuple[str, ...] = ()
    genres: tuple[str, ...] = ()
    team: str = ""
    cuisine: str = ""
    place: str = ""  # the entity id of the twin town they mean
    wants_audiobooks: bool = False  # on a display, "play <title>" means the audiobook
    habits: tuple[Habit, ...] = ()
    politeness: float = 0.2  # share of requests with "please", "could you", …
    goals_per_day: float = 15.0


@dataclass
class Household:
    id: str
    home: Home
    users: list[User]
    seed: int

    @property
    def devices(self) -> list[VoiceDevice]:
        return self.home.devices


def _vary_home(base: Home, rng: random.Random, household_id: str) -> Home:
    home = base.copy()
    for entity in home.entities:
        if entity.id in RENAMES and rng.random() < 0.35:
            entity.name = rng.choice(RENAMES[entity.id])
    for i, area in enumerate(home.areas):
        if area.id in AREA_RENAMES and rng.random() < 0.3:
            new = rng.choice(AREA_RENAMES[area.id])
            aliases = tuple(a for a in (area.name, *area.aliases) if a != new)
            home.areas[i] = type(area)(area.id, new, area.floor, aliases, area.noise)
    # Not every home has everything.
    optional = ("switch.christmas_tree", "fan.office", "switch.office_heater", "light.porch")
    home.entities = [e for e in home.entities if e.id not in optional or rng.random() < 0.6]
    town, (state_a, state_b) = rng.choice(TWIN_TOWNS)
    for state in (state_a, state_b):
        slug = f"{town}_{state}".lower()
        home.entities.append(
            Entity(
                id=f"weather.{slug}",
                name=town,
                aliases=(f"{town} {state}",),
                state=rng.choice(("sunny", "cloudy", "rainy", "windy")),
                attributes={"temperature": rng.randint(-5, 30), "temperature_unit": "°C"},
            )
        )
    rooms = rng.sample(VOICE_ROOMS, rng.randint(2, len(VOICE_ROOMS)))
    if "kitchen" not in rooms and rng.random() < 0.7:
        rooms[0] = "kitchen"
    devices = []
    for room in rooms:
        kind = "display" if rng.random() < (0.6 if room == "living_room" else 0.25) else "speaker"
        prefix = "display" if kind == "display" else "satellite"
        # Device ids are unique across the fleet, as a multi-home log needs them to be.
        devices.append(VoiceDevice(f"{household_id}/{prefix}.{room}", kind, room))
    home.devices = devices
    return home


def _habits(rng: random.Random, home: Home) -> tuple[Habit, ...]:
    ids = {e.id for e in home.entities}
    options: list[Habit] = []
    wake = rng.uniform(6.0, 8.0)
    if "switch.coffee_maker" in ids:
        options.append(
            Habit(wake + 0.1, 0.15, ("power_on", "switch.coffee_maker"), (0, 1, 2, 3, 4), "alarm")
        )
    options.append(Habit(wake + 0.2, 0.3, ("weather", ""), (0, 1, 2, 3, 4, 5, 6), "alarm"))
    options.append(Habit(rng.uniform(17.0, 19.0), 0.4, ("area_lights_on", "living_room")))
    options.append(Habit(rng.uniform(22.0, 23.5), 0.3, ("area_lights_off", "living_room")))
    options.append(Habit(rng.uniform(18.5, 21.0), 1.0, ("play_music", "")))
    if "climate.oven" in ids:
        cook = rng.uniform(17.5, 19.0)
        # Dinner: the oven goes on, its temperature is asked in the kitchen, then it goes off.
        options.append(Habit(cook, 0.2, ("power_on", "climate.oven"), after="cooking"))
        options.append(Habit(cook + 0.3, 0.1, ("get_temperature", "climate.oven"), after="cooking"))
        options.append(Habit(cook + 1.0, 0.2, ("power_off", "climate.oven"), after="cooking"))
    if "light.bedroom_lamp" in ids:
        options.append(Habit(rng.uniform(22.5, 23.8), 0.3, ("power_off", "light.bedroom_lamp")))
    return tuple(rng.sample(options, rng.randint(1, 4)))


def _user(
    rng: random.Random, household_id: str, index: int, home: Home, catalogue: Catalogue
) -> User:
    ids = {e.id for e in home.entities}
    words = {eid: rng.choice(w) for eid, w in OWN_WORDS.items() if eid in ids}
    own = dict(rng.sample(sorted(words.items()), min(len(words), rng.choice((0, 0, 1, 1, 2)))))
    artists = sorted({i.artist for i in catalogue.items if i.artist and i.media_class == "track"})
    towns = sorted(
        e.id for e in home.entities if e.id.startswith("weather.") and e.id != "weather.home"
    )
    # Clarity: most speakers are clear near a device; some are far, fast or young.
    clarity = min(1.4, rng.lognormvariate(-2.8, 0.6))
    return User(
        id=f"{household_id}-u{index}",
        clarity=round(clarity, 3),
        patience=rng.choices((1, 2, 3, 4), weights=(0.15, 0.35, 0.35, 0.15))[0],
        enrolled=rng.random() < 0.85,
        home_device=rng.choice(home.devices).id,
        own_words=own,
        artists=tuple(rng.sample(artists, 2)),
        genres=tuple(rng.sample(GENRES, 2)),
        team=rng.choice(TEAMS),
        cuisine=rng.choice(CUISINES),
        place=rng.choice(towns) if towns else "",
        wants_audiobooks=rng.random() < 0.35,
        habits=_habits(rng, home),
        politeness=round(rng.uniform(0.0, 0.3), 2),
        goals_per_day=round(rng.uniform(9.0, 21.0), 1),
    )


def changed_user(user: User, home: Home, rng: random.Random) -> User:
    """The same person some time later, with meanings the assistant has not seen them use:
    the other of the twin towns (they moved, or follow the other now), the other media
    class on a display (the film after the audiobook, or back), and their own word for a
    thing they had none for (or another word for one they had)."""
    towns = sorted(
        e.id for e in home.entities if e.id.startswith("weather.") and e.id != "weather.home"
    )
    other = [t for t in towns if t != user.place]
    ids = {e.id for e in home.entities}
    words = dict(user.own_words)
    fresh = sorted(
        (eid, w) for eid, options in OWN_WORDS.items() if eid in ids
        for w in options if words.get(eid) != w
    )  # fmt: skip
    if fresh:
        eid, word = rng.choice(fresh)
        words[eid] = word
    return replace(
        user,
        place=other[0] if other else user.place,
        wants_audiobooks=not user.wants_audiobooks,
        own_words=words,
    )


def make_household(
    index: int, seed: int, base: Home | None = None, catalogue: Catalogue | None = None
) -> Household:
    """Household ``index`` of the population drawn with ``seed`` (reproducible).

    >>> a, b = make_household(3, seed=7), make_household(3, seed=7)
    >>> [u.clarity for u in a.users] == [u.clarity for u in b.users]
    True
    """
    rng = random.Random(f"household-{seed}-{index}")
    household_id = f"h{index:04d}"
    home = _vary_home(base if base is not None else Home.default(), rng, household_id)
    home.name = f"Household {index}"
    catalogue = catalogue if catalogue is not None else Catalogue.default()
    n_users = rng.choices(USERS_PER_HOUSEHOLD, weights=USERS_WEIGHTS)[0]
    users = [_user(rng, household_id, i, home, catalogue) for i in range(1, n_users + 1)]
    return Household(household_id, home, users, rng.getrandbits(32))
