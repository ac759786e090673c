"""What no rewrite may do, whatever its score: contradict what the user said or where.

A rewrite that turns "lamp on" into "lamp off", "unlock the door" into "is the door
locked", or "lights off in the playroom" into "lights off in the living room" is a wrong
action, the worst outcome there is. So every layer checks its rewrite against the request
(``Guard.reason`` names what a rewrite would do wrong). Never, whatever the evidence:

* an action word turned into its opposite or into another action ("lower the lights" →
  "lights on"), dropped ("lamp off" → "the lamp"), or picked from a request that says both;
* an action guessed where the words (as heard) carry none ("the tv" → "the tv off");
* a question turned into a command, or a command into a question;
* a spoken correction replayed ("no I said play X" → "play X" redoes what was rejected);
* a room or a device name or title the user said dropped, or another put in its place
  ("the strip lights" never "the night light", "summer nights" never "summer night");
* a room added that is not where the user is, or that replaces one they almost said;
* a number or an amount the user said dropped ("open the blinds halfway" never "open the
  blinds"), or a level lowered turned off ("turn the lights down" never "lights off").

Some are guesses rather than contradictions, which evidence beyond one similarity score
may make: :data:`OFFLINE_MAY` (a mined row — users' own rephrases, repeated) may supply a
name the words do not sound like, a verbless target that means "turn on", a room-wide
target where the user named one device or where their device's name went unheard ("turn
on the [lamp] in the kitchen"), a device word kept without the word that said which one
("the steady lamp" → "the lamp": the study lamp, misheard, widened to every lamp), a
command made of what may be a question whose first word went unheard ("[is] the shade
open" → "open the shade"); :data:`OWN_HISTORY_MAY` (a rewrite to one of the
speaker's own repeated successes) may narrow a name ("portland" → "portland oregon");
:data:`OWN_ROW_MAY` (the speaker's own mined row) may do all of that, supply an action, or
change a name — which Portland, what "my lamp" alone means, are theirs to teach.

Places and names are those the log has seen (``guard.json`` in the artefacts).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

from rapidfuzz import fuzz

from selflearn.rewrite.base import normalize_utterance
from selflearn.rewrite.memo import Memo

__all__ = [
    "GUARD_FILE",
    "OFFLINE_MAY",
    "OWN_HISTORY_MAY",
    "OWN_ROW_MAY",
    "Guard",
    "load_guard",
    "reverses",
    "says_what_to_do",
]
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
        "check",
    }
)


def asks(words: list[str]) -> bool:
    """Is the utterance a question (about a state) rather than a command?"""
    return bool(words) and (words[0] in _QUESTION or (len(words) > 1 and words[1] in _QUESTION))


GUARD_FILE = "guard.json"
_HEARD_RATIO = 75  # rapidfuzz ratio at which a said word sounds like a name's word
# What evidence beyond one similarity score may let a rewrite do (see the docstring).
OFFLINE_MAY = frozenset(
    {
        "guesses a name",
        "implies an action",
        "widens to a room",
        "drops which one",
        "may be a question",
    }
)
OWN_HISTORY_MAY = frozenset({"narrows a name"})
OWN_ROW_MAY = OFFLINE_MAY | OWN_HISTORY_MAY | {"adds an action", "changes a name"}
# How a state ends a question whose first word went unheard ("[is] the door open").
_STATES = frozenset({"open", "opened", "closed", "locked", "unlocked", "on", "off"})
# States people ask about more than they order: "[is] the door locked", "[are] the blinds open".
_ASKED_STATES = frozenset({"open", "opened", "closed", "locked", "unlocked"})
# Words that lower a level: never "off" ("lower the lights" dims them).
_LOWER = frozenset({"down", "lower", "decrease", "dim", "dimmer", "quieter", "softer"})
# Words of a spoken correction: what follows them restates a request just handled wrong.
_CORRECTION = frozenset(
    [
        "no",
        "nope",
        "wrong",
        "said",
        "meant",
        "told",
        "asked",
        "not",
        "wanted",
        "instead",
        "actually",
    ]
)

_ON = frozenset(
    {
        "on",
        "open",
        "opens",
        "opened",
        "opening",
        "lift",
        "activate",
        "activated",
        "start",
        "resume",
        "enable",
    }
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
        "deactivate",
        "deactivated",
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
# Each action word's kinds: (which pair, which side), e.g. "off" → {(0, 1)}.
_KINDS: dict[str, frozenset[tuple[int, int]]] = {
    word: frozenset(
        (i, side) for i, pair in enumerate(_OPPOSITES) for side in (0, 1) if word in pair[side]
    )
    for word in _ACTIONS
}
# Words that carry no name: a supplied name must sound like something else the user said.
_FUNCTION = frozenset(
    [
        "a",
        "an",
        "the",
        "my",
        "our",
        "your",
        "me",
        "i",
        "you",
        "it",
        "is",
        "to",
        "of",
        "in",
        "on",
        "off",
        "for",
        "at",
        "by",
        "and",
        "or",
        "please",
        "can",
        "could",
        "would",
        "will",
        "do",
        "thanks",
        "thank",
        "now",
        "just",
        "set",
        "turn",
        "switch",
        "put",
        "play",
        "song",
        "track",
        "album",
        "show",
        "movie",
        "podcast",
        "music",
        "okay",
        "ok",
        "hey",
        "uh",
        "um",
        "so",
        "yeah",
        "well",
        "oh",
        "hmm",
    ]
)
# A determiner straight before a preposition ("turn on the in the kitchen"): the name that
# stood between them went unheard, and whatever fills the gap is a guess.
_DETERMINERS = frozenset({"the", "a", "an", "my", "our", "your"})
_PREPOSITIONS = frozenset({"in", "on", "off", "at", "to", "of", "for", "from"})


def _fills_gap(said: list[str], new: list[str]) -> bool:
    """Does the rewrite put a word of its own where a name went unheard, between a
    determiner and a preposition? (A determiner heard by mistake, "light an off", is not
    filled but dropped, and that is no guess.)

    >>> _fills_gap("turn on the in the kitchen".split(), "turn on the lights in the kitchen".split())
    True
    >>> _fills_gap("light an off in the kitchen".split(), "light off in the kitchen".split())
    False
    """
    gaps = {(a, b) for a, b in pairwise(said) if a in _DETERMINERS and b in _PREPOSITIONS}
    heard = set(said)
    return any(
        (a, c) in gaps and b not in heard for a, b, c in zip(new, new[1:], new[2:], strict=False)
    )


def _misheard_action(dropped: set[str], added: set[str]) -> bool:
    """Was each added action word said, misheard as a word the rewrite drops ("turn of
    the light" → "turn off the light": "of" was "off")? Not a guess then, a correction."""
    return bool(dropped) and all(
        any(fuzz.ratio(word, said) >= _HEARD_RATIO for said in dropped) for word in added
    )


def _echoed(word: str, words: Iterable[str]) -> bool:
    """Does something in ``words`` sound like ``word`` (a mishearing kept, not dropped)?"""
    return any(fuzz.ratio(word, w) >= _HEARD_RATIO - 5 for w in words)


# Amounts: a rewrite that loses one sets something to another value ("halfway").
_AMOUNTS = frozenset({"half", "halfway", "quarter"})


def _drops_amount(said: set[str], new: set[str]) -> bool:
    """Does the rewrite lose a number or an amount the user said?

    >>> _drops_amount({"open", "the", "blinds", "halfway"}, {"open", "the", "blinds"})
    True
    >>> _drops_amount({"set", "lamp", "to", "40"}, {"set", "the", "lamp", "to", "40"})
    False
    """
    return any((w in _AMOUNTS or w.isdigit()) and w not in new for w in said)


# Verbs whose on/off went unheard when it is missing ("turn [off] the tv").
_PARTICLE_VERBS = frozenset({"turn", "switch", "bring", "power", "put"})
# Words that say what to do beyond on/off; a target with none of them, and no on/off, turns
# its device on ("the oven" is "turn on the oven"). Not only the home's: an assistant also
# calls, mails, reminds, wakes, orders and looks things up ("call yellow cab" says what to do).
_VERBS = frozenset(
    [
        "play",
        "set",
        "change",
        "make",
        "put",
        "move",
        "dim",
        "brighten",
        "skip",
        "tell",
        "show",
        "give",
        "call",
        "text",
        "send",
        "email",
        "mail",
        "reply",
        "forward",
        "remind",
        "wake",
        "add",
        "remove",
        "delete",
        "cancel",
        "check",
        "find",
        "search",
        "look",
        "book",
        "order",
        "read",
        "list",
        "say",
        "repeat",
        "explain",
        "define",
        "convert",
        "calculate",
        "translate",
        "describe",
        "recommend",
        "suggest",
        "schedule",
        "create",
        "save",
        "buy",
        "get",
        "need",
        "want",
        "like",
        "hate",
        "love",
        "listen",
        "hear",
        "watch",
        "go",
        "take",
        "keep",
        "let",
        "help",
        "clean",
        "vacuum",
        "charge",
        "rate",
        "post",
        "tweet",
        "share",
        "dislike",
        "shuffle",
        "pause",
        "rewind",
        "mute",
        "unmute",
        "sing",
        "spell",
        "count",
        "update",
        "rename",
    ]
)


def says_what_to_do(words: list[str]) -> bool:
    """Is the utterance a request of its own: it begins with what to do ("turn off …",
    "play …", "set …", "call …") or asks something? "the kitchen" does not.

    >>> says_what_to_do("turn off the kitchen light".split())
    True
    >>> says_what_to_do("the kitchen".split())
    False
    """
    if not words:
        return False
    first = words[0]
    return first in _ACTIONS or first in _VERBS or first in _PARTICLE_VERBS or asks(words)


def reverses(earlier: str, later: str) -> bool:
    """Does ``later`` ask for the opposite of ``earlier`` ("turn off the light" → "turn on
    the light", "lock the door" → "unlock the door")? Then it is a new request that undoes
    the first, never the first said again.

    >>> reverses("turn off the kitchen light", "turn on the kitchen light")
    True
    >>> reverses("turn of the kitchen light", "turn off the kitchen light")
    False
    >>> reverses("please start my schedule today", "list out my schedule today")
    False
    """
    a, b = _action_words(earlier), _action_words(later)
    kinds_b = [_KINDS[w] for w in b - a if w in _KINDS]
    for word in a - b:
        for pair, side in _KINDS.get(word, ()):
            if any((pair, 1 - side) in kinds for kinds in kinds_b):
                return True
    return False


@lru_cache(maxsize=50_000)
def _action_words(text: str) -> frozenset[str]:
    """The words of ``text``, with "out" kept only where it is an action ("turn the lights
    out"), not where it is part of another verb ("list out my schedule"). Cached: the
    signals ask it of every candidate pair, and a log repeats its requests."""
    words = set(normalize_utterance(text).split())
    if "out" in words and not words & {"turn", "put", "blow", "switch"}:
        words.discard("out")
    return frozenset(words)


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


_DECIDED_KEPT = 50_000  # decisions a guard keeps (a few MB)


class _Finder:
    """The items of a vocabulary (places, names) an utterance mentions, longest first:
    "living room" is found and taken out before "room" is looked for. Only items whose
    every word the utterance has are tried (taking an item out never adds a word), and
    the answers for recent utterances are kept: candidates come back request after
    request."""

    def __init__(self, items: tuple[str, ...]) -> None:
        self.items = items  # longest first
        self._by_word: dict[str, list[int]] = {}
        for rank, item in enumerate(items):
            self._by_word.setdefault(item.split()[0], []).append(rank)
        self._seen: Memo[str, frozenset[str]] = Memo(_DECIDED_KEPT)

    def __call__(self, text: str) -> frozenset[str]:
        return self._seen.get(text, lambda: self._find(text))

    def _find(self, text: str) -> frozenset[str]:
        words = set(text.split())
        ranks = sorted(
            rank
            for word in words
            for rank in self._by_word.get(word, ())
            if words.issuperset(self.items[rank].split())
        )
        padded = f" {text} "
        found: set[str] = set()
        for rank in ranks:
            item = self.items[rank]
            if f" {item} " in padded:
                found.add(item)
                padded = padded.replace(f" {item} ", " ")
        return frozenset(found)


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
    >>> Guard([], ["portland", "portland oregon"]).reason(
    ...     "whats portland weather", "what is the weather in portland oregon", None)
    'narrows a name'
    >>> guard.reason("turn on the free lights", "please turn on the lights", None)
    'drops which one'
    >>> guard.reason("open the kitchen blinds halfway", "open the kitchen blinds", None)
    'drops an amount'
    """

    def __init__(self, places: Iterable[str] = (), names: Iterable[str] = ()) -> None:
        def longest_first(items: Iterable[str]) -> tuple[str, ...]:
            kept = {normalize_utterance(i) for i in items}
            return tuple(sorted((k for k in kept if k), key=lambda k: (-len(k), k)))

        self.places = longest_first(places)
        self.names = tuple(n for n in longest_first(names) if n not in set(self.places))
        self._find_place, self._find_name = _Finder(self.places), _Finder(self.names)
        self._place_words = frozenset(w for p in self.places for w in p.split())
        # the last word of a device name of several words: what a word before it picks among
        self._heads = frozenset(n.split()[-1] for n in self.names if " " in n)
        # what was decided for recent (source, target, area): each request's candidates come
        # back request after request, and every layer asks
        self._decided: Memo[tuple[str, str, str | None], str | None] = Memo(_DECIDED_KEPT)

    def save(self, folder: Path) -> Path:
        path = folder / GUARD_FILE
        data = {"places": list(self.places), "names": list(self.names)}
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    @staticmethod
    def _heard(said: set[str], name: str) -> bool:
        """Does every word of the supplied ``name`` sound like something the user said (a
        misrecognised "fairly lights" may become "fairy lights", "twinkle lights" may not
        become "night light")?"""
        left = set(said - _FUNCTION)
        for part in name.split():  # each word of the name heard in a word of its own
            match = next((w for w in sorted(left) if fuzz.ratio(w, part) >= _HEARD_RATIO), None)
            if match is None:
                return False
            left.discard(match)
        return True

    def reason(self, source: str, target: str, area: str | None) -> str | None:
        return self._decided.get((source, target, area), lambda: self._reason(source, target, area))

    def _reason(self, source: str, target: str, area: str | None) -> str | None:
        said_words, new_words = source.split(), target.split()
        said, new = set(said_words), set(new_words)
        for one, other in _OPPOSITES:
            if (said & one and new & other - said) or (said & other and new & one - said):
                return "opposite action"
            if said & one and said & other and not (new & one and new & other):
                return "picks an action"  # "the lamp should be off on": which?
        added = new & _ACTIONS - said
        if added and not said & _ACTIONS and not _misheard_action(said - new, added):
            return "adds an action"
        if said & _CORRECTION and not new & _CORRECTION:
            return "replays a correction"  # "no I said play X" → "play X" redoes what was wrong
        question, to_question = asks(said_words), asks(new_words)
        if added and not question and said & _ACTIONS:
            sides = {side for w in said & _ACTIONS for _, side in _KINDS[w]}
            if not any(side in sides for w in added for _, side in _KINDS[w]):
                return "changes the action"  # "lower the lights" never "lights on"
        if question and not to_question:
            return "question to command"
        lowers = said & _LOWER - ({"down"} if {"power", "shut"} & said else set())
        if lowers and new & {"off", "out"} - said:
            return "changes the action"  # "turn the lights down" never "lights off"
        if (
            len(said_words) > 2
            and said_words[-1] in _ASKED_STATES
            and said_words[0] not in _ACTIONS | _VERBS | _PARTICLE_VERBS
            and not to_question
            and (not new_words or new_words[-1] != said_words[-1])
        ):
            return "may be a question"  # "[is] the shade open" never "open the shade"
        stated = bool(said_words) and said_words[-1] in _STATES  # "the door open": asked?
        if to_question and not question and said & _ACTIONS and not stated:
            return "command to question"  # "lock the door" never "is the door locked"
        if said & _OFF and not new & _ACTIONS and not to_question:
            return "drops the action"  # "the lamp" alone turns it on: never for "lamp off"
        lost_action = bool(said & _PARTICLE_VERBS) and not said & _ACTIONS  # "turn or tv"
        if (
            not new & (_ACTIONS | _VERBS)
            and not to_question
            and (lost_action or self._unmatched(said, new) or _fills_gap(said_words, new_words))
        ):
            return "implies an action"  # "cut the oven power" never "the oven"
        if _drops_amount(said, new):
            return "drops an amount"
        names = self._find_name(source)
        for name in names:
            if not set(name.split()) <= new:
                return "drops a name"
        target_names = self._find_name(target)
        supplied = target_names - names
        if not names and supplied and not all(self._heard(said, n) for n in supplied):
            return "guesses a name"  # "play paper song" never "play river song"
        if not supplied and self._drops_which(said_words, new):
            return "drops which one"  # "the steady lamp on" never "the lamp on"
        extra = supplied if names else set()
        if extra:
            if all(any(e.startswith(f"{n} ") for n in names) for e in extra):
                return "narrows a name"  # "portland" → "portland oregon", not "lamp" → "desk lamp"
            return "changes a name"
        if not self.places:
            return None
        named, rewritten = self._find_place(source), self._find_place(target)
        if named - rewritten:
            return "drops a place"
        added = set(rewritten - named)
        if added and self._sounds_like_another_place(said, added):
            return "changes a place"  # "lights on my hallways" never "... living room"
        if (
            rewritten
            and not target_names
            and (self._unmatched(said, new) or _fills_gap(said_words, new_words))
        ):
            return "widens to a room"  # "the top light in the kitchen" never "the kitchen lights"
        here = normalize_utterance(area) if area else None
        if added and (here is None or added != {here}):
            return "adds a place" if here is not None else None
        return None

    def _unmatched(self, said: set[str], new: set[str]) -> bool:
        """Did the user say a word that carries meaning (not a filler, a room or an action)
        and that nothing in the rewrite sounds like?"""
        return any(
            not _echoed(w, new) for w in said - new - _FUNCTION - _ACTIONS - self._place_words
        )

    def _drops_which(self, said_words: list[str], new: set[str]) -> bool:
        """Does the rewrite keep a device word ("lamp") but drop, with nothing like it in
        its place, the word before it that said which one ("steady" in "steady lamp")?"""
        return any(
            head in self._heads
            and head in new
            and which not in new
            and which not in _FUNCTION | _ACTIONS | _DETERMINERS | self._place_words
            and not _echoed(which, new)
            for which, head in pairwise(said_words)
        )

    def _sounds_like_another_place(self, said: set[str], added: set[str]) -> bool:
        added_words = {w for p in added for w in p.split()}
        others = self._place_words - added_words - _FUNCTION
        return any(fuzz.ratio(w, o) >= _HEARD_RATIO for w in said - _FUNCTION for o in others)
