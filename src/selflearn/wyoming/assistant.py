"""The reference assistant as a Wyoming intent and handle service.

hassil over Home Assistant's intents and the assistant's home: ``recognize`` answers the
intent and its slots (``intent``) or ``not-recognized``; ``transcript`` handles the request —
the home's devices change — and answers ``handled`` with what the assistant says, or
``not-handled``. The conversation proxy's upstream in the tests and the demo is this real
matcher, not a stub.
"""

from __future__ import annotations

import asyncio
import threading
import time

from wyoming.asr import Transcript
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe, HandleModel, HandleProgram, Info, IntentModel, IntentProgram
from wyoming.intent import Entity, Intent, NotRecognized, Recognize
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler

from selflearn.assistant import Assistant
from selflearn.wyoming._wire import ATTRIBUTION, plain

__all__ = ["AssistantService"]


class AssistantService:
    """One assistant (its home) served to every connection, one request at a time."""

    def __init__(self, assistant: Assistant, device_id: str | None = None) -> None:
        self.assistant = assistant
        self.device_id = device_id or assistant.home.devices[0].id
        self._lock = threading.Lock()

    def info(self) -> Info:
        languages = ["en"]
        intent = IntentModel(
            name="home-assistant-intents",
            attribution=ATTRIBUTION,
            installed=True,
            description="Home Assistant's intents with hassil, over the assistant's home",
            version=None,
            languages=languages,
        )
        handle = HandleModel(
            name="reference-assistant",
            attribution=ATTRIBUTION,
            installed=True,
            description="selflearn's reference assistant: understands and acts on its home",
            version=None,
            languages=languages,
        )
        return Info(
            intent=[
                IntentProgram(
                    name="selflearn-assistant",
                    attribution=ATTRIBUTION,
                    installed=True,
                    description="selflearn's reference assistant (intents)",
                    version=None,
                    models=[intent],
                )
            ],
            handle=[
                HandleProgram(
                    name="selflearn-assistant",
                    attribution=ATTRIBUTION,
                    installed=True,
                    description="selflearn's reference assistant (handling)",
                    version=None,
                    models=[handle],
                    supports_home_control=True,
                )
            ],
        )

    def recognize(self, text: str) -> Event:
        with self._lock:
            outcome = self.assistant.preview(text, device_id=self.device_id, ts=time.time())
        if outcome.nlu.intent is None or outcome.action.status != "success":
            return NotRecognized(text=outcome.action.text).event()
        entities = [Entity(name=k, value=plain(v)) for k, v in outcome.nlu.slots.items()]
        return Intent(name=outcome.nlu.intent, entities=entities, text=outcome.action.text).event()

    def handle(self, text: str) -> Event:
        with self._lock:
            turn = self.assistant.handle(text, device_id=self.device_id, ts=time.time())
        if turn.event.response.status == "success":
            return Handled(text=turn.event.response.text).event()
        return NotHandled(text=turn.event.response.text).event()

    def handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> _Handler:
        return _Handler(reader, writer, self)


class _Handler(AsyncEventHandler):
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, service: AssistantService
    ) -> None:
        super().__init__(reader, writer)
        self.service = service

    async def handle_event(self, event: Event) -> bool:
        if Describe.is_type(event.type):
            await self.write_event(self.service.info().event())
        elif Ping.is_type(event.type):
            await self.write_event(Pong().event())
        elif Recognize.is_type(event.type):
            text = Recognize.from_event(event).text
            await self.write_event(await asyncio.to_thread(self.service.recognize, text))
        elif Transcript.is_type(event.type):
            text = Transcript.from_event(event).text
            await self.write_event(await asyncio.to_thread(self.service.handle, text))
        return True
