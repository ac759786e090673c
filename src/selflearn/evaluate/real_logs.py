"""Rewrites learned from turn logs shaped like real assistants' logs, built from real
recogniser errors (SLURP recordings with their transcripts), with the simplest peers in the
same run (DESIGN §4).

Per sentence, a seeded share of its recordings builds the mining log and the rest is held
out (split by sentence, never by line). A recording *worked* when the intent read in its
transcript is the sentence's gold intent. Two log shapes:

* ``silent``: a failing transcript is answered ``success`` with the intent it was read as,
  and 3–8 s later the same person says the sentence again and a working transcript of it is
  read right; no barge-in, no feedback, no error status. Every working transcript also
  appears alone, and a failing one whose sentence never worked in the log appears alone
  (the user gave up without a word).
* ``interrupted``: the same, with the user talking over the failing turn's answer.

Each held-out transcript is rewritten and judged by the *sentence* it was rewritten to, not
only the intent: ``fixed`` is a failing transcript rewritten to a transcript of its own
sentence that works; ``wrong`` a failing one rewritten to another sentence's; ``moved`` a
working one rewritten to another sentence's (or to one that no longer reads right).
Intent-level counts stand beside them. A failing transcript is *reachable* when its
sentence has a working recording in the mining log.
"""

from __future__ import annotations

import math
import random
import re
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from selflearn.logs import events_to_table
from selflearn.logs.schema import TurnEvent
from selflearn.rewrite.base import RewriteRequest, normalize_utterance
from selflearn.signals.rephrase import HeuristicRephraseDetector
from selflearn.signals.restatement import PairCase, RestatementModel

__all__ = [
    "JUDGED_KINDS",
    "PAIR_KINDS",
    "SHAPES",
    "ExactPeer",
    "FuzzyPeer",
    "Split",
    "build_log",
    "detector_scores",
    "judge_rewrites",
    "learn_log",
    "model_scores",
    "other_slot_pairs",
    "pair_scores",
    "read_annotated",
    "rephrase_pairs",
    "sample_sessions",
    "served",
    "split_records",
    "train_model_anyway",
]

SHAPES = ("silent", "interrupted")
START_TS = 1_767_225_600.0
_PEER_GAP_S = 10.0  # the peers' reading of a log: a turn said again within this is restated


@dataclass(frozen=True)
class Split:
    mining: list[dict[str, Any]]
    held: list[dict[str, Any]]


def _by_sentence(records: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_sentence: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_sentence[record["sentence_id"]].append(record)
    return by_sentence


def split_records(records: Sequence[dict[str, Any]], held_share: float, seed: int) -> Split:
    """Per sentence, ``held_share`` of its recordings (rounded) held out, the rest mined."""
    rng = random.Random(seed)
    by_sentence = _by_sentence(records)
    mining: list[dict[str, Any]] = []
    held: list[dict[str, Any]] = []
    for sentence in sorted(by_sentence, key=lambda s: (len(s), s)):
        group = sorted(by_sentence[sentence], key=lambda r: r["file"])
        rng.shuffle(group)
        keep = len(group) - round(held_share * len(group))
        mining += group[:keep]
        held += group[keep:]
    return Split(mining, held)


def _worked(record: dict[str, Any]) -> bool:
    return bool(record["read_intent"] == record["gold_intent"])


def _event(
    turn_id: str, user: str, ts: float, record: dict[str, Any], barge_in_ms: int | None
) -> TurnEvent:
    intent = record["read_intent"]
    return TurnEvent.model_validate(
        {
            "schema_version": "1",
            "turn_id": turn_id,
            "user_id": user,
            "device_id": f"device-{user}",
            "device_type": "speaker",
            "ts": ts,
            "asr": {"text": record["heard"], "confidence": None},
            "nlu": {
                "intent": intent,
                "domain": intent.split("_", 1)[0] if intent else None,
                "slots": {},
            },
            "response": {"text": "Done.", "status": "success", "duration_ms": 1500},
            "barge_in_ms": barge_in_ms,
            "feedback": None,
            "context": {},
        }
    )


def build_log(
    records: Sequence[dict[str, Any]], shape: str, *, seed: int = 0, users: int = 150
) -> list[TurnEvent]:
    """The mining log in one of :data:`SHAPES`, one session an hour, ``users`` speakers."""
    if shape not in SHAPES:
        raise ValueError(f"The 'shape' of a real log must be one of {SHAPES}. Got {shape!r}.")
    rng = random.Random(seed)
    by_sentence = _by_sentence(records)
    sessions: list[list[tuple[dict[str, Any], int | None]]] = []
    for sentence in sorted(by_sentence):
        group = by_sentence[sentence]
        worked = [r for r in group if _worked(r)]
        failed = [r for r in group if not _worked(r)]
        sessions += [[(r, None)] for r in worked]
        for k, record in enumerate(failed):
            barge = rng.randint(400, 1400) if shape == "interrupted" else None
            if worked:
                sessions.append([(record, barge), (worked[k % len(worked)], None)])
            else:
                sessions.append([(record, barge)])
    rng.shuffle(sessions)
    events: list[TurnEvent] = []
    ts = START_TS
    for n, session in enumerate(sessions):
        user = f"user-{rng.randrange(users)}"
        at = ts
        for k, (record, barge) in enumerate(session):
            events.append(_event(f"s{n}-{k}", user, at, record, barge))
            end = at + (barge if barge is not None else 1500) / 1000.0
            at = end + rng.uniform(3.0, 8.0)
        ts += 3600.0
    return events


# -- peers: the simplest readings of the same log ----------------------------------------


def _restated(events: Sequence[TurnEvent]) -> tuple[dict[str, str], set[str]]:
    """(failing text → what was said next, texts that worked): a turn said again within
    ``_PEER_GAP_S`` of its answer's end by the same speaker failed; the rest worked."""
    ordered = sorted(events, key=lambda e: (e.device_id, e.ts))
    fixes: dict[str, str] = {}
    worked: set[str] = set()
    for i, event in enumerate(ordered):
        text = normalize_utterance(event.asr.text)
        after = ordered[i + 1] if i + 1 < len(ordered) else None
        duration = (event.response.duration_ms or 0) / 1000.0
        if (
            after is not None
            and after.device_id == event.device_id
            and after.ts - event.ts - duration <= _PEER_GAP_S
        ):
            fixes.setdefault(text, normalize_utterance(after.asr.text))
        elif text:
            worked.add(text)
    return fixes, worked


class ExactPeer:
    """An exact-match table: a request said again right after is rewritten to what
    followed it, only when said word for word."""

    name = "exact-match table"

    def __init__(self, events: Sequence[TurnEvent]) -> None:
        self.fixes, self.worked = _restated(events)

    def rewrite(self, text: str) -> str | None:
        target = self.fixes.get(text)
        return None if target is None or text in self.worked else target


class FuzzyPeer:
    """rapidfuzz: a request nobody was seen to make work is rewritten to the nearest
    request that worked, at ``ratio`` or above."""

    def __init__(self, events: Sequence[TurnEvent], ratio: float) -> None:
        _, worked = _restated(events)
        self.worked = worked
        self.keys = sorted(worked)
        self.ratio = ratio
        self.name = f"rapidfuzz ratio >= {ratio:g}"

    def rewrite(self, text: str) -> str | None:
        if text in self.worked or not self.keys:
            return None
        found = process.extractOne(text, self.keys, scorer=fuzz.ratio, score_cutoff=self.ratio)
        return None if found is None else str(found[0])


# -- judging ------------------------------------------------------------------------------


def judge_rewrites(
    held: Sequence[dict[str, Any]],
    mining: Sequence[dict[str, Any]],
    everything: Sequence[dict[str, Any]],
    rewrite: Callable[[dict[str, Any]], str | None],
) -> dict[str, Any]:
    """Counts of fixed / wrong / unchanged-meaning / moved for one rewriter on the held-out
    recordings, with the intent-level counts beside them."""
    sentences: dict[str, set[str]] = defaultdict(set)  # transcript → sentences said as it
    read_as: dict[str, str | None] = {}
    for r in everything:
        sentences[r["heard"]].add(r["sentence_id"])
        if r.get("gold_sentence"):
            sentences[normalize_utterance(r["gold_sentence"])].add(r["sentence_id"])
        read_as.setdefault(r["heard"], r["read_intent"])
    reachable_sentences = {r["sentence_id"] for r in mining if _worked(r)}
    counts: Counter[str] = Counter()
    examples: list[dict[str, str]] = []
    for r in held:
        ok = _worked(r)
        reachable = r["sentence_id"] in reachable_sentences
        counts["working" if ok else "failing"] += 1
        counts["reachable"] += (not ok) and reachable
        target = rewrite(r)
        if target is None or target == r["heard"]:
            continue
        counts["rewritten"] += 1
        same = r["sentence_id"] in sentences.get(target, ())
        reads_right = read_as.get(target) == r["gold_intent"]
        if ok:
            verdict = "kept" if same and reads_right else "moved"
            counts["intent_broken"] += not reads_right
        else:
            verdict = "fixed" if same and reads_right else ("unchanged" if same else "wrong")
            counts["intent_fixed"] += reads_right
            counts["fixed_reachable"] += verdict == "fixed" and reachable
        counts[verdict] += 1
        if verdict in ("wrong", "moved") and len(examples) < 6:
            examples.append({"heard": r["heard"], "rewrite": target, "verdict": verdict})
    keys = (
        "failing",
        "reachable",
        "working",
        "rewritten",
        "fixed",
        "fixed_reachable",
        "wrong",
        "unchanged",
        "moved",
        "kept",
        "intent_fixed",
        "intent_broken",
    )
    out: dict[str, Any] = {k: counts[k] for k in keys}
    out["fixed_of_reachable"] = round(counts["fixed"] / max(counts["reachable"], 1), 4)
    out["moved_of_working"] = round(counts["moved"] / max(counts["working"], 1), 4)
    out["wrong_of_rewrites"] = round(counts["wrong"] / max(counts["rewritten"], 1), 4)
    out["examples"] = examples
    return out


def learn_log(
    events: Sequence[TurnEvent], progress: Callable[[str], None] | None = None
) -> tuple[Path, dict[str, Any]]:
    """``selflearn learn`` with its defaults on the log: the artefacts folder and summary."""
    from selflearn.learn import learn

    folder = Path(tempfile.mkdtemp(prefix="selflearn-real-"))
    return folder, learn(events_to_table(events), folder, progress=progress)


def served(
    folder: Path, layers: tuple[str, ...] | None = None
) -> Callable[[dict[str, Any]], str | None]:
    """What the rewriter loaded from ``folder`` (the layers it has, by default) does with a
    held-out recording's transcript: its rewrite, or None."""
    from selflearn.rewrite.rewriter import Rewriter

    rewriter = Rewriter.load(folder, layers=layers, budget_s=10.0, cache=False)

    def rewrite(record: dict[str, Any]) -> str | None:
        found = rewriter.rewrite(RewriteRequest(record["heard"]))
        return None if found is None else found.target

    return rewrite


def sample_sessions(events: Sequence[TurnEvent], share: float, seed: int) -> list[TurnEvent]:
    """``share`` of the log's sessions (whole sessions), for the learning curve."""
    by_session: dict[str, list[TurnEvent]] = defaultdict(list)
    for event in events:
        by_session[event.turn_id.split("-", 1)[0]].append(event)
    keys = sorted(by_session)
    random.Random(seed).shuffle(keys)
    kept = keys[: math.ceil(share * len(keys))]
    return [e for k in sorted(kept) for e in by_session[k]]


# -- rephrase detection on real utterance pairs -------------------------------------------

PAIR_KINDS = (
    "misheard_then_right",
    "both_right",
    "other_slots",
    "same_intent",
    "same_scenario",
    "any",
    "shares_words",  # the request of another intent that shares the most words with it
)
# The new requests the detection figure is judged on (F1 ≥ 0.85 in the issue); the pairs
# that share words are reported beside it (the share called a restatement), as the
# precision check they are: "play some jazz" → "play the news".
JUDGED_KINDS = PAIR_KINDS[:-1]
_SLOT = re.compile(r"\[(\w+) : ([^\]]+)\]")


def read_annotated(path: Path, skip: Collection[str] = frozenset()) -> list[tuple[str, str, str]]:
    """(slot-annotated sentence, intent, sentence id) per line of SLURP's ``devel.jsonl``,
    but those whose id is in ``skip``."""
    import json

    out = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                if str(row["slurp_id"]) not in skip:
                    out.append(
                        (str(row["sentence_annotation"]), str(row["intent"]), str(row["slurp_id"]))
                    )
    return out


def other_slot_pairs(
    annotated: Sequence[tuple[str, str, str]], rng: random.Random, n: int
) -> list[tuple[str, str, str]]:
    """(sentence, the same sentence with one slot given another value of its type, intent):
    the hardest new request, the same intent with other slots."""
    values: dict[str, set[str]] = defaultdict(set)
    for text, _, _ in annotated:
        for kind, value in _SLOT.findall(text):
            values[kind].add(value.strip())
    pool = [(t, i) for t, i, _ in annotated if _SLOT.search(t)]
    out: list[tuple[str, str, str]] = []
    for _ in range(n * 3):
        if len(out) >= n or not pool:
            break
        text, intent = rng.choice(pool)
        slots = _SLOT.findall(text)
        kind, value = rng.choice(slots)
        others = sorted(values[kind] - {value.strip()})
        if not others:
            continue
        other = rng.choice(others)

        def swap(m: re.Match[str], v: str = value, o: str = other) -> str:
            return o if m.group(2) == v else m.group(2)

        swapped = _SLOT.sub(swap, text)
        plain = _SLOT.sub(lambda m: m.group(2), text)
        out.append((normalize_utterance(plain), normalize_utterance(swapped), intent))
    return out


def _shares_words(sentence: str, working: dict[str, list[dict[str, Any]]]) -> str | None:
    """The sentence of another intent whose transcript shares the most words with
    ``sentence``'s (first working recording of each)."""
    intent = working[sentence][0]["gold_intent"]
    others = sorted(o for o in working if working[o][0]["gold_intent"] != intent)
    if not others:
        return None
    found = process.extractOne(
        working[sentence][0]["heard"],
        [working[o][0]["heard"] for o in others],
        scorer=fuzz.token_set_ratio,
    )
    return None if found is None else others[found[2]]


def rephrase_pairs(
    records: Sequence[dict[str, Any]],
    *,
    annotated: Sequence[tuple[str, str, str]] = (),
    seed: int = 0,
    per_kind: int = 400,
) -> list[dict[str, Any]]:
    """Pairs of real transcripts said one after the other, each with its kind and whether
    the later one restates the earlier: two recordings of one sentence (the first misheard
    and read as another intent, the second heard right; or both heard right, in other
    words) against two different sentences (the same intent with other slots, the same
    scenario, any, and the request of another intent that shares the most words with it).
    Word-for-word equal transcripts that both worked are left out: no log
    can tell them from a deliberate repeat."""
    rng = random.Random(seed)
    by_sentence = _by_sentence(records)
    sentences = sorted(by_sentence)
    pools: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = defaultdict(list)
    for s in sentences:
        group = by_sentence[s]
        worked = [r for r in group if _worked(r)]
        failed = [r for r in group if not _worked(r)]
        for f in failed:
            for w in worked:
                pools["misheard_then_right"].append((f, w))
        for i, a in enumerate(worked):
            for b in worked[i + 1 :]:
                if a["heard"] != b["heard"]:
                    pools["both_right"].append((a, b))
    by_intent: dict[str, list[str]] = defaultdict(list)
    by_scenario: dict[str, list[str]] = defaultdict(list)
    for s in sentences:
        intent = by_sentence[s][0]["gold_intent"]
        by_intent[intent].append(s)
        by_scenario[intent.split("_", 1)[0]].append(s)
    for _ in range(per_kind * 4):
        s = rng.choice(sentences)
        intent = by_sentence[s][0]["gold_intent"]
        for kind, among in (
            ("same_intent", by_intent[intent]),
            ("same_scenario", by_scenario[intent.split("_", 1)[0]]),
            ("any", sentences),
        ):
            others = [o for o in among if o != s]
            if others:
                o = rng.choice(others)
                pools[kind].append((rng.choice(by_sentence[s]), rng.choice(by_sentence[o])))
    # drawn apart, so the other kinds' pairs are those every earlier run drew
    apart = random.Random(seed + 1)
    working = {s: ok for s in sentences if (ok := [r for r in by_sentence[s] if _worked(r)])}
    for s in apart.sample(sorted(working), min(per_kind, len(working))):
        if (other := _shares_words(s, working)) is not None:
            pools["shares_words"].append((apart.choice(working[s]), apart.choice(working[other])))
    slot_pairs = other_slot_pairs(annotated, rng, per_kind) if annotated else []
    out: list[dict[str, Any]] = [
        {
            "kind": "other_slots",
            "restates": False,
            "earlier": a,
            "later": b,
            "earlier_intent": intent,
            "later_intent": intent,
            "gap_s": round(rng.uniform(2.0, 8.0), 2),
        }
        for a, b, intent in slot_pairs
    ]
    for kind in PAIR_KINDS:
        chosen = pools[kind]
        rng.shuffle(chosen)
        for earlier, later in chosen[:per_kind]:
            out.append(
                {
                    "kind": kind,
                    "restates": kind in ("misheard_then_right", "both_right"),
                    "earlier": earlier["heard"],
                    "later": later["heard"],
                    "earlier_intent": earlier["read_intent"],
                    "later_intent": later["read_intent"],
                    "gap_s": round(rng.uniform(2.0, 8.0), 2),
                }
            )
    return out


def detector_scores(
    pairs: Sequence[dict[str, Any]], detector: HeuristicRephraseDetector | RestatementModel
) -> list[float]:
    """The detector's score per pair, read as a log would show it: the earlier request
    answered ``success`` (no visible failure), the later one working."""
    cases = [
        PairCase(
            p["earlier"],
            p["later"],
            p["earlier_intent"],
            p["later_intent"],
            False,
            True,
            p["gap_s"],
        )
        for p in pairs
    ]
    if isinstance(detector, RestatementModel):
        return detector.scores(cases)
    return [
        detector.score(
            c.earlier, c.later, c.earlier_intent, c.later_intent, False, p["gap_s"], True
        )
        for c, p in zip(cases, pairs, strict=True)
    ]


def model_scores(pairs: Sequence[dict[str, Any]], folder: Path) -> list[float] | None:
    """The contextual rephrase model's probability per pair, read as :func:`detector_scores`
    reads them; None where ``folder`` has no trained model (no torch when it was learned)."""
    from selflearn.errors import DataFileError
    from selflearn.signals.span import PairText, SpanRephraseModel

    try:
        model = SpanRephraseModel(folder)
    except DataFileError:
        return None
    texts = [
        PairText(
            p["earlier"],
            "Done.",
            p["later"],
            float(p["gap_s"]),
            earlier_failed=False,
            later_worked=True,
            same_intent=p["earlier_intent"] == p["later_intent"],
        )
        for p in pairs
    ]
    return [probability for probability, _ in model.predict(texts)]


def train_model_anyway(events: Sequence[TurnEvent]) -> Path:
    """The contextual rephrase model trained on ``events`` even where ``selflearn learn``
    would keep the heuristic (too few new requests in the log): a folder holding it."""
    from selflearn.signals.span_train import SpanTrainConfig, train_span_model

    folder = Path(tempfile.mkdtemp(prefix="selflearn-rephrase-"))
    train_span_model(
        events_to_table(events), folder, SpanTrainConfig(min_negative_share=0.0, min_negatives=0)
    )
    return folder


def pair_scores(
    pairs: Sequence[dict[str, Any]], scores: Sequence[float], threshold: float
) -> dict[str, Any]:
    """Precision, recall and F1 of ``scores >= threshold`` against the pairs' truth, and the
    share called a restatement per kind."""
    tp = fp = fn = 0
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for pair, score in zip(pairs, scores, strict=True):
        said = score >= threshold
        tp += said and pair["restates"]
        fp += said and not pair["restates"]
        fn += (not said) and pair["restates"]
        per_kind[pair["kind"]][0] += said
        per_kind[pair["kind"]][1] += 1
    precision = tp / max(tp + fp, 1)
    recall = tp / max(tp + fn, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "called_restatement": {k: round(v[0] / max(v[1], 1), 4) for k, v in per_kind.items()},
    }
