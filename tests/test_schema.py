from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selflearn import SchemaError, TurnEvent, json_schema, read_events, write_jsonl, write_parquet
from selflearn.logs.arrow import events_to_table, table_to_events

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
prob = st.floats(0.0, 1.0, allow_nan=False)
opt_prob = st.none() | prob
json_scalar = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | text
ident = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=16)

events = st.builds(
    lambda **kw: TurnEvent.from_dict(kw),
    turn_id=ident,
    session_id=st.none() | ident,
    user_id=st.none() | ident,
    device_id=ident,
    device_type=st.sampled_from(["speaker", "display", "satellite", "phone"]),
    ts=st.floats(1.0, 2e9, allow_nan=False),
    wake=st.none() | st.fixed_dictionaries({"word": text, "score": prob}),
    asr=st.fixed_dictionaries(
        {
            "text": text,
            "confidence": opt_prob,
            "nbest": st.lists(
                st.fixed_dictionaries({"text": text, "confidence": opt_prob}), max_size=3
            ),
        }
    ),
    nlu=st.fixed_dictionaries(
        {
            "intent": st.none() | ident,
            "domain": st.none() | ident,
            "slots": st.dictionaries(
                ident, json_scalar | st.lists(json_scalar, max_size=3), max_size=4
            ),
            "confidence": opt_prob,
        }
    ),
    resolution=st.none()
    | st.fixed_dictionaries(
        {
            "status": st.sampled_from(["ok", "no_match", "ambiguous"]),
            "entities": st.lists(
                st.fixed_dictionaries(
                    {
                        "slot": ident,
                        "value": text,
                        "entity_id": st.none() | ident,
                        "score": opt_prob,
                    }
                ),
                max_size=3,
            ),
        }
    ),
    response=st.fixed_dictionaries(
        {
            "text": text,
            "status": st.sampled_from(
                ["success", "no_intent_match", "no_valid_targets", "failed_to_handle", "unknown"]
            ),
            "duration_ms": st.none() | st.integers(0, 100_000),
        }
    ),
    barge_in_ms=st.none() | st.integers(0, 100_000),
    feedback=st.sampled_from([None, "positive", "negative"]),
    context=st.fixed_dictionaries(
        {
            "area": st.none() | text,
            "device_states": st.dictionaries(ident, text, max_size=3),
            "local_time": st.none() | st.from_regex(r"\A([01]\d|2[0-3]):[0-5]\d\Z"),
            "weekday": st.none() | st.integers(0, 6),
        },
        optional={"speaker_mood": text, "noise_db": st.integers(0, 90)},
    ),
    rewrite=st.none()
    | st.fixed_dictionaries(
        {
            "from": text,
            "to": text,
            "layer": st.sampled_from(["global", "personal"]),
            "score": opt_prob,
        }
    ),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(events, min_size=1, max_size=8))
def test_round_trip_jsonl_objects_parquet_objects(batch: list[TurnEvent], tmp_path: Path) -> None:
    jsonl = tmp_path / "t.jsonl"
    parquet = tmp_path / "t.parquet"
    write_jsonl(batch, jsonl)
    from_jsonl = read_events(jsonl)
    assert from_jsonl == batch
    write_parquet(from_jsonl, parquet)
    from_parquet = read_events(parquet)
    assert from_parquet == batch
    assert table_to_events(events_to_table(batch)) == batch


GOOD = {
    "turn_id": "t1",
    "device_id": "satellite.kitchen",
    "device_type": "speaker",
    "ts": 1_790_000_000.5,
    "asr": {"text": "turn on the lamp", "confidence": 0.9},
    "response": {"text": "Turned on", "status": "success"},
}


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"turn_id": None}, r"field 'turn_id' must be a string; got None"),
        ({"ts": -3}, r"field 'ts' must be a number > 0"),
        (
            {"asr": {"text": "x", "confidence": 1.5}},
            r"field 'asr.confidence' must be a number <= 1",
        ),
        (
            {"response": {"text": "x", "status": "ok"}},
            r"field 'response.status' must be one of .*'success'.*got 'ok'",
        ),
        (
            {"feedback": "meh"},
            r"field 'feedback' must be one of 'positive' or 'negative'; got 'meh'",
        ),
        (
            {"context": {"local_time": "25:00"}},
            r"field 'context.local_time' must be a string matching",
        ),
        ({"rewrite": {"from": "a", "to": "b"}}, r"field 'rewrite.layer' is missing"),
    ],
)
def test_validation_errors_name_field_value_and_allowed(
    change: dict[str, object], match: str
) -> None:
    with pytest.raises(SchemaError, match=match):
        TurnEvent.from_dict({**GOOD, **change})


def test_missing_required_field_is_named() -> None:
    data = dict(GOOD)
    del data["device_id"]
    with pytest.raises(SchemaError, match=r"field 'device_id' is missing"):
        TurnEvent.from_dict(data)


def test_json_schema_documents_every_field() -> None:
    schema = json_schema()
    props = schema["properties"]
    assert set(props) >= {"turn_id", "asr", "nlu", "resolution", "response", "context", "rewrite"}
    assert all(p.get("description") for p in props.values())
    json.dumps(schema)
