"""Hostile input against the real service process (127.0.0.1): schemathesis over the
published OpenAPI spec (valid and invalid data, with and without the token) and a
property-based generator of malformed and oversized events — at least 10,000 requests,
no response 5xx, no crash."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.conftest import SERVICE_TOKEN, free_port, start_service, stop_service

AUTH = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
SPEC_EXAMPLES = 300  # per operation and generation mode (positive, negative)
EVENT_EXAMPLES = 4300  # bodies, each sent with and without the token


def _json_values() -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=40),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
        ),
        max_leaves=12,
    )


def _valid_event(n: int) -> dict[str, Any]:
    return {
        "turn_id": f"h{n}",
        "device_id": "satellite.kitchen",
        "device_type": "speaker",
        "ts": 1_767_600_000.0,
        "asr": {"text": "turn on the light"},
        "response": {"text": "ok", "status": "success"},
    }


FIELDS = ("turn_id", "user_id", "device_id", "device_type", "ts", "asr", "nlu", "resolution",
          "response", "barge_in_ms", "feedback", "context", "rewrite", "wake", "schema_version")  # fmt: skip


@st.composite
def malformed_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    """A body for POST /v1/events: events with fields broken, missing, huge or of the wrong
    type; batches too large; text that is not JSON."""
    kind = draw(st.sampled_from(["field", "missing", "huge", "batch", "raw", "nested"]))
    event = _valid_event(draw(st.integers(0, 10**9)))
    if kind == "field":
        event[draw(st.sampled_from(FIELDS))] = draw(_json_values())
    elif kind == "missing":
        event.pop(draw(st.sampled_from(sorted(event))))
    elif kind == "huge":  # a text past max_text_chars (bodies past max_body_bytes: below)
        event["asr"] = {"text": "x" * draw(st.integers(501, 50_000))}
    elif kind == "batch":  # past max_batch
        return kind, json.dumps({"events": [event] * draw(st.integers(1001, 1100))}).encode()
    elif kind == "raw":
        return kind, draw(st.binary(max_size=200))
    else:
        event["context"] = {
            "device_states": {"a": draw(_json_values())},
            "extra": draw(_json_values()),
        }
    return kind, json.dumps({"events": [event]}, default=str).encode()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Any:
    port = free_port()
    process = start_service(tmp_path_factory.mktemp("hostile"), port)
    yield f"http://127.0.0.1:{port}"
    assert process.poll() is None, "the service crashed"
    stop_service(process)


def test_hostile_input_gets_no_5xx(base_url: str) -> None:
    statuses: Counter[int] = Counter()
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    http = httpx.Client(base_url=base_url, timeout=30.0)

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode), token=st.booleans())
            @settings(
                max_examples=SPEC_EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def call(case: Any, token: bool) -> None:
                response = case.call(base_url=base_url, headers=AUTH if token else {})
                statuses[response.status_code] += 1
                assert response.status_code < 500, (case.method, case.path, response.text[:300])

            try:
                call()
            except Unsatisfiable:
                # nothing about this operation can be made invalid (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE

    @given(body=malformed_bodies())
    @settings(
        max_examples=EVENT_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def post(body: tuple[str, bytes]) -> None:
        for token in (True, False):  # each body with and without the token
            headers = {"content-type": "application/json", **(AUTH if token else {})}
            response = http.post("/v1/events", content=body[1], headers=headers)
            statuses[response.status_code] += 1
            assert response.status_code < 500, (body[0], response.text[:300])
            assert "Traceback" not in response.text

    post()
    # Bodies past max_body_bytes (2 MB), a few of each size: one rejection path, and
    # megabytes each (thousands of them made this the slowest test of the suite).
    for size in (2_000_001, 2_100_000, 3_000_000, 6_000_000) * 5:
        for headers in (AUTH, {}):
            body = json.dumps({"events": [{**_valid_event(size), "asr": {"text": "x" * size}}]})
            headers = {"content-type": "application/json", **headers}
            response = http.post("/v1/events", content=body.encode(), headers=headers)
            statuses[response.status_code] += 1
            assert response.status_code in (401, 413), response.text[:300]
    http.close()
    total = sum(statuses.values())
    print(
        f"hostile requests {total}: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
    )
    assert total >= 10_000
    assert not any(code >= 500 for code in statuses)
    assert httpx.get(f"{base_url}/healthz").status_code == 200
