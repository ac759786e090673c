"""Candidates for an online rewrite and what the ranker knows about each (DESIGN §2 items 5, 9).

Candidates come from three searches: the global rows nearest in meaning (sentence vectors),
the global rows nearest in sound (misrecognitions rarely keep the meaning but keep much of
the sound), and — in the personal layer — the speaker's own successes. Each candidate is
described by how alike it is to the request (meaning, letters, sound, words, numbers), its
evidence (how often it worked, for how many people, for this speaker), the request's own
evidence (a request that is known to work should stay as it is), and how well the
candidate's past fits the request's context: the room, the kind of device, the states of the
devices around, the time of day, and how sure the recogniser was.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz import fuzz

from selflearn.rewrite.guards import OWN_HISTORY_MAY, Guard, asks
from selflearn.rewrite.index import GLOBAL, RetrievalIndex, sound_vector
from selflearn.signals.rephrase import phonetic_key

__all__ = ["FEATURES", "Candidate", "Query", "candidates", "features"]

FEATURES = (
    "meaning",
    "meaning_gap",
    "sound",
    "ratio",
    "token_set",
    "partial",
    "phonetic",
    "jaccard",
    "words_added",
    "words_removed",
    "numbers_same",
    "question_same",
    "query_has_number",
    "query_words",
    "global_successes",
    "global_rate",
    "global_users",
    "own_successes",
    "own_rate",
    "query_global_successes",
    "query_global_rate",
    "query_own_successes",
    "query_own_rate",
    "area_share",
    "device_type_share",
    "entities_here",
    "entity_active",
    "hour_agreement",
    "asr_confidence",
    "from_personal",
)
# device states that mean "in use": with the oven on, "the temperature" is the oven's
ACTIVE_STATES = frozenset({"on", "heat", "cool", "heat_cool", "auto", "playing", "open", "active"})
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class Query:
    """A request as the ranker sees it: normalised words and their context."""

    text: str
    owner: str | None = None
    area: str | None = None
    device_type: str | None = None
    device_states: dict[str, str] = field(default_factory=dict)
    hour: float | None = None
    confidence: float | None = None

    @classmethod
    def from_context(
        cls,
        text: str,
        owner: str | None,
        area: str | None,
        device_type: str | None,
        context: dict[str, Any],
        confidence: float | None,
    ) -> Query:
        states = context.get("device_states") or {}
        hour = None
        local = context.get("local_time")
        if isinstance(local, str) and ":" in local:
            try:
                hour = float(local.split(":", 1)[0])
            except ValueError:
                hour = None
        return cls(
            text,
            owner,
            area or context.get("area"),
            device_type,
            {str(k): str(v) for k, v in states.items()} if isinstance(states, dict) else {},
            hour,
            confidence,
        )


@dataclass(frozen=True)
class Candidate:
    text: str
    global_row: int | None
    own_row: int | None
    meaning: float
    sound: float


def candidates(
    index: RetrievalIndex,
    query: Query,
    meaning_vector: np.ndarray,
    *,
    personal: bool,
    k: int = 8,
    guard: Guard | None = None,
) -> list[Candidate]:
    """Distinct candidate utterances (never the request itself), global ∪ own; none that
    the ``guard`` forbids (an opposite action, a place changed). A rewrite the guard lets
    only the speaker's own history make (:data:`OWN_HISTORY_MAY`) is a candidate of the
    personal layer alone, and only to one of their own successes."""
    probe = sound_vector(query.text)
    rows: dict[str, tuple[int | None, int | None]] = {}

    def note(row: int, own: bool) -> None:
        text = index.text[row]
        if text == query.text:
            return
        g, o = rows.get(text, (None, None))
        rows[text] = (g, row) if own else (row, o)

    for row, _ in index.global_search(meaning_vector, k):
        note(row, False)
    for row, _ in index.global_search(probe, k, sound=True):
        note(row, False)
    if personal and query.owner:
        for row, _ in index.personal_search(meaning_vector, query.owner, k):
            note(row, True)
        for row, _ in index.personal_search(probe, query.owner, k, sound=True):
            note(row, True)
    out = []
    for text, (g, o) in rows.items():
        if personal and query.owner:
            o = o if o is not None else index.row(query.owner, text)
        g = g if g is not None else index.row(GLOBAL, text)
        why = guard.reason(query.text, text, query.area) if guard is not None else None
        if why is not None:
            if o is None or why not in OWN_HISTORY_MAY:
                continue
            g = None  # theirs to teach: never the global layer's
        any_row = o if o is not None else g
        assert any_row is not None
        meaning = float(index.vector(any_row) @ meaning_vector)
        sound = float(sound_vector(text) @ probe)
        out.append(Candidate(text, g, o, meaning, sound))
    return out


def _log(x: float) -> float:
    return math.log1p(max(x, 0.0))


def _rate(index: RetrievalIndex, row: int | None) -> float:
    if row is None:
        return math.nan
    return float((index.successes[row] + 0.5) / (index.tries[row] + 1.0))


def features(
    index: RetrievalIndex, query: Query, cands: list[Candidate], *, personal: bool
) -> np.ndarray:
    """One row of :data:`FEATURES` per candidate (NaN where a fact is unknown)."""
    out = np.full((len(cands), len(FEATURES)), np.nan, dtype=np.float32)
    if not cands:
        return out
    q_words = query.text.split()
    q_set = set(q_words)
    q_numbers = _NUMBER.findall(query.text)
    q_phon = phonetic_key(query.text)
    q_asks = asks(q_words)
    best = max(c.meaning for c in cands)
    q_global = index.row(GLOBAL, query.text)
    q_own = index.row(query.owner, query.text) if personal and query.owner else None
    hour = (
        (math.sin(query.hour * math.pi / 12), math.cos(query.hour * math.pi / 12))
        if query.hour is not None
        else None
    )
    for i, c in enumerate(cands):
        words = c.text.split()
        c_set = set(words)
        ctx_row = c.own_row if c.own_row is not None else c.global_row
        assert ctx_row is not None
        areas = index.areas(ctx_row)
        kinds = index.device_types(ctx_row)
        ents = index.entities(ctx_row)
        here = [e for e in ents if e in query.device_states]
        n_area = sum(areas.values()) or 1
        n_kind = sum(kinds.values()) or 1
        row = [
            c.meaning,
            best - c.meaning,
            c.sound,
            fuzz.ratio(query.text, c.text) / 100.0,
            fuzz.token_set_ratio(query.text, c.text) / 100.0,
            fuzz.partial_ratio(query.text, c.text) / 100.0,
            fuzz.ratio(q_phon, phonetic_key(c.text)) / 100.0,
            len(q_set & c_set) / max(len(q_set | c_set), 1),
            float(len(c_set - q_set)),
            float(len(q_set - c_set)),
            float(_NUMBER.findall(c.text) == q_numbers),
            float(asks(words) == q_asks),
            float(bool(q_numbers)),
            float(len(q_words)),
            _log(index.successes[c.global_row]) if c.global_row is not None else 0.0,
            _rate(index, c.global_row),
            _log(index.users[c.global_row]) if c.global_row is not None else 0.0,
            (_log(index.successes[c.own_row]) if c.own_row is not None else 0.0)
            if personal
            else math.nan,
            _rate(index, c.own_row) if personal else math.nan,
            _log(index.successes[q_global]) if q_global is not None else 0.0,
            _rate(index, q_global),
            (_log(index.successes[q_own]) if q_own is not None else 0.0) if personal else math.nan,
            _rate(index, q_own) if personal else math.nan,
            areas.get(query.area or "", 0) / n_area if query.area else math.nan,
            kinds.get(query.device_type or "", 0) / n_kind if query.device_type else math.nan,
            len(here) / len(ents) if ents and query.device_states else math.nan,
            float(any(query.device_states.get(e) in ACTIVE_STATES for e in here))
            if ents and query.device_states
            else math.nan,
            float(index.hour[ctx_row] @ np.array(hour, dtype=np.float32)) if hour else math.nan,
            query.confidence if query.confidence is not None else math.nan,
            float(c.own_row is not None),
        ]
        out[i] = row
    return out
