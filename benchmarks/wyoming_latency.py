"""What the Wyoming proxies add to each request, over TCP on loopback.

The conversation proxy in front of the reference assistant's Wyoming intent service, and the
speech-to-text proxy in front of a recogniser that answers known audio, both rewriting with
artefacts learned (in process) from a small log of misheard commands said again. Each request
goes through the proxy and straight to the upstream, alternately; the difference is what the
proxy adds. p50/p90/p99 over ``--requests`` (default 1,000) each; JSON last.

    python benchmarks/wyoming_latency.py [--requests N] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.event import Event
from wyoming.intent import Recognize
from wyoming.server import AsyncEventHandler

from _figures import figures_line
from selflearn.assistant import Assistant
from selflearn.learn import learn
from selflearn.logs.arrow import events_to_table
from selflearn.rewrite import Rewriter
from selflearn.wyoming import AsrProxy, AssistantService, ConversationProxy, LocalSource
from selflearn.wyoming.serve import start_server

TEXTS = (
    "turn of the kitchen light",
    "turn off the kitchen light",
    "turn on the kitchen light",
    "what time is it",
    "turn on the desk lamp",
)


class _Recogniser(AsyncEventHandler):
    """Known audio → known transcript (the upstream's own time is not what is measured)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        super().__init__(reader, writer)
        self.audio = b""

    async def handle_event(self, event: Event) -> bool:
        if AudioChunk.is_type(event.type):
            self.audio += AudioChunk.from_event(event).audio
        elif AudioStop.is_type(event.type):
            await self.write_event(Transcript(text=self.audio.decode()).event())
            return False
        return True


def _learned(folder: Path) -> Rewriter:
    """Artefacts from a small log: two people, a misheard command said again, three times."""
    bot = Assistant.create(speech=False)
    events = []
    ts = 1_790_000_000.0
    for round_ in range(3):
        for user, device in (("u1", "satellite.kitchen"), ("u2", "satellite.bedroom")):
            for text in ("turn of the kitchen light", "turn off the kitchen light", *TEXTS[2:]):
                turn = bot.handle(
                    text,
                    device_id=device,
                    user_id=user,
                    ts=ts,
                    turn_id=f"b{round_}{user}{len(events)}",
                )
                events.append(turn.event)
                ts += 5.0
            ts += 600.0
    learn(events_to_table(events), folder, rephrase_model=False)
    return Rewriter.load(folder)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)


def _figures(added: list[float], through: list[float], direct: list[float]) -> dict[str, Any]:
    return {
        "added_ms": {"p50": _pct(added, 0.5), "p90": _pct(added, 0.9), "p99": _pct(added, 0.99)},
        "through_proxy_ms": {"p50": _pct(through, 0.5), "p99": _pct(through, 0.99)},
        "upstream_alone_ms": {"p50": _pct(direct, 0.5), "p99": _pct(direct, 0.99)},
    }


async def _run(requests: int, folder: Path) -> dict[str, Any]:
    rewriter = _learned(folder / "artefacts")
    uri = {name: f"tcp://127.0.0.1:{_free_port()}" for name in ("bot", "conv", "asr", "asrp")}
    source = LocalSource(rewriter, folder / "turns.jsonl")
    conversation = ConversationProxy(uri["bot"], source)
    asr = AsrProxy(uri["asr"], source)
    servers = [
        await start_server(uri["bot"], AssistantService(Assistant.create(speech=False)).handler),
        await start_server(uri["conv"], conversation.handler),
        await start_server(uri["asr"], _Recogniser),
        await start_server(uri["asrp"], asr.handler),
    ]
    result: dict[str, Any] = {"requests": requests}
    for name, proxy, upstream in (("conversation", "conv", "bot"), ("asr", "asrp", "asr")):
        added, through, direct = [], [], []
        for i in range(requests + 20):  # the first 20 warm up
            text = TEXTS[i % len(TEXTS)]
            if name == "conversation":
                events = [Recognize(text=text).event()]
                events_until = ("intent", "not-recognized")
            else:
                events = [
                    Transcribe(language="en").event(),
                    AudioStart(rate=16000, width=2, channels=1).event(),
                    AudioChunk(rate=16000, width=2, channels=1, audio=text.encode()).event(),
                    AudioStop().event(),
                ]
                events_until = ("transcript",)
            first, second = (proxy, upstream) if i % 2 else (upstream, proxy)
            times = {}
            for which in (first, second):
                times[which] = await _timed_any(uri[which], events, events_until)
            if i >= 20:
                through.append(times[proxy])
                direct.append(times[upstream])
                added.append(times[proxy] - times[upstream])
        result[name] = _figures(added, through, direct)
        print(
            f"{name} proxy over {requests} requests: added p50 {result[name]['added_ms']['p50']} ms, "
            f"p99 {result[name]['added_ms']['p99']} ms (upstream alone p50 "
            f"{result[name]['upstream_alone_ms']['p50']} ms)",
            file=sys.stderr,
        )
    for server in servers:
        await server.stop()
    result["conversation"]["rewritten"] = conversation.rewritten
    result["asr"]["rewritten"] = asr.rewritten
    result["target_p99_added_ms"] = 10.0
    return result


async def _timed_any(uri: str, events: list[Event], until: tuple[str, ...]) -> float:
    started = time.perf_counter()
    async with AsyncClient.from_uri(uri) as client:
        for event in events:
            await client.write_event(event)
        while True:
            answer = await client.read_event()
            if answer is None or answer.type in until:
                break
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--smoke", action="store_true", help="50 requests: does it run")
    args = parser.parse_args()
    requests = 50 if args.smoke else args.requests
    with tempfile.TemporaryDirectory() as tmp:
        print("learning a small log, then timing both proxies", file=sys.stderr)
        result = asyncio.run(_run(requests, Path(tmp)))
    print(figures_line(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
