"""Taught preferences applied to the next request: a rewrite layer before all others.

An alias puts the thing's name where the user's own word was ("turn on the big light" →
"turn on the ceiling light"), a default place qualifies an ambiguous name ("weather in
portland" → "weather in portland oregon"), a taste fills a request for "something I like"
("play some music" → "play marlow"), a default player says where to play. The rewrite
carries layer ``personal`` and method ``taught``, so the turn log records it and the
learners read its outcome as evidence like any other personal rewrite.

What the user taught is applied as said, without a threshold: they told us. It still fails
open (an error lets the original through) and never touches a request from an unknown
speaker.
"""

from __future__ import annotations

import logging
import re

from selflearn.rewrite.base import Rewrite, RewriteRequest, SupportsRewrite, normalize_utterance
from selflearn.teach.parse import STATES
from selflearn.teach.store import Preference, PreferenceStore

__all__ = ["TASTE_REQUESTS", "TaughtRewriter", "with_preferences"]

log = logging.getLogger(__name__)

# Requests for "something I like": what a taste fills in.
TASTE_REQUESTS = re.compile(
    r"^(?P<verb>play|put on|start)\s+(?:me\s+)?(?:some\s+|my\s+)?(?:music|tunes|songs|something|"
    r"something i like|something good|something nice|my kind of music|the usual|my favorites|"
    r"my favourite music|my favorite music|some of my music|what i like)"
    r"(?P<where>\s+(?:in|on)\s+.+)?$"
)
_PLAY = re.compile(r"^(?:play|put on|start playing|start)\s+(?P<what>.+?)$")
_HAS_PLACE = re.compile(r"\s(?:in|on|through)\s+(?:the\s+)?\w+")
_DETERMINERS = ("the ", "my ", "our ")


def _bare(phrase: str) -> str:
    for word in _DETERMINERS:
        if phrase.startswith(word):
            return phrase[len(word) :]
    return phrase


class TaughtRewriter:
    """The speaker's taught preferences as rewrites; None when none bears on the request.

    >>> from selflearn.teach.parse import Statement
    >>> store = PreferenceStore()
    >>> _ = store.add("u1", Statement("alias", "the ceiling light", "the big light"))
    >>> TaughtRewriter(store).rewrite(RewriteRequest("turn on the big light", "u1")).target
    'turn on the ceiling light'
    >>> TaughtRewriter(store).rewrite(RewriteRequest("turn on the big light", "u2")) is None
    True
    """

    def __init__(self, store: PreferenceStore) -> None:
        self.store = store
        self.fail_opens = 0

    def rewrite(self, request: RewriteRequest) -> Rewrite | None:
        if not request.user_id or not request.text:
            return None
        try:
            preferences = self.store.of(request.user_id)
            if not preferences:
                return None
            text = normalize_utterance(request.text)
            target = self._apply(text, preferences)
        except Exception:  # fail open: the original passes through
            log.warning("taught preferences failed; the original passes through", exc_info=True)
            self.fail_opens += 1
            return None
        if target == text:
            return None
        return Rewrite(text, target, "personal", 1.0, "taught", 1)

    def _apply(self, text: str, preferences: list[Preference]) -> str:
        newest_first = sorted(preferences, key=lambda p: p.ts, reverse=True)
        # A whole request taught as meaning another ("play the usual" → ...) wins outright.
        for p in newest_first:
            if p.kind == "alias" and p.key and normalize_utterance(p.key) == text:
                return normalize_utterance(p.value)
        for p in newest_first:
            if p.kind == "alias" and p.key:
                text = _substitute(text, normalize_utterance(p.key), normalize_utterance(p.value))
            elif p.kind == "place" and p.key:
                text = _qualify(text, normalize_utterance(p.key), normalize_utterance(p.value))
        taste = TASTE_REQUESTS.match(text)
        if taste:
            liked = [p for p in newest_first if p.like and p.kind in ("artist", "genre")]
            if liked:
                # an artist names something to play; a genre is a search the player may know
                best = next((p for p in liked if p.kind == "artist"), liked[0])
                what = best.value if best.kind == "artist" else f"{best.value} music"
                text = f"play {normalize_utterance(what)}{taste['where'] or ''}"
        play = _PLAY.match(text)
        if play and not _HAS_PLACE.search(text):
            players = [p for p in newest_first if p.kind == "player"]
            if players:
                device = normalize_utterance(players[0].value)
                if not device.startswith(_DETERMINERS):
                    device = f"the {device}"
                text = f"{text} on {device}"
        return text


def _substitute(text: str, key: str, value: str) -> str:
    """``key`` replaced by ``value`` in ``text``, with the "the"/"my" before it: "set my
    furnace" with the furnace → the thermostat is "set the thermostat". A key said with
    "my" or "our" ("my lamp") matches only so said; a one-word key only with a
    determiner ("the heat" is "my heat" too, never a bare "heat"), so "my lamp" never
    takes over "the lamp" or "lamp"."""
    bare = _bare(key)
    if not bare or key == value:
        return text
    if key.startswith(("my ", "our ")):
        pattern = rf"(?<![\w'])(?P<det>){re.escape(key)}(?![\w'])"
    elif len(bare.split()) < 2 and key != bare:  # "the heat": "my heat" too, not "heat"
        pattern = rf"(?<![\w'])(?P<det>(?:the|my|our)\s+){re.escape(bare)}(?![\w'])"
    else:
        pattern = rf"(?<![\w'])(?P<det>(?:the|my|our)\s+)?{re.escape(bare)}(?![\w'])"
    found = re.search(pattern, text)
    if found is None:
        return text
    replacement = value if value.startswith(_DETERMINERS) else (found["det"] or "") + value
    return text[: found.start()] + replacement + text[found.end() :]


def _qualify(text: str, key: str, value: str) -> str:
    """An ambiguous place name made the one the user means, unless the request already
    says which ("portland maine" stays)."""
    if not value.startswith(key + " "):
        return _substitute(text, key, value)
    pattern = rf"(?<![\w']){re.escape(key)}(?![\w'])(?P<rest>(?:\s+\w+){{0,2}})"
    found = re.search(pattern, text)
    if found is None:
        return text
    rest = found["rest"].split()
    following = " ".join(rest[:2])
    if rest and (rest[0] in STATES or following in STATES or value.endswith(" " + rest[0])):
        return text
    return text[: found.start()] + value + text[found.start() + len(key) :]


class _Chain:
    """Taught preferences first, then the learned rewriter."""

    def __init__(self, taught: TaughtRewriter, rest: SupportsRewrite | None) -> None:
        self.taught = taught
        self.rest = rest

    @property
    def budget_s(self) -> float:
        return float(getattr(self.rest, "budget_s", 0.0) or 0.0)

    @property
    def fail_opens(self) -> int:
        return self.taught.fail_opens + int(getattr(self.rest, "fail_opens", 0) or 0)

    def rewrite(self, request: RewriteRequest) -> Rewrite | None:
        taught = self.taught.rewrite(request)
        if taught is not None or self.rest is None:
            return taught
        return self.rest.rewrite(request)


def with_preferences(rewriter: SupportsRewrite | None, store: PreferenceStore) -> SupportsRewrite:
    """``rewriter`` with the speakers' taught preferences applied before it."""
    return _Chain(TaughtRewriter(store), rewriter)
