"""How users say what they want: three sources, mixed per user.

1. **Home Assistant's templates**, sampled by hassil from the installed
   ``home-assistant-intents`` with placeholders for names, rooms and numbers, then
   filled with the goal's values (what the templates cover, said in their words).
2. **Our own phrasing rules**: synonyms, word order, fillers, politeness, indirect
   requests, and each user's own words for things (much of it the templates miss).
3. **Real user phrasings** from HWU64 and SLURP, read from ``../shared/data`` when it
   is present (see :mod:`selflearn.sim.realdata`).

The module also holds the rephrasing strategies users apply after a failure.
"""

from __future__ import annotations

import itertools
import random
import re
from functools import lru_cache

from hassil.expression import TextChunk
from hassil.intents import SlotList, TextSlotList, TextSlotValue
from hassil.sample import sample_sentence

from selflearn.assistant.nlu import IntentMatcher, load_intents
from selflearn.sim.goals import Goal
from selflearn.sim.household import User
from selflearn.sim.realdata import RealPhrasings

__all__ = ["STRATEGIES", "Phraser", "template_skeletons"]

SOURCES = ("template", "rules", "real")
STRATEGIES = ("repeat", "canonical", "synonym", "add_room", "real_name", "shorten", "correct")
# How users correct the assistant out loud: the words around what they restate.
CORRECTIONS = (
    "no i said {}",
    "no {}",
    "i said {}",
    "i meant {}",
    "no no {}",
    "that's wrong {}",
    "no i wanted {}",
    "{} i said",
)
_PLACEHOLDER = re.compile(r"\{(\w+)\}|NAMEX|AREAX")
_RANGE_VALUES = {"brightness", "temperature", "position", "volume", "timer_minutes", "search_query"}
_ODD = re.compile(r"\b(the|my|our|all|a|an) (the|my|our|a|an)\b|\b(\w+) \3\b")
SKELETONS_PER_TEMPLATE = 12
CANDIDATES = 16  # templates per (intent, goal shape) a household draws from
MAX_SKELETON_WORDS = 10

# Our own rules. "{ref}" is how the user names the target; "{area}" its room.
RULES: dict[str, tuple[str, ...]] = {
    "power_on": (
        "switch on {ref}",
        "turn {ref} on",
        "put {ref} on",
        "{ref} on",
        "can you turn on {ref}",
        "i need {ref} on",
        "start {ref}",
        "power on {ref}",
        "fire up {ref}",
    ),
    "power_off": (
        "switch off {ref}",
        "turn {ref} off",
        "shut off {ref}",
        "{ref} off",
        "can you turn off {ref}",
        "kill {ref}",
        "power down {ref}",
        "stop {ref}",
    ),
    "area_lights_on": (
        "lights on in the {area}",
        "switch on the {area} lights",
        "turn the {area} lights on",
        "it's too dark in the {area}",
        "light up the {area}",
        "i can't see anything in the {area}",
    ),
    "area_lights_off": (
        "lights off in the {area}",
        "switch off the {area} lights",
        "turn the {area} lights off",
        "kill the lights in the {area}",
        "lights out in the {area}",
    ),
    "brightness": (
        "dim {ref} to {value} percent",
        "{ref} at {value} percent",
        "make {ref} {value} percent",
        "set {ref} to {value} percent",
        "brightness {value} on {ref}",
    ),
    "set_temperature": (
        "make it {value} degrees",
        "set {ref} at {value}",
        "put {ref} on {value} degrees",
        "i want it {value} degrees in here",
        "change {ref} to {value}",
    ),
    "get_temperature": (
        "what's the temperature",
        "how hot is {ref}",
        "what is {ref} at",
        "temperature of {ref}",
        "how warm is it",
    ),
    "get_state": (
        "did i lock {ref}",
        "is {ref} still open",
        "check {ref}",
        "is {ref} closed",
    ),
    "weather": (
        "what's it like outside",
        "do i need an umbrella",
        "what's the weather like",
        "how's the weather",
        "weather please",
        "what's the forecast",
    ),
    "weather_place": (
        "what's the weather in {place}",
        "weather for {place}",
        "how's the weather in {place}",
        "is it raining in {place}",
    ),
    "timer_start": (
        "timer {value} minutes",
        "start a {value} minute timer",
        "set the timer to {value} minutes",
        "remind me in {value} minutes",
        "count down {value} minutes",
        "{value} minute timer",
    ),
    "timer_cancel": ("stop the timer", "cancel my timer", "never mind the timer", "kill the timer"),
    "timer_status": (
        "how long is left on the timer",
        "how much time is left",
        "when is the timer done",
        "check the timer",
    ),
    "time": ("what's the time", "what time is it now", "tell me the time", "time please"),
    "date": ("what day is it", "what's today's date", "what's the date", "which day is today"),
    "play_music": (
        "play {title}",
        "put on {title}",
        "i want to hear {title}",
        "play the song {title}",
        "can you play {title} please",
        "play {title} by {artist}",
    ),
    "play_media": (
        "play {title}",
        "put on {title}",
        "start {title}",
        "i want to watch {title}",
        "i want to listen to {title}",
    ),
    "media_control:pause": ("pause it", "stop the music", "hold on pause", "pause the music"),
    "media_control:resume": ("continue", "keep playing", "resume playing", "unpause"),
    "media_control:next": ("skip", "skip this song", "next song", "play the next one"),
    "media_control:volume_up": ("louder", "turn it up", "volume up", "make it louder"),
    "media_control:volume_down": ("quieter", "turn it down", "volume down", "too loud"),
    "media_control:volume_set": (
        "volume {value}",
        "volume to {value}",
        "set volume {value} percent",
    ),
    "cover_position": (
        "open {ref} halfway",
        "put {ref} at {value} percent",
        "{ref} to {value} percent",
        "move {ref} to {value}",
    ),
}
POLITE = ("please {x}", "{x} please", "please {x}", "{x} please", "{x} please", "{x} thanks")
POLITE_COMMAND = ("could you {x}", "can you {x} for me", "would you {x} please", "can you {x}")
COMMAND_VERBS = frozenset(
    [
        "turn",
        "switch",
        "set",
        "play",
        "open",
        "close",
        "lock",
        "unlock",
        "start",
        "stop",
        "put",
        "cancel",
        "make",
        "dim",
        "pause",
        "resume",
        "change",
        "raise",
        "lower",
        "activate",
        "deactivate",
    ]
)
FILLERS = ("um {x}", "uh {x}", "okay {x}", "so {x}", "hey {x}")
SYNONYMS = (
    ("turn on", "switch on"),
    ("turn off", "switch off"),
    ("what is", "what's"),
    ("play", "put on"),
    ("set", "change"),
    ("cancel", "stop"),
)
FILLER_RATE = 0.02  # disfluent starts ("um", "so") that the templates do not allow
_WRAPPER_WORDS = re.compile(
    r"^(?:please|could you|can you|would you|um|uh|okay|so|hey)\s+|\s+(?:please|for me)$"
)


def _fill_lists(intents_lists: dict[str, SlotList]) -> dict[str, SlotList]:
    lists = dict(intents_lists)
    for name in ("name", "area", "floor"):
        marker = f"{name.upper()}X"
        lists[name] = TextSlotList(name=name, values=[TextSlotValue(TextChunk(marker), marker)])
    return lists


@lru_cache(maxsize=2)
def template_skeletons(language: str = "en") -> dict[str, tuple[str, ...]]:
    """Per intent, template expansions with NAMEX / AREAX / {number} placeholders."""
    intents = load_intents(language)
    lists = _fill_lists(intents.slot_lists)
    picker = random.Random(0)
    out: dict[str, tuple[str, ...]] = {}
    for name, intent in intents.intents.items():
        found: set[str] = set()
        for data in intent.data:
            rules = {**intents.expansion_rules, **data.expansion_rules}
            for sentence in data.sentences:
                head = list(
                    itertools.islice(
                        sample_sentence(sentence, lists, rules, language, expand_ranges=False),
                        SKELETONS_PER_TEMPLATE * 8,
                    )
                )
                for text in picker.sample(head, min(SKELETONS_PER_TEMPLATE, len(head))):
                    text = " ".join(text.split())
                    placeholders = set(re.findall(r"\{(\w+)\}", text))
                    if (
                        "FLOORX" in text
                        or not placeholders <= _RANGE_VALUES
                        or len(text.split()) > MAX_SKELETON_WORDS
                        or _ODD.search(text)
                    ):
                        continue
                    found.add(text)
        out[name] = tuple(sorted(found))
    return out


class Phraser:
    """Renders a goal as one user would say it, and rephrases after a failure."""

    # Whether a template says a kind of goal depends on the template and the target's
    # kind, not on the household: shared by every household in the process.
    _valid: dict[tuple[str | None, ...], bool] = {}  # noqa: RUF012
    _shapes: dict[tuple[str, str, bool, bool], list[str]] = {}  # noqa: RUF012

    def __init__(
        self,
        matcher: IntentMatcher,
        real: RealPhrasings,
        *,
        weights: tuple[float, float, float] = (0.9, 0.06, 0.04),
    ) -> None:
        self.matcher = matcher
        self.real = real
        self.weights = weights if real else (weights[0], weights[1], 0.0)
        self.skeletons = template_skeletons(matcher.language)

    # -- sources --------------------------------------------------------------------

    def _values(self, goal: Goal, ref: str) -> dict[str, str]:
        value = "" if goal.value is None else str(goal.value)
        return {
            "NAMEX": ref.removeprefix("the ").removeprefix("my "),
            "AREAX": (goal.area or "").lower(),
            "brightness": value,
            "temperature": value,
            "position": value,
            "volume": value,
            "timer_minutes": value,
            "search_query": (goal.ref or goal.media.title.lower()) if goal.media else "",
        }

    def _shape_fits(self, goal: Goal, skeleton: str) -> bool:
        """Does the template name what the goal names: the target, its room, its value?"""
        has_name, has_area = "NAMEX" in skeleton, "AREAX" in skeleton
        if goal.kind.startswith("area_lights"):
            if has_name or not has_area:
                return False
        elif goal.name is not None:
            if not has_name:
                return False
        elif has_name or has_area:
            return False
        if "{search_query}" in skeleton:
            return goal.media is not None
        return "{" not in skeleton or goal.value is not None

    def _candidates(self, goal: Goal) -> list[str]:
        key = (goal.intent, goal.kind, goal.name is not None, goal.value is not None)
        found = self._shapes.get(key)
        if found is None:
            # A bounded set per shape, favouring short templates: each is checked once.
            fits = [t for t in self.skeletons.get(goal.intent, ()) if self._shape_fits(goal, t)]
            fits.sort(key=lambda t: (len(t.split()), t))
            shortest = fits[: CANDIDATES * 3]
            found = random.Random(" ".join(map(str, key))).sample(
                shortest, min(CANDIDATES, len(shortest))
            )
            self._shapes[key] = found
        return found

    def _says_goal(self, goal: Goal, skeleton: str) -> bool:
        """Does the template say *this* goal (not a wider or another one)? Checked once
        per template and goal shape, with the home's real names."""
        # Everything the strict match depends on is in the key, so the answer is the
        # same whichever household asks first (reproducible across worker processes).
        entity_kind = (goal.target or "").split(".")[0] or getattr(goal.media, "media_class", "")
        key = (
            skeleton,
            goal.intent,
            entity_kind,
            goal.kind,
            goal.name,
            goal.area,
            goal.device_area,
            goal.canonical,  # what is meant, its number included ("half an hour" is 30)
        )
        if key not in self._valid:
            text = self._fill(skeleton, goal, (goal.name or "").lower())
            nlu = self.matcher.match(text, goal.device_area, only=goal.intent)
            canonical = self.matcher.match(goal.canonical, goal.device_area, only=goal.intent)
            # Same intent, domain and values ("lowest" is not 40 percent). Whether the
            # media class is said is the user's choice ("play X" on a display is the
            # movie), but a class said must be the right one.
            names = {"name", "area", "media_class", "search_query"}
            said_class = nlu.slots.get("media_class")
            self._valid[key] = (
                nlu.intent == goal.intent
                and not nlu.unmatched
                and nlu.domain == canonical.domain
                and {k: v for k, v in nlu.slots.items() if k not in names}
                == {k: v for k, v in canonical.slots.items() if k not in names}
                and (said_class is None or said_class == getattr(goal.media, "media_class", None))
            )
        return self._valid[key]

    def _fill(self, skeleton: str, goal: Goal, ref: str) -> str:
        values = self._values(goal, ref)
        text = _PLACEHOLDER.sub(lambda m: values.get(m.group(1) or m.group(0), ""), skeleton)
        return " ".join(text.split())

    def from_templates(self, goal: Goal, ref: str, rng: random.Random) -> str | None:
        pool = self._candidates(goal)
        fitting: list[str] = []
        for _ in range(6):
            if not pool or len(fitting) == 3:
                break
            skeleton = rng.choice(pool)
            if self._says_goal(goal, skeleton):
                text = self._fill(skeleton, goal, ref)
                if not _ODD.search(text):  # "the big light light": not how people talk
                    fitting.append(text)
        # Templates allow every combination of optional words; people use the short ones.
        return min(fitting, key=lambda t: len(t.split())) if fitting else None

    def from_rules(self, goal: Goal, ref: str, rng: random.Random) -> str | None:
        key = goal.kind
        if goal.kind == "media_control":
            key = f"media_control:{goal.slots.get('action')}"
        elif goal.kind == "weather" and goal.name:
            key = "weather_place"
        patterns = RULES.get(key, ())
        if not patterns:
            return None
        return _render(rng.choice(patterns), goal, ref)

    def from_real(self, goal: Goal, ref: str, rng: random.Random) -> str | None:
        keys = [goal.kind]
        if goal.kind == "media_control":
            keys = [f"media_control:{goal.slots.get('action')}"]
        elif goal.kind == "play_media" and goal.media is not None:
            keys = [f"play_media:{goal.media.media_class}"]
        elif goal.kind == "power_on" and goal.target:
            keys = [f"power_on:{goal.target}", "power_on"]
        for key in keys:
            fitting = [p for p in self.real.for_key(key) if _real_fits(p, goal)]
            if fitting:
                return _render(rng.choice(fitting), goal, ref)
        return None

    # -- what the user says -----------------------------------------------------------

    def first(self, goal: Goal, user: User, rng: random.Random) -> tuple[str, str]:
        """The first attempt at ``goal``: (text, source)."""
        if goal.kind == "play_taste":
            return rng.choice(TASTE_PHRASES), "taste"
        ref = goal.ref or ""
        source = rng.choices(SOURCES, weights=self.weights)[0]
        makers = {
            "template": self.from_templates,
            "rules": self.from_rules,
            "real": self.from_real,
        }
        text = makers[source](goal, ref, rng)
        if text is None:
            source, text = "canonical", goal.canonical
            if goal.target in user.own_words and goal.name:
                text = text.replace(f"the {goal.name.lower()}", ref)
        words = text.split()
        if rng.random() < user.politeness and not _WRAPPER_WORDS.search(text):
            command = bool(words) and words[0] in COMMAND_VERBS
            text = rng.choice(POLITE_COMMAND if command else POLITE).format(x=text)
        elif rng.random() < FILLER_RATE:
            text = rng.choice(FILLERS).format(x=text)
        return " ".join(text.split()), source

    def correction(self, goal: Goal, last: str, rng: random.Random) -> tuple[str, str]:
        """A spoken correction ("no I said …") and the words in it that restate the request."""
        restated = last if rng.random() < 0.6 else goal.canonical
        return rng.choice(CORRECTIONS).format(restated), restated

    def rephrase(self, goal: Goal, last: str, strategy: str, rng: random.Random) -> str:
        """The next attempt after a failure, by ``strategy`` (one of :data:`STRATEGIES`)."""
        if strategy == "repeat":
            return last
        if strategy == "synonym":
            options = [(a, b) for a, b in SYNONYMS if a in last] + [
                (b, a) for a, b in SYNONYMS if b in last
            ]
            if options:
                a, b = rng.choice(options)
                return re.sub(rf"\b{re.escape(a)}\b", b, last, count=1)
            return goal.canonical
        if strategy == "add_room":
            if goal.area and goal.area.lower() not in last:
                return f"{_WRAPPER_WORDS.sub('', last)} in the {goal.area.lower()}"
            return goal.canonical
        if strategy == "real_name":
            if (
                goal.ref
                and goal.name
                and goal.ref in last
                and goal.ref != f"the {goal.name.lower()}"
            ):
                return last.replace(goal.ref, f"the {goal.name.lower()}")
            return goal.canonical
        if strategy == "correct":
            return self.correction(goal, last, rng)[0]
        if strategy == "shorten":
            shorter = _WRAPPER_WORDS.sub("", last)
            shorter = _WRAPPER_WORDS.sub("", shorter)
            return shorter if shorter and shorter != last else goal.canonical
        return goal.canonical


# How people ask for "something I like" (the taste goal: the user means their favourite artist).
TASTE_PHRASES = (
    "play some music",
    "play something i like",
    "play my music",
    "play me some tunes",
    "put on some music",
    "play something good",
    "play music",
)


def _real_fits(pattern: str, goal: Goal) -> bool:
    slots = set(re.findall(r"\{(\w+)\}", pattern))
    if goal.kind in ("area_lights_on", "area_lights_off"):
        return slots <= {"area", "device"}
    if goal.kind in ("power_on", "power_off"):
        return "device" in slots and slots <= {"device", "area"}
    if goal.kind == "weather":
        return slots == ({"place"} if goal.name else set())
    if goal.kind in ("play_music", "play_media"):
        return (
            "title" in slots
            and slots <= {"title", "artist"}
            and ("artist" not in slots or bool(goal.media and goal.media.artist))
        )
    return not slots


def _render(pattern: str, goal: Goal, ref: str) -> str:
    media = goal.media
    values = {
        "ref": ref,
        "area": (goal.area or "here").lower(),
        "value": "" if goal.value is None else str(goal.value),
        "place": goal.ref or "",
        "title": (goal.ref or media.title.lower()) if media else "",
        "artist": (media.artist or "").lower() if media else "",
        "device": "lights" if goal.kind.startswith("area_lights") else ref.removeprefix("the "),
    }
    return " ".join(re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), ""), pattern).split())
