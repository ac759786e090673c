"""Assistant throughput on one core: the whole reference assistant beside hassil alone.

Run: .venv/bin/python benchmarks/assistant.py [--requests N] [--smoke]
Both run in this one process (one core) on the same sampled sentences; the last line
is JSON with turns/s for the assistant (speech on and off) and hassil's sentences/s.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from _figures import figures_line
from selflearn.assistant import Assistant, Catalogue, Home
from selflearn.sim.requests import RequestSampler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="100 requests: does it run")
    args = parser.parse_args()
    if args.smoke:
        args.requests = 100
    home, catalogue = Home.default(), Catalogue.default()
    requests = RequestSampler.from_home(home.copy(), catalogue).sample(
        random.Random(args.seed), args.requests
    )
    with_speech = Assistant.create(home.copy(), catalogue, speech=True)
    without = Assistant.create(home.copy(), catalogue, speech=False)
    matcher = without.matcher

    # Warm-up: the sound-alike lexicon and its caches are built once per process.
    for request in requests[:300]:
        with_speech.handle(request.text, device_id=request.device_id, rng=random.Random(1))

    def rate(label: str, fn: object) -> float:
        start = time.perf_counter()
        for i, request in enumerate(requests):
            fn(request, i)  # type: ignore[operator]
        value = len(requests) / (time.perf_counter() - start)
        print(f"{label}: {value:,.0f}/s", file=sys.stderr)
        return value

    areas = {d.id: home.area_name(d.area) for d in home.devices}
    hassil = rate(
        "hassil recognize_best alone", lambda r, i: matcher.recognize(r.text, areas[r.device_id])
    )
    rng = random.Random(args.seed)
    no_speech = rate(
        "assistant, speech off",
        lambda r, i: without.handle(r.text, device_id=r.device_id, rng=rng, ts=1.8e9 + i),
    )
    speech = rate(
        "assistant, speech on",
        lambda r, i: with_speech.handle(r.text, device_id=r.device_id, rng=rng, ts=1.8e9 + i),
    )
    print(
        figures_line(
            {
                "requests": len(requests),
                "hassil_sentences_per_s": round(hassil),
                "assistant_turns_per_s": round(speech),
                "assistant_no_speech_turns_per_s": round(no_speech),
                "assistant_to_hassil_ratio": round(speech / hassil, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
