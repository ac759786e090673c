"""Running the Wyoming servers: the rewrite source from settings, a server on a URI."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from wyoming.server import AsyncServer

from selflearn.errors import SelflearnError
from selflearn.wyoming.source import DEFAULT_BUDGET_S, LocalSource, ServiceSource, Source

__all__ = ["make_source", "run_server", "start_server"]


def make_source(
    *,
    artefacts: Path | None = None,
    service: str | None = None,
    token: str | None = None,
    log: Path | None = None,
    budget_s: float = DEFAULT_BUDGET_S,
) -> Source:
    """The service when a URL is given; else the artefacts in process (and ``log`` for the
    turns); with neither, no rewrites (the proxy only logs)."""
    if service and artefacts:
        raise SelflearnError("give --service or --artefacts, not both")
    if service:
        return ServiceSource(service, token, budget_s=budget_s)
    rewriter = None
    if artefacts is not None:
        from selflearn.rewrite import Rewriter

        if not artefacts.is_dir():
            raise SelflearnError(f"--artefacts {artefacts}: no such folder (run selflearn learn)")
        rewriter = Rewriter.load(artefacts)
    return LocalSource(rewriter, log, budget_s=budget_s)


def _server(uri: str) -> AsyncServer:
    try:
        return AsyncServer.from_uri(uri)
    except ValueError as err:
        raise SelflearnError(f"{uri}: not a Wyoming URI (tcp://host:port, unix://path)") from err


async def start_server(uri: str, handler: Callable[..., object]) -> AsyncServer:
    """Start serving on ``uri`` in the running loop (tests and embedding); the server."""
    server = _server(uri)
    await server.start(handler)  # type: ignore[arg-type]
    return server


def run_server(uri: str, handler: Callable[..., object]) -> None:
    """Serve on ``uri`` until interrupted."""
    server = _server(uri)
    asyncio.run(server.run(handler))  # type: ignore[arg-type]
