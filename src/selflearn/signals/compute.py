"""All per-turn signals of DESIGN §3.3, from any turn log in the §3.1 format."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from selflearn._version import __version__
from selflearn.engine import Engine, open_engine
from selflearn.errors import DataFileError
from selflearn.signals.defect import defect_score
from selflearn.signals.rephrase import FAILED_STATUSES, HeuristicRephraseDetector
from selflearn.signals.restatement import PairCase, RestatementModel
from selflearn.signals.said import read_feedback
from selflearn.signals.sessions import SessionConfig, create_pairs, create_sessions
from selflearn.signals.span import PairText, SpanRephraseModel

__all__ = ["SIGNALS_SCHEMA", "Signals", "compute_signals", "extend_signals", "pair_text"]

FALSE_WAKE_SCORE = 0.8  # below this, a detection is more likely background speech
# What the user did by hand within the watch window that says the action itself was wrong:
# switched back, another device switched instead, what it started skipped or stopped.
UNDONE_BY_HAND = frozenset({"undone", "other_device", "skipped", "stopped"})

SIGNALS_SCHEMA = pa.schema(
    [
        ("turn_id", pa.string()),
        ("session_id", pa.string()),
        ("rephrase_of", pa.string()),
        ("rephrase_score", pa.float64()),
        ("rephrase_span", pa.string()),
        ("barge_in", pa.bool_()),
        ("abandoned", pa.bool_()),
        ("feedback", pa.string()),
        ("defect_score", pa.float64()),
    ]
)


@dataclass
class Signals:
    """The per-turn signals table and the counts that summarise it."""

    table: pa.Table
    counts: dict[str, int] = field(default_factory=dict)

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(self.table, path, compression="zstd")
        return path

    @classmethod
    def load(cls, path: Path) -> Signals:
        if not path.is_file():
            raise DataFileError(f"{path}: no signals file; run `selflearn learn` first")
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataFileError(f"{path}: not a signals Parquet file ({exc})") from exc
        if not set(SIGNALS_SCHEMA.names) <= set(table.column_names):
            raise DataFileError(f"{path}: not a signals file (needs {SIGNALS_SCHEMA.names})")
        return cls(table.select(SIGNALS_SCHEMA.names).cast(SIGNALS_SCHEMA))


def _looks_failed(status: str | None, barge_in: bool, feedback: str | None) -> bool:
    return (status in FAILED_STATUSES) or barge_in or feedback == "negative"


def pair_text(p: dict[str, Any]) -> PairText:
    """A candidate pair (a row of :func:`candidate_pairs`) as the span model reads it."""
    both = p["earlier_intent"] is not None and p["later_intent"] is not None
    return PairText(
        p["earlier_text"] or "",
        p["earlier_response"] or "",
        p["later_text"] or "",
        float(p["gap_s"]),
        earlier_failed=_looks_failed(
            p["earlier_status"], p["earlier_barge_in"], p["earlier_feedback"]
        ),
        later_worked=p["later_status"] == "success",
        same_intent=(p["earlier_intent"] == p["later_intent"]) if both else None,
    )


Detector = HeuristicRephraseDetector | RestatementModel | SpanRephraseModel


def pair_case(p: dict[str, Any]) -> PairCase:
    """A candidate pair (a row of :func:`candidate_pairs`) as the restatement model reads it."""
    return PairCase(
        p["earlier_text"] or "",
        p["later_text"] or "",
        p["earlier_intent"],
        p["later_intent"],
        earlier_failed=_looks_failed(
            p["earlier_status"], p["earlier_barge_in"], p["earlier_feedback"]
        ),
        later_worked=p["later_status"] == "success",
        gap_s=float(p["gap_s"]),
    )


def _scores(pairs: list[dict[str, Any]], detector: Detector) -> list[tuple[float, str | None]]:
    """(score, restating span or None) per candidate pair."""
    if isinstance(detector, SpanRephraseModel):
        return detector.predict([pair_text(p) for p in pairs])
    cases = [pair_case(p) for p in pairs]
    if isinstance(detector, RestatementModel):
        return [(score, None) for score in detector.scores(cases)]
    return [
        (
            detector.score(
                c.earlier,
                c.later,
                c.earlier_intent,
                c.later_intent,
                c.earlier_failed,
                c.gap_s,
                later_succeeded=c.later_worked,
            ),
            None,
        )
        for c in cases
    ]


def _said_feedback(flat: list[dict[str, Any]], window_s: float) -> dict[str, tuple[str, bool]]:
    """turn_id → (feedback, gave up) read in the words said next in its session on its
    device, within ``window_s`` of its answer, by the same speaker. A bare "no" to an
    answer that asked a question answers it rather than judging it ("Shall I?" — "no")."""
    out: dict[str, tuple[str, bool]] = {}
    for turn, after in itertools.pairwise(flat):
        if (
            after["session"] != turn["session"]
            or after["device_id"] != turn["device_id"]
            or after["ts"] - turn["end_ts"] > window_s
            or (turn["user_id"] and after["user_id"] and turn["user_id"] != after["user_id"])
        ):
            continue
        asked = (turn["response_text"] or "").rstrip().endswith("?")
        said = read_feedback(after["text"], asked=asked)
        if said.feedback is not None:
            out[turn["turn_id"]] = (said.feedback, said.gave_up)
    return out


# What the per-device assembly returns beside the signals: where each turn sorts, and
# whether words said next judged it (counted as feedback_said).
_ASSEMBLED = (
    SIGNALS_SCHEMA.append(pa.field("device_id", pa.string()))
    .append(pa.field("device_rank", pa.int64()))
    .append(pa.field("said", pa.bool_()))
)


def compute_signals(
    turns: pa.Table,
    *,
    sessions: SessionConfig | None = None,
    detector: Detector | None = None,
    engine: Engine | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Signals:
    """Sessions, rephrases, barge-ins, abandonment, feedback and a defect score per turn.

    ``detector`` decides rephrases: the pre-trained restatement model (default), the
    heuristic baseline, or the contextual span model trained on a log, which also names
    the span of the later utterance that restates. Sessions and candidate pairs are SQL
    on ``engine`` (an embedded DuckDB by default); the pairs are scored and the signals
    assembled device by device where the engine runs them (:meth:`Engine.cogroup`: here,
    or in Spark's executors), so no step holds the whole log as Python objects.
    ``progress(done, of)`` counts turns assembled (on the embedded engine).
    """
    sessions = sessions or SessionConfig()
    detector = detector or RestatementModel.shipped()
    con = engine or open_engine()
    try:
        create_sessions(con, turns, sessions)
        create_pairs(con, sessions)
        pair_count = int(con.scalar("SELECT count(*) FROM candidate_pairs") or 0)
        assembled = con.cogroup(
            "device_id",
            "sessioned",
            "candidate_pairs",
            functools.partial(_device_signals, detector=detector, sessions=sessions),
            _ASSEMBLED,
            order=["device_id", "device_rank"],
            progress=progress,
        )
    finally:
        if engine is None:
            con.close()
        else:
            con.drop("candidate_pairs")
            con.drop("sessioned")
    # The file says what made it (STYLE 8): the detector and the timing bounds.
    made_by = {
        "producer": f"selflearn {__version__}",
        "detector": json.dumps(
            {"kind": "heuristic", **dataclasses.asdict(detector)}
            if isinstance(detector, HeuristicRephraseDetector)
            else detector.describe()
        ),
        "sessions": json.dumps(dataclasses.asdict(sessions)),
    }
    table = assembled.select(SIGNALS_SCHEMA.names).cast(SIGNALS_SCHEMA.with_metadata(made_by))
    counts = {
        "turns": table.num_rows,
        "sessions": pc.count_distinct(table.column("session_id")).as_py(),
        "candidate_pairs": pair_count,
        "rephrases": table.num_rows - table.column("rephrase_of").null_count,
        "barge_ins": pc.sum(table.column("barge_in")).as_py() or 0,
        "abandoned": pc.sum(table.column("abandoned")).as_py() or 0,
        "feedback": table.num_rows - table.column("feedback").null_count,
        "feedback_said": pc.sum(assembled.column("said")).as_py() or 0,
    }
    return Signals(table, counts)


def _device_signals(
    sessioned: pa.Table, pairs: pa.Table, *, detector: Detector, sessions: SessionConfig
) -> pa.Table:
    """The signals of whole devices' turns (rows of ``sessioned``) from their candidate
    pairs, as :data:`_ASSEMBLED` rows: the pairs scored, each later turn's restated turn
    chosen, and feedback, abandonment and the defect score read."""
    flat = sessioned.sort_by([("device_id", "ascending"), ("device_rank", "ascending")])
    flat_rows = flat.to_pylist()
    pair_rows = pairs.to_pylist()
    # Each later turn restates at most one earlier turn: the nearest one it restates (a
    # chain a → b → c has c restating b), else its best-scoring candidate. A request for
    # the opposite ("turn off …" → "turn on …") undoes, it never restates; and once a
    # restatement has worked, what follows is not the same request again ("turn of the
    # light" → "turn off the light" (worked) → "turn off the lamp" is a new request).
    from selflearn.rewrite.guards import reverses  # the guard's opposite actions

    candidates: dict[str, list[tuple[tuple[bool, int, float], float, str]]] = {}
    spans: dict[tuple[str, str], str | None] = {}
    for pair, (score, span) in zip(pair_rows, _scores(pair_rows, detector), strict=True):
        if reverses(pair["earlier_text"] or "", pair["later_text"] or ""):
            score, span = 0.0, None
        spans[(pair["earlier"], pair["later"])] = span
        key = (score >= detector.threshold, -int(pair["distance"]), score)
        candidates.setdefault(pair["later"], []).append((key, score, pair["earlier"]))
    best: dict[str, tuple[float, str]] = {}
    followed: dict[str, float] = {}
    resolved: set[str] = set()  # earlier turns a restatement of which has worked
    for turn in flat_rows:  # in time order within each device
        later = turn["turn_id"]
        options = [c for c in candidates.get(later, ()) if c[2] not in resolved or not c[0][0]]
        if not options:
            continue
        key, score, earlier = max(options)
        best[later] = (score, earlier)
        if score >= detector.threshold:
            followed[earlier] = max(followed.get(earlier, 0.0), score)
            if (
                turn["status"] == "success"
                and turn["feedback"] != "negative"
                and not set(turn["after_kinds"] or ()) & UNDONE_BY_HAND
            ):
                resolved.add(earlier)

    said = _said_feedback(flat_rows, sessions.window_s)
    columns: dict[str, list[Any]] = {name: [] for name in _ASSEMBLED.names}
    for turn in flat_rows:
        words_said, gave_up = said.get(turn["turn_id"], (None, False))
        feedback = turn["feedback"] if turn["feedback"] is not None else words_said
        barge_in = turn["barge_in_ms"] is not None
        score, earlier = best.get(turn["turn_id"], (0.0, ""))
        is_rephrase = score >= detector.threshold
        rephrased = followed.get(turn["turn_id"], 0.0)
        # Gave up: it failed (an error answer or a "no"; an interruption alone may be
        # impatience) and nothing restated it. A marginal wake score means nobody was
        # talking to the assistant (a false wake), so nobody gave up.
        after = turn["after_kinds"] or ()
        # (put right by hand and not asked again is giving up on the assistant too)
        abandoned = (
            gave_up
            or (
                (
                    turn["status"] in FAILED_STATUSES
                    or feedback == "negative"
                    or bool(set(after) & UNDONE_BY_HAND)
                )
                and turn["turn_id"] not in followed
            )
        ) and (turn["wake_score"] is None or turn["wake_score"] >= FALSE_WAKE_SCORE)
        row = {
            "turn_id": turn["turn_id"],
            "session_id": turn["session"],
            "rephrase_of": earlier if is_rephrase else None,
            "rephrase_score": round(score, 4),
            "rephrase_span": (spans.get((earlier, turn["turn_id"])) or turn["text"])
            if is_rephrase
            else None,
            "barge_in": barge_in,
            "abandoned": abandoned,
            "feedback": feedback,
            "defect_score": round(
                defect_score(
                    status=turn["status"],
                    barge_in=barge_in,
                    feedback=feedback,
                    rephrased=rephrased,
                    abandoned=abandoned,
                    asr_confidence=turn["asr_confidence"],
                    wake_score=turn["wake_score"],
                    after_action=after,
                ),
                4,
            ),
            "device_id": turn["device_id"],
            "device_rank": turn["device_rank"],
            "said": turn["turn_id"] in said,
        }
        for name, value in row.items():
            columns[name].append(value)
    return pa.table(columns, schema=_ASSEMBLED)


def extend_signals(
    turns: pa.Table, known: pa.Table, *, context_s: float = 3600.0, detector: Detector | None = None
) -> pa.Table:
    """Signals for every turn of ``turns``, reusing ``known`` (a learning run's) for turns
    well before the first turn it lacks, and computing the rest over the log from
    ``context_s`` before that turn: the turns of the last ``context_s / 2`` before it are
    read again too, since a new turn may restate them. A log that grew since learning
    costs its new turns, not the whole log again."""
    ids = turns.column("turn_id")
    schema = SIGNALS_SCHEMA.remove_metadata()
    new = pc.invert(pc.is_in(ids, value_set=known.column("turn_id")))
    kept = known.filter(pc.is_in(known.column("turn_id"), value_set=ids))
    kept = kept.select(schema.names).cast(schema)
    if not pc.any(new).as_py():
        return kept
    first = pc.min(turns.filter(new).column("ts")).as_py()
    ts = turns.column("ts")
    window = turns.filter(pc.greater_equal(ts, first - context_s))
    redo = turns.filter(pc.greater_equal(ts, first - context_s / 2)).column("turn_id")
    fresh = compute_signals(window, detector=detector).table.cast(schema)
    fresh = fresh.filter(pc.is_in(fresh.column("turn_id"), value_set=redo))
    # Sessions are numbered from the window's start: a session the known signals named
    # keeps its name, a new one gets a name of its own (never one the known signals used).
    before = dict(
        zip(kept.column("turn_id").to_pylist(), kept.column("session_id").to_pylist(), strict=True)
    )
    named: dict[str, str] = {}
    for turn, session in zip(
        fresh.column("turn_id").to_pylist(), fresh.column("session_id").to_pylist(), strict=True
    ):
        if turn in before and session not in named:
            named[session] = before[turn]
    sessions = [named.get(s, f"{s}@{int(first)}") for s in fresh.column("session_id").to_pylist()]
    fresh = fresh.set_column(
        fresh.schema.get_field_index("session_id"), "session_id", pa.array(sessions, pa.string())
    )
    kept = kept.filter(pc.invert(pc.is_in(kept.column("turn_id"), value_set=redo)))
    return pa.concat_tables([kept, fresh])
