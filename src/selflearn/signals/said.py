"""Feedback in the user's own words: what the next thing said tells of the last answer.

Real logs rarely carry a ``feedback`` field; the user's next words do. "No", "that's
wrong", "I said the kitchen", "not that one" and "what?" say the answer missed; "stop",
"cancel" and "never mind" say the user gave up on it; "thanks" and "perfect" say it landed.
The phrases are about the exchange, not about any domain: they read the same after an
alarm, an email, a song or a light. A phrase counts only at the start of what was said
(or as the whole of it), where people put their reaction; "play no doubt" and "is it
cold outside, thanks" are requests, not verdicts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["SaidFeedback", "correction_request", "correction_words", "read_feedback"]

_NEGATIVE = (
    r"(no+|nope|nah)\b.*",
    r"not (that|this|it|right|quite|what i|the)\b.*",
    r"(that'?s|that is|it'?s|this is) (not|wrong|incorrect)\b.*",
    r"wrong\b.*|incorrect\b.*|you('re| are) wrong\b.*",
    r"i (said|meant|asked|wanted|mean|did ?n[o']?t)\b.*",
    r"what\W*|(huh|excuse me|pardon|sorry|come again|hello)\b.*",
    r"(what|that) (do|did) you mean\b.*|i don'?t understand\b.*",
    r".*\b(are )?you (still )?there\b.*",
    r"(why|how) (did|would|do) you\b.*",
    r"(ugh|argh|ffs|useless|stupid|terrible|boring|bad|awful)\b.*",
    r"i (don'?t|do not|didn'?t|did not) (like|want|need|care)\b.*",
    r"(never|not) (heard|seen) of\b.*",
)
_GIVE_UP = (
    r"(stop|cancel|never ?mind|forget (it|that|about it)|shut up|quiet|enough|abort)\b.*",
    r"(ok(ay)?|fine|whatever),? (never ?mind|forget it)\b.*",
)
_POSITIVE = (
    r"(thanks?|thank you|thx|cheers|no problem|no worries)\b.*",
    r"(great|perfect|awesome|excellent|wonderful|brilliant|nice|cool|good job|well done)\b.*",
    r"(that'?s|that is|it'?s|exactly|yes,? that'?s) (right|correct|it|perfect|great)\b.*",
    r"(sounds|looks) (good|great|perfect|interesting)\b.*",
    r"i (love|like|liked|loved|enjoy(ed)?) (it|that|this)\b.*",
)


def _compile(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"^(?:" + "|".join(f"(?:{p})" for p in patterns) + r")$")


_NEG, _STOP, _POS = _compile(_NEGATIVE), _compile(_GIVE_UP), _compile(_POSITIVE)
_BARE_ANSWER = re.compile(r"^(no+|nope|nah|yes|yeah|yep|sure|ok(ay)?)$")
_WORDS = re.compile(r"[a-z0-9']+|\?")


@dataclass(frozen=True)
class SaidFeedback:
    """What the next words say of the answer before them: ``negative`` / ``positive`` / None,
    and whether they give up on it."""

    feedback: str | None
    gave_up: bool


@lru_cache(maxsize=50_000)
def read_feedback(text: str | None, *, asked: bool = False) -> SaidFeedback:
    """The verdict in ``text`` on the answer before it. ``asked``: that answer asked a
    question, and a bare "yes" or "no" answers it rather than judging it.

    >>> read_feedback("No, I said the kitchen").feedback
    'negative'
    >>> read_feedback("never mind").gave_up
    True
    >>> read_feedback("thanks!").feedback
    'positive'
    >>> read_feedback("play no doubt").feedback is None
    True
    >>> read_feedback("no", asked=True).feedback is None
    True
    """
    if not text:
        return SaidFeedback(None, False)
    words = " ".join(_WORDS.findall(text.lower().replace("’", "'")))
    words = words.replace(" ?", "?").strip()
    plain = words.rstrip("?").strip()
    if asked and _BARE_ANSWER.match(plain):
        return SaidFeedback(None, False)
    if _STOP.match(plain):
        return SaidFeedback("negative", True)
    if _POS.match(plain):
        return SaidFeedback("positive", False)
    if _NEG.match(plain) or words == "?":
        return SaidFeedback("negative", False)
    return SaidFeedback(None, False)


# A correction's lead: what comes before the request said again ("no, I meant …").
_CORRECTION_LEAD = re.compile(
    r"^(?:(?:no+|nope|nah|wrong|not (?:that|this|it))\b[ ,.!]*)?"
    r"(?:(?:i|i've) (?:said|meant|mean|asked(?: you)?(?: to)?|wanted(?: you)?(?: to)?)\b[ ,:]*)?"
    r"(?P<rest>.*)$"
)


def correction_words(text: str | None) -> str | None:
    """What a negative reaction says after its lead, or None (not a negative reaction, or
    nothing after the lead): "no, I said the kitchen" → "the kitchen".

    >>> correction_words("Nope, I meant turn off the kitchen light")
    'turn off the kitchen light'
    >>> correction_words("no") is None, correction_words("turn off the light") is None
    (True, True)
    """
    if not text or read_feedback(text).feedback != "negative":
        return None
    words = " ".join(_WORDS.findall(text.lower().replace("’", "'"))).replace(" ?", "?")
    found = _CORRECTION_LEAD.match(words)
    rest = found.group("rest").strip() if found else ""
    return rest if rest and rest != words else None


def correction_request(text: str | None) -> str | None:
    """The request a negative reaction says again, or None: "no, I meant turn off the
    kitchen light" → "turn off the kitchen light". Only a whole request counts (it says
    what to do); "no, I said the kitchen" leaves the rest to the assistant and the learners.

    >>> correction_request("No, I meant turn off the kitchen light")
    'turn off the kitchen light'
    >>> correction_request("no I said the kitchen") is None
    True
    >>> correction_request("turn off the kitchen light") is None
    True
    """
    from selflearn.rewrite.guards import says_what_to_do  # the guard's own word lists

    rest = correction_words(text)
    if rest is None or len(rest.split()) < 2:
        return None
    if read_feedback(rest).feedback is not None or not says_what_to_do(rest.split()):
        return None
    return rest
