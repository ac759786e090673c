"""Preference statements in what users say: "I'm a Warriors fan", "by the big light I mean
the ceiling light", "when I say Portland I mean the one in Oregon", "forget that".

:func:`parse_statement` reads one utterance and returns the :class:`Statement` it makes,
or None for anything else (commands, questions, chatter). :func:`parse_command` reads the
teaching commands ("forget that", "what do you know about me", "learn my preferences").
:func:`parse_answer` reads an answer to a question the assistant asked, where the kind of
value is already known ("mostly jazz" answers "what music do you like?").

Precision first: a statement the parser is not sure of is not one. A sentence that reads
as a command or a question is never a statement unless it says it is meant for the future
("play music in the kitchen by default").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import yaml

__all__ = [
    "KINDS",
    "Command",
    "Statement",
    "is_vague",
    "normalize",
    "parse_answer",
    "parse_command",
    "parse_statement",
]

# What a statement can be about.
KINDS = ("team", "artist", "genre", "cuisine", "place", "player", "alias", "media")


def _words() -> dict[str, frozenset[str]]:
    """The vocabularies in ``teach/data/words.yaml`` (genres, cuisines, teams, states)."""
    text = resources.files("selflearn.teach").joinpath("data/words.yaml").read_text()
    data = yaml.safe_load(text)
    return {name: frozenset(str(w) for w in words) for name, words in data.items()}


_WORDS = _words()
GENRES = _WORDS["genres"]
CUISINES = _WORDS["cuisines"]
TEAMS = _WORDS["teams"]
MEDIA = {
    "audiobooks": "audiobook",
    "audio books": "audiobook",
    "audiobook": "audiobook",
    "books": "audiobook",
    "movies": "movie",
    "movie": "movie",
    "films": "movie",
    "the film": "movie",
    "podcasts": "podcast",
    "tv shows": "tv_show",
    "shows": "tv_show",
    "series": "tv_show",
}
STATES = _WORDS["states"]

_CONTRACTIONS = {
    "i'm": "i am",
    "im": "i am",
    "i've": "i have",
    "i'd": "i would",
    "i'll": "i will",
    "we're": "we are",
    "we've": "we have",
    "we'd": "we would",
    "don't": "do not",
    "dont": "do not",
    "doesn't": "does not",
    "can't": "cannot",
    "cant": "cannot",
    "isn't": "is not",
    "that's": "that is",
    "what's": "what is",
    "it's": "it is",
    "there's": "there is",
    "you're": "you are",
    "favourite": "favorite",
    "fave": "favorite",
    "fav": "favorite",
    "favourites": "favorites",
    "colour": "color",
    "wanna": "want to",
    "gonna": "going to",
    "'s": " s",
}
_LEAD = re.compile(
    r"^(?:(?:hey|hi|ok|okay|so|well|oh|um|uh|er|and|also|actually|btw|by the way|listen|"
    r"look|just so you know|just fyi|fyi|for the record|for your information|for future reference|"
    r"remember that|remember|please remember that|please remember|please note that|note that|"
    r"you should know that|you should know|i want you to know that|i want you to know|"
    r"keep in mind that|keep in mind|from now on|going forward|in future|in the future|"
    r"to be clear|honestly|for what it is worth|please|assistant|computer|"
    r"let me tell you|i should tell you|i will tell you|i told you|"
    r"you know what|you know|for reference|just|quick note|note|heads up)\b[\s,]*)+"
)
_TRAIL = re.compile(
    r"(?:[\s,]+(?:please|thanks|thank you|ok|okay|alright|from now on|going forward|"
    r"in future|in the future|by the way|btw|remember that|remember|got it|ok|for future reference|"
    r"for the future|for next time|next time|if you did not know|if you were wondering|"
    r"just so you know|for the record|by the way|from here on|from here on out|"
    r"ok\?|all right|anyway|though|too|as well|haha|lol|my whole life|all my life|since i was a kid|"
    r"for years|forever|these days|lately|when i work|while i work|when i cook|while cooking|"
    r"at work|in the car|every day|all day|here|over here|unfortunately|always have|do not judge|"
    r"through and through|if you must know|if you ask me))+$"
)
_ADVERBS = (
    r"(?:(?:really|kind of|kinda|sort of|mostly|usually|absolutely|totally|just|also|"
    r"definitely|honestly|actually|generally|truly|seriously|still|always|very much|so|"
    r"particularly|especially|quite|pretty much|mainly|do|have always|would say i|guess i|"
    r"think i|tend to|personally|secretly|both)\s+)*"
)
_QUESTION_START = re.compile(
    r"^(?:what|who|whom|whose|where|why|how|which|is|are|am|do|does|did|can|could|"
    r"would|will|should|shall|have|has|was|were|may|might)\b"
)
_COMMAND_START = re.compile(
    r"^(?:turn|switch|play|set|put|open|close|lock|unlock|start|stop|cancel|pause|resume|"
    r"dim|brighten|increase|decrease|raise|lower|add|remind|tell|show|find|search|skip|"
    r"next|mute|unmute|read|order|book|make|give|bring|get|call|text|send|run|shut|"
    r"activate|deactivate|enable|disable|lights|light|volume)\b"
)
_FUTURE = re.compile(
    r"\b(?:by default|from now on|going forward|in future|in the future|always|default|"
    r"every time|whenever|next time|as a rule|unless i say otherwise|instead)\b"
)
_PRONOUNS = frozenset(
    [
        "it",
        "that",
        "this",
        "you",
        "them",
        "him",
        "her",
        "those",
        "these",
        "one",
        "ones",
        "everything",
        "anything",
        "nothing",
        "something",
        "stuff",
        "things",
        "it",
        "a",
        "lot",
        "that",
        "one",
        "this",
        "one",
        "this",
        "song",
        "that",
        "song",
        "this",
        "track",
        "that",
        "track",
        "your",
        "voice",
        "you",
        "guys",
        "it",
        "here",
        "yours",
        "mine",
        "ours",
    ]
) | {"this song", "that song", "this one", "that one", "this track", "your voice", "it here"}
_NOT_VALUES = re.compile(
    r"^(?:to|when|how|the way|being|going|having|doing|that|this|it|if|what|you|your|"
    r"my|our|a bit|a little|not|no|nothing|none|very|too|so|much|more|less|all|any)\b"
)
_FAN_WORDS = (
    r"(?:a |an |the |one )?(?:big |huge |massive |lifelong |life long |die hard |diehard |"
    r"longtime |long time |loyal |true |proud |massive |real |total |crazy |devoted |"
    r"enormous |really big |super |die-hard |passionate )*"
)


@dataclass(frozen=True)
class Statement:
    """A preference the user stated.

    ``kind`` is one of :data:`KINDS`; ``value`` what they like (a team, an artist, a
    genre, a cuisine, the full name of a place, a device, a media class, what an alias
    stands for); ``key`` what it applies to (the user's own phrase for an alias, the
    ambiguous place name, the kind of media a default player plays); ``like`` False for
    a dislike ("I can't stand country music").
    """

    kind: str
    value: str
    key: str | None = None
    like: bool = True

    def describe(self) -> str:
        """The statement in words, as the assistant reads it back."""
        if self.kind == "alias":
            return f'by "{self.key}" you mean {self.value}'
        if self.kind == "place":
            return f'"{self.key}" means {self.value}'
        if self.kind == "player":
            return f"{self.key or 'media'} plays on {self.value}"
        if self.kind == "media":
            return f"you {'prefer' if self.like else 'do not want'} {self.value}s"
        verb = "like" if self.like else "do not like"
        return f"you {verb} {self.value} ({self.kind})"


@dataclass(frozen=True)
class Command:
    """A teaching command: ``forget_last``, ``forget_all``, ``list``, ``learn``, ``yes``,
    ``no``."""

    kind: str


def normalize(text: str) -> str:
    """Lower-case words, contractions spelled out, punctuation dropped.

    >>> normalize("I'm a BIG Warriors fan!")
    'i am a big warriors fan'
    """
    lowered = text.lower().replace("’", "'").replace("&", " and ")
    lowered = re.sub(r"[^a-z0-9' ]+", " ", lowered)
    words = []
    for word in lowered.split():
        if word in _CONTRACTIONS:
            words.append(_CONTRACTIONS[word])
        elif word.endswith("'s") and len(word) > 2:
            words.append(word[:-2] + " s")
        else:
            words.append(word.strip("'"))
    return " ".join(" ".join(words).split())


def _core(text: str) -> str:
    """``text`` normalised, without "just so you know", "from now on", "please", …"""
    core = re.sub(r"\b(\w+) s (my|our|the|a|an) ", r"\1 is \2 ", normalize(text))
    for _ in range(3):
        stripped = _TRAIL.sub("", _LEAD.sub("", core)).strip()
        if stripped == core:
            break
        core = stripped
    return core


@dataclass(frozen=True)
class _Said:
    """What the parsers read: the core words, the text as typed or recognised, and the
    artist names the assistant knows."""

    core: str
    raw: str
    artists: frozenset[str] = frozenset()
    future: bool = False  # it says it is meant from now on ("by default", "always")

    def name_like(self, value: str) -> bool:
        """Whether ``value`` reads as a name: a known artist, or capitalised where the text
        is cased ("I adore Dolly Parton"; a recogniser's lower-case text never is)."""
        if value in self.artists or value.removeprefix("the ") in self.artists:
            return True
        if self.raw == self.raw.lower():
            return False
        words = [w for w in value.split() if w not in ("the", "of", "and", "s", "n")]
        if not words:
            return False
        cased = {w.lower().strip("'"): w for w in re.findall(r"[A-Za-z0-9'’]+", self.raw)}
        return all(cased.get(w, "")[:1].isupper() or w.isdigit() for w in words)


def _clean_value(value: str) -> str:
    value = re.sub(
        r"^(?:the music of|music by|songs by|stuff by|anything by|the songs of|a good|"
        r"some good|good|a nice|nice|some|a bit of|a lot of|lots of|plenty of)\s+",
        "",
        value,
    )
    value = re.sub(
        r"\s+(?:a lot|the most|best|very much|more than anything|more|by far|these days|"
        r"lately|mostly|most of all|above all|all the time|a ton|so much|forever|"
        r"in general|generally|i guess|i think|really|every day|all day|better|version|"
        r"versions|the best|the most of all)$",
        "",
        value,
    )
    value = re.sub(
        r"^(?P<name>.+?) s (?:music|songs|albums|stuff|records|tunes)$", r"\g<name>", value
    )
    return value.strip()


def _cuisine(value: str) -> str | None:
    """The cuisine ``value`` names ("spanish tapas" → spanish), if it names one."""
    if value in CUISINES:
        return value
    words = value.split()
    if len(words) <= 3 and words and words[0] in CUISINES:
        return words[0]
    return None


def _classify(value: str, said: _Said, hint: str | None = None) -> Statement | None:
    """What a liked thing is: a cuisine, a genre, a team, a media class or an artist."""
    value = _clean_value(value)
    if not value or value in _PRONOUNS or _NOT_VALUES.match(value):
        return None
    food = re.sub(
        r"\s+(?:food|cuisine|cooking|dishes|restaurants|takeout|take out|meals)$", "", value
    )
    if food != value and not _NOT_VALUES.match(food) and len(food.split()) <= 2:
        return Statement("cuisine", _cuisine(food) or food)
    if hint != "music" and _cuisine(value) and value not in GENRES:
        return Statement("cuisine", _cuisine(value) or value)
    music = re.sub(r"\s+(?:music|songs|tunes|stuff|records|radio)$", "", value)
    if value in GENRES or music in GENRES:
        return Statement("genre", music if music in GENRES else value)
    bare = value.removeprefix("the ")
    if bare in TEAMS and hint != "music" and value not in said.artists:
        return Statement("team", bare)
    media = re.sub(r"^(?:an |a )", "", value)
    if media in MEDIA or bare in MEDIA:
        return Statement("media", MEDIA.get(media) or MEDIA[bare])
    if hint == "sport":
        return Statement("team", bare)
    if len(value.split()) <= 4 and (
        said.name_like(music) or (hint == "music" and said.raw == said.raw.lower())
    ):
        return Statement("artist", music)
    return None


def _like(said: _Said) -> Statement | None:
    """ "I love jazz", "we can't stand country music", "I'm into hip hop"."""
    found = re.match(
        rf"^(?:i|we|me and my \w+|my \w+ and i)\s+{_ADVERBS}(?P<verb>like listening to|love listening to|"
        r"enjoy listening to|like to listen to|love to listen to|listen to|listen mostly to|"
        r"mostly listen to|like eating|love eating|enjoy eating|like to eat|love to eat|"
        r"eat a lot of|could eat|would eat|eat|cook a lot of|like|love|loved|liked|enjoy|enjoyed|"
        r"adore|adored|dig|prefer|am into|am big into|have been into|"
        r"am really into|are into|am crazy about|am obsessed with|am mad about|am nuts about|"
        r"cannot get enough of|go for|cannot stand|hate|dislike|do not like|do not love|"
        r"do not enjoy|do not care for|detest|loathe|am not into|are not into|"
        r"am not a fan of|are not fans of|never listen to|would rather not hear|avoid)\s+"
        r"(?P<value>.+)$",
        said.core,
    )
    if found is None:
        return None
    verb, value = found["verb"], found["value"]
    like = not re.match(
        r"cannot|hate|dislike|do not|detest|loathe|am not|are not|never|would rather|avoid", verb
    )
    value = re.sub(
        r"\s+(?:over|rather than|more than|instead of|than|better than)\s+.+$", "", value
    )
    value = re.sub(
        r"\s+(?:on the (?:screen|display|tv|telly)|at home|when i cook|in the morning|in the evening|at night|at dinner|for dinner)$",
        "",
        value,
    )
    hint = "music" if "listen" in verb else None
    if re.search(r"\b(?:eat|eating)\b", verb):
        cuisine = _cuisine(_clean_value(re.sub(r"\s+(?:food|cuisine)$", "", value)))
        return Statement("cuisine", cuisine, like=like) if cuisine else None
    statement = _classify(value, said, hint)
    if statement is None:
        return None
    if statement.kind == "media" and not re.match(
        r"prefer|like|love|enjoy|adore|hate|dislike|cannot|do not", verb
    ):
        return None  # "I listen to podcasts in the car" says what they do, not what they prefer
    return Statement(statement.kind, statement.value, like=like)


def _fan(said: _Said) -> Statement | None:
    """ "I'm a huge Warriors fan", "I'm a fan of Italian food", "we're a Yankees household"."""
    subject = r"^(?:(?:i|we)\s+(?:am|are|have always been|have been|have been a|was raised|will always be|was born|grew up)?\s*)?(?:an?\s+)?"
    found = re.match(
        rf"{subject}{_ADVERBS}{_FAN_WORDS}(?P<value>.+?)\s+(?:fan|fans|supporter|supporters|"
        r"lover|lovers|nut|addict|head|junkie|buff|household|family|person|guy|girl|"
        r"kind of person|kind of guy|kind of girl)(?:\s+(?:for life|through and through|"
        r"since i was a kid|since forever|all the way))?$",
        said.core,
    ) or re.match(
        rf"{subject}{_ADVERBS}{_FAN_WORDS}(?:fan|fans|supporter|supporters|follower|followers|lover)\s+of\s+(?P<value>.+)$",
        said.core,
    )
    if found is None:
        return None
    value = found["value"].removeprefix("a ").removeprefix("an ")
    value = re.sub(
        r"\s+(?:team|football club|fc|club|basketball|baseball|football|hockey|soccer|nba|nfl)$",
        "",
        value,
    )
    value = _team_name(value)
    if value in ("big", "huge", "real", "true", "music", "sports", "food", "the music", "the team"):
        return None
    if not said.core.startswith(("i ", "we ")) and not (
        value in TEAMS or value.removeprefix("the ") in TEAMS
    ):
        return None  # "big Giants fan here" names a team; other subjectless fans are chatter
    return _classify(value, said) or _classify(value, said, "music")


def _team_name(value: str) -> str:
    """A team named with its city ("green bay packers", "the miami heat"): the name fans
    use, when it is a team the parser knows; anything else unchanged."""
    words = value.removeprefix("the ").split()
    for size in (2, 1):
        if len(words) > size and " ".join(words[-size:]) in TEAMS:
            return " ".join(words[-size:])
    return value


def _my_team(said: _Said) -> Statement | None:
    """ "Liverpool is my team", "my club is Manchester United", "Korean food is my favourite"."""
    found = re.match(
        r"^(?:my|our)\s+(?:team|club|side)\s+(?:is|are|has always been)\s+(?P<value>.+)$", said.core
    ) or re.match(
        r"^(?P<value>.+?)\s+(?:is|are)\s+(?:my|our)\s+(?P<kind>team|club|side|favorite|favorites|jam|thing)$",
        said.core,
    )
    if found is None:
        return None
    value = _clean_value(found["value"]).removeprefix("the ")
    if found.groupdict().get("kind") in ("favorite", "favorites", "jam", "thing"):
        return _classify(value, said)
    if not value or _NOT_VALUES.match(value) or len(value.split()) > 3:
        return None
    return Statement("team", value)


_FAVORITE_KINDS = {
    "team": "team",
    "sports team": "team",
    "football team": "team",
    "basketball team": "team",
    "baseball team": "team",
    "hockey team": "team",
    "soccer team": "team",
    "club": "team",
    "football club": "team",
    "side": "team",
    "artist": "artist",
    "band": "artist",
    "singer": "artist",
    "musician": "artist",
    "group": "artist",
    "rapper": "artist",
    "composer": "artist",
    "dj": "artist",
    "music artist": "artist",
    "genre": "genre",
    "music genre": "genre",
    "kind of music": "genre",
    "type of music": "genre",
    "style of music": "genre",
    "sort of music": "genre",
    "music": "genre",
    "radio": "genre",
    "cuisine": "cuisine",
    "food": "cuisine",
    "kind of food": "cuisine",
    "type of food": "cuisine",
    "sort of food": "cuisine",
    "food type": "cuisine",
    "restaurant food": "cuisine",
    "takeout": "cuisine",
    "take out": "cuisine",
    "meal": "cuisine",
    "dinner": "cuisine",
    "speaker": "player",
    "player": "player",
    "music player": "player",
    "media player": "player",
    "device": "player",
    "tv": "player",
    "screen": "player",
}
_FAVORITE_WORDS = r"(?:favorite|preferred|top|number one|go to|main|default|usual|all time favorite|absolute favorite)"
_LEAGUE = r"(?:(?:nfl|nba|mlb|nhl|mls|premier league|college|football|basketball|baseball|hockey|soccer|rugby|cricket)\s+)?"
_KIND_WORDS = "|".join(sorted(map(re.escape, _FAVORITE_KINDS), key=len, reverse=True))


def _favorite(said: _Said) -> Statement | None:
    """ "My favourite team is the Warriors", "Thai is our favourite food"."""
    core = said.core
    found = re.match(
        rf"^(?:my|our)\s+(?:very\s+|absolute\s+|all time\s+)?{_FAVORITE_WORDS}\s+{_LEAGUE}(?P<kind>{_KIND_WORDS})"
        r"(?:\s+(?:to listen to|to eat|to watch|to use|of all time|in the world|ever))?"
        r"\s+(?:is|are|has to be|would be|has always been|will always be|must be|is definitely|is probably)\s+(?P<value>.+)$",
        core,
    ) or re.match(
        rf"^(?P<value>.+?)\s+(?:is|are|has always been|will always be)\s+(?:my|our)\s+"
        rf"(?:very\s+|absolute\s+|all time\s+)?{_FAVORITE_WORDS}\s+(?P<kind>{_KIND_WORDS})(?:\s+(?:ever|of all time|by far))?$",
        core,
    )
    if found is None:
        return None
    kind = _FAVORITE_KINDS[found["kind"]]
    value = _clean_value(found["value"])
    if kind == "player":
        return _device(value, None)
    if not value or value in _PRONOUNS or _NOT_VALUES.match(value):
        return None
    if kind == "team":
        return Statement("team", value.removeprefix("the "))
    if kind == "artist":
        return Statement("artist", value)
    if kind == "cuisine":
        return Statement("cuisine", re.sub(r"\s+(?:food|cuisine)$", "", value))
    statement = _classify(value, said)
    if statement is not None and statement.kind == "genre":
        return statement
    return Statement("genre", re.sub(r"\s+music$", "", value))


def _support(said: _Said) -> Statement | None:
    """ "I support Arsenal", "we root for the Giants", "I follow the Celtics"."""
    core = said.core
    found = re.match(
        rf"^(?:i|we|my family|our family|this house|this household)\s+{_ADVERBS}"
        r"(?:support|supports|root for|roots for|cheer for|cheer on|follow|am behind|"
        r"are behind|bleed|live and die with|back)\s+(?P<value>.+)$",
        core,
    )
    if found is None:
        return None
    value = _clean_value(found["value"])
    value = re.sub(
        r"\s+(?:all the way|no matter what|every season|every game|win or lose)$", "", value
    )
    value = _team_name(value)
    bare = value.removeprefix("the ")
    if bare in TEAMS or re.match(r"^the \w+( \w+)?s$", value):
        return Statement("team", bare)
    return None


_DEVICE_WORDS = (
    r"speaker|speakers|player|tv|telly|television|display|screen|soundbar|sound bar|"
    r"stereo|sonos|echo|radio|satellite|hifi|hi fi|room|kitchen|study|den|patio|living room|bedroom|office|"
    r"den|lounge|study|garage|bathroom|nursery|playroom|patio|garden|upstairs|downstairs|"
    r"basement|headphones"
)
_WHAT = (
    r"(?:music|songs|podcasts|audiobooks|audio books|the news|news|radio|movies|shows|"
    r"videos|everything|stuff|media|tunes|my music|my podcasts|things|the radio|it)"
)


def _device(value: str, what: str | None) -> Statement | None:
    value = _clean_value(value).removesuffix(" please")
    if not re.search(rf"\b(?:{_DEVICE_WORDS})\b", value) or _NOT_VALUES.match(value):
        return None
    key = None
    if what:
        key = {
            "songs": "music",
            "tunes": "music",
            "my music": "music",
            "audio books": "audiobooks",
            "my podcasts": "podcasts",
            "the news": "news",
            "everything": None,
            "stuff": None,
            "media": None,
            "things": None,
            "it": None,
            "the radio": "radio",
        }.get(what, what)
    return Statement("player", value, key)


def _player(said: _Said) -> Statement | None:
    """ "Play music on the kitchen speaker by default", "use the office speaker for podcasts"."""
    core = said.core
    if not said.future and not re.match(
        r"^(?:my|our|use|i|we|when|whenever|default|set|make|the|music|podcasts|audiobooks|news)\b",
        core,
    ):
        return None
    core = re.sub(
        r"\s*\b(?:by default|from now on|always|as a rule|unless i say otherwise|every time|instead)\b\s*",
        " ",
        core,
    )
    core = " ".join(core.split())
    patterns = (
        rf"^(?:please\s+)?(?:play|put|send|stream|start)\s+(?:my\s+)?(?P<what>{_WHAT})?\s*(?:on|in|through|to|from|in the)\s+(?P<value>.+)$",
        rf"^(?:please\s+)?use\s+(?P<value>.+?)\s+(?:for|to play|when i ask for|when i want)\s+(?P<what>{_WHAT})$",
        rf"^(?:please\s+)?use\s+(?P<value>.+?)(?:\s+for\s+(?P<what>{_WHAT}))?$",
        rf"^(?:i|we)\s+{_ADVERBS}(?:want|like|prefer|listen to|play)\s+(?:my\s+)?(?P<what>{_WHAT})\s+(?:on|in|through|from)\s+(?P<value>.+)$",
        rf"^(?:my|our)\s+(?:default|main|usual|preferred|go to)\s+(?:{_DEVICE_WORDS}|device)(?:\s+for\s+(?P<what>{_WHAT}))?\s+(?:is|should be)\s+(?P<value>.+)$",
        rf"^(?P<value>.+?)\s+(?:is|should be)\s+(?:my|our|the)\s+(?:default|main|usual|preferred|go to)\s+(?:{_DEVICE_WORDS}|device)(?:\s+for\s+(?P<what>{_WHAT}))?$",
        rf"^(?P<what>{_WHAT})\s+(?:should|goes|go|should go|should play|plays|should be played)\s+(?:on|in|through|to|from)\s+(?P<value>.+)$",
        rf"^(?:when|whenever|if)\s+i\s+(?:ask for|want|say|play)\s+(?P<what>{_WHAT}),?\s+(?:play it|put it|play them|send it|use)\s+(?:on|in|through|to)?\s*(?P<value>.+)$",
        rf"^default\s+to\s+(?P<value>.+?)(?:\s+for\s+(?P<what>{_WHAT}))?$",
        rf"^(?:i|we)\s+would\s+(?:like|love|prefer)\s+(?P<what>{_WHAT})\s+to\s+(?:play|go|be played)\s+(?:on|in|through|from)\s+(?P<value>.+)$",
        rf"^(?P<value>.+?)\s+is\s+the\s+default(?:\s+(?:{_DEVICE_WORDS}|device))?(?:\s+for\s+(?P<what>{_WHAT}))?$",
        rf"^(?:set|make)\s+(?P<value>.+?)\s+(?:as\s+|to be\s+)?(?:my|our|the)\s+(?:default|main|usual)\s+(?:{_DEVICE_WORDS}|device)(?:\s+for\s+(?P<what>{_WHAT}))?$",
    )
    for pattern in patterns:
        found = re.match(pattern, core)
        if found is not None:
            return _device(found["value"], found.groupdict().get("what"))
    return None


_MEAN = r"(?:mean|meant|am talking about|am referring to|want|mean to say|am after|have in mind)"
_NAME = r"(?:the |my |our )?[a-z0-9' ]+?"


def _split_meaning(key: str, value: str, kind: str | None = None) -> Statement | None:
    """A phrase and what it stands for: a place with its qualifier or a thing's alias."""
    key = key.strip().removesuffix(",").strip()
    value = _clean_value(value).removesuffix(",").strip()
    value = re.sub(r"^(?:actually|really|obviously|of course|always)\s+", "", value)
    if not key or not value or key == value or value in _PRONOUNS or key in _PRONOUNS:
        return None
    if len(key.split()) > 5 or len(value.split()) > 7:
        return None
    bare = re.sub(r"^(?:the|my|our) ", "", key)
    # "the one in Oregon", "Portland in Oregon", "Oregon": a place made unambiguous.
    one_in = re.match(r"^(?:the one|the city|the town|the place|the)\s+in\s+(?P<where>.+)$", value)
    if one_in and kind == "alias":
        # "which ceiling light?" — "the one in the living room"
        return Statement("alias", f"{key} in {one_in['where']}", key)
    if one_in:
        return Statement("place", f"{bare} {one_in['where']}", bare)
    if value in STATES:
        return Statement("place", f"{bare} {value}", bare)
    if value.startswith(bare + " "):
        rest = value[len(bare) + 1 :].removeprefix("in ")
        if rest in STATES or (
            len(rest.split()) <= 2
            and not re.search(rf"\b(?:{_DEVICE_WORDS}|light|lights|lamp|fan)\b", rest)
        ):
            return Statement("place", f"{bare} {rest}", bare)
    if re.match(r"^(?:this|that|it|you|what|how|when|where|why|i|we)\b", key):
        return None
    return Statement("alias", value, key)


def _is_meaning(said: _Said) -> Statement | None:
    """ "Springfield is the one in Illinois", "the telly is the living room tv" — but not
    "the big light is on" or "the kitchen is cold": an alias needs two names."""
    found = re.match(
        r"^(?P<key>[a-z0-9' ]+?)\s+(?:is|are|is always|always is)\s+(?P<value>(?:the |my |our )?[a-z0-9' ]+)$",
        said.core,
    )
    if found is None:
        return None
    key, value = found["key"], found["value"]
    statement = _split_meaning(key, value)
    if statement is None or statement.kind == "place":
        return statement
    names = r"^(?:the|my|our) "
    if not (re.match(names, key) and re.match(names, value)):
        return None
    if re.search(
        r"\b(?:not|no|never|too|broken|on|off|open|closed|problem|best|worst)$", value
    ) or re.search(
        r"\b\w{3,}est\b", value
    ):  # "the office is the coldest room": a comparison, not a name
        return None
    return statement


def _meaning(said: _Said) -> Statement | None:
    """ "By the big light I mean the ceiling light", "when I say Portland I mean Oregon",
    "call the ceiling light the big light", "the telly is the living room tv"."""
    core = said.core
    patterns = (
        rf"^(?:when|whenever|if)\s+(?:i|we)\s+(?:say|ask for|ask about|talk about|mention|"
        rf"use the word|use the words|say the words|refer to)\s+(?P<key>{_NAME}),?\s+(?:i|we)\s+{_ADVERBS}{_MEAN}\s+(?P<value>.+)$",
        rf"^(?:when|whenever|if)\s+(?:i|we)\s+(?:say|ask for|ask about|talk about|mention|refer to)\s+(?P<key>{_NAME}),?\s+"
        r"(?:that|it|that is|it is|that s|this|that means|it means|you should know it is|assume)\s+(?:means\s+|is\s+)?(?P<value>.+)$",
        rf"^by\s+(?P<key>{_NAME}),?\s+(?:i|we)\s+{_ADVERBS}{_MEAN}\s+(?P<value>.+)$",
        rf"^(?P<key>{_NAME})\s+(?:means|stands for|refers to|is short for|is what i call|is what we call|is my name for|"
        r"is our name for|is my word for|is our word for|is the same as|is the same thing as|is another name for|is just|"
        r"always means|should mean|should always mean)\s+(?P<value>.+)$",
        rf"^(?:i|we)\s+{_ADVERBS}(?:call|calls|name|refer to)\s+(?P<value>(?:the |my |our )[a-z0-9' ]+?)\s+(?:as\s+)?(?P<key>(?:the |my |our )[a-z0-9' ]+)$",
        r"^(?:please\s+)?(?:call|name)\s+(?P<value>(?:the |my |our )[a-z0-9' ]+?)\s+(?P<key>(?:the |my |our )[a-z0-9' ]+)$",
        rf"^(?:i|we)\s+{_ADVERBS}(?:call|name|refer to)\s+(?P<value>(?:the |my |our )?[a-z0-9' ]+?)\s+(?:as\s+)(?P<key>[a-z0-9' ]+)$",
        r"^(?P<value>(?:the |my |our )[a-z0-9' ]+?)\s+is\s+(?:called|known as|named)\s+(?P<key>[a-z0-9' ]+?)(?:\s+(?:here|in this house|in our house|by us|by me))?$",
        rf"^(?P<key>{_NAME})\s+(?:and|=)\s+(?P<value>{_NAME})\s+are\s+the\s+same(?:\s+thing)?$",
        r"^(?:the\s+)?(?P<key>[a-z0-9' ]+?)\s+i\s+(?:care about|mean|want|ask about|always ask about)\s+is\s+(?P<value>.+)$",
        rf"^(?:i|we)\s+live\s+in\s+(?P<key>[a-z0-9' ]+?)\s+(?P<value>{'|'.join(sorted(STATES, key=len, reverse=True))})$",
    )
    for i, pattern in enumerate(patterns):
        found = re.match(pattern, core)
        if found is None:
            continue
        key, value = found["key"], found["value"]
        if i == 9:  # "the springfield i care about is the one in illinois"
            statement = _split_meaning(key, value)
            return statement if statement and statement.kind == "place" else None
        if i == 10:  # "i live in portland oregon"
            return Statement("place", f"{key} {value}", key)
        return _split_meaning(key, value)
    return None


def _media(said: _Said) -> Statement | None:
    """ "I prefer audiobooks to movies", "on the screen I want the audiobook, not the film"."""
    core = said.core
    core = re.sub(
        r"^(?:on the (?:screen|display|tv|telly)|when there is a choice|given the choice|if there is a choice),?\s+",
        "",
        core,
    )
    found = (
        re.match(
            rf"^(?:i|we)\s+{_ADVERBS}(?:prefer|want|would rather have|would rather watch|would rather listen to|"
            r"would rather hear|would rather|like|pick|choose|go for)\s+"
            r"(?:the\s+)?(?P<value>audiobooks|audio books|audiobook|movies|movie|films|the film|podcasts|tv shows|shows)"
            r"(?:\s+(?:version|versions|one))?"
            r"(?:\s+(?:over|to|than|rather than|instead of|not|and not|more than|better than|,?\s*not)\s+(?:the\s+)?"
            r"(?:audiobooks|audio books|audiobook|movies|movie|films|film|podcasts|tv shows|shows|videos|video|the movie|watching))?$",
            core,
        )
        or re.match(
            r"^(?:i|we)\s+would\s+rather\s+(?P<verb>listen|watch)(?:\s+than\s+(?:watch|listen))?$",
            core,
        )
        or re.match(
            r"^(?P<value>audiobooks|audio books|movies|films|podcasts|tv shows)\s+(?:please\s+)?"
            r"(?:not|rather than|instead of|over)\s+(?:audiobooks|audio books|movies|films|podcasts|tv shows)$",
            core,
        )
    )
    if found is None:
        return None
    if "verb" in found.groupdict() and found["verb"]:
        return Statement("media", "audiobook" if found["verb"] == "listen" else "movie")
    return Statement("media", MEDIA[found["value"]])


_PARSERS = (_player, _meaning, _favorite, _my_team, _fan, _support, _media, _like, _is_meaning)


def parse_statement(
    text: str, *, artists: frozenset[str] | set[str] = frozenset()
) -> Statement | None:
    """The preference ``text`` states, or None. ``artists``: names (lower case) the
    assistant's catalogue knows, read as artists even where the text is not capitalised.

    >>> parse_statement("I'm a huge Warriors fan")
    Statement(kind='team', value='warriors', key=None, like=True)
    >>> parse_statement("by the big light I mean the living room ceiling light").kind
    'alias'
    >>> parse_statement("when I say Portland I mean the one in Oregon").value
    'portland oregon'
    >>> parse_statement("turn on the big light") is None
    True
    """
    known = frozenset(artists)
    statement = _parse_clause(text, known)
    if statement is not None:
        return statement
    # "I support Arsenal, always have", "Go Eagles! I'm an Eagles fan": one clause says it
    clauses = [c for c in re.split(r"[.!?;,]+|\s+-\s+", text) if c.strip()]
    if len(clauses) < 2:
        return None
    found = [s for s in (_parse_clause(c, known) for c in clauses) if s is not None]
    return found[0] if len(found) == 1 else None


def _parse_clause(text: str, artists: frozenset[str]) -> Statement | None:
    future = bool(_FUTURE.search(normalize(text)))
    core = _core(text)
    if not core or len(core.split()) > 24:
        return None
    if _QUESTION_START.match(core):
        return None  # "which speaker is the default?" asks; it does not tell
    if _COMMAND_START.match(core) and not future and not core.startswith(("call ", "name ")):
        return None
    said = _Said(core, text, artists, future)
    for parser in _PARSERS:
        statement = parser(said)
        if statement is not None:
            return statement
    return None


_COMMANDS = (
    (
        "forget_all",
        r"^(?:please\s+)?(?:forget|delete|erase|clear|wipe|remove|drop)\s+(?:all|everything|all of)\s*"
        r"(?:that\s+)?(?:you\s+(?:know|have learned|learned|have|remember)\s+)?(?:about\s+me|of\s+me|my preferences|my data|my stuff|"
        r"i have told you|i told you|i taught you)?$|^(?:please\s+)?(?:forget|delete|erase|clear|wipe|reset)\s+(?:all\s+)?"
        r"(?:my\s+)?(?:preferences|data|profile|settings|everything about me|me)$",
    ),
    (
        "forget_last",
        r"^(?:please\s+)?(?:forget|delete|erase|undo|scratch|remove|ignore|never mind|nevermind|cancel)\s+"
        r"(?:that|it|this|what i (?:just\s+)?(?:said|told you)|the last (?:one|thing)|my last (?:preference|answer)|"
        r"that last (?:one|bit|thing))(?:\s+(?:please|preference|one))?$|^(?:that is|that was)\s+(?:wrong|not right|a mistake)\s*(?:forget it)?$",
    ),
    (
        "list",
        r"^(?:what|tell me what)\s+(?:do|did)?\s*(?:you\s+)?(?:know|have you learned|have you learnt|did you learn|"
        r"have you got|do you remember|you know|you have learned|you remember)\s+(?:about\s+me|of\s+me|about my preferences)$|"
        r"^(?:what are|list|show me|tell me|read me|read out)\s+my\s+(?:preferences|settings|profile)$|"
        r"^what\s+(?:have i|did i)\s+(?:told|tell|taught|teach)\s+you$",
    ),
    (
        "learn",
        r"^(?:please\s+)?(?:learn|get to know|ask about|ask me about)\s+(?:my\s+(?:preferences|likes|tastes|taste)|me)$|"
        r"^(?:i want to|let me|can i|i would like to|i would love to)\s+(?:teach you|tell you what i like|tell you my preferences|"
        r"set up my preferences)(?:\s+(?:some things|about me|my preferences))?$|^(?:teach|training) mode$",
    ),
    (
        "yes",
        r"^(?:yes|yeah|yep|sure|ok|okay|alright|go ahead|why not|yes please|sure thing|of course|please do|ok then)$",
    ),
    (
        "no",
        r"^(?:no|nope|nah|no thanks|no thank you|not now|never mind|nevermind|maybe later|later|stop|cancel|forget it|skip|pass)$",
    ),
)


def parse_command(text: str) -> Command | None:
    """The teaching command ``text`` gives, or None.

    >>> parse_command("Forget that").kind
    'forget_last'
    >>> parse_command("what do you know about me").kind
    'list'
    """
    core = normalize(text)
    core = re.sub(r"^(?:hey|ok|okay|so|oh|um|please|assistant|computer)\s+", "", core)
    core = re.sub(r"\s+(?:please|thanks|thank you)$", "", core)
    for kind, pattern in _COMMANDS:
        if re.match(pattern, core):
            return Command(kind)
    return None


_VAGUE = re.compile(
    r"^(?:i do not know|do not know|dunno|no idea|not sure|i am not sure|whatever|anything|"
    r"nothing|none|nothing really|no one|nobody|skip|pass|next|hmm+|um+|uh+|the usual|"
    r"you know|you know the one|the other one|that one|the one i always use|the normal one|"
    r"the one|this one|the usual one|the usual thing|the same one|the same as always|same as usual|the right one|"
    r"the one i (?:always |usually )?(?:use|want|mean|like)|whatever you think|you choose|"
    r"i forget|i cannot remember|hard to say|depends|it depends|all of them|everything|"
    r"not really|no preference|i do not care|does not matter|either|both|same as always|"
    r"ask me later|later|not now|no|nope|never mind)$"
)
_ANSWER_LEAD = re.compile(
    r"^(?:(?:i guess|i suppose|i think|probably|mostly|mainly|definitely|oh|um|uh|well|hmm|"
    r"i would say|i would go with|i would pick|let me think|i meant|i mean|i wanted|i want|"
    r"i was asking for|i asked for|i was talking about|i said|it is|it was|that would be|"
    r"i like|i love|i listen to|i follow|i support|i root for|i prefer|probably|the answer is|"
    r"definitely|easily|gotta be|has to be|i would have to say|oh|yes|yeah|ok|okay|so|uh|"
    r"it is the|that is)\b\s*,?\s*)+"
)


def is_vague(text: str) -> bool:
    """Whether ``text`` is an answer that says nothing ("I don't know", "the other one")."""
    if _VAGUE.match(normalize(text)):
        return True
    core = _TRAIL.sub("", _ANSWER_LEAD.sub("", _core(text))).strip()
    return not core or bool(_VAGUE.match(core))


def _place_from(core: str) -> Statement | None:
    """ "portland oregon", "springfield in illinois": a town and the state that makes it one."""
    words = core.removeprefix("the one in ").split()
    for size in (2, 1):
        if len(words) > size and " ".join(words[-size:]) in STATES:
            town = " ".join(w for w in words[:-size] if w != "in")
            if town and len(town.split()) <= 3:
                return Statement("place", f"{town} {' '.join(words[-size:])}", town)
    return None


def parse_answer(
    kind: str,
    text: str,
    *,
    about: str | None = None,
    artists: frozenset[str] | set[str] = frozenset(),
) -> Statement | None:
    """What an answer to a question about ``kind`` states, or None when it is vague.

    ``about`` is the phrase the question was about (the alias or the ambiguous place the
    assistant could not resolve). A full statement in the answer wins.

    >>> parse_answer("genre", "mostly jazz I guess")
    Statement(kind='genre', value='jazz', key=None, like=True)
    >>> parse_answer("alias", "I meant the ceiling light", about="the big light").value
    'the ceiling light'
    >>> parse_answer("artist", "no idea") is None
    True
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    stated = parse_statement(text, artists=artists)
    if stated is not None:
        return stated
    if is_vague(text):
        return None
    core = _core(text)
    core = _TRAIL.sub("", _ANSWER_LEAD.sub("", core)).strip()
    core = re.sub(
        r"\s+(?:i guess|i think|i suppose|probably|mostly|please|mainly|of course)$", "", core
    )
    if not core or _VAGUE.match(core) or len(core.split()) > 8:
        return None
    if kind == "place" and not about:
        return _place_from(core)
    if kind in ("alias", "place"):
        if not about:
            return None
        statement = _split_meaning(about, core, kind)
        if statement is None:
            return None
        if kind == "place" and statement.kind == "alias":
            # an answer to "which Portland?" that names no state: the whole answer is the place
            return Statement("place", core, about) if about in core else None
        return statement
    if kind == "player":
        return _device(core, about)
    if kind == "media":
        found = MEDIA.get(core.removeprefix("the ")) or MEDIA.get(core.removesuffix("s") + "s")
        return Statement("media", found) if found else None
    hint = {"team": "sport", "artist": "music"}.get(kind)
    statement = _classify(core, _Said(core, core, frozenset(artists)), hint)
    if statement is None and kind in ("genre", "cuisine"):
        word = re.sub(r"\s+(?:music|food|cuisine)$", "", core)
        if len(word.split()) <= 3 and not _NOT_VALUES.match(word):
            return Statement(kind, word)
    return statement
