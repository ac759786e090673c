"""A Wyoming conversation proxy: rewrite, ask the agent behind, answer as it answers, log.

Home Assistant forwards a request to a Wyoming agent as ``recognize`` (an intent service: it
answers ``intent``, ``not-recognized``, or several intents between ``intents-start`` and
``intents-stop``) or as ``transcript`` (a handle service: ``handled`` / ``not-handled``, or
streamed between ``handled-start`` and ``handled-stop``). The proxy rewrites the words with
the learned rewriter within the budget (fail open), forwards them to the upstream agent,
passes every answer back unchanged, and logs the whole turn in the turn-event format.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from wyoming.asr import Transcript
from wyoming.client import AsyncClient
from wyoming.event import Event
from wyoming.handle import Handled, HandledChunk, HandledStop, NotHandled
from wyoming.intent import Intent, IntentsStop, NotRecognized, Recognize
from wyoming.server import AsyncEventHandler

from selflearn.rewrite.base import Rewrite, RewriteRequest
from selflearn.wyoming._wire import UPSTREAM_TIMEOUT_S, answer_common, plain, upstream
from selflearn.wyoming.source import Source
from selflearn.wyoming.turn import new_turn_id, turn_event

__all__ = ["ConversationProxy"]

log = logging.getLogger(__name__)
# Events that end an upstream's answer to one request.
_INTENT_END = (Intent.is_type, NotRecognized.is_type)
_HANDLE_END = (Handled.is_type, NotHandled.is_type, HandledStop.is_type)


class ConversationProxy:
    """Settings shared by every connection: the upstream agent, the rewrites, the device."""

    def __init__(
        self,
        upstream_uri: str,
        source: Source,
        *,
        device_id: str = "wyoming-conversation",
        area: str | None = None,
    ) -> None:
        self.upstream_uri = upstream_uri
        self.source = source
        self.device_id = device_id
        self.area = area
        self.turns = 0
        self.rewritten = 0

    def handler(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> _ConversationHandler:
        return _ConversationHandler(reader, writer, self)


class _ConversationHandler(AsyncEventHandler):
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, proxy: ConversationProxy
    ) -> None:
        super().__init__(reader, writer)
        self.proxy = proxy

    async def handle_event(self, event: Event) -> bool:
        common = await answer_common(self, event, self.proxy.upstream_uri)
        if common is not None:
            return common
        if Recognize.is_type(event.type):
            asked = Recognize.from_event(event)
            return await self._turn(asked.text, asked.context, "recognize")
        if Transcript.is_type(event.type):
            said = Transcript.from_event(event)
            return await self._turn(said.text, said.context, "handle", said.language)
        return True  # nothing this proxy answers

    async def _turn(
        self, heard: str, context: dict[str, Any] | None, kind: str, language: str | None = None
    ) -> bool:
        proxy = self.proxy
        started = time.time()
        request_context = {"language": language, **(context or {})}
        answer = None
        if heard.strip():
            answer = await proxy.source.rewrite(
                RewriteRequest(
                    heard, None, proxy.device_id, "satellite", proxy.area, plain(request_context)
                )
            )
        changed = answer is not None and answer.target != answer.source
        text = answer.target if answer is not None and changed else heard
        if kind == "recognize":
            request = Recognize(text=text, context=context).event()
        else:
            request = Transcript(text=text, context=context, language=language).event()
        try:
            answers = await self._ask(request, _INTENT_END if kind == "recognize" else _HANDLE_END)
        except (OSError, TimeoutError) as err:
            log.warning("the upstream agent did not answer: %s", err)
            return False
        for reply in answers:
            await self.write_event(reply)
        proxy.turns += 1
        proxy.rewritten += changed
        proxy.source.log(self._event(heard, started, answers, answer, context, language))
        return True

    async def _ask(self, request: Event, ends: tuple[Any, ...]) -> list[Event]:
        """Send ``request`` upstream; every event it answers, up to the one that ends it."""
        answers: list[Event] = []
        client: AsyncClient = upstream(self.proxy.upstream_uri)
        async with asyncio.timeout(UPSTREAM_TIMEOUT_S), client:
            await client.write_event(request)
            in_series = False
            while True:
                event = await client.read_event()
                if event is None:
                    break
                answers.append(event)
                if event.type in ("intents-start", "handled-start"):
                    in_series = True
                if IntentsStop.is_type(event.type) or HandledStop.is_type(event.type):
                    break
                if not in_series and any(end(event.type) for end in ends):
                    break
        return answers

    def _event(
        self,
        heard: str,
        started: float,
        answers: list[Event],
        rewrite: Rewrite | None,
        context: dict[str, Any] | None,
        language: str | None,
    ) -> dict[str, Any]:
        intents = [Intent.from_event(e) for e in answers if Intent.is_type(e.type)]
        said = ""
        status = "unknown"
        for event in answers:
            if Intent.is_type(event.type):
                status = "success"
                said = said or (Intent.from_event(event).text or "")
            elif NotRecognized.is_type(event.type):
                status = "no_intent_match"
                said = NotRecognized.from_event(event).text or ""
            elif Handled.is_type(event.type):
                status, said = "success", Handled.from_event(event).text or ""
            elif NotHandled.is_type(event.type):
                status, said = "failed_to_handle", NotHandled.from_event(event).text or ""
            elif HandledChunk.is_type(event.type):
                said += HandledChunk.from_event(event).text or ""
            elif event.type == "handled-stop" and status == "unknown":
                status = "success"
        slots: dict[str, Any] = {}
        for found in intents:
            for entity in found.entities:
                slots.setdefault(entity.name, plain(entity.value))
        session = (context or {}).get("conversation_id")
        return turn_event(
            turn_id=new_turn_id(),
            ts=started,
            heard=heard,
            device_id=self.proxy.device_id,
            session_id=str(session) if session else None,
            intent=intents[0].name if intents else None,
            slots=slots,
            response_text=said,
            status=status,
            rewrite=rewrite,
            area=self.proxy.area,
            language=language,
        )
