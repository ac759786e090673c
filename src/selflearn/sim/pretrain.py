"""Pre-training the misheard-request model (:mod:`selflearn.rewrite.misheard`) on broad data.

A deployment's first log holds a few hundred restated failures: too few to learn from
scratch when a request is a known one misheard. Real users' phrasings in many domains
(HWU64's 11 k requests, read from ``../shared/data`` — never copied) make worlds that
look like a deployment's log: in each, a sample of requests "works" (some said several
ways, as recordings of one request are transcribed a little differently), and requests
are heard through the simulated recogniser (:class:`~selflearn.assistant.speech.SpeechChannel`,
fitted to real recogniser errors) — some whose words work in the world, some that are new
to it. Each heard request with its nearest working requests is one example: was the
nearest what was said? The model learns only from letters and sound (no vocabulary), and
ships with the package::

    python -m selflearn.sim.pretrain [--data ../shared/data] [--out PATH]
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from selflearn.assistant.speech import SpeechChannel, tokenize
from selflearn.rewrite.misheard import (
    MisheardModel,
    Near,
    could_be_misheard,
    pair_features,
    shipped_path,
)
from selflearn.sim.realdata import default_data_dir

__all__ = ["examples", "pretrain", "read_phrasings"]

WORLDS = 16
# requests that work in one world: a new deployment's few to a busy one's thousands
WORLD_REQUESTS = (100, 200, 400, 800, 1_600, 3_000)
WORLD_QUERIES = 1_500
INSIDE_SHARE = (0.3, 0.7)  # heard requests whose words work in the world (the rest are new)
VARIANT_SHARE = 0.3  # working requests also transcribed another way
NEIGHBOURS = 10
FLOOR = 50.0  # nearer than this to nothing: no example (the memory's floor is higher)
HELD_WORLDS = 4  # worlds held out to certify the threshold
PRIOR_PRECISION = 0.99  # the shipped threshold's precision on the held-out worlds


def read_phrasings(data: Path) -> list[tuple[str, str]]:
    """(words, scenario_intent) of every HWU64 request, as a recogniser would write them."""
    path = data / "hwu64" / "hwu64_all_folds_merged.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the HWU64 phrasings are needed to pre-train")
    rows: set[tuple[str, str]] = set()
    with path.open(encoding="utf-8", newline="") as handle:
        for r in csv.DictReader(handle, delimiter=";"):
            words = " ".join(tokenize(r.get("answer_from_anno") or ""))
            if words:
                rows.add((words, f"{r['scenario']}_{r['intent']}"))
    return sorted(rows)


def _heard(channel: SpeechChannel, text: str, rng: random.Random, scale: float) -> str:
    words, _ = channel.corrupt(tokenize(text), rng, channel.utterance_noise(rng) * scale)
    return " ".join(words)


def examples(
    phrasings: Sequence[tuple[str, str]], rng: random.Random, channel: SpeechChannel
) -> tuple[list[list[float]], list[int]]:
    """One world's feature rows and labels (1: the nearest working request was said)."""
    size = min(rng.choice(WORLD_REQUESTS), len(phrasings) // 2)  # some always new
    inside_share = rng.uniform(*INSIDE_SHARE)
    pick = rng.sample(list(phrasings), min(size + max(size, WORLD_QUERIES), len(phrasings)))
    inside, outside = pick[:size], pick[size:]
    said: dict[str, str] = {}  # working words → the request said
    intent: dict[str, str] = {}
    for text, meaning in inside:
        said.setdefault(text, text)
        intent.setdefault(text, meaning)
        if rng.random() < VARIANT_SHARE:
            variant = _heard(channel, text, rng, 0.5)
            if variant and variant not in said:
                said[variant], intent[variant] = text, meaning
    keys = sorted(said)
    rows: list[list[float]] = []
    labels: list[int] = []
    for _ in range(WORLD_QUERIES):
        text, _meaning = rng.choice(inside) if rng.random() < inside_share else rng.choice(outside)
        heard = _heard(channel, text, rng, rng.choice((1.0, 2.0, 3.0)))
        if not heard or heard in said:
            continue  # heard right (or as a known request): nothing to decide
        found = process.extract(heard, keys, scorer=fuzz.ratio, limit=NEIGHBOURS)
        if not found or found[0][1] < FLOOR or not could_be_misheard(heard, found[0][0]):
            continue  # never served: no example
        near = [Near(k, intent[k], float(score)) for k, score, _ in found]
        rows.append(pair_features(heard, near, len(keys)))
        labels.append(int(said[near[0].text] == text))
    return rows, labels


def pretrain(
    data: Path, seed: int = 0, progress: Callable[[str], None] | None = None
) -> MisheardModel:
    """The model trained on :data:`WORLDS` worlds; its threshold the lowest probability
    whose rewrites keep :data:`PRIOR_PRECISION` on :data:`HELD_WORLDS` worlds it was not
    trained on; then trained on all of them."""
    say = progress or (lambda _s: None)
    phrasings = read_phrasings(data)
    rng = random.Random(seed)
    channel = SpeechChannel.fitted()
    worlds = []
    for n in range(WORLDS):
        worlds.append(examples(phrasings, rng, channel))
        say(f"world {n + 1}/{WORLDS}: {len(worlds[-1][1]):,} heard requests")
    cut = WORLDS - HELD_WORLDS
    train_x = np.asarray([r for w in worlds[:cut] for r in w[0]], dtype=np.float64)
    train_y = np.asarray([y for w in worlds[:cut] for y in w[1]])
    test_x = np.asarray([r for w in worlds[cut:] for r in w[0]], dtype=np.float64)
    test_y = np.asarray([y for w in worlds[cut:] for y in w[1]])
    held = MisheardModel.fit(train_x, train_y, seed).probabilities(test_x)
    threshold = 1.0
    for step in range(99, 49, -1):  # from the strictest down, while the precision holds
        chosen = held >= step / 100
        if chosen.sum() and test_y[chosen].mean() < PRIOR_PRECISION:
            break
        threshold = step / 100
    chosen = held >= threshold
    info: dict[str, object] = {
        "trained_on": f"{len(train_y) + len(test_y):,} heard requests in {WORLDS} worlds",
        "held_out": {
            "worlds": HELD_WORLDS,
            "requests": len(test_y),
            "precision": round(float(test_y[chosen].mean()), 4),
            "recall": round(float(test_y[chosen].sum() / max(test_y.sum(), 1)), 4),
            "target": PRIOR_PRECISION,
        },
        "seed": seed,
    }
    every_x = np.concatenate([train_x, test_x])
    every_y = np.concatenate([train_y, test_y])
    fitted = MisheardModel.fit(every_x, every_y, seed)
    return MisheardModel(fitted.booster, threshold, info)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--out", type=Path, default=shipped_path())
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.data is None:
        sys.exit("needs the shared data folder (--data ../shared/data)")
    try:
        model = pretrain(args.data, args.seed, lambda s: print(s, file=sys.stderr))
    except FileNotFoundError as exc:
        sys.exit(str(exc))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)
    print(f"{args.out}: threshold {model.threshold} {model.info}", file=sys.stderr)


if __name__ == "__main__":
    main()
