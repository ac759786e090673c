"""Fit the speech channel to real recogniser output (SLURP-style transcript pairs).

Input: JSON Lines with ``gold_sentence`` and ``asr_text`` (and optionally
``gold_intent``/``pred_intent``). The fit matches the channel's word error rate and
sentence error rate on the same sentences, and the real mix of substitutions,
deletions and insertions. The result is written as JSON (shipped in the package).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

from selflearn.assistant.speech import SpeechChannel, SpeechParams, tokenize
from selflearn.errors import DataFileError

__all__ = [
    "ErrorStats",
    "TranscriptPair",
    "error_stats",
    "fit",
    "length_bucket",
    "load_pairs",
    "simulate",
    "write_params",
]


@dataclass(frozen=True)
class TranscriptPair:
    reference: str
    hypothesis: str
    gold_intent: str | None = None
    pred_intent: str | None = None


@dataclass(frozen=True)
class ErrorStats:
    """Word error rate, sentence error rate and the kinds of word errors."""

    words: int
    sentences: int
    substitutions: int
    deletions: int
    insertions: int
    wrong_sentences: int

    @property
    def wer(self) -> float:
        return (self.substitutions + self.deletions + self.insertions) / max(self.words, 1)

    @property
    def ser(self) -> float:
        return self.wrong_sentences / max(self.sentences, 1)

    def shares(self) -> tuple[float, float, float]:
        total = max(self.substitutions + self.deletions + self.insertions, 1)
        return (self.substitutions / total, self.deletions / total, self.insertions / total)

    def as_dict(self) -> dict[str, Any]:
        sub, dele, ins = self.shares()
        return {
            "sentences": self.sentences,
            "words": self.words,
            "wer": round(self.wer, 4),
            "ser": round(self.ser, 4),
            "substitution_share": round(sub, 3),
            "deletion_share": round(dele, 3),
            "insertion_share": round(ins, 3),
        }


def load_pairs(path: Path) -> list[TranscriptPair]:
    """Read (reference, recogniser output) pairs from JSON Lines."""
    pairs = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read transcript pairs ({exc})") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            pairs.append(
                TranscriptPair(
                    str(row["gold_sentence"]),
                    str(row.get("asr_text") or ""),
                    row.get("gold_intent"),
                    row.get("pred_intent"),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise DataFileError(f"{path}:{number}: not a transcript pair ({exc!r})") from exc
    return pairs


def error_stats(pairs: Sequence[tuple[str, str]]) -> ErrorStats:
    """Word-level alignment of (reference, hypothesis) pairs."""
    words = subs = dels = ins = wrong = 0
    for reference, hypothesis in pairs:
        ref, hyp = tokenize(reference), tokenize(hypothesis)
        words += len(ref)
        ops = Levenshtein.editops(ref, hyp)
        for op in ops:
            if op.tag == "replace":
                subs += 1
            elif op.tag == "delete":
                dels += 1
            else:
                ins += 1
        wrong += bool(len(ops))
    return ErrorStats(words, len(pairs), subs, dels, ins, wrong)


def length_bucket(sentence: str) -> str:
    n = len(tokenize(sentence))
    return "1-3" if n <= 3 else "4-6" if n <= 6 else "7-9" if n <= 9 else "10+"


def simulate(channel: SpeechChannel, references: Sequence[str], seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [(ref, channel.transcribe(ref, rng, nbest=1).text) for ref in references]


def fit(
    pairs: Sequence[TranscriptPair],
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> tuple[SpeechParams, ErrorStats, ErrorStats]:
    """Fit rates so the channel's WER, SER and error mix match ``pairs``.

    Returns the parameters, the real statistics and the channel's on the same sentences.
    """
    real = error_stats([(p.reference, p.hypothesis) for p in pairs])
    sub, dele, ins = real.shares()
    references = [p.reference for p in pairs]
    base = SpeechParams(
        share_substitute=sub,
        share_delete=dele,
        share_merge=0.04,
        insert_rate=0.0,
    )
    best: tuple[float, SpeechParams, ErrorStats] | None = None
    for shape in (0.15, 0.25, 0.4, 0.6, 1.0):
        low, high = 0.005, 0.6
        params = base
        stats = real
        for _ in range(9):
            rate = (low + high) / 2
            params = replace(
                base,
                error_rate=rate,
                noise_shape=shape,
                insert_rate=1.6 * rate * ins / max(sub + dele, 1e-6),
            )
            stats = error_stats(simulate(SpeechChannel(params), references, seed))
            if stats.wer < real.wer:
                low = rate
            else:
                high = rate
        gap = abs(stats.ser - real.ser) + abs(stats.wer - real.wer)
        if progress is not None:
            progress(f"noise shape {shape}: WER {stats.wer:.3f} SER {stats.ser:.3f}")
        if best is None or gap < best[0]:
            best = (gap, params, stats)
    assert best is not None
    return best[1], real, best[2]


def write_params(
    params: SpeechParams, real: ErrorStats, channel: ErrorStats, path: Path, source: str
) -> None:
    payload = {
        "name": "selflearn-speech-channel",
        "version": 1,
        "fitted_on": source,
        "params": params.as_dict(),
        "real": real.as_dict(),
        "channel": channel.as_dict(),
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
