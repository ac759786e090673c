"""The HTTP service (DESIGN §3.5): a thin FastAPI shell over :class:`~selflearn.service.core.Service`.

``create_app(settings)`` builds it; every setting has a default. Write and admin routes need
``Authorization: Bearer <token>``; ``POST /v1/rewrite`` may go without one when the service
listens on loopback only. Errors are JSON with the offending field, never a stack trace.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import secrets
import sys
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from selflearn._version import __version__
from selflearn.errors import SelflearnError
from selflearn.rewrite.base import RewriteRequest
from selflearn.rewrite.encoder import use_request_threads
from selflearn.service.batching import EncodingQueue
from selflearn.service.core import Service
from selflearn.service.ingest import BatchError, parse_batch, start_worker, table_from_ipc
from selflearn.service.metrics import render_metrics
from selflearn.service.settings import ServiceSettings

__all__ = ["create_app"]

log = logging.getLogger(__name__)
SWITCH_INTERVAL_S = 0.0005


class ApiError(Exception):
    """An error answered as ``status`` with a JSON body naming ``field``."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


class EventsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[dict[str, Any]] = Field(description="Turn events (DESIGN §3.1), one batch.")


class EventsOut(BaseModel):
    accepted: int = Field(description="New events stored.")
    duplicates: int = Field(description="Events whose turn_id was already stored.")


class RewriteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(description="The utterance as recognised.")
    user_id: str | None = Field(default=None, max_length=200)
    device_id: str | None = Field(default=None, max_length=200)
    device_type: str | None = Field(default=None, max_length=100)
    area: str | None = Field(default=None, max_length=200)
    context: dict[str, Any] = Field(default_factory=dict)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    read_words: bool = Field(
        default=False,
        description="Also read what the words say beyond a request (feedback, a correction's "
        "request, words for the teacher): an assistant that hands every utterance here sets it.",
    )


class RewriteOut(BaseModel):
    rewrite: str | None = Field(description="The utterance to act on instead, or null.")
    score: float | None = None
    layer: str | None = None
    method: str | None = None
    version: str | None = Field(default=None, description="The artefact version served.")
    feedback: str | None = Field(
        default=None,
        description="What the words say of the answer before them: negative ('no, that's "
        "wrong', 'I meant …'), positive ('thanks'), or null.",
    )
    gave_up: bool = Field(default=False, description="The words give up ('never mind').")
    teach: bool = Field(
        default=False,
        description="The words are for the teacher (a preference, an alias, 'forget that', "
        "an answer to its question): post them to /v1/teach and speak its reply.",
    )
    choice: dict[str, Any] | None = Field(
        default=None,
        description="Where the service chose among interpretations it held close (with "
        "exploration on): log it with the turn as the event's ``choice``. ``rewrite`` is "
        "null when the choice was the words as heard.",
    )


class TeachIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(min_length=1, max_length=200)
    text: str = Field(description="What the user said.")
    turn_id: str | None = Field(default=None, max_length=200)


class TeachOut(BaseModel):
    reply: str
    kind: str
    stored: dict[str, Any] | None = None


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The service's app. Its state opens on start-up and closes on shutdown."""
    settings = settings or ServiceSettings()
    holder: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The thread storing a batch of events holds the interpreter lock at moments; hand
        # it over more often than every 5 ms so that rewrites on the event loop wait less.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        use_request_threads(settings.encoder_threads)  # before a version loads
        service = Service.open(settings)
        # the worker that parses posted events, started (and warmed) before serving
        holder["pool"] = _parsing_pool()
        await asyncio.get_running_loop().run_in_executor(
            holder["pool"], parse_batch, b'{"events": []}', 1, None
        )
        holder["service"] = service
        gc.freeze()  # what start-up loaded lives as long as the server: keep it out of collections
        stop = threading.Event()
        learner = threading.Thread(
            target=_learning_loop, args=(service, stop), name="selflearn-learning", daemon=True
        )
        learner.start()
        try:
            yield
        finally:
            stop.set()
            learner.join(timeout=5.0)
            pool = holder.pop("pool", None)
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            service.close()

    app = FastAPI(
        title="selflearn",
        version=__version__,
        description="Ingest turn events, rewrite utterances, teach preferences, read reports.",
        lifespan=lifespan,
    )

    def service() -> Service:
        found: Service | None = holder.get("service")
        if found is None:
            raise ApiError(503, "the service is starting or stopping")
        return found

    encoding = EncodingQueue(lambda texts: service().encode_together(texts))

    async def authorised(request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        token = service().token
        if scheme.lower() != "bearer" or not given or not secrets.compare_digest(given, token):
            raise ApiError(401, "a valid bearer token is required (Authorization: Bearer …)")

    async def authorised_rewrite(request: Request) -> None:
        if settings.rewrite_needs_token:
            await authorised(request)

    auth = [Depends(authorised)]

    app.add_middleware(_LimitsAndMetrics, holder=holder, max_body=settings.max_body_bytes)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return _error(exc.status, exc.message, exc.field, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        return _error(422, str(first.get("msg", "invalid request")), where)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), "body" if exc.status_code == 413 else None)

    @app.exception_handler(SelflearnError)
    async def selflearn_error(_: Request, exc: SelflearnError) -> JSONResponse:
        return _error(400, str(exc))

    @app.post(
        "/v1/events",
        response_model=EventsOut,
        tags=["write"],
        dependencies=auth,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": EventsIn.model_json_schema()}},
            }
        },
    )
    async def post_events(request: Request) -> EventsOut:
        """Store a batch of turn events (``{"events": [...]}``); answered once they are
        durable. Idempotent on ``turn_id``: a batch sent again stores nothing twice. Any
        invalid event rejects the batch, naming the event and the field."""
        body = await request.body()
        parsed = await _parse(holder, body, settings)
        if isinstance(parsed, BatchError):
            raise ApiError(parsed.status, parsed.message, parsed.field)
        table = table_from_ipc(parsed[0])
        summary = await asyncio.to_thread(service().ingest_table, table)
        return EventsOut(accepted=summary.accepted, duplicates=summary.duplicates)

    @app.post(
        "/v1/rewrite",
        response_model=RewriteOut,
        tags=["rewrite"],
        dependencies=[Depends(authorised_rewrite)],
    )
    async def post_rewrite(body: RewriteIn) -> RewriteOut:
        """What to act on instead of ``text``, or null: the original passes through."""
        if len(body.text) > settings.max_text_chars:
            raise ApiError(422, f"at most {settings.max_text_chars} characters", "text")
        svc = service()
        request = RewriteRequest(
            body.text,
            body.user_id,
            body.device_id,
            body.device_type,
            body.area,
            body.context,
            body.confidence,
            ts=time.time(),
        )
        # The rewrite runs on the event loop, not in a worker thread: it takes a tenth of a
        # millisecond when its words' vector is known, and handing it to a thread and back
        # costs more than that on a busy machine. Only the encoding, where one is needed,
        # goes to a thread, shared with the requests that arrive meanwhile (batching.py).
        said = svc.read(body.text, body.user_id) if body.read_words else None
        words = (
            {"feedback": said.feedback, "gave_up": said.gave_up, "teach": said.teach}
            if said is not None
            else {}
        )
        if said is not None and said.again and not said.teach:
            # "no, I meant turn off the light": the request said again is what to act on
            return RewriteOut(
                rewrite=said.again,
                score=1.0,
                layer="said",
                method="correction",
                version=svc.version,
                **words,
            )
        if said is not None and said.teach:
            answer = None
        else:
            words_to_encode = svc.to_encode(request)
            if words_to_encode is not None:
                await encoding.encoded(words_to_encode)
            answer = svc.rewrite(request)
        if answer is None:
            return RewriteOut(rewrite=None, version=svc.version, **words)
        if answer.target == answer.source:  # chosen: the words as heard, nothing to rewrite
            return RewriteOut(rewrite=None, version=svc.version, choice=answer.choice, **words)
        return RewriteOut(
            rewrite=answer.target,
            score=answer.score,
            layer=answer.layer,
            method=answer.method,
            version=svc.version,
            choice=answer.choice,
            **words,
        )

    @app.post("/v1/teach", response_model=TeachOut, tags=["write"], dependencies=auth)
    def post_teach(body: TeachIn) -> TeachOut:
        """A preference statement or a teaching command from ``user_id``."""
        if len(body.text) > settings.max_text_chars:
            raise ApiError(422, f"at most {settings.max_text_chars} characters", "text")
        reply = service().teach(body.user_id, body.text, body.turn_id)
        if reply is None:
            raise ApiError(
                422, "not a preference or a teaching command; nothing was stored", "text"
            )
        return TeachOut(
            reply=reply.text,
            kind=reply.kind,
            stored=reply.stored.to_dict() if reply.stored else None,
        )

    @app.delete("/v1/users/{user_id}", tags=["admin"], dependencies=auth)
    def delete_user(user_id: str) -> dict[str, Any]:
        """Forget a user: their turns, preferences, personal rewrites and index entries."""
        if not user_id or len(user_id) > 200:
            raise ApiError(422, "a user id of 1 to 200 characters", "user_id")
        return {"user_id": user_id, "removed": service().forget_user(user_id)}

    @app.get("/v1/report/summary", tags=["admin"], dependencies=auth)
    def report_summary() -> dict[str, Any]:
        """The log's figures, the served version and the learning runs."""
        return service().summary()

    @app.get("/v1/report/html", response_class=HTMLResponse, tags=["admin"], dependencies=auth)
    def report_html(days: int = 7) -> HTMLResponse:
        """The owner's report over the stored log: the last ``days`` days (0: all of it),
        what failed, what the served version learned and now does with each failing
        request, what users taught."""
        if not 0 <= days <= 3660:
            raise ApiError(422, "days from 0 (the whole log) to 3660", "days")
        return HTMLResponse(service().report_html(days))

    @app.post("/v1/admin/learn", tags=["admin"], dependencies=auth)
    async def admin_learn() -> dict[str, Any]:
        """Run learning now (in the background); the run's outcome."""
        run = await asyncio.to_thread(service().learn)
        return run.as_dict()

    @app.post("/v1/admin/restore", tags=["admin"], dependencies=auth)
    def admin_restore() -> dict[str, Any]:
        """Serve the previous artefact version again."""
        return {"version": service().restore()}

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, Any]:
        svc = service()
        return {"status": "ok", "version": svc.version, "selflearn": __version__}

    @app.get("/metrics", response_class=PlainTextResponse, tags=["health"])
    def metrics() -> PlainTextResponse:
        """Prometheus text format: requests, latencies, rewrites, fail-opens, learning runs."""
        body, content_type = render_metrics(service())
        return PlainTextResponse(body, media_type=content_type)

    return app


class _BodyTooLarge(StarletteHTTPException):
    """Raised while reading a body past the limit (one sent without a length)."""

    def __init__(self, message: str) -> None:
        super().__init__(413, message)


class _LimitsAndMetrics:
    """Body size limit, request counts and latencies; never a stack trace to the caller.

    Plain ASGI rather than ``@app.middleware("http")``: that wrapper runs every request
    through extra tasks and streams, which costs the rewrite route more than the rewrite.
    """

    def __init__(self, app: ASGIApp, holder: dict[str, Any], max_body: int) -> None:
        self.app, self.holder, self.max_body = app, holder, max_body
        self.too_large = f"the body is over {max_body} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await _error(413, self.too_large, "body")(scope, receive, send)
            self._observe(scope, 413, started)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body:
                raise _BodyTooLarge(self.too_large)
            return message

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, limited_receive, observed_send)
        except _BodyTooLarge:
            if not status:
                await _error(413, self.too_large, "body")(scope, receive, observed_send)
        except Exception:  # never a stack trace to the caller
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if not status:
                await _error(500, "internal error; it has been logged")(
                    scope, receive, observed_send
                )
        self._observe(scope, status or 500, started)

    def _observe(self, scope: Scope, status: int, started: float) -> None:
        found = self.holder.get("service")
        if found is None:
            return
        name = getattr(scope.get("route"), "path", "other")
        found.metrics.counts[f"requests:{scope['method']} {name}:{status}"] += 1
        found.metrics.observe(f"{scope['method']} {name}", time.perf_counter() - started)


def _parsing_pool() -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=start_worker,
        initargs=(os.getpid(),),
    )


async def _parse(
    holder: dict[str, Any], body: bytes, settings: ServiceSettings
) -> tuple[bytes, int] | BatchError:
    """Parse a posted batch in the worker process (started on first use); in a thread of
    this process if the worker cannot be had."""
    loop = asyncio.get_running_loop()
    args = (body, settings.max_batch, settings.pseudonymise_key)
    pool = holder.get("pool")
    if pool is None:
        pool = holder["pool"] = _parsing_pool()
    try:
        return await loop.run_in_executor(pool, parse_batch, *args)
    except BrokenProcessPool:
        log.error("the parsing worker died; parsing in the server until it is replaced")
        holder["pool"] = None
        pool.shutdown(wait=False, cancel_futures=True)
        return await asyncio.to_thread(parse_batch, *args)


def _error(
    status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if field is not None:
        body["field"] = field
    return JSONResponse(body, status_code=status, headers=headers)


def _learning_loop(service: Service, stop: threading.Event) -> None:
    """Re-learn after ``learn_after_events`` new events or every ``learn_every_s``."""
    settings = service.settings
    if not settings.learn_after_events and not settings.learn_every_s:
        return
    last = time.monotonic()
    while not stop.wait(1.0):
        due_count = settings.learn_after_events and (
            service.events_since_learn >= settings.learn_after_events
        )
        due_time = settings.learn_every_s and time.monotonic() - last >= settings.learn_every_s
        if due_count or due_time:
            service.learn()
            last = time.monotonic()
