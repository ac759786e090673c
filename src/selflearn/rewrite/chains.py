"""Rephrase chains as a Markov chain's counts, in SQL (on DuckDB or Spark, one text for both).

A *state* is a normalised utterance with the intent the assistant read in it (null where it
read none), within a *scope*: one scope for everyone (the global chain) or one per user (the
personal chains). Every turn is one step out of its state: to the state of the rephrase that
restated it, or — when nothing restated it — into one of two absorbing states, success or
failure, by its implicit defect score. Only turns that someone restated, and the states they
lead to, are kept; a state's connected component is found by label propagation over the
undirected transition graph (a handful of SQL passes, each one join).

Every step here is a relational query over the whole log: no Python loop touches rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from selflearn.engine import Engine
from selflearn.engine.duck import as_engine
from selflearn.errors import ConfigError
from selflearn.rewrite.template import PLACEHOLDER_SLOTS

__all__ = [
    "DEVICE_SCOPE",
    "NORMALIZE_SQL",
    "STATE_KINDS",
    "ChainConfig",
    "Chains",
    "build_chains",
    "count_chains",
    "prepare_chains",
]

STATE_KINDS = ("exact", "slots", "said")
# An unknown speaker's personal chain is the chain of the device they spoke to.
DEVICE_SCOPE = "device:"

# The SQL twin of :func:`selflearn.rewrite.base.normalize_utterance` (tested to agree).
NORMALIZE_SQL = (
    "array_to_string(regexp_extract_all(replace(replace(lower(coalesce({col}, '')), '%', "
    "' percent'), '°', ' degrees'), '[a-z0-9]+(?:''[a-z]+)?'), ' ')"
)

# What every chain reads, once per log whatever the scope and the states: each turn (its
# first copy) with its normalised text and signals, the places and media the assistant
# understood, each restated turn's first restatement, and what each turn meant.
_PREPARE_SQL = """
CREATE OR REPLACE TEMP TABLE chain_base AS
WITH first_seen AS (
    SELECT turn_id, ts, user_id, device_id, asr, nlu FROM turns
    QUALIFY row_number() OVER (PARTITION BY turn_id ORDER BY ts) = 1
)
SELECT
    t.turn_id, t.ts, t.user_id AS known_user, t.device_id,
    {text} AS text,
    t.nlu.intent AS intent,
    t.nlu.slots AS slots,
    s.rephrase_of,
    s.defect_score
FROM first_seen t
JOIN signals s USING (turn_id);

-- Places and kinds of media the assistant understood anywhere in the log: meaning a
-- global rewrite may not add (see selflearn.rewrite.markov).
CREATE OR REPLACE TEMP TABLE chain_areas AS
SELECT DISTINCT kind, value AS area FROM (
    SELECT 'place' AS kind, {area} AS value FROM chain_base
    UNION ALL
    SELECT 'media', {media_class} FROM chain_base
)
WHERE value <> '';

-- Each restated turn leads to its first restatement.
CREATE OR REPLACE TEMP TABLE chain_next AS
SELECT rephrase_of AS turn_id, arg_min(turn_id, struct_pack(ts := ts, id := turn_id)) AS next_id
FROM chain_base
WHERE rephrase_of IS NOT NULL
GROUP BY rephrase_of;

-- Where each turn's chain ends, and what the turn meant: itself when it worked, else the
-- turn that worked at its chain's end.
CREATE OR REPLACE TEMP TABLE chain_end AS
WITH RECURSIVE walk(turn_id, node, hops) AS (
    SELECT turn_id, turn_id, 0 FROM chain_base
    UNION ALL
    SELECT w.turn_id, n.next_id, w.hops + 1
    FROM walk w JOIN chain_next n ON n.turn_id = w.node
    WHERE w.hops < {max_chain}
)
SELECT turn_id, arg_max(node, hops) AS end_id FROM walk GROUP BY turn_id;

CREATE OR REPLACE TEMP TABLE chain_meaning AS
SELECT
    r.turn_id,
    CASE
        WHEN r.defect_score < {success_below} THEN r.slots
        WHEN e.defect_score < {success_below} THEN e.slots
    END AS meant_slots,
    CASE
        WHEN r.defect_score < {success_below} THEN r.text
        WHEN e.defect_score < {success_below} THEN e.text
    END AS meant_text
FROM chain_base r
JOIN chain_end c USING (turn_id)
JOIN chain_base e ON e.turn_id = c.end_id;
"""

_STEPS_SQL = """
CREATE OR REPLACE TEMP TABLE chain_raw AS
SELECT
    turn_id, ts,
    -- who made the step, for counting distinct users: an unknown speaker counts as their
    -- device (a different person from any known user)
    coalesce(known_user, '{device_scope}' || device_id) AS user_id,
    {scope} AS scope,
    text, intent, slots, rephrase_of, defect_score
FROM chain_base;

-- How often each utterance worked when said (templates are checked against these).
CREATE OR REPLACE TEMP TABLE chain_texts AS
SELECT scope, text, count(*) AS said,
    count(*) FILTER (WHERE defect_score < {success_below}) AS worked
FROM chain_raw
WHERE text <> ''
GROUP BY scope, text;

{states_sql}

CREATE OR REPLACE TEMP TABLE chain_steps AS
SELECT
    a.turn_id, a.scope, a.user_id,
    a.text AS src_text, a.intent AS src_intent,
    b.turn_id IS NULL OR b.text = '' AS absorbing,
    CASE
        WHEN b.turn_id IS NOT NULL AND b.text <> '' THEN b.text
        WHEN b.turn_id IS NULL AND a.defect_score < {success_below} THEN '<success>'
        ELSE '<failure>'
    END AS dst_text,
    CASE WHEN b.text <> '' THEN b.intent END AS dst_intent,
    b.turn_id AS next_id
FROM chain_turns a
LEFT JOIN chain_next n USING (turn_id)
-- A restatement in another scope (a known user, then an unknown speaker) is not followed:
-- each scope's chain must end in its own absorbing states.
LEFT JOIN chain_turns b ON b.turn_id = n.next_id AND b.scope = a.scope
WHERE a.text <> '';

-- States some restatement touches: the only ones the chain needs.
CREATE OR REPLACE TEMP TABLE chain_states AS
WITH touched AS (
    SELECT scope, src_text AS text, src_intent AS intent FROM chain_steps WHERE NOT absorbing
    UNION
    SELECT scope, dst_text, dst_intent FROM chain_steps WHERE NOT absorbing
)
SELECT row_number() OVER (ORDER BY scope, text, intent NULLS FIRST) - 1 AS id, *
FROM touched;

CREATE OR REPLACE TEMP TABLE chain_edges AS
SELECT
    src.id AS src, dst.id AS dst,
    count(*) AS n,
    count(DISTINCT s.user_id) AS users
FROM chain_steps s
JOIN chain_states src
  ON src.scope = s.scope AND src.text = s.src_text
 AND src.intent IS NOT DISTINCT FROM s.src_intent
JOIN chain_states dst
  ON dst.scope = s.scope AND dst.text = s.dst_text
 AND dst.intent IS NOT DISTINCT FROM s.dst_intent
WHERE NOT s.absorbing
GROUP BY src.id, dst.id;

CREATE OR REPLACE TEMP TABLE chain_absorbed AS
SELECT
    st.id,
    count(*) FILTER (WHERE s.dst_text = '<success>') AS successes,
    count(*) FILTER (WHERE s.dst_text = '<failure>') AS failures
FROM chain_steps s
JOIN chain_states st
  ON st.scope = s.scope AND st.text = s.src_text
 AND st.intent IS NOT DISTINCT FROM s.src_intent
WHERE s.absorbing
GROUP BY st.id;

CREATE OR REPLACE TEMP TABLE chain_links AS
SELECT src AS a, dst AS b FROM chain_edges WHERE src <> dst
UNION
SELECT dst, src FROM chain_edges WHERE src <> dst;

CREATE OR REPLACE TEMP TABLE chain_labels AS SELECT id, id AS comp FROM chain_states;
"""

# Exact states: the normalised utterance.
_EXACT_STATES_SQL = """
CREATE OR REPLACE TEMP TABLE chain_turns AS
SELECT turn_id, ts, user_id, scope, text, intent, rephrase_of, defect_score FROM chain_raw;
"""

# What each turn of this chain meant (see chain_meaning).
_MEANT_SQL = """
CREATE OR REPLACE TEMP TABLE chain_meant AS
SELECT r.*, m.meant_slots, m.meant_text
FROM chain_raw r
JOIN chain_meaning m USING (turn_id);
"""

# Template states: the names and areas the request was about become placeholders,
# so that "shut off the desk lamp" and "shut off the porch light" are one state, "shut off
# the {name}". Which values: those the assistant understood in the turn itself when it
# worked, else those of the turn that finally worked at the end of its chain.
_TEMPLATE_STATES_SQL = (
    _MEANT_SQL
    + """
CREATE OR REPLACE TEMP TABLE chain_turns AS
WITH meant AS (SELECT * EXCLUDE (slots, meant_text) FROM chain_meant){placeholders}
SELECT turn_id, ts, user_id, scope, text, intent, rephrase_of, defect_score FROM {last};
"""
)

# "Said" states: when the utterance that finally worked is a part of this one ("okay is the
# back door locked" → "is the back door locked"), the words around it are what failed:
# the state is "okay {said}", and every utterance that worked as said is the state "{said}".
_SAID_STATES_SQL = (
    _MEANT_SQL
    + """
CREATE OR REPLACE TEMP TABLE chain_turns AS
SELECT turn_id, ts, user_id, scope,
    CASE
        WHEN meant_text IS NULL OR meant_text = '' THEN text
        WHEN text = meant_text THEN '{{said}}'
        WHEN contains(' ' || text || ' ', ' ' || meant_text || ' ')
            THEN trim(replace(' ' || text || ' ', ' ' || meant_text || ' ', ' {{said}} '))
        ELSE text
    END AS text,
    intent, rephrase_of, defect_score
FROM chain_meant;
"""
)

# One placeholder: the slot's value, where the utterance says it, becomes "{{placeholder}}".
_PLACEHOLDER_SQL = """, {step} AS (
    SELECT * EXCLUDE (text, pattern),
        CASE WHEN pattern <> '\\b\\b' AND regexp_matches(text, pattern)
             THEN regexp_replace(text, pattern, '{{{placeholder}}}') ELSE text END AS text
    FROM (SELECT *, '\\b' || {value} || '\\b' AS pattern FROM {previous})
)"""

# One pass: every state takes the smallest label among itself and its neighbours, then
# jumps to its label's label (pointer jumping halves the passes on long paths).
_PROPAGATE_SQL = """
CREATE OR REPLACE TEMP TABLE chain_labels_next AS
WITH spread AS (
    SELECT l.id, least(l.comp, coalesce(min(n.comp), l.comp)) AS comp
    FROM chain_labels l
    LEFT JOIN chain_links k ON k.a = l.id
    LEFT JOIN chain_labels n ON n.id = k.b
    GROUP BY l.id, l.comp
)
SELECT s.id, least(s.comp, j.comp) AS comp
FROM spread s JOIN spread j ON j.id = s.comp;
"""

_CHANGED_SQL = """
SELECT count(*) FROM chain_labels_next n JOIN chain_labels l USING (id) WHERE n.comp <> l.comp
"""

# The chain's states with their component and counts (``chain_out``) and its later
# restatements (``chain_reach``): tables on the engine, for the solve and the selection.
_STATES_OUT_SQL = """
CREATE OR REPLACE TEMP TABLE chain_out AS
WITH moved AS (SELECT src AS id, sum(n) AS moved FROM chain_edges GROUP BY src)
SELECT
    st.id, l.comp, st.scope, st.text, st.intent,
    coalesce(a.successes, 0) AS successes,
    coalesce(a.failures, 0) AS failures,
    coalesce(a.successes, 0) + coalesce(a.failures, 0)
        + coalesce(m.moved, 0) AS visits
FROM chain_states st
JOIN chain_labels l USING (id)
LEFT JOIN chain_absorbed a USING (id)
LEFT JOIN moved m USING (id);
"""

# Multi-hop restatements: a turn, and each later turn of its chain, up to ``max_hops`` on.
_REACH_SQL = """
CREATE OR REPLACE TEMP TABLE chain_reach AS
WITH RECURSIVE reach(scope, user_id, src_text, src_intent, next_id, hops) AS (
    SELECT scope, user_id, src_text, src_intent, next_id, 1
    FROM chain_steps WHERE NOT absorbing
    UNION ALL
    SELECT r.scope, r.user_id, r.src_text, r.src_intent, s.next_id, r.hops + 1
    FROM reach r
    JOIN chain_steps s ON s.turn_id = r.next_id
    WHERE NOT s.absorbing AND r.hops < {max_hops}
)
SELECT
    src.id AS src, dst.id AS dst,
    count(*) AS n,
    count(DISTINCT r.user_id) AS users,
    min(r.hops) AS hops
FROM reach r
JOIN chain_turns t ON t.turn_id = r.next_id
JOIN chain_states src
  ON src.scope = r.scope AND src.text = r.src_text
 AND src.intent IS NOT DISTINCT FROM r.src_intent
JOIN chain_states dst
  ON dst.scope = t.scope AND dst.text = t.text
 AND dst.intent IS NOT DISTINCT FROM t.intent
WHERE src.id <> dst.id
GROUP BY src.id, dst.id;
"""


@dataclass(frozen=True)
class ChainConfig:
    """How turns become chain steps.

    ``success_below``: a turn nobody restated ended in success when its implicit defect
    score is below this. ``max_hops``: how far along a chain a later restatement may be to
    count as a reformulation of an earlier request.
    """

    success_below: float = 0.5
    max_hops: int = 3
    max_chain: int = 10

    def __post_init__(self) -> None:
        if not 0.0 < self.success_below <= 1.0:
            raise ConfigError("ChainConfig", "success_below", self.success_below, "in (0, 1]")
        if self.max_hops < 1:
            raise ConfigError("ChainConfig", "max_hops", self.max_hops, "an int >= 1")


@dataclass
class Chains:
    """The chain's counts: states (with component), transitions, and reformulation pairs."""

    states: pa.Table  # id, comp, scope, text, intent, successes, failures, visits
    edges: pa.Table  # src, dst, n, users: one-step transitions between states
    reach: pa.Table  # src, dst, n, users, hops: later restatements within max_hops
    passes: int  # label-propagation passes until the components settled


def build_chains(
    con: Engine | duckdb.DuckDBPyConnection,
    turns: pa.Table,
    signals: pa.Table,
    *,
    personal: bool = False,
    states: str = "exact",
    config: ChainConfig | None = None,
) -> Chains:
    """One chain's counts (:func:`prepare_chains`, then :func:`count_chains`), collected:
    states ordered by component."""
    engine = as_engine(con)
    prepare_chains(engine, turns, signals, config)
    passes = count_chains(engine, personal=personal, states=states, config=config)
    return Chains(
        states=engine.query("SELECT * FROM chain_out ORDER BY comp, id"),
        edges=engine.query("SELECT * FROM chain_edges ORDER BY src, dst"),
        reach=engine.query("SELECT * FROM chain_reach ORDER BY src, dst"),
        passes=passes,
    )


def prepare_chains(
    engine: Engine, turns: pa.Table, signals: pa.Table, config: ChainConfig | None = None
) -> None:
    """What every chain of this log reads, whatever its scope and states, as tables on
    ``engine`` (``chain_base``, ``chain_areas``, ``chain_next``, ``chain_meaning``): the
    turns read, normalised and walked along their restatements once, not once per chain."""
    config = config or ChainConfig()
    engine.register("turns", turns)
    engine.register("signals", signals)
    engine.run(
        _PREPARE_SQL.format(
            text=NORMALIZE_SQL.format(col="t.asr.text"),
            area=NORMALIZE_SQL.format(col="json_extract_string(slots, '$.area')"),
            media_class=NORMALIZE_SQL.format(col="json_extract_string(slots, '$.media_class')"),
            max_chain=int(config.max_chain),
            success_below=float(config.success_below),
        )
    )


def count_chains(
    engine: Engine,
    *,
    personal: bool = False,
    states: str = "exact",
    config: ChainConfig | None = None,
) -> int:
    """Count the chain over all users (``personal=False``) or per user — per device where
    the speaker is unknown (scope ``device:<device_id>``) — from the tables
    :func:`prepare_chains` made (with the same ``config``), into tables on ``engine``:
    ``chain_out`` (states: id, comp, scope, text, intent, successes, failures, visits),
    ``chain_edges`` (src, dst, n, users) and ``chain_reach`` (src, dst, n, users, hops).
    Returns the label-propagation passes the components took.

    ``states`` (one of :data:`STATE_KINDS`): exact utterances; ``slots``, with the names,
    areas and titles abstracted; ``said``, with what finally worked abstracted.
    """
    if states not in STATE_KINDS:
        raise ConfigError("build_chains", "states", states, f"one of {STATE_KINDS}")
    config = config or ChainConfig()
    success_below = float(config.success_below)
    if states == "slots":
        steps, previous = [], "meant"
        for placeholder, slot in PLACEHOLDER_SLOTS.items():
            value = NORMALIZE_SQL.format(col=f"json_extract_string(meant_slots, '$.{slot}')")
            steps.append(
                _PLACEHOLDER_SQL.format(
                    step=f"with_{placeholder}",
                    placeholder=placeholder,
                    value=value,
                    previous=previous,
                )
            )
            previous = f"with_{placeholder}"
        states_sql = _TEMPLATE_STATES_SQL.format(placeholders="".join(steps), last=previous)
    elif states == "said":
        states_sql = _SAID_STATES_SQL.format()  # its braces doubled: one literal {said}
    else:
        states_sql = _EXACT_STATES_SQL
    engine.run(
        _STEPS_SQL.format(
            scope=f"coalesce(known_user, '{DEVICE_SCOPE}' || device_id)" if personal else "''",
            success_below=success_below,
            states_sql=states_sql,
            device_scope=DEVICE_SCOPE,
        )
    )
    passes = 0
    while True:
        passes += 1
        engine.run(_PROPAGATE_SQL)
        changed = engine.scalar(_CHANGED_SQL)
        engine.rename("chain_labels_next", "chain_labels")
        if not changed:
            break
    engine.run(_STATES_OUT_SQL + _REACH_SQL.format(max_hops=int(config.max_hops)))
    return passes
