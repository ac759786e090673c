"""The Wyoming proxies over TCP on 127.0.0.1 with the real ``wyoming`` library: the
speech-to-text proxy in front of a recogniser, the conversation proxy in front of the
reference assistant's intent service, learning in between, and failing open."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, ClassVar

import httpx
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.event import Event
from wyoming.handle import Handled
from wyoming.info import AsrModel, AsrProgram, Attribution, Describe, Info
from wyoming.intent import Intent, NotRecognized, Recognize
from wyoming.server import AsyncEventHandler

from selflearn.assistant import Assistant
from selflearn.learn import learn
from selflearn.logs.io import read_events, read_turns
from selflearn.rewrite import Rewriter
from selflearn.wyoming import AsrProxy, AssistantService, ConversationProxy, LocalSource
from selflearn.wyoming.serve import start_server
from selflearn.wyoming.source import ServiceSource
from tests.conftest import SERVICE_TOKEN, free_port, start_service, stop_service

MISHEARD = "turn of the kitchen light"
MEANT = "turn off the kitchen light"
WORKING = ("turn on the kitchen light", "what time is it")


class FakeRecogniser(AsyncEventHandler):
    """A recogniser for tests: known audio → known transcript (no speech model can be
    downloaded here); everything else is the real protocol."""

    heard: ClassVar[dict[bytes, str]] = {}

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        super().__init__(reader, writer)
        self.audio = b""

    async def handle_event(self, event: Event) -> bool:
        if Describe.is_type(event.type):
            model = AsrModel(
                name="known-audio",
                attribution=Attribution("tests", ""),
                installed=True,
                description="known audio",
                version="1",
                languages=["en"],
            )
            program = AsrProgram(
                name="known-asr",
                attribution=Attribution("tests", ""),
                installed=True,
                description="known transcripts",
                version="1",
                models=[model],
            )
            await self.write_event(Info(asr=[program]).event())
        elif AudioStart.is_type(event.type):
            self.audio = b""
        elif AudioChunk.is_type(event.type):
            self.audio += AudioChunk.from_event(event).audio
        elif AudioStop.is_type(event.type):
            text = self.heard.get(self.audio, "")
            await self.write_event(Transcript(text=text, language="en").event())
            return False
        return True


def _audio(text: str) -> bytes:
    return text.encode() * 40  # "audio" that only the fake recogniser understands


async def _ask(uri: str, *events: Event, until: tuple[str, ...]) -> list[Event]:
    """Send ``events`` as a Wyoming client does; what comes back, up to an ``until`` type."""
    answers: list[Event] = []
    async with AsyncClient.from_uri(uri) as client:
        for event in events:
            await client.write_event(event)
        while True:
            answer = await asyncio.wait_for(client.read_event(), timeout=30)
            if answer is None:
                break
            answers.append(answer)
            if answer.type in until:
                break
    return answers


async def _recognize(uri: str, text: str) -> Event:
    return (await _ask(uri, Recognize(text=text).event(), until=("intent", "not-recognized")))[-1]


async def _transcribe(uri: str, audio: bytes) -> str:
    chunks = [audio[i : i + 64] for i in range(0, len(audio), 64)]
    events = [
        Transcribe(language="en").event(),
        AudioStart(rate=16000, width=2, channels=1).event(),
        *(AudioChunk(rate=16000, width=2, channels=1, audio=c).event() for c in chunks),
        AudioStop().event(),
    ]
    answers = await _ask(uri, *events, until=("transcript",))
    return Transcript.from_event(answers[-1]).text


def _uri() -> str:
    return f"tcp://127.0.0.1:{free_port()}"


async def _learning_loop(tmp: Path) -> dict[str, Any]:
    log = tmp / "turns.jsonl"
    assistant_uri = _uri()
    servers = [
        await start_server(assistant_uri, AssistantService(Assistant.create(speech=False)).handler)
    ]
    # Two satellites, each behind its own conversation proxy, log into one turn log.
    proxies = {}
    for device in ("satellite.kitchen", "satellite.bedroom"):
        uri = _uri()
        proxy = ConversationProxy(assistant_uri, LocalSource(None, log), device_id=device)
        servers.append(await start_server(uri, proxy.handler))
        proxies[device] = uri
    described = await _ask(proxies["satellite.kitchen"], Describe().event(), until=("info",))
    intent_names = [p.name for p in Info.from_event(described[-1]).intent]
    for _ in range(3):
        for uri in proxies.values():
            assert NotRecognized.is_type((await _recognize(uri, MISHEARD)).type)
            assert Intent.from_event(await _recognize(uri, MEANT)).name == "HassTurnOff"
            for text in WORKING:
                assert Intent.is_type((await _recognize(uri, text)).type)
    logged = read_events(log)
    summary = learn(read_turns([log])[0], tmp / "artefacts", rephrase_model=False)

    # Learned: the same satellites now go through proxies that rewrite in process.
    rewriter = Rewriter.load(tmp / "artefacts")
    after = tmp / "after.jsonl"
    learned_uri = _uri()
    learned = ConversationProxy(
        assistant_uri, LocalSource(rewriter, after), device_id="satellite.kitchen"
    )
    servers.append(await start_server(learned_uri, learned.handler))
    fixed = await _recognize(learned_uri, MISHEARD)
    kept = [await _recognize(learned_uri, text) for text in (MEANT, *WORKING)]
    handled = await _ask(
        learned_uri, Transcript(text=MISHEARD).event(), until=("handled", "not-handled")
    )

    # The speech-to-text proxy in front of a recogniser, with the same artefacts.
    FakeRecogniser.heard = {_audio(t): t for t in (MISHEARD, MEANT, *WORKING)}
    asr_uri, proxy_uri = _uri(), _uri()
    servers.append(await start_server(asr_uri, FakeRecogniser))
    asr = AsrProxy(asr_uri, LocalSource(rewriter, tmp / "asr.jsonl"), device_id="satellite.kitchen")
    servers.append(await start_server(proxy_uri, asr.handler))
    asr_info = Info.from_event((await _ask(proxy_uri, Describe().event(), until=("info",)))[-1])
    heard = {t: await _transcribe(proxy_uri, _audio(t)) for t in (MISHEARD, MEANT, *WORKING)}
    for server in servers:
        await server.stop()
    return {
        "intent_names": intent_names,
        "logged": logged,
        "summary": summary,
        "fixed": fixed,
        "kept": kept,
        "handled": handled,
        "after": read_events(after),
        "asr_info": asr_info,
        "heard": heard,
        "asr_turns": read_events(tmp / "asr.jsonl"),
    }


def test_wyoming_learning_loop(tmp_path: Path) -> None:
    got = asyncio.run(_learning_loop(tmp_path))
    assert got["intent_names"] == ["selflearn (selflearn-assistant)"]
    logged = got["logged"]
    assert len(logged) == 2 * 3 * 4  # every turn reached the log
    misheard = [e for e in logged if e.asr.text == MISHEARD]
    assert all(e.response.status == "no_intent_match" for e in misheard)
    meant = next(e for e in logged if e.asr.text == MEANT)
    assert meant.nlu.intent == "HassTurnOff" and meant.response.status == "success"
    assert meant.device_id == "satellite.kitchen" and meant.rewrite is None
    # after learning: the misheard command is the right intent, the rest untouched
    assert Intent.from_event(got["fixed"]).name == "HassTurnOff"
    assert [Intent.from_event(k).name for k in got["kept"]][:2] == ["HassTurnOff", "HassTurnOn"]
    assert Handled.is_type(got["handled"][-1].type)
    after = got["after"]
    rewritten = [e for e in after if e.rewrite is not None]
    assert {e.asr.text for e in rewritten} == {MISHEARD}
    assert all(e.rewrite is not None and e.rewrite.to == MEANT for e in rewritten)
    assert len(after) == 1 + 3 + 1
    # the speech-to-text proxy: its upstream's models under selflearn's name; the misheard
    # transcript rewritten, every other one as heard
    assert [p.name for p in got["asr_info"].asr] == ["selflearn (known-asr)"]
    assert got["heard"] == {
        MISHEARD: MEANT,
        MEANT: MEANT,
        **{t: t for t in WORKING},
    }
    assert [e.rewrite is not None for e in got["asr_turns"]] == [True, False, False, False]


async def _fail_open(service_url: str) -> dict[str, Any]:
    assistant_uri = _uri()
    servers = [
        await start_server(assistant_uri, AssistantService(Assistant.create(speech=False)).handler)
    ]
    source = ServiceSource(service_url, SERVICE_TOKEN, budget_s=0.05)
    proxy_uri = _uri()
    proxy = ConversationProxy(assistant_uri, source, device_id="satellite.kitchen")
    servers.append(await start_server(proxy_uri, proxy.handler))
    FakeRecogniser.heard = {_audio(MISHEARD): MISHEARD}
    asr_uri, asr_proxy_uri = _uri(), _uri()
    servers.append(await start_server(asr_uri, FakeRecogniser))
    asr = AsrProxy(asr_uri, source, device_id="satellite.kitchen", log_turns=False)
    servers.append(await start_server(asr_proxy_uri, asr.handler))
    timings = []
    answers = []
    for text in (MISHEARD, MEANT, "what time is it"):
        started = time.perf_counter()
        through = await _recognize(proxy_uri, text)
        timings.append(time.perf_counter() - started)
        answers.append((through, await _recognize(assistant_uri, text)))
    transcript = await _transcribe(asr_proxy_uri, _audio(MISHEARD))
    for server in servers:
        await server.stop()
    source.close()
    return {"answers": answers, "timings": timings, "transcript": transcript, "proxy": proxy}


def test_both_proxies_fail_open_and_turns_reach_the_service(tmp_path: Path) -> None:
    """selflearn unreachable: both proxies answer as the upstream does, within the budget.
    selflearn up: every turn the conversation proxy saw is stored by the service."""
    down = asyncio.run(_fail_open(f"http://127.0.0.1:{free_port()}"))
    for through, direct in down["answers"]:
        assert through.type == direct.type and through.data == direct.data
    assert max(down["timings"]) < 1.0
    assert down["transcript"] == MISHEARD

    port = free_port()
    process = start_service(tmp_path / "svc", port)
    try:
        up = asyncio.run(_fail_open(f"http://127.0.0.1:{port}"))
        assert up["proxy"].turns == 3
        summary = httpx.get(
            f"http://127.0.0.1:{port}/v1/report/summary",
            headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
            timeout=10,
        ).json()
        assert summary["turns"] == 3
    finally:
        stop_service(process)


class SeriesAgent(AsyncEventHandler):
    """An upstream agent that answers with a series: several intents for one request
    (``intents-start`` … ``intents-stop``), and a streamed answer (``handled-start`` …)."""

    async def handle_event(self, event: Event) -> bool:
        from wyoming.handle import HandledChunk, HandledStart, HandledStop
        from wyoming.intent import Entity, IntentsStart, IntentsStop

        if Recognize.is_type(event.type):
            await self.write_event(IntentsStart().event())
            await self.write_event(
                Intent(name="HassTurnOff", entities=[Entity("name", "kitchen light")]).event()
            )
            await self.write_event(Intent(name="HassMediaPause").event())
            await self.write_event(IntentsStop().event())
        elif Transcript.is_type(event.type):
            await self.write_event(HandledStart().event())
            for part in ("Turned off ", "the light."):
                await self.write_event(HandledChunk(text=part).event())
            await self.write_event(HandledStop().event())
        return True


async def _series(tmp: Path) -> dict[str, Any]:
    agent_uri, proxy_uri = _uri(), _uri()
    servers = [await start_server(agent_uri, SeriesAgent)]
    proxy = ConversationProxy(agent_uri, LocalSource(None, tmp / "series.jsonl"))
    servers.append(await start_server(proxy_uri, proxy.handler))
    intents = await _ask(
        proxy_uri, Recognize(text="lights off and pause").event(), until=("intents-stop",)
    )
    handled = await _ask(proxy_uri, Transcript(text="lights off").event(), until=("handled-stop",))
    for server in servers:
        await server.stop()
    return {"intents": intents, "handled": handled, "turns": read_events(tmp / "series.jsonl")}


def test_series_answers_pass_through_whole(tmp_path: Path) -> None:
    got = asyncio.run(_series(tmp_path))
    assert [e.type for e in got["intents"]] == ["intents-start", "intent", "intent", "intents-stop"]
    assert [e.type for e in got["handled"]] == [
        "handled-start",
        "handled-chunk",
        "handled-chunk",
        "handled-stop",
    ]
    first, second = got["turns"]
    assert first.nlu.intent == "HassTurnOff" and first.nlu.slots == {"name": "kitchen light"}
    assert first.response.status == "success"
    assert second.response.status == "success" and second.response.text == "Turned off the light."
