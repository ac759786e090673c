"""Turns as the dialogue model reads them: each session a sequence, each turn its words,
the assistant's answer, what each stage made of it, and how it relates to its neighbours
(DESIGN §2 items 7–8).

Everything comes from the turn log alone (§3.1), so any assistant's log can be read: the
request and response texts (encoded by MiniLM-L6 elsewhere), categorical fields (intent,
domain, response status, device type, resolution status, feedback) and numbers
(recognition and intent confidences, the n-best's spread, token counts, wake score, timing,
barge-in, entity scores, rewrites). *Context* numbers relate a turn to the next and the
previous turn of its session — how alike their words and sounds are, whether the intent
held, whether the next one worked — and are left out when the model reads turns alone.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import pairwise
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from rapidfuzz import fuzz, process
from wordfreq import zipf_frequency

from selflearn.signals.compute import UNDONE_BY_HAND
from selflearn.signals.rephrase import phonetic_key
from selflearn.signals.sessions import SessionConfig, sessionize

__all__ = [
    "CATEGORICAL",
    "CONTEXT_NUMERIC",
    "NUMERIC",
    "TurnFeatures",
    "Vocabulary",
    "flat_turns",
    "nearest_working",
    "turn_features",
    "working_requests",
]

CATEGORICAL = ("intent", "domain", "status", "device_type", "resolution", "feedback")
NUMERIC = (
    "asr_confidence",
    "asr_missing",
    "nbest_count",
    "nbest_gap",
    "nlu_confidence",
    "nlu_missing",
    "request_tokens",
    "unseen_words",
    "rare_words",
    "min_zipf",
    "response_tokens",
    "wake_score",
    "barge_in",
    "barge_in_share",
    "entity_score_min",
    "entities_unmatched",
    "unmatched_near_name",
    "media_score",
    "rewritten",
    "rewrite_score",
    "response_s",
    # the nearest request that worked before (:func:`nearest_working`)
    "worked_before",
    "nearest_meaning",
    "nearest_ratio",
    "nearest_sound",
    "nbest_worked",
    "nbest_nearer",  # how much nearer an alternative comes to a request that worked
    "nbest_unseen_drop",
    # where the recogniser's alternatives disagree with its best guess: words of it most
    # alternatives do not keep, and places where most alternatives hear a word it lacks
    # (a misheard word seldom survives in the alternatives; a word heard right does)
    "nbest_doubted",
    "nbest_dropped",
    # how many other people said each pair of adjacent words (a phrasing people use recurs;
    # a mishearing seldom does)
    "lone_pairs",
    "min_pair_speakers",
    # the word-level edit to the nearest request that worked: words swapped for ones that
    # sound alike (misheard) against other edits (phrased differently)
    "sound_alike_edits",
    "other_edits",
    # a name the assistant resolved that several things answer to, or that has a near twin
    # (the assistant had to pick one: a wrong pick is an entity or result failure)
    "matched_shared",
    "matched_twin",
    # how often, across the log, people put right by hand or said "no" to a turn that
    # resolved the same name (a title two artists share is skipped far more often than
    # one that means one song: the assistant's pick of it is often wrong, reaction or not)
    "matched_trouble",
    # what the user did by hand right after the action (the event's after_action): switched
    # it back or another device instead; skipped or stopped what it started
    "undone_by_hand",
    "skipped_by_hand",
    "stopped_by_hand",
    "after_watched",  # the producer watched after this turn (schema 2, the turn acted)
)
_NEAREST = NUMERIC.index("worked_before")
_NBEST = NUMERIC.index("nbest_worked")
_EDITS = NUMERIC.index("sound_alike_edits")
_NEIGHBOURS = 5
CONTEXT_NUMERIC = (
    "position",
    "session_turns",
    "next_gap_s",
    "next_missing",
    "next_ratio",
    "next_sound",
    "next_same_intent",
    "next_ok",
    "prev_gap_s",
    "prev_missing",
    "prev_ratio",
    "prev_sound",
    "prev_same_intent",
    "prev_ok",
)
_NONE, _UNKNOWN = "<none>", "<unknown>"
_MIN_COUNT = 3  # rarer categorical values share one "unknown" id

_FLAT_SQL = """
SELECT s.turn_id, s.session, s.device_rank, s.ts, s.end_ts, s.text, s.response_text,
    s.asr_confidence, s.intent, s.nlu_confidence, s.status, s.duration_ms, s.barge_in_ms,
    s.feedback, s.wake_score, s.device_type, s.user_id, s.device_id, s.after_kinds,
    t.nlu.domain AS domain,
    t.nlu.slots AS slots,
    len(t.asr.nbest) AS nbest_count,
    t.asr.nbest[1].confidence AS nbest_top,
    list_transform(t.asr.nbest, lambda h: h.text) AS nbest_texts,
    t.resolution.status AS resolution,
    list_min(list_transform(t.resolution.entities, lambda e: e.score)) AS entity_score_min,
    len(list_filter(t.resolution.entities, lambda e: e.entity_id IS NULL)) AS entities_unmatched,
    list_transform(
        list_filter(t.resolution.entities, lambda e: e.entity_id IS NULL), lambda e: e.value
    ) AS unmatched_values,
    list_transform(
        list_filter(t.resolution.entities, lambda e: e.entity_id IS NOT NULL), lambda e: e.value
    ) AS matched_values,
    list_transform(
        list_filter(t.resolution.entities, lambda e: e.entity_id IS NOT NULL), lambda e: e.entity_id
    ) AS matched_ids,
    list_max(list_transform(
        list_filter(t.resolution.entities, lambda e: e.slot = 'search_query'), lambda e: e.score
    )) AS media_score,
    t.rewrite IS NOT NULL AS rewritten,
    t.rewrite.score AS rewrite_score
FROM sessioned s
JOIN (
    SELECT * FROM turns QUALIFY row_number() OVER (PARTITION BY turn_id ORDER BY ts) = 1
) t USING (turn_id)
ORDER BY s.device_id, s.device_rank
"""


@dataclass
class Vocabulary:
    """Each categorical field's values, as learned from a training log (id 0: none, 1:
    a value too rare or unseen)."""

    values: dict[str, list[str]] = field(default_factory=dict)
    words: list[str] = field(default_factory=list)  # words of requests that worked
    names: list[str] = field(default_factory=list)  # names the assistant resolved
    pairs: dict[str, int] = field(default_factory=dict)  # word pair → how many people said it
    shared: dict[str, int] = field(default_factory=dict)  # name → how many things it named
    # name → [turns that resolved it and were put right by hand or said "no", all such turns]
    trouble: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def fit(cls, rows: list[dict[str, Any]]) -> Vocabulary:
        values = {}
        for name in CATEGORICAL:
            counts = Counter(str(r[name]) for r in rows if r[name] not in (None, ""))
            kept = sorted(v for v, n in counts.items() if n >= _MIN_COUNT)
            values[name] = [_NONE, _UNKNOWN, *kept]
        worked = Counter(
            w for r in rows if r["status"] == "success" for w in set((r["text"] or "").split())
        )
        names = Counter(str(v).lower() for r in rows for v in r["matched_values"] or ())
        targets: dict[str, set[str]] = {}
        for r in rows:
            for value, target in zip(
                r["matched_values"] or (), r["matched_ids"] or (), strict=False
            ):
                targets.setdefault(str(value).lower(), set()).add(str(target))
        trouble: dict[str, list[int]] = {}
        for r in rows:
            bad = int(_troubled(r))
            for name in {str(v).lower() for v in r["matched_values"] or ()}:
                seen = trouble.setdefault(name, [0, 0])
                seen[0] += bad
                seen[1] += 1
        speakers: dict[str, set[str]] = {}
        for r in rows:
            for pair in _pairs(r["text"]):
                speakers.setdefault(pair, set()).add(str(r["user_id"] or r["device_id"]))
        return cls(
            values,
            sorted(w for w, n in worked.items() if n >= _MIN_COUNT),
            sorted(v for v, n in names.items() if n >= _MIN_COUNT),
            {p: len(s) for p, s in sorted(speakers.items()) if len(s) >= 2},
            {v: len(t) for v, t in sorted(targets.items()) if len(t) >= 2},
            {v: t for v, t in sorted(trouble.items()) if t[1] >= _MIN_COUNT},
        )

    def ids(self, name: str, value: Any) -> int:
        if value in (None, ""):
            return 0
        lookup = self._lookup.get(name)
        if lookup is None:
            lookup = self._lookup[name] = {v: i for i, v in enumerate(self.values[name])}
        return lookup.get(str(value), 1)

    def size(self, name: str) -> int:
        return len(self.values[name])

    def __post_init__(self) -> None:
        self._lookup: dict[str, dict[str, int]] = {}
        self._words = frozenset(self.words)
        # the share over all names, which a seldom-seen name's own share is shrunk towards
        bad = sum(t[0] for t in self.trouble.values())
        self._overall = bad / max(sum(t[1] for t in self.trouble.values()), 1)

    def unseen(self, words: list[str]) -> float:
        """The share of ``words`` never seen in a request that worked (a misheard word
        is seldom one the assistant understands)."""
        return sum(w not in self._words for w in words) / len(words) if words else 0.0

    def pair_spread(self, text: str | None, *, counted: bool) -> tuple[float, float]:
        """The share of the request's word pairs no one else said, and how many others said
        its rarest pair (log scale, 1 = fifty people or more). ``counted``: the request is
        among those the vocabulary was fitted on (its speaker is not another person)."""
        own = 1 if counted else 0
        counts = [max(self.pairs.get(p, own) - own, 0) for p in _pairs(text)]
        if not counts:
            return 0.0, 1.0
        return (
            sum(c == 0 for c in counts) / len(counts),
            min(math.log1p(min(counts)) / math.log1p(50.0), 1.0),
        )

    def ambiguity(self, values: list[str] | None) -> tuple[float, float]:
        """For the names the assistant resolved now: how many things the most shared one
        has named (log scale), and how close the nearest *other* known name comes to one."""
        shared = twin = 0.0
        for value in values or ():
            name = str(value).lower()
            shared = max(shared, math.log1p(self.shared.get(name, 1) - 1))
            for other, score, _ in process.extract(name, self.names, scorer=fuzz.ratio, limit=2):
                if other != name:
                    twin = max(twin, float(score) / 100.0)
        return shared, twin

    def trouble_rate(self, row: dict[str, Any], *, counted: bool) -> float:
        """The highest share, among the names resolved now, of the log's turns resolving
        that name that were put right by hand or said "no" (shrunk towards the share over
        all names when a name was seen seldom). ``counted``: the turn is among those the
        vocabulary was fitted on (its own reaction is left out)."""
        if not self.trouble:
            return 0.0
        own = int(_troubled(row)) if counted else 0
        best = 0.0
        for name in {str(v).lower() for v in row["matched_values"] or ()}:
            bad, seen = self.trouble.get(name, (own, int(counted)))
            bad, seen = bad - own, seen - int(counted)
            best = max(best, (bad + _PRIOR * self._overall) / (seen + _PRIOR))
        return best

    def near_name(self, values: list[str] | None) -> float:
        """How close the closest name the assistant has resolved before comes to a name it
        could not resolve now ("kitchen lice" ~ "kitchen light": misheard, not unknown)."""
        best = 0.0
        for value in values or ():
            found = process.extractOne(str(value).lower(), self.names, scorer=fuzz.ratio)
            if found is not None:
                best = max(best, float(found[1]) / 100.0)
        return best


_PRIOR = 5.0  # turns' worth of the overall share a name's own share is shrunk towards


def _troubled(row: dict[str, Any]) -> bool:
    """Put right by hand after the action, or answered "no"."""
    kinds = set(row.get("after_kinds") or ())
    return bool(UNDONE_BY_HAND & kinds) or row["feedback"] == "negative"


def _pairs(text: str | None) -> list[str]:
    words = ["<s>", *(text or "").split(), "</s>"]
    return [f"{a} {b}" for a, b in pairwise(words)] if len(words) > 2 else []


@lru_cache(maxsize=65536)
def _word_sound(word: str) -> str:
    return phonetic_key(word)


def _sounds_alike(a: list[str], b: list[str]) -> bool:
    """Whether two runs of words sound close enough to be heard one for the other."""
    x, y = "".join(_word_sound(w) for w in a), "".join(_word_sound(w) for w in b)
    return bool(x or y) and max(fuzz.ratio(x, y), fuzz.ratio(" ".join(a), " ".join(b))) >= 60.0


def edits(heard: str, other: str) -> tuple[int, int]:
    """The word-level edit from ``heard`` to ``other``: (words replaced by ones that sound
    alike, other words inserted, dropped or replaced). "kitten speaker on" → "kitchen
    speaker on" is (1, 0); "kitchen speaker on thanks" → "kitchen speaker on" is (0, 1)."""
    a, b = heard.split(), other.split()
    alike = different = 0
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        if op == "replace" and _sounds_alike(a[i1:i2], b[j1:j2]):
            alike += max(i2 - i1, j2 - j1)
        else:
            different += max(i2 - i1, j2 - j1)
    return alike, different


@lru_cache(maxsize=65536)
def _zipf(word: str) -> float:
    return float(zipf_frequency(word, "en"))


@dataclass
class TurnFeatures:
    """A log's turns in session order, with what the model reads of each.

    ``starts[i]``: the index of session i's first turn (sessions are contiguous).
    """

    turn_ids: list[str]
    requests: list[str]
    responses: list[str]
    categorical: np.ndarray  # (turns, len(CATEGORICAL)) int64
    numeric: np.ndarray  # (turns, len(NUMERIC) + len(CONTEXT_NUMERIC)) float32
    starts: np.ndarray  # (sessions + 1,) int64, the last entry = turns
    users: list[str | None]
    devices: list[str]
    rows: list[dict[str, Any]]

    def __len__(self) -> int:
        return len(self.turn_ids)

    def sessions(self) -> list[tuple[int, int]]:
        return [(int(a), int(b)) for a, b in zip(self.starts[:-1], self.starts[1:], strict=True)]


def _num(value: Any, default: float = 0.0) -> float:
    if value is None:
        return default
    number = float(value)
    return default if math.isnan(number) else number


def _tokens(text: str | None) -> float:
    return math.log1p(len((text or "").split()))


def _gap(seconds: float) -> float:
    return math.log1p(max(seconds, 0.0)) / math.log1p(120.0)


def _relation(row: dict[str, Any], other: dict[str, Any] | None, gap: float) -> list[float]:
    """How ``other`` (the next or previous turn) relates to ``row``."""
    if other is None:
        return [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    a, b = row["text"] or "", other["text"] or ""
    return [
        _gap(gap),
        0.0,
        fuzz.ratio(a, b) / 100.0,
        fuzz.ratio(phonetic_key(a), phonetic_key(b)) / 100.0,
        float(bool(row["intent"]) and row["intent"] == other["intent"]),
        float(other["status"] == "success"),
    ]


def _unseen_drop(words: list[str], nbest: list[str] | None, vocabulary: Vocabulary) -> float:
    """How many fewer unknown words the recogniser's best alternative has (a misheard word
    often has the right one among the alternatives)."""
    if not nbest:
        return 0.0
    return vocabulary.unseen(words) - min(vocabulary.unseen(str(t).split()) for t in nbest)


def _doubt(words: list[str], nbest: list[str] | None) -> tuple[float, float]:
    """How many words of the best hypothesis fewer than half the alternatives keep, and at
    how many places more than half of them hear a word it lacks (log-scaled)."""
    alternatives = [str(t).split() for t in nbest or () if t is not None]
    if not alternatives or not words:
        return 0.0, 0.0
    kept = [0] * len(words)
    added = [0] * (len(words) + 1)
    for other in alternatives:
        gaps = set()
        matcher = SequenceMatcher(None, words, other, autojunk=False)
        for op, i1, i2, _, _ in matcher.get_opcodes():
            if op == "equal":
                for i in range(i1, i2):
                    kept[i] += 1
            elif op == "insert":
                gaps.add(i1)
        for i in gaps:
            added[i] += 1
    half = len(alternatives) / 2.0
    doubted = sum(k < half for k in kept)
    dropped = sum(a > half for a in added)
    return math.log1p(doubted), math.log1p(dropped)


def _numbers(row: dict[str, Any], vocabulary: Vocabulary, counted: bool) -> list[float]:
    words = (row["text"] or "").split()
    zipfs = [_zipf(w) for w in words] or [8.0]
    duration = _num(row["duration_ms"])
    barge = row["barge_in_ms"]
    nbest_top = row["nbest_top"]
    asr = row["asr_confidence"]
    return [
        _num(asr),
        float(asr is None),
        math.log1p(_num(row["nbest_count"])),
        _num(asr) - _num(nbest_top) if nbest_top is not None and asr is not None else 1.0,
        _num(row["nlu_confidence"]),
        float(row["nlu_confidence"] is None),
        _tokens(row["text"]),
        vocabulary.unseen(words),
        sum(z < 3.0 for z in zipfs) / len(zipfs),
        min(zipfs) / 8.0,
        _tokens(row["response_text"]),
        _num(row["wake_score"], 1.0),
        float(barge is not None),
        _num(barge) / duration if barge is not None and duration > 0 else 0.0,
        _num(row["entity_score_min"], 1.0),
        _num(row["entities_unmatched"]),
        vocabulary.near_name(row["unmatched_values"]),
        _num(row["media_score"], 1.0),
        float(bool(row["rewritten"])),
        _num(row["rewrite_score"]),
        math.log1p(duration / 1000.0),
        0.0,  # filled by nearest_working
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        _unseen_drop(words, row["nbest_texts"], vocabulary),
        *_doubt(words, row["nbest_texts"]),
        *vocabulary.pair_spread(row["text"], counted=counted),
        0.0,  # filled by nearest_working
        0.0,
        *vocabulary.ambiguity(row["matched_values"]),
        vocabulary.trouble_rate(row, counted=counted),
        *_by_hand(row.get("after_kinds")),
    ]


def _by_hand(kinds: list[str] | None) -> list[float]:
    """What the user did by hand after the action, as the four after-action numbers."""
    seen = set(kinds or ())
    return [
        float(bool(seen & {"undone", "other_device"})),
        float("skipped" in seen),
        float("stopped" in seen),
        float(kinds is not None),
    ]


def flat_turns(turns: pa.Table, sessions: SessionConfig | None = None) -> list[dict[str, Any]]:
    """One flat row per distinct turn, in session order (device, then time)."""
    con = duckdb.connect()
    try:
        sessionize(con, turns, sessions or SessionConfig())
        return list(con.sql(_FLAT_SQL).to_arrow_table().to_pylist())
    finally:
        con.close()


def turn_features(
    turns: pa.Table | list[dict[str, Any]],
    vocabulary: Vocabulary | None = None,
    sessions: SessionConfig | None = None,
) -> tuple[TurnFeatures, Vocabulary]:
    """The features of every turn in ``turns`` (a turn-log table, or :func:`flat_turns`'
    rows), and the vocabulary used (fitted here when none is given)."""
    rows = turns if isinstance(turns, list) else flat_turns(turns, sessions)
    counted = vocabulary is None
    vocabulary = vocabulary or Vocabulary.fit(rows)
    n = len(rows)
    categorical = np.zeros((n, len(CATEGORICAL)), dtype=np.int64)
    numeric = np.zeros((n, len(NUMERIC) + len(CONTEXT_NUMERIC)), dtype=np.float32)
    starts = [0]
    for i, row in enumerate(rows):
        if i and row["session"] != rows[i - 1]["session"]:
            starts.append(i)
    starts.append(n)
    for a, b in pairwise(starts):
        for i in range(a, b):
            row = rows[i]
            nxt = rows[i + 1] if i + 1 < b else None
            prev = rows[i - 1] if i > a else None
            context = [
                min(i - a, 31) / 31.0,
                min(b - a, 32) / 32.0,
                *_relation(row, nxt, (nxt["ts"] - row["end_ts"]) if nxt else 0.0),
                *_relation(row, prev, (row["ts"] - prev["end_ts"]) if prev else 0.0),
            ]
            numeric[i] = [*_numbers(row, vocabulary, counted), *context]
            categorical[i] = [vocabulary.ids(name, row[name]) for name in CATEGORICAL]
    return (
        TurnFeatures(
            [r["turn_id"] for r in rows],
            [r["text"] or "" for r in rows],
            [r["response_text"] or "" for r in rows],
            categorical,
            numeric,
            np.array(starts, dtype=np.int64),
            [r["user_id"] for r in rows],
            [r["device_id"] for r in rows],
            rows,
        ),
        vocabulary,
    )


def nearest_working(
    features: TurnFeatures,
    vectors: np.ndarray,
    known: dict[str, int],
    known_vectors: np.ndarray,
    *,
    counted: np.ndarray | None = None,
    chunk: int = 2048,
) -> None:
    """Fill in, for each turn, how near its request comes to one that worked before
    (``known``: text → how many turns it worked in, with their sentence vectors): whether
    these very words worked for another turn, and the closest other one's meaning, letters
    and sound. ``counted``: the turns ``known`` was counted from (their own success is not
    evidence about them). A misheard request is a word or two
    from one that works; a phrasing the assistant does not know is further from all.

    ``vectors``: the turns' request vectors (the first 384 columns of what
    :func:`~selflearn.dialogue.learner.encode_turns` gives)."""
    if not known or not len(features):
        return
    texts = list(known)
    k = min(_NEIGHBOURS, len(texts))
    for start in range(0, len(features), chunk):
        stop = min(start + chunk, len(features))
        scores = vectors[start:stop] @ known_vectors.T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        for row, i in enumerate(range(start, stop)):
            text = features.requests[i]
            sound = phonetic_key(text)
            best = (0.0, 0.0, 0.0)
            closest, closest_ratio = "", -1.0
            for j in top[row]:
                other = texts[j]
                if other == text:
                    continue
                ratio = fuzz.ratio(text, other) / 100.0
                if ratio > closest_ratio:
                    closest, closest_ratio = other, ratio
                best = (
                    max(best[0], float(scores[row, j])),
                    max(best[1], ratio),
                    max(best[2], fuzz.ratio(sound, phonetic_key(other)) / 100.0),
                )
            alike, different = edits(text, closest) if closest else (0, 0)
            features.numeric[i, _EDITS : _EDITS + 2] = (
                math.log1p(alike),
                math.log1p(different),
            )
            own = int(counted[i]) if counted is not None else 0
            before = float(known.get(text, 0) - own > 0)
            features.numeric[i, _NEAREST : _NEAREST + 4] = (before, *best)
            alternatives = [t for t in features.rows[i]["nbest_texts"] or () if t]
            nearer = max(
                (
                    fuzz.ratio(t, texts[j]) / 100.0
                    for t in alternatives
                    for j in top[row]
                    if texts[j] != text
                ),
                default=0.0,
            )
            features.numeric[i, _NBEST : _NBEST + 2] = (
                float(any(t in known for t in alternatives)),
                max(0.0, nearer - best[1]),
            )


def working_requests(features: TurnFeatures) -> tuple[dict[str, int], np.ndarray]:
    """The requests that worked as asked (not rewritten), each with how many turns it
    worked in, and which turns those are."""
    counted = np.array(
        [r["status"] == "success" and not r["rewritten"] and bool(r["text"]) for r in features.rows]
    )
    return dict(Counter(t for t, ok in zip(features.requests, counted, strict=True) if ok)), counted
