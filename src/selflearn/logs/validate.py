"""Vectorised contract checks for columnar turn logs (Parquet, Arrow).

JSON Lines are validated event by event by :class:`~selflearn.logs.schema.TurnEvent`;
columnar input is checked here in one SQL pass so that a million rows cost about
a second. Each rule names the field, what is allowed, and shows the bad value,
in the same words as :class:`~selflearn.errors.SchemaError`.
"""

from __future__ import annotations

from selflearn.logs.schema import (
    AFTER_ACTION_KINDS,
    AFTER_ACTION_SOURCES,
    FEEDBACK_VALUES,
    RESOLUTION_STATUSES,
    RESPONSE_STATUSES,
    SCHEMA_VERSIONS,
)

__all__ = ["REASON_SQL", "RULES"]


def _one_of(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _prob(expr: str) -> str:
    return f"({expr} IS NOT NULL AND NOT ({expr} BETWEEN 0 AND 1))"


def _list_prob(column: str, field: str) -> str:
    return f"len(list_filter({column}, lambda x: {_prob('x.' + field)})) > 0"


# (condition that makes a row bad, field path, what is allowed, SQL of the value shown)
RULES: tuple[tuple[str, str, str, str], ...] = (
    (
        f"schema_version IS NULL OR schema_version NOT IN {_one_of(SCHEMA_VERSIONS)}",
        "schema_version",
        "one of " + ", ".join(f"'{v}'" for v in SCHEMA_VERSIONS),
        "schema_version",
    ),
    ("turn_id IS NULL OR turn_id = ''", "turn_id", "a non-empty string", "turn_id"),
    ("device_id IS NULL OR device_id = ''", "device_id", "a non-empty string", "device_id"),
    ("device_type IS NULL OR device_type = ''", "device_type", "a non-empty string", "device_type"),
    ("ts IS NULL OR NOT isfinite(ts) OR ts <= 0", "ts", "a finite number > 0", "ts"),
    (
        "wake IS NOT NULL AND (wake.word IS NULL OR wake.score IS NULL)",
        "wake",
        "{word, score} or null",
        "wake",
    ),
    (
        "wake IS NOT NULL AND " + _prob("wake.score"),
        "wake.score",
        "a number in [0, 1]",
        "wake.score",
    ),
    ("asr IS NULL OR asr.text IS NULL", "asr.text", "a string", "asr"),
    (_prob("asr.confidence"), "asr.confidence", "a number in [0, 1] or null", "asr.confidence"),
    (
        _list_prob("asr.nbest", "confidence"),
        "asr.nbest.confidence",
        "numbers in [0, 1]",
        "asr.nbest",
    ),
    ("nlu IS NULL", "nlu", "an object", "nlu"),
    (_prob("nlu.confidence"), "nlu.confidence", "a number in [0, 1] or null", "nlu.confidence"),
    (
        "nlu.slots IS NULL OR NOT json_valid(nlu.slots) OR json_type(nlu.slots::JSON) <> 'OBJECT'",
        "nlu.slots",
        "a JSON object",
        "nlu.slots",
    ),
    (
        f"resolution IS NOT NULL AND resolution.status NOT IN {_one_of(RESOLUTION_STATUSES)}",
        "resolution.status",
        "one of " + ", ".join(RESOLUTION_STATUSES),
        "resolution.status",
    ),
    (
        "resolution IS NOT NULL AND " + _list_prob("resolution.entities", "score"),
        "resolution.entities.score",
        "numbers in [0, 1]",
        "resolution.entities",
    ),
    ("response IS NULL OR response.text IS NULL", "response.text", "a string", "response"),
    (
        f"response.status IS NULL OR response.status NOT IN {_one_of(RESPONSE_STATUSES)}",
        "response.status",
        "one of " + ", ".join(RESPONSE_STATUSES),
        "response.status",
    ),
    ("response.duration_ms < 0", "response.duration_ms", "an integer >= 0", "response.duration_ms"),
    ("barge_in_ms < 0", "barge_in_ms", "an integer >= 0", "barge_in_ms"),
    (
        f"feedback IS NOT NULL AND feedback NOT IN {_one_of(FEEDBACK_VALUES)}",
        "feedback",
        "one of " + ", ".join(FEEDBACK_VALUES) + " or null",
        "feedback",
    ),
    (
        "context IS NULL OR NOT json_valid(context) OR json_type(context::JSON) <> 'OBJECT'",
        "context",
        "a JSON object",
        "context",
    ),
    (
        'rewrite IS NOT NULL AND (rewrite."from" IS NULL OR rewrite."to" IS NULL OR rewrite.layer IS NULL)',
        "rewrite",
        "{from, to, layer, score} or null",
        "rewrite",
    ),
    (
        "rewrite IS NOT NULL AND " + _prob("rewrite.score"),
        "rewrite.score",
        "a number in [0, 1]",
        "rewrite.score",
    ),
    (
        "after_action IS NOT NULL AND schema_version = '1'",
        "after_action",
        "absent under schema_version '1' (it came with '2')",
        "schema_version",
    ),
    (
        "len(list_filter(after_action, lambda a: a.entity_id IS NULL OR a.entity_id = ''"
        f" OR a.kind IS NULL OR a.kind NOT IN {_one_of(AFTER_ACTION_KINDS)}"
        " OR a.after_ms IS NULL OR a.after_ms < 0"
        f" OR (a.source IS NOT NULL AND a.source NOT IN {_one_of(AFTER_ACTION_SOURCES)}))) > 0",
        "after_action",
        "a list of {entity_id, kind: " + "/".join(AFTER_ACTION_KINDS) + ", after_ms >= 0, "
        "state, source: " + "/".join(AFTER_ACTION_SOURCES) + "}",
        "after_action",
    ),
    (
        "choice IS NOT NULL AND schema_version = '1'",
        "choice",
        "absent under schema_version '1' (it came with '2')",
        "schema_version",
    ),
    (
        "choice IS NOT NULL AND (len(choice.options) < 2"
        " OR len(list_filter(choice.options, lambda o: o.text IS NULL OR o.layer IS NULL)) > 0"
        " OR choice.chosen IS NULL OR choice.chosen < 0 OR choice.chosen >= len(choice.options)"
        ' OR choice."default" IS NULL OR choice."default" < 0'
        ' OR choice."default" >= len(choice.options)'
        " OR choice.preferred IS NULL OR choice.preferred < 0"
        " OR choice.preferred >= len(choice.options)"
        " OR choice.propensity IS NULL OR NOT (choice.propensity > 0 AND choice.propensity <= 1)"
        " OR choice.policy IS NULL OR choice.policy = '')",
        "choice",
        "{options: two or more {text, layer, score}, chosen, default and preferred: indices "
        "into them, "
        "propensity in (0, 1], policy}",
        "choice",
    ),
    (
        "choice IS NOT NULL AND " + _list_prob("choice.options", "score"),
        "choice.options.score",
        "numbers in [0, 1]",
        "choice.options",
    ),
)


def _reason_sql() -> str:
    """A SQL expression: NULL for a good row, else the first rule it breaks."""
    parts = []
    for condition, field, allowed, shown in RULES:
        message = f"field '{field}' must be {allowed}; got ".replace("'", "''")
        parts.append(
            f"WHEN {condition} THEN '{message}' || coalesce(left(CAST({shown} AS VARCHAR), 80), 'null')"
        )
    return "CASE " + " ".join(parts) + " END"


REASON_SQL = _reason_sql()
