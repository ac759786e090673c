"""A Wyoming speech-to-text proxy: the real recogniser's transcript, rewritten.

Home Assistant (or a satellite) adds the proxy as its speech service. Each request —
``transcribe``, then ``audio-start``, ``audio-chunk``…, ``audio-stop`` — goes on to the
upstream recogniser's Wyoming server (whisper, vosk, …); what it answers comes back
unchanged, except the final ``transcript``, which is rewritten by the learned rewriter when
it answers within the budget (fail open: otherwise the transcript is passed on as heard).
``describe`` reports the upstream's models under selflearn's name. Each transcript is logged
as a turn (heard words, rewrite) unless a conversation proxy logs the turn instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from wyoming.asr import Transcribe, Transcript
from wyoming.client import AsyncClient
from wyoming.event import Event
from wyoming.info import Info
from wyoming.server import AsyncEventHandler

from selflearn.rewrite.base import RewriteRequest
from selflearn.wyoming._wire import answer_common, upstream
from selflearn.wyoming.source import Source
from selflearn.wyoming.turn import new_turn_id, turn_event

__all__ = ["AsrProxy"]

log = logging.getLogger(__name__)


class AsrProxy:
    """Settings shared by every connection: the upstream, the rewrites, the device."""

    def __init__(
        self,
        upstream_uri: str,
        source: Source,
        *,
        device_id: str = "wyoming-asr",
        area: str | None = None,
        log_turns: bool = True,
    ) -> None:
        self.upstream_uri = upstream_uri
        self.source = source
        self.device_id = device_id
        self.area = area
        self.log_turns = log_turns
        self.rewritten = 0
        self.transcripts = 0

    def handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> _AsrHandler:
        return _AsrHandler(reader, writer, self)


class _AsrHandler(AsyncEventHandler):
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, proxy: AsrProxy
    ) -> None:
        super().__init__(reader, writer)
        self.proxy = proxy
        self._client: AsyncClient | None = None
        self._relay: asyncio.Task[None] | None = None
        self._language: str | None = None
        self._started = 0.0

    async def handle_event(self, event: Event) -> bool:
        common = await answer_common(self, event, self.proxy.upstream_uri)
        if common is not None:
            return common
        if Transcribe.is_type(event.type):
            await self._close_upstream()
            self._language = Transcribe.from_event(event).language
            self._started = time.time()
            try:
                self._client = upstream(self.proxy.upstream_uri)
                await self._client.connect()
            except OSError as err:
                log.warning("the upstream recogniser is unreachable: %s", err)
                self._client = None
                return False
            self._relay = asyncio.create_task(self._relay_answers(self._client))
        if self._client is None:
            return True  # audio with no request open: nothing to transcribe it
        await self._client.write_event(event)
        return True

    async def _relay_answers(self, client: AsyncClient) -> None:
        """Everything the upstream answers goes back; the final transcript rewritten."""
        while True:
            event = await client.read_event()
            if event is None:
                return
            if Transcript.is_type(event.type):
                event = await self._rewritten(Transcript.from_event(event))
                await self.write_event(event)
                return
            if Info.is_type(event.type):
                continue
            await self.write_event(event)

    async def _rewritten(self, transcript: Transcript) -> Event:
        proxy = self.proxy
        proxy.transcripts += 1
        heard = transcript.text
        context: dict[str, Any] = {"language": transcript.language or self._language}
        answer = None
        if heard.strip():
            answer = await proxy.source.rewrite(
                RewriteRequest(heard, None, proxy.device_id, "satellite", proxy.area, context)
            )
        if answer is not None and answer.target != answer.source:  # not the words as heard
            proxy.rewritten += 1
            transcript = Transcript(
                text=answer.target, language=transcript.language, context=transcript.context
            )
        if proxy.log_turns and heard.strip():
            proxy.source.log(
                turn_event(
                    turn_id=new_turn_id(),
                    ts=self._started or time.time(),
                    heard=heard,
                    device_id=proxy.device_id,
                    area=proxy.area,
                    language=transcript.language or self._language,
                    rewrite=answer,
                )
            )
        return transcript.event()

    async def _close_upstream(self) -> None:
        if self._relay is not None and not self._relay.done():
            self._relay.cancel()
        self._relay = None
        if self._client is not None:
            with contextlib.suppress(OSError):
                await self._client.disconnect()
            self._client = None

    async def disconnect(self) -> None:
        if self._relay is not None and not self._relay.done():
            # the transcript may still be on its way back
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, OSError):
                await asyncio.wait_for(self._relay, timeout=5.0)
        await self._close_upstream()
