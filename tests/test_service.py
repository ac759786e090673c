"""The HTTP service (issue 8): routes, auth, limits, forgetting, learning and swapping,
the client, and durability under SIGKILL of the real server process."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from selflearn.report import report_figures
from selflearn.service import Client, ServiceSettings
from selflearn.service.app import create_app
from selflearn.sim import SimConfig, Simulator
from tests.conftest import SERVICE_TOKEN, free_port, start_service, stop_service

TOKEN = SERVICE_TOKEN
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Routes anyone may call: health, metrics, the API description, and rewrite on loopback.
OPEN = {("get", "/healthz"), ("get", "/metrics"), ("post", "/v1/rewrite")}


def _event(
    turn_id: str, user: str | None = "u1", text: str = "turn on the light", **extra: Any
) -> dict[str, Any]:
    return {
        "turn_id": turn_id,
        "user_id": user,
        "device_id": "satellite.kitchen",
        "device_type": "speaker",
        "ts": 1_767_600_000.0 + len(turn_id),
        "asr": {"text": text, "confidence": 0.9},
        "response": {"text": "ok", "status": "success"},
        **extra,
    }


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = ServiceSettings(data_dir=tmp_path / "svc", token=TOKEN, online=False)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_openapi_is_published_and_health_answers(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/events", "/v1/rewrite", "/v1/teach", "/v1/users/{user_id}", "/healthz"} <= set(
        spec["paths"]
    )
    assert client.get("/healthz").json()["status"] == "ok"


def test_every_write_and_admin_route_needs_the_token(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    checked = 0
    for path, methods in spec["paths"].items():
        for method in methods:
            if (method, path) in OPEN:
                continue
            url = path.replace("{user_id}", "someone")
            for headers in (
                {},
                {"Authorization": "Bearer wrong-token-but-long-enough"},
                {"Authorization": TOKEN},
            ):
                answer = client.request(method.upper(), url, headers=headers, json={})
                assert answer.status_code == 401, (method, path, headers, answer.text)
                assert "token" in answer.json()["error"]
            checked += 1
    assert checked >= 6


def test_rewrite_needs_the_token_unless_on_loopback(tmp_path: Path) -> None:
    settings = ServiceSettings(data_dir=tmp_path / "svc", token=TOKEN, host="0.0.0.0")
    with TestClient(create_app(settings)) as remote:
        assert remote.post("/v1/rewrite", json={"text": "hi"}).status_code == 401
        assert remote.post("/v1/rewrite", json={"text": "hi"}, headers=AUTH).status_code == 200


def test_events_are_validated_idempotent_and_limited(client: TestClient) -> None:
    batch = [_event("a1"), _event("a2")]
    first = client.post("/v1/events", json={"events": batch}, headers=AUTH)
    assert first.json() == {"accepted": 2, "duplicates": 0}
    again = client.post("/v1/events", json={"events": batch}, headers=AUTH)
    assert again.json() == {"accepted": 0, "duplicates": 2}
    bad = client.post(
        "/v1/events",
        json={"events": [_event("a3"), {**_event("a4"), "ts": "yesterday"}]},
        headers=AUTH,
    )
    assert bad.status_code == 422 and bad.json()["field"] == "events[1].ts"
    assert "Traceback" not in bad.text
    missing = client.post("/v1/events", json={"nothing": []}, headers=AUTH)
    assert missing.status_code == 422 and "field" in missing.json()
    too_many = client.post(
        "/v1/events", json={"events": [_event(f"b{i}") for i in range(1001)]}, headers=AUTH
    )
    assert too_many.status_code == 413
    huge = client.post(
        "/v1/events", content=b"x" * 2_000_001, headers={**AUTH, "content-type": "application/json"}
    )
    assert huge.status_code == 413
    chunked = client.post(  # no length declared: counted while it is read
        "/v1/events",
        content=(b"x" * 100_000 for _ in range(21)),
        headers={**AUTH, "content-type": "application/json"},
    )
    assert chunked.status_code == 413 and chunked.json()["field"] == "body"
    chunked_rewrite = client.post(
        "/v1/rewrite",
        content=(b"x" * 100_000 for _ in range(21)),
        headers={"content-type": "application/json"},
    )
    assert chunked_rewrite.status_code == 413
    assert client.get("/v1/report/summary", headers=AUTH).json()["turns"] == 2
    page = client.get("/v1/report/html", headers=AUTH)
    assert page.status_code == 200 and "<html" in page.text.lower()


def test_teach_then_rewrite_then_forget(client: TestClient, tmp_path: Path) -> None:
    taught = client.post(
        "/v1/teach",
        json={"user_id": "u1", "text": "by the big light I mean the desk lamp"},
        headers=AUTH,
    )
    assert taught.status_code == 200 and taught.json()["stored"]["kind"] == "alias"
    assert (
        client.post(
            "/v1/teach", json={"user_id": "u1", "text": "turn on the light"}, headers=AUTH
        ).status_code
        == 422
    )
    ask = {"text": "turn on the big light", "user_id": "u1"}
    assert client.post("/v1/rewrite", json=ask).json()["rewrite"] == "turn on the desk lamp"
    client.post(
        "/v1/events", json={"events": [_event("c1"), _event("c2", user="u2")]}, headers=AUTH
    )
    gone = client.delete("/v1/users/u1", headers=AUTH).json()
    assert gone["removed"]["turns"] == 1 and gone["removed"]["preferences"] == 1
    assert client.post("/v1/rewrite", json=ask).json()["rewrite"] is None
    summary = client.get("/v1/report/summary", headers=AUTH).json()
    assert summary["turns"] == 1 and summary["users"] == 1
    data = tmp_path / "svc"
    assert "u1" not in (data / "preferences.json").read_text()
    audit = [json.loads(line) for line in (data / "audit.jsonl").read_text().splitlines()]
    assert audit[-1]["event"] == "forget_user" and audit[-1]["user"] == "u1"


def test_rewrite_reads_what_the_words_say(client: TestClient) -> None:
    """With read_words, the answer says what the words tell beyond a request: a verdict on
    the answer before, a correction's request (the thing to act on), words for the teacher."""

    def read(text: str, user: str = "u1") -> dict[str, object]:
        body = {"text": text, "user_id": user, "read_words": True}
        answer = client.post("/v1/rewrite", json=body)
        assert answer.status_code == 200
        return dict(answer.json())

    plain = read("turn on the kitchen light")
    assert plain["feedback"] is None and not plain["teach"] and plain["rewrite"] is None
    assert read("that's wrong")["feedback"] == "negative"
    assert read("thanks")["feedback"] == "positive"
    assert read("never mind")["gave_up"] is True
    meant = read("no, I meant turn off the kitchen light")
    assert meant["feedback"] == "negative"
    assert (meant["rewrite"], meant["layer"]) == ("turn off the kitchen light", "said")
    assert read("no, I said the kitchen")["rewrite"] is None  # not a whole request
    assert read("by the big light I mean the desk lamp")["teach"] is True
    # "forget that" takes back what was just taught; said after anything else it gives up
    assert read("forget that")["teach"] is False
    client.post(
        "/v1/teach", json={"user_id": "u1", "text": "I love jazz"}, headers=AUTH
    ).raise_for_status()
    assert read("forget that")["teach"] is True
    assert read("forget that", user="u2")["teach"] is False
    # without read_words the answer is the plain rewrite, as before
    bare = client.post("/v1/rewrite", json={"text": "no, I meant turn off the light"}).json()
    assert bare["rewrite"] is None and bare["feedback"] is None


def test_user_ids_can_be_pseudonymised(tmp_path: Path) -> None:
    settings = ServiceSettings(data_dir=tmp_path / "svc", token=TOKEN, pseudonymise_key="k" * 32)
    with TestClient(create_app(settings)) as test_client:
        test_client.post("/v1/events", json={"events": [_event("p1", user="alice")]}, headers=AUTH)
        summary = test_client.get("/v1/report/summary", headers=AUTH).json()
        assert summary["users"] == 1
        assert test_client.delete("/v1/users/alice", headers=AUTH).json()["removed"]["turns"] == 1
    import duckdb

    con = duckdb.connect(str(tmp_path / "svc" / "turns.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM turns WHERE user_id = 'alice'").fetchone() == (0,)


def test_learning_swaps_a_validated_version_and_restores(
    client: TestClient, tmp_path: Path
) -> None:
    empty = client.post("/v1/admin/learn", headers=AUTH).json()
    assert empty["version"] is None and "no turns" in empty["error"]
    runs = Simulator(SimConfig(users=8, days=3, seed=4, real_data=Path("/nonexistent"))).runs()
    events = [json.loads(line) for run in runs for line in run.events]
    for start in range(0, len(events), 500):
        assert (
            client.post(
                "/v1/events", json={"events": events[start : start + 500]}, headers=AUTH
            ).status_code
            == 200
        )
    first = client.post("/v1/admin/learn", headers=AUTH).json()
    assert first["error"] is None and first["version"] == "v000001"
    second = client.post("/v1/admin/learn", headers=AUTH).json()
    assert second["version"] == "v000002"
    assert (
        client.post("/v1/rewrite", json={"text": "turn on the kitchen light"}).json()["version"]
        == "v000002"
    )
    assert client.post("/v1/admin/restore", headers=AUTH).json() == {"version": "v000001"}
    assert client.get("/healthz").json()["version"] == "v000001"
    # the owner's report reads what the served version learned and does now
    page = client.get("/v1/report/html", params={"days": 0}, headers=AUTH).text
    assert "serving version v000001" in page
    figures = report_figures(page)["owner"]
    assert figures["learned"]["folder"].endswith("v000001")
    assert figures["learned"]["rewrites"] and figures["failing"]["coverage"]
    assert all("now" in e for e in figures["failing"]["top"])
    assert client.get("/v1/report/html", params={"days": -1}, headers=AUTH).status_code == 422
    metrics = client.get("/metrics").text
    assert "selflearn_learning_runs_total 3.0" in metrics and "selflearn_requests_total" in metrics


# -- the real server process ---------------------------------------------------------------


_free_port = free_port


def _start(data: Path, port: int) -> subprocess.Popen[bytes]:
    return start_service(data, port)


def test_acknowledged_events_survive_sigkill(tmp_path: Path) -> None:
    """A thread streams events (resending a batch until it is acknowledged) while the
    server is SIGKILLed at random moments 20 times and restarted: every event acknowledged
    with 2xx is stored exactly once."""
    data, port = tmp_path / "svc", _free_port()
    rng = random.Random(7)
    acknowledged: set[str] = set()
    counts = {"sent": 0, "failed_requests": 0}
    stop = threading.Event()

    def stream() -> None:
        http = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=AUTH, timeout=2.0)
        n = 0
        while not stop.is_set():
            batch = [_event(f"s{n + i}", user=f"u{i % 3}") for i in range(rng.randint(1, 50))]
            n += len(batch)
            counts["sent"] += len(batch)
            while not stop.is_set():  # the same batch until it is acknowledged
                try:
                    answer = http.post("/v1/events", json={"events": batch})
                except httpx.HTTPError:
                    counts["failed_requests"] += 1
                    time.sleep(0.02)
                    continue
                if 200 <= answer.status_code < 300:
                    acknowledged.update(e["turn_id"] for e in batch)
                    break
        http.close()

    process = _start(data, port)
    streamer = threading.Thread(target=stream)
    streamer.start()
    try:
        for _ in range(20):
            time.sleep(rng.uniform(0.1, 0.6))
            process.send_signal(signal.SIGKILL)  # whatever is in flight
            process.wait()
            process = _start(data, port)
        time.sleep(0.3)
    finally:
        stop.set()
        streamer.join(timeout=10)
        stop_service(process)
    import duckdb

    con = duckdb.connect(str(data / "turns.duckdb"), read_only=True)
    ids = [row[0] for row in con.execute("SELECT turn_id FROM turns").fetchall()]
    lost = acknowledged - set(ids)
    print(
        f"events sent {counts['sent']}, acknowledged {len(acknowledged)}, stored {len(ids)}, "
        f"lost {len(lost)}; requests cut off by a kill {counts['failed_requests']}"
    )
    assert len(ids) == len(set(ids))  # exactly once
    assert not lost and len(acknowledged) > 500


def test_client_batches_retries_and_keeps_its_budget(tmp_path: Path) -> None:
    data, port = tmp_path / "svc", _free_port()
    client = Client(f"http://127.0.0.1:{port}", TOKEN, batch_size=50, budget_s=0.05)
    for i in range(300):
        assert client.log(_event(f"c{i}"))  # queued while no service is up yet
    started = time.perf_counter()
    assert client.rewrite("turn of the light") is None  # nothing listens: fails open fast
    assert time.perf_counter() - started < 0.5
    process = _start(data, port)
    try:
        assert client.flush(timeout=30)
        assert client.stats.sent == 300 and client.stats.retries > 0
        assert client.teach("u1", "I'm a Celtics fan")["stored"]["value"] == "celtics"  # type: ignore[index]
    finally:
        client.close()
        stop_service(process)


def test_a_forgotten_users_requests_never_reach_the_served_personal_layers(tmp_path: Path) -> None:
    from selflearn.rewrite.base import Rewrite, RewriteRequest
    from selflearn.service import Service

    class Recording:
        def __init__(self) -> None:
            self.asked: list[str | None] = []
            self.forgot: list[str] = []

        def rewrite(self, request: RewriteRequest) -> Rewrite | None:
            self.asked.append(request.user_id)
            return Rewrite(request.text, "turn on the lamp", "personal", 0.9, "online")

        def forget(self, owner: str) -> int:
            self.forgot.append(owner)
            return 1

    service = Service.open(ServiceSettings(data_dir=tmp_path / "svc", token=TOKEN))
    served = Recording()
    service._serve("v000001", served)
    ask = RewriteRequest("lamp on please", "u1")
    assert service.rewrite(ask) is not None and served.asked == ["u1"]
    removed = service.forget_user("u1", relearn=False)
    assert served.forgot == ["u1"]  # the served version dropped their rows in memory too
    assert removed["personal_index_entries"] == 0  # no version on disk held any
    service.rewrite(ask)
    assert served.asked[-1] is None  # asked as an unknown speaker: no personal layer
    reopened = Service.open(ServiceSettings(data_dir=tmp_path / "svc", token=TOKEN))
    reopened._serve("v000001", served)
    assert reopened.withholds("u1")  # the version was learned before u1 was forgotten
    reopened.rewrite(ask)
    assert served.asked[-1] is None
    service.close()
    reopened.close()


def test_a_version_learned_before_a_user_was_forgotten_never_hears_their_id(
    tmp_path: Path,
) -> None:
    """Also after a restore: an older version still holds what it learned of the user."""
    import json
    import time

    from selflearn.rewrite.base import Rewrite, RewriteRequest
    from selflearn.service import Service
    from selflearn.service.core import SNAPSHOT_FILE

    class Recording:
        def __init__(self) -> None:
            self.asked: list[str | None] = []

        def rewrite(self, request: RewriteRequest) -> Rewrite | None:
            self.asked.append(request.user_id)
            return None

    service = Service.open(ServiceSettings(data_dir=tmp_path / "svc", token=TOKEN))
    older = service.versions.new()
    (older / SNAPSHOT_FILE).write_text(json.dumps({"turns_read": time.time() - 60}))
    service.forget_user("u1", relearn=False)
    newer = service.versions.new()
    (newer / SNAPSHOT_FILE).write_text(json.dumps({"turns_read": time.time() + 1}))
    served = Recording()
    ask = RewriteRequest("lamp on please", "u1")
    service._serve(newer.name, served)
    service.rewrite(ask)
    assert served.asked[-1] == "u1"  # learned after the forget: nothing of theirs in it
    service._serve(older.name, served)  # as a restore would
    service.rewrite(ask)
    assert served.asked[-1] is None
    service.close()


def test_a_user_forgotten_while_a_version_is_learned_is_scrubbed_from_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forgetting skips a version still being learned; the run removes the user's rows
    from it when it ends, before it is loaded and served."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from selflearn.logs.schema import TurnEvent
    from selflearn.rewrite.rewriter import REWRITES_FILE
    from selflearn.service import Service, core

    rows = pa.Table.from_pylist(
        [
            {"source": "lamp on", "rewrite": "turn on the lamp", "score": 0.9, "support": 4,
             "layer": "personal", "user_id": user, "method": "markov"}
            for user in ("u1", "u2")
        ]
    )  # fmt: skip
    service = Service.open(ServiceSettings(data_dir=tmp_path / "svc", token=TOKEN))
    service.ingest([TurnEvent.from_dict(_event("t1")), TurnEvent.from_dict(_event("t2", "u2"))])
    removed: dict[str, Any] = {}

    def learning(log_file: Path, folder: Path, *, online: bool, engine: Any = None) -> None:
        pq.write_table(rows, folder / REWRITES_FILE)
        removed.update(service.forget_user("u1", relearn=False))  # while it is being learned

    monkeypatch.setattr(core, "_learn_in_child", learning)
    run = service.learn()
    assert run.error is None and run.version == "v000001"
    assert removed["personal_rewrite_rows"] == 0  # the unfinished version was left alone
    kept = pq.read_table(service.versions.path("v000001") / REWRITES_FILE)
    assert kept.column("user_id").to_pylist() == ["u2"]
    service.close()


def test_with_exploring_on_the_answer_carries_the_choice_to_log(tmp_path: Path) -> None:
    """SELFLEARN_EXPLORE: where the served version holds readings close, the rewrite answer
    carries the choice (options, the one served, its propensity); an event logged with it is
    stored, and the next learning run fits the exploration policy from it."""
    settings = ServiceSettings(data_dir=tmp_path / "svc", token=TOKEN, online=False, explore=True)
    with TestClient(create_app(settings)) as client:
        runs = Simulator(SimConfig(users=8, days=3, seed=4, real_data=Path("/nonexistent"))).runs()
        events = [json.loads(line) for run in runs for line in run.events]
        assert client.post("/v1/events", json={"events": events}, headers=AUTH).status_code == 200
        assert client.post("/v1/admin/learn", headers=AUTH).json()["error"] is None
        failing = sorted({e["asr"]["text"] for e in events if e["response"]["status"] != "success"})
        answers = [
            client.post("/v1/rewrite", json={"text": t, "user_id": "u1"}).json() for t in failing
        ]
        chosen = [(t, a) for t, a in zip(failing, answers, strict=True) if a["choice"]]
        assert chosen, "no failing request of the log was held close"
        text, answer = chosen[0]
        choice = answer["choice"]
        assert choice["options"][0]["layer"] == "heard" and 0 < choice["propensity"] <= 1
        served = choice["options"][choice["chosen"]]["text"]
        assert answer["rewrite"] == (None if choice["chosen"] == 0 else served)
        logged = [_event(f"c{i}", text=text, choice=choice, schema_version="2") for i in range(30)]
        assert client.post("/v1/events", json={"events": logged}, headers=AUTH).status_code == 200
        learned = client.post("/v1/admin/learn", headers=AUTH).json()
        assert learned["error"] is None
        folder = tmp_path / "svc" / "artefacts" / learned["version"]
        summary = json.loads((folder / "learn.json").read_text())
        assert summary["explore"]["used"] and summary["explore"]["choices"] >= 30


def test_requests_arriving_together_are_encoded_in_one_run() -> None:
    """The HTTP app's encoding queue: while a run goes on, the requests that arrive wait
    and the next run takes them all; a failing encoder fails nobody (each rewrite then
    encodes its own words); a request whose client left does not stop the others."""
    import asyncio

    from selflearn.service.batching import EncodingQueue

    runs: list[list[str]] = []
    started = threading.Event()

    def encode(texts: list[str]) -> None:
        runs.append(texts)
        started.set()
        time.sleep(0.05)  # long enough for the other requests to arrive
        if "break" in texts:
            raise RuntimeError("encoder broke")

    async def scenario() -> None:
        queue = EncodingQueue(encode, most=4)
        first = asyncio.create_task(queue.encoded("a"))
        await asyncio.to_thread(started.wait)
        rest = [asyncio.create_task(queue.encoded(t)) for t in "bcdefg"]
        leaving = asyncio.create_task(queue.encoded("h"))
        await asyncio.sleep(0)
        leaving.cancel()
        await asyncio.gather(first, *rest)
        await queue.encoded("break")  # returns all the same
        await queue.encoded("i")

    asyncio.run(scenario())
    assert runs == [["a"], ["b", "c", "d", "e"], ["f", "g", "h"], ["break"], ["i"]]
