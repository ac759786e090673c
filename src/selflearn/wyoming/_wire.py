"""Shared pieces of the Wyoming proxies: the upstream connection and renamed descriptions."""

from __future__ import annotations

import logging
from typing import Any

from wyoming.client import AsyncClient
from wyoming.event import Event
from wyoming.info import Attribution, Describe, Info
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler

log = logging.getLogger(__name__)
ATTRIBUTION = Attribution(name="selflearn", url="https://github.com/selflearn/selflearn")
UPSTREAM_TIMEOUT_S = 30.0


def upstream(uri: str) -> AsyncClient:
    """A client of the upstream service at ``uri`` (tcp://host:port, unix://path)."""
    return AsyncClient.from_uri(uri)


async def describe(uri: str, rename: bool = True) -> Info | None:
    """The upstream's description, its programs named as selflearn's ("selflearn (whisper)");
    None when the upstream does not answer."""
    try:
        async with upstream(uri) as client:
            await client.write_event(Describe().event())
            while True:
                event = await client.read_event()
                if event is None:
                    return None
                if Info.is_type(event.type):
                    info = Info.from_event(event)
                    break
    except OSError:
        return None
    if rename:
        for program in [*info.asr, *info.intent, *info.handle]:
            program.name = f"selflearn ({program.name})"
            program.description = (
                f"{program.description or program.name}, through selflearn's learned rewrites"
            )
    return info


async def answer_common(handler: AsyncEventHandler, event: Event, upstream_uri: str) -> bool | None:
    """Answer what every proxy answers alike: ``describe`` (the upstream's description,
    renamed; False — disconnect — when the upstream does not answer) and ``ping``. None when
    ``event`` is neither."""
    if Describe.is_type(event.type):
        info = await describe(upstream_uri)
        if info is None:
            log.warning("the upstream at %s does not answer describe", upstream_uri)
            return False
        await handler.write_event(info.event())
        return True
    if Ping.is_type(event.type):
        await handler.write_event(Pong().event())
        return True
    return None


def plain(value: Any) -> Any:
    """A JSON-ready value (entity values may be anything the upstream sent)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return str(value)


def same(event: Event) -> Event:
    return event
