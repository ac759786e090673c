"""Sessions and rephrase candidates, as SQL over the turn log (on DuckDB or Spark).

A turn's *end* is when its answer ended (or was interrupted). A new session starts on a
device when the gap from the previous turn's end exceeds ``session_gap_s``, unless the
producer gave a ``session_id``. Rephrase candidates are the next ``max_next`` turns on the
same device that start within ``window_s`` of a turn's end and are not by a different
known speaker.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from selflearn.engine import Engine
from selflearn.engine.duck import as_engine
from selflearn.errors import ConfigError

__all__ = ["SessionConfig", "candidate_pairs", "create_pairs", "create_sessions", "sessionize"]

_TURNS_SQL = """
WITH first_seen AS (
    SELECT * FROM turns
    QUALIFY row_number() OVER (PARTITION BY turn_id ORDER BY ts) = 1
), flat AS (
    SELECT
        turn_id, session_id, user_id, device_id, device_type, ts,
        ts + coalesce(barge_in_ms, response.duration_ms, 0) / 1000.0 AS end_ts,
        asr.text AS text,
        asr.confidence AS asr_confidence,
        nlu.intent AS intent,
        nlu.confidence AS nlu_confidence,
        response.status AS status,
        response.text AS response_text,
        response.duration_ms AS duration_ms,
        barge_in_ms,
        feedback,
        wake.score AS wake_score,
        {after_kinds} AS after_kinds
    FROM first_seen
), ordered AS (
    SELECT *,
        row_number() OVER w AS device_rank,
        lag(end_ts) OVER w AS previous_end
    FROM flat
    WINDOW w AS (PARTITION BY device_id ORDER BY ts, turn_id)
)
SELECT * EXCLUDE (previous_end),
    coalesce(
        session_id,
        device_id || '#' || CAST(sum(
            CASE WHEN previous_end IS NULL OR ts - previous_end > {gap} THEN 1 ELSE 0 END
        ) OVER (PARTITION BY device_id ORDER BY ts, turn_id ROWS UNBOUNDED PRECEDING)
        AS VARCHAR)
    ) AS session
FROM ordered
"""

_PAIRS_SQL = """
SELECT
    a.turn_id AS earlier, b.turn_id AS later,
    b.ts - a.end_ts AS gap_s,
    a.text AS earlier_text, b.text AS later_text,
    a.intent AS earlier_intent, b.intent AS later_intent,
    a.status AS earlier_status,
    a.response_text AS earlier_response,
    b.status AS later_status,
    a.barge_in_ms IS NOT NULL AS earlier_barge_in,
    a.feedback AS earlier_feedback,
    b.device_rank - a.device_rank AS distance,
    b.device_id AS device_id
FROM sessioned a
JOIN sessioned b
  ON a.device_id = b.device_id
 AND b.device_rank BETWEEN a.device_rank + 1 AND a.device_rank + {max_next}
WHERE b.ts - a.end_ts <= {window}
  AND (a.user_id IS NULL OR b.user_id IS NULL OR a.user_id = b.user_id)
ORDER BY b.device_id, b.device_rank, distance
"""


@dataclass(frozen=True)
class SessionConfig:
    """Timing bounds: ``window_s`` bounds rephrase candidates (DESIGN §2 item 2)."""

    session_gap_s: float = 60.0
    window_s: float = 45.0
    max_next: int = 2

    def __post_init__(self) -> None:
        if self.session_gap_s <= 0:
            raise ConfigError("SessionConfig", "session_gap_s", self.session_gap_s, "a float > 0")
        if self.window_s <= 0:
            raise ConfigError("SessionConfig", "window_s", self.window_s, "a float > 0")
        if self.max_next < 1:
            raise ConfigError("SessionConfig", "max_next", self.max_next, "an int >= 1")


def create_sessions(
    con: Engine | duckdb.DuckDBPyConnection, turns: pa.Table, config: SessionConfig
) -> None:
    """``sessioned`` on the engine (or DuckDB connection): one row per distinct turn with
    the flat fields signals need, its rank on its device and its ``session``."""
    engine = as_engine(con)
    engine.register("turns", turns)
    # what the user did by hand right after (not what an automation did), where the log says
    after_kinds = (
        "list_distinct(list_transform(list_filter(after_action, "
        "lambda a: coalesce(a.source, '') <> 'automation'), lambda a: a.kind))"
        if "after_action" in turns.schema.names
        else "CAST(NULL AS VARCHAR[])"
    )
    sql = _TURNS_SQL.format(gap=float(config.session_gap_s), after_kinds=after_kinds)
    engine.create("sessioned", sql)


def sessionize(
    con: Engine | duckdb.DuckDBPyConnection, turns: pa.Table, config: SessionConfig
) -> pa.Table:
    """:func:`create_sessions`, and its rows in device order."""
    create_sessions(con, turns, config)
    return as_engine(con).query("SELECT * FROM sessioned ORDER BY device_id, device_rank")


def _pairs_sql(config: SessionConfig) -> str:
    return _PAIRS_SQL.format(max_next=int(config.max_next), window=float(config.window_s))


def create_pairs(con: Engine | duckdb.DuckDBPyConnection, config: SessionConfig) -> None:
    """``candidate_pairs`` on the engine, from ``sessioned``: (earlier, later) turn pairs
    that may be a request and its rephrase, with the later one's ``device_id``."""
    as_engine(con).create("candidate_pairs", _pairs_sql(config))


def candidate_pairs(con: Engine | duckdb.DuckDBPyConnection, config: SessionConfig) -> pa.Table:
    """(earlier, later) turn pairs that may be a request and its rephrase."""
    return as_engine(con).query(_pairs_sql(config))
