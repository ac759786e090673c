"""What no rewrite may do, whatever its score: contradict what the user said or where.

A rewrite that turns "lamp on" into "lamp off", "unlock the door" into "is the door
locked", or "lights off in the playroom" into "lights off in the living room" is a wrong
action, the worst outcome there is. So every layer checks its rewrite against the request:

* an action word the user said may not become its opposite ("on" → "off", "open" → "close"),
  and an action may not be guessed where the user's words (as heard) carry none ("the tv"
  → "the tv off");
* a question may not become a command ("is the door locked" → "lock the door");
* a place the user named must stay in the rewrite;
* a place the user did not name may be added only if it is where they are (the room of the
  device they spoke to): which room "the lamp" is in depends on where the user stands;
* a device name or a title the user said must stay, and no other may be added ("the strip
  lights" never becomes "the night light", "the lamp" never "the desk lamp", "summer
  nights" never "summer night"); where the user's words carry no name (it was misheard),
  the rewrite may supply one.

Places and names are those the log has seen (``guard.json`` in the artefacts).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from selflearn.rewrite.base import normalize_utterance

__all__ = ["GUARD_FILE", "Guard", "load_guard"]
_QUESTION = frozenset(
    {
        "is",
        "are",
        "what",
        "whats",
        "what's",
        "how",
        "hows",
        "how's",
        "when",
        "which",
        "did",
        "does",
        "do",
        "was",
        "who",
        "where",
        "tell",
    }
)


def asks(words: list[str]) -> bool:
    """Is the utterance a question (about a state) rather than a command?"""
    return bool(words) and (words[0] in _QUESTION or (len(words) > 1 and words[1] in _QUESTION))


GUARD_FILE = "guard.json"

_ON = frozenset(
    {"on", "open", "opens", "opened", "opening", "up", "activate", "start", "resume", "enable"}
)
_OFF = frozenset(
    {
        "off",
        "out",
        "close",
        "closes",
        "closed",
        "closing",
        "shut",
        "down",
        "deactivate",
        "stop",
        "pause",
        "cancel",
        "disable",
        "kill",
    }
)
_OPPOSITES = (
    (_ON, _OFF),
    ({"lock", "locks", "locked", "locking"}, {"unlock", "unlocks", "unlocked", "unlocking"}),
    (
        {"up", "raise", "increase", "higher", "louder", "brighter", "warmer"},
        {"down", "lower", "decrease", "quieter", "softer", "dimmer", "cooler"},
    ),
)
_ACTIONS = frozenset().union(*(a | b for a, b in _OPPOSITES))


def load_guard(folder: Path) -> Guard:
    """The guard saved with the artefacts (an empty one, still checking actions and
    questions, where there is none)."""
    path = folder / GUARD_FILE
    if not path.is_file():
        return Guard()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Guard(data.get("places", ()), data.get("names", ()))
    except (OSError, ValueError, AttributeError):
        return Guard()


class Guard:
    """``reason(source, target, area)``: why the rewrite is not allowed, or None.

    >>> guard = Guard(["kitchen", "living room", "playroom"], ["strip lights", "night light"])
    >>> guard.reason("set the strip lights to 80", "set the night light to 80", None)
    'drops a name'
    >>> guard.reason("is the curtain open", "open the curtain", None)
    'question to command'
    >>> guard.reason("the tv are", "the tv off", None)
    'adds an action'
    >>> guard.reason("brightness 80 on the strip lights", "set the night light and strip lights to 80", None)
    'changes a name'
    >>> guard.reason("lamp on", "turn off the lamp", None)
    'opposite action'
    >>> guard.reason("lights off in the playroom", "living room lights off", None)
    'drops a place'
    >>> guard.reason("start the ceiling light", "turn on the ceiling light in the kitchen", "Living Room")
    'adds a place'
    >>> guard.reason("start the ceiling light", "turn on the ceiling light in the kitchen", "Kitchen")
    """

    def __init__(self, places: Iterable[str] = (), names: Iterable[str] = ()) -> None:
        def longest_first(items: Iterable[str]) -> tuple[str, ...]:
            kept = {normalize_utterance(i) for i in items}
            return tuple(sorted((k for k in kept if k), key=lambda k: (-len(k), k)))

        self.places = longest_first(places)
        self.names = tuple(n for n in longest_first(names) if n not in set(self.places))

    def save(self, folder: Path) -> Path:
        path = folder / GUARD_FILE
        data = {"places": list(self.places), "names": list(self.names)}
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    @staticmethod
    def _found(text: str, vocabulary: tuple[str, ...]) -> set[str]:
        padded = f" {text} "
        found: set[str] = set()
        for item in vocabulary:  # longest first: "living room" before "room"
            if f" {item} " in padded:
                found.add(item)
                padded = padded.replace(f" {item} ", " ")
        return found

    def reason(self, source: str, target: str, area: str | None) -> str | None:
        said, new = set(source.split()), set(target.split())
        for one, other in _OPPOSITES:
            if (said & one and new & other - said) or (said & other and new & one - said):
                return "opposite action"
        if new & _ACTIONS and not said & _ACTIONS:
            return "adds an action"
        if asks(source.split()) and not asks(target.split()):
            return "question to command"
        names = self._found(source, self.names)
        for name in names:
            if not set(name.split()) <= new:
                return "drops a name"
        if names and not self._found(target, self.names) <= names:
            return "changes a name"
        if not self.places:
            return None
        named, rewritten = self._found(source, self.places), self._found(target, self.places)
        if named - rewritten:
            return "drops a place"
        here = normalize_utterance(area) if area else None
        added = rewritten - named
        if added and (here is None or added != {here}):
            return "adds a place" if here is not None else None
        return None
