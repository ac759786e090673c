"""How simulated users answer the assistant's teaching questions, from what they hold.

A user asked "would you like to teach me what you mean by the big light?" about a word of
their own answers with the thing's name most of the time, vaguely sometimes ("you know the
one"), and sometimes not at all. Asked about a request that failed for another reason (it
was misheard), they mostly decline. In a guided session ("learn my preferences") they
answer each question from their hidden preferences, with the same vagueness.
"""

from __future__ import annotations

import functools
import random
import re

from selflearn.assistant.home import Home
from selflearn.assistant.media import Catalogue
from selflearn.rewrite.base import normalize_utterance
from selflearn.sim.goals import Goal
from selflearn.sim.household import User
from selflearn.teach.store import PreferenceStore

__all__ = ["CLEAR", "VAGUE", "answer_question", "guided_answer", "knows", "learn_request"]

CLEAR = 0.65  # a clear answer to a question about the user's own meaning
VAGUE = 0.2  # a vague one ("you know the one"); the rest: no answer
_VAGUE_ANSWERS = ("you know the one", "the usual one", "i don't know", "the other one")
_DECLINE = ("no", "no thanks", "not now", "nope")
_LEARN = (
    "learn my preferences",
    "i want to teach you",
    "get to know me",
    "ask me about my preferences",
)


def learn_request(rng: random.Random) -> str:
    return rng.choice(_LEARN)


def _town(home: Home, user: User) -> tuple[str, str] | None:
    entity = home.entity(user.place) if user.place else None
    if entity is None or not entity.aliases:
        return None
    full = entity.aliases[0].lower()
    town = entity.name.lower()
    return town, full.removeprefix(town).strip()


@functools.lru_cache(maxsize=1)
def _playable_artists() -> frozenset[str]:
    return frozenset(i.title for i in Catalogue.default().items if i.media_class == "artist")


def _artist(user: User, home: Home) -> str | None:
    """The artist the user likes best: the first of theirs the assistant can play (the one
    the "play something I like" goal means)."""
    playable = _playable_artists()
    liked = [a for a in user.artists if a in playable] or list(user.artists)
    return liked[0].lower() if liked else None


def answer_question(
    goal: Goal, user: User, home: Home, question: str, rng: random.Random
) -> str | None:
    """What ``user`` says to ``question`` asked during ``goal`` (None: nothing)."""
    about = re.search(r"what you mean by (.+)\?$|which (.+) you mean\?$", question)
    phrase = next((g for g in about.groups() if g), "") if about else ""
    mine = goal.personal is not None and (
        not phrase
        or (goal.ref is not None and (phrase in goal.ref or goal.ref in phrase))
        or goal.personal == "taste"
    )
    draw = rng.random()
    if not mine:
        if draw < 0.75:
            return rng.choice(_DECLINE)
        if draw < 0.9:
            return None
        return f"i meant {goal.canonical}"
    if draw >= CLEAR + VAGUE:
        return rng.choice((*_DECLINE, None, None))
    if draw >= CLEAR:
        return rng.choice(_VAGUE_ANSWERS)
    if goal.personal == "alias" and goal.name:
        name = f"the {goal.name.lower()}"
        ref = goal.ref or phrase
        return rng.choice((f"i meant {name}", name, f"by {ref} i mean {name}", f"yes {name}"))
    if goal.personal == "place":
        town = _town(home, user)
        if town is None:
            return rng.choice(_VAGUE_ANSWERS)
        name, state = town
        return rng.choice(
            (f"the one in {state}", f"{name} {state}", f"i mean {state}", f"yes {name} {state}")
        )
    artist = goal.media.title.lower() if goal.media is not None else _artist(user, home)
    if artist is None:
        return rng.choice(_VAGUE_ANSWERS)
    return rng.choice((f"i like {artist}", artist, f"my favourite artist is {artist}"))


def guided_answer(user: User, home: Home, question: str, rng: random.Random) -> str:
    """The answer to one guided question, from the user's hidden preferences."""
    draw = rng.random()
    if draw >= 0.9:
        return rng.choice(("skip", "i don't know", "no idea"))
    if draw >= 0.75:
        return rng.choice(_VAGUE_ANSWERS)
    q = question.lower()
    if "artist" in q:
        artist = _artist(user, home)
        return rng.choice((f"i like {artist}", artist or "no idea"))
    if "kind of music" in q:
        genre = user.genres[0] if user.genres else "anything"
        return rng.choice((genre, f"mostly {genre}", f"i like {genre} music"))
    if "team" in q:
        return rng.choice((f"the {user.team.lower()}", user.team.lower(), f"i'm a {user.team} fan"))
    if "food" in q:
        return rng.choice((f"{user.cuisine.lower()} food", user.cuisine.lower()))
    if "town" in q:
        town = _town(home, user)
        return f"{town[0]} {town[1]}" if town else "i don't know"
    if "name of your own" in q:
        if not user.own_words:
            return rng.choice(("no", "not really", "nope"))
        entity_id, word = sorted(user.own_words.items())[0]
        entity = home.entity(entity_id)
        name = entity.name.lower() if entity else entity_id
        return f"by {word} i mean the {name}"
    if "movies or audiobooks" in q:
        return "audiobooks" if user.wants_audiobooks else "movies"
    return rng.choice(("i don't know", "no idea", "skip"))


def knows(store: PreferenceStore, user: User, goal: Goal) -> bool:
    """Whether the user has taught what ``goal``'s personal meaning needs."""
    preferences = store.of(user.id)
    if goal.personal == "taste":
        return any(p.like and p.kind == "artist" for p in preferences)
    ref = normalize_utterance(goal.ref or "")
    bare = re.sub(r"^(?:the|my|our) ", "", ref)
    for p in preferences:
        if p.kind not in ("alias", "place") or not p.key:
            continue
        key = re.sub(r"^(?:the|my|our) ", "", normalize_utterance(p.key))
        if key == bare:
            return True
    return False
