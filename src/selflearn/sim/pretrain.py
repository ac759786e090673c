"""Pre-training the pair models that ship with the package, on broad data.

A deployment's first log holds a few hundred restated failures: too few to learn from
scratch. Real users' phrasings in many domains (HWU64's 11 k requests, read from
``../shared/data`` — never copied), heard through the simulated recogniser
(:class:`~selflearn.assistant.speech.SpeechChannel`, fitted to real recogniser errors),
train two models that read only letters, sound and words (no vocabulary):

- the misheard-request model (:mod:`selflearn.rewrite.misheard`): worlds that look like a
  deployment's log — in each, a sample of requests "works" (some said several ways, as
  recordings of one request are transcribed a little differently), and requests are heard,
  some whose words work in the world, some new to it; each heard request with its nearest
  working requests is one example: was the nearest what was said?
- the restatement model (:mod:`selflearn.signals.restatement`): pairs said one after the
  other — a request misheard then heard right, one request said two ways (heard a little
  differently, a carrier word added: "please", "can you") against new requests: the same
  request with one slot given another value of its kind ("… in the kitchen" → "… in the
  bedroom"), another request of the same intent, of the same scenario, any other.

::

    python -m selflearn.sim.pretrain [--model misheard|restatement] [--data ../shared/data] [--out PATH]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import random
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

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
from selflearn.signals.rephrase import phonetic_key
from selflearn.signals.restatement import RestatementModel, restatement_features
from selflearn.sim.realdata import default_data_dir

__all__ = [
    "examples",
    "pretrain",
    "pretrain_restatement",
    "read_phrasings",
    "restatement_examples",
]

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

_SLOT = re.compile(r"\[(\w+) : ([^\]]+)\]")
RESTATEMENT_PAIRS = 20_000  # pairs of HWU64 requests heard, to train the restatement model
SYNTHETIC_WEIGHT = 0.1  # … each weighing this against a pair of real recordings
REAL_DRAWS = 6  # draws of real pairs (up to 400 of each kind) from the pretraining sentences
# … of which the first keep their new requests that share the most words: more of them
# teach the model that any request whose words changed was a new one (misheard requests,
# read as another intent, look just like them to letters and sound)
SHARES_WORDS_DRAWS = 1
FAR_BELOW = 45.0  # real restatements less alike than this (ratio, letters or sound): unlearnable
# How the pairs are drawn: restatements half of them, and of the new requests the hardest
# (the same request with another slot value) the most.
PAIR_SHARES = (
    ("misheard", 0.30),
    ("said_again", 0.20),
    ("other_slot", 0.15),
    ("shares_words", 0.05),
    ("same_intent", 0.08),
    ("same_scenario", 0.07),
    ("any", 0.05),
)
MISHEARD_NOISE = (1.5, 2.5, 4.0)  # how much worse than usual a misheard request was heard
UNLIKE_SWAP = 0.25  # misheard requests with a word heard as one that sounds unlike it
SHARES_WORDS_FROM = 300  # "shares words": the closest in shared words of this many requests
# What people put before a request they say again in other words.
CARRIERS = (
    "please",
    "can you",
    "could you",
    "hey",
    "ok",
    "i want to",
    "i said",
    "now",
    "just",
    "would you",
)
# A visible failure (an error answer, a barge-in, a "no") comes before more restatements
# than new requests, and most requests, restated or new, then work; the shares are broad
# guesses so the model leans on the words (real silent logs show no failure at all).
FAILED_BEFORE = {1: 0.35, 0: 0.10}
WORKED_AFTER = {1: 0.85, 0: 0.80}


def _read_hwu64(data: Path) -> list[dict[str, str]]:
    path = data / "hwu64" / "hwu64_all_folds_merged.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the HWU64 phrasings are needed to pre-train")
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def read_phrasings(data: Path) -> list[tuple[str, str]]:
    """(words, scenario_intent) of every HWU64 request, as a recogniser would write them."""
    rows: set[tuple[str, str]] = set()
    for r in _read_hwu64(data):
        words = " ".join(tokenize(r.get("answer_from_anno") or ""))
        if words:
            rows.add((words, f"{r['scenario']}_{r['intent']}"))
    return sorted(rows)


def read_annotations(data: Path) -> list[tuple[str, str]]:
    """(slot-annotated words, scenario_intent) of every HWU64 request that has a slot
    ("wake me at [time : six am]")."""
    rows: set[tuple[str, str]] = set()
    for r in _read_hwu64(data):
        annotated = (r.get("answer_annotation") or "").strip()
        if _SLOT.search(annotated):
            rows.add((annotated, f"{r['scenario']}_{r['intent']}"))
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


def _words(text: str) -> str:
    return " ".join(tokenize(text))


def _other_slot(
    annotated: str, values: dict[str, list[str]], rng: random.Random
) -> tuple[str, str] | None:
    """(the request, the same request with one slot given another value of its kind)."""
    slots = _SLOT.findall(annotated)
    kind, value = rng.choice(slots)
    value = _words(value)
    others = [v for v in values[kind] if v != value]
    if not others:
        return None
    other = rng.choice(others)
    plain = _words(_SLOT.sub(lambda m: m.group(2), annotated))
    swapped = _words(
        _SLOT.sub(lambda m: other if _words(m.group(2)) == value else m.group(2), annotated)
    )
    return plain, swapped


def _misheard(
    channel: SpeechChannel, text: str, rng: random.Random, phrasings: Sequence[tuple[str, str]]
) -> str:
    """``text`` heard wrong: through the recogniser at a high noise, and now and then with a
    word heard as one that does not sound like it (a recogniser's language model pulls
    towards common phrases: "play" heard as "delete", "ella" as "alarm")."""
    heard = text
    for _ in range(6):
        heard = _heard(channel, text, rng, rng.choice(MISHEARD_NOISE))
        if heard != text:
            break
    words = heard.split()
    if words and rng.random() < UNLIKE_SWAP:
        others = rng.choice(phrasings)[0].split()
        words[rng.randrange(len(words))] = rng.choice(others)
    return " ".join(words)


def _said_again(channel: SpeechChannel, text: str, rng: random.Random) -> str:
    """``text`` said again in other words, as people do: a carrier put before it or
    swapped for another ("could you …" → "please …"), or a word left out."""
    words = _heard(channel, text, rng, 1.0).split()
    roll = rng.random()
    if roll < 0.35:
        lead = next((c for c in CARRIERS if " ".join(words[: len(c.split())]) == c), None)
        if lead is not None and rng.random() < 0.6:
            words = words[len(lead.split()) :]
        words = [*rng.choice(CARRIERS).split(), *words]
    elif roll < 0.5 and len(words) > 3:
        del words[rng.randrange(len(words))]
    return " ".join(words)


def restatement_examples(
    phrasings: Sequence[tuple[str, str]],
    annotations: Sequence[tuple[str, str]],
    rng: random.Random,
    channel: SpeechChannel,
    n: int,
) -> tuple[list[list[float]], list[int]]:
    """``n`` pairs drawn as :data:`PAIR_SHARES` says: feature rows and labels (1: the later
    restates the earlier)."""
    values: dict[str, set[str]] = defaultdict(set)
    for annotated, _ in annotations:
        for kind, value in _SLOT.findall(annotated):
            values[kind].add(_words(value))
    sorted_values = {k: sorted(v) for k, v in values.items()}
    by_intent: dict[str, list[str]] = defaultdict(list)
    by_scenario: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for words, intent in phrasings:
        by_intent[intent].append(words)
        by_scenario[intent.split("_", 1)[0]].append((words, intent))
    kinds, weights = zip(*PAIR_SHARES, strict=True)
    rows: list[list[float]] = []
    labels: list[int] = []
    while len(labels) < n:
        kind = rng.choices(kinds, weights)[0]
        text, intent = rng.choice(phrasings)
        same: bool | None = True
        if kind == "misheard":  # heard wrong (and often read as another intent), then right
            earlier = _misheard(channel, text, rng, phrasings)
            later = _heard(channel, text, rng, 0.5)
            if rng.random() < 0.3:
                later = f"{rng.choice(CARRIERS)} {later}"
            same = rng.random() < 0.3
        elif kind == "said_again":  # both heard right enough, a little differently
            earlier, later = _heard(channel, text, rng, 1.0), _said_again(channel, text, rng)
            if rng.random() < 0.3:
                earlier, later = later, earlier
        elif kind == "other_slot":
            annotated, intent = rng.choice(annotations)
            pair = _other_slot(annotated, sorted_values, rng)
            if pair is None:
                continue
            earlier, later = (_heard(channel, t, rng, 0.7) for t in pair)
            same = rng.random() < 0.8  # the earlier may have been read as something else
        elif kind == "shares_words":  # another request that shares the most words with it
            pool = [
                p
                for p in rng.sample(phrasings, min(SHARES_WORDS_FROM, len(phrasings)))
                if p[0] != text
            ]
            found = process.extractOne(text, [p[0] for p in pool], scorer=fuzz.token_set_ratio)
            if found is None:
                continue
            other, other_intent = pool[found[2]]
            earlier, later = _heard(channel, text, rng, 1.0), _heard(channel, other, rng, 1.0)
            same = other_intent == intent
        elif kind == "same_intent":
            other = rng.choice(by_intent[intent])
            earlier, later = _heard(channel, text, rng, 1.0), _heard(channel, other, rng, 1.0)
        else:
            among: Sequence[tuple[str, str]] = (
                by_scenario[intent.split("_", 1)[0]] if kind == "same_scenario" else phrasings
            )
            other, other_intent = rng.choice(among)
            earlier, later = _heard(channel, text, rng, 1.0), _heard(channel, other, rng, 1.0)
            same = other_intent == intent
        label = int(kind in ("misheard", "said_again"))
        failed = rng.random() < FAILED_BEFORE[label]
        if not earlier or not later or (earlier.split() == later.split() and same and not failed):
            continue  # nothing said, or a deliberate repeat (never a restatement, by rule)
        rows.append(
            restatement_features(earlier, later, same, failed, rng.random() < WORKED_AFTER[label])
        )
        labels.append(label)
    return rows, labels


def pretraining_sentence(sentence_id: str) -> bool:
    """Half of SLURP's sentences, fixed by their id: the restatement model learns from
    their real recordings; it is judged on the other half."""
    return int(hashlib.sha256(sentence_id.encode()).hexdigest()[:8], 16) % 2 == 0


def _real_pairs(
    data: Path, half: bool, draws: int, seed: int
) -> tuple[list[dict[str, Any]], set[str]]:
    """Pairs of real recordings (:func:`~selflearn.evaluate.real_logs.rephrase_pairs`) of
    the sentences :func:`pretraining_sentence` puts in ``half``, and those sentences' ids."""
    from selflearn.evaluate.real_logs import read_annotated, rephrase_pairs
    from selflearn.evaluate.speech_errors import read_asr_pairs

    path = data / "slurp" / "asr_pairs_dev.jsonl"
    annotated_path = data / "slurp" / "devel.jsonl"
    if not path.is_file() or not annotated_path.is_file():
        raise FileNotFoundError(f"{path}: SLURP's recordings are needed to pre-train")
    records = [r for r in read_asr_pairs(path) if pretraining_sentence(r["sentence_id"]) == half]
    annotated = [a for a in read_annotated(annotated_path) if pretraining_sentence(a[2]) == half]
    pairs = [
        p
        for k in range(draws)
        for p in rephrase_pairs(records, annotated=annotated, seed=seed + k)
        if k < SHARES_WORDS_DRAWS or p["kind"] != "shares_words"
    ]
    return pairs, {r["sentence_id"] for r in records} | {a[2] for a in annotated}


def _alike_at_all(earlier: str, later: str) -> bool:
    """Alike enough in letters or sound to learn a restatement from."""
    letters = fuzz.ratio(earlier, later)
    return max(letters, fuzz.ratio(phonetic_key(earlier), phonetic_key(later))) >= FAR_BELOW


def _real_rows(pairs: Sequence[dict[str, Any]], failed: random.Random | None = None) -> np.ndarray:
    """Feature rows of real pairs, read as a silent log shows them (the earlier answered
    ``success``, the later working); or, given ``failed``, as if the earlier had visibly
    failed (its intent none half the time)."""
    rows = []
    for p in pairs:
        same: bool | None = p["earlier_intent"] == p["later_intent"]
        if failed is not None and failed.random() < 0.5:
            same = None
        rows.append(restatement_features(p["earlier"], p["later"], same, failed is not None, True))
    return np.asarray(rows, dtype=np.float64).reshape(len(pairs), len(RestatementModel.FEATURES))


def pretrain_restatement(
    data: Path, seed: int = 0, progress: Callable[[str], None] | None = None
) -> RestatementModel:
    """The restatement model trained on real recordings' pairs (:data:`REAL_DRAWS` draws over
    the sentences :func:`pretraining_sentence` keeps) and :data:`RESTATEMENT_PAIRS` pairs of
    HWU64 requests heard through the simulated recogniser (weighing :data:`SYNTHETIC_WEIGHT`
    each: real errors teach more than simulated ones; the simulated ones bring other
    domains and phrasings); judged at 0.5 on pairs of the other sentences."""
    from selflearn.evaluate.real_logs import JUDGED_KINDS, pair_scores

    say = progress or (lambda _s: None)
    rng = random.Random(seed)
    say(f"restatement pairs: {RESTATEMENT_PAIRS:,} of HWU64 requests heard")
    syn_x, syn_y = restatement_examples(
        read_phrasings(data), read_annotations(data), rng, SpeechChannel.fitted(), RESTATEMENT_PAIRS
    )
    real, seen = _real_pairs(data, True, REAL_DRAWS, seed)
    # A restatement that shares next to nothing with what was heard ("directions to
    # sainsburys" for "write a reply to my mother's email") is beyond what letters and
    # sound can tell; learned from, it teaches that any two requests may be one.
    real = [p for p in real if not p["restates"] or _alike_at_all(p["earlier"], p["later"])]
    say(f"restatement pairs: {len(real):,} of real recordings of {len(seen):,} sentences")
    # The recordings come from a silent log; as a log with visible failures would show
    # them, a share of them again with the earlier turn failed (more of the restated ones,
    # as FAILED_BEFORE says; then a failed turn's intent is often none).
    failed = [p for p in real if rng.random() < FAILED_BEFORE[int(p["restates"])]]
    x = np.concatenate(
        [_real_rows(real), _real_rows(failed, rng), np.asarray(syn_x, dtype=np.float64)]
    )
    y = np.concatenate([[int(p["restates"]) for p in real + failed], syn_y])
    weights = np.concatenate(
        [np.ones(len(real) + len(failed)), np.full(len(syn_y), SYNTHETIC_WEIGHT)]
    )
    model = RestatementModel.fit(x, y, seed, weights=weights)
    held, _ = _real_pairs(data, False, 1, 1)
    scores = list(model.probabilities(_real_rows(held)))
    judged = [i for i, p in enumerate(held) if p["kind"] in JUDGED_KINDS]
    report = pair_scores([held[i] for i in judged], [scores[i] for i in judged], 0.5)
    report["called_restatement"] = pair_scores(held, scores, 0.5)["called_restatement"]
    model.threshold = 0.5
    model.info = {
        "trained_on": (
            f"{len(real):,} pairs of real recordings (and {len(failed):,} of them again after "
            f"a visible failure), {len(syn_y):,} of HWU64 requests heard "
            f"(weighing {SYNTHETIC_WEIGHT})"
        ),
        "held_out": {"pairs": len(held), "sentences": "the other half of SLURP's", **report},
        "seen_sentences": sorted(seen, key=int),
        "seed": seed,
    }
    return model


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument(
        "--model", choices=("misheard", "restatement"), help="one of them (default: both)"
    )
    parser.add_argument("--out", type=Path, help="where to write it (default: the package's)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.data is None:
        sys.exit("needs the shared data folder (--data ../shared/data)")
    if args.out is not None and args.model is None:
        sys.exit("--out names one file: say which model (--model misheard|restatement)")
    makers: dict[str, tuple[Callable[..., MisheardModel | RestatementModel], Path]] = {
        "misheard": (pretrain, shipped_path()),
        "restatement": (pretrain_restatement, RestatementModel.shipped_path()),
    }
    for name, (make, default) in makers.items():
        if args.model not in (None, name):
            continue
        try:
            model = make(args.data, args.seed, lambda s: print(s, file=sys.stderr))
        except FileNotFoundError as exc:
            sys.exit(str(exc))
        out = args.out or default
        out.parent.mkdir(parents=True, exist_ok=True)
        model.save(out)
        print(f"{out}: threshold {model.threshold} {model.info}", file=sys.stderr)


if __name__ == "__main__":
    main()
