"""Online rewriting at request time: retrieve, rank, decide (DESIGN §2 items 5, 9).

For a request the offline table does not cover: encode it, gather candidates among the
utterances known to succeed, score them with the learned rankers and rewrite only above
each layer's threshold. The personal layer speaks first, but only for a candidate this
speaker has made work themselves (``personal_min_support`` times): one user's habits never
reach another user, and a thin history never over-reaches. Otherwise the global layer may
rewrite, on what worked for several people.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pyarrow as pa

from selflearn.engine import Engine
from selflearn.errors import DataFileError
from selflearn.learner import Learner, Progress, signals_of
from selflearn.rewrite.base import (
    Considered,
    Rewrite,
    RewriteRequest,
    first_served,
    normalize_utterance,
)
from selflearn.rewrite.candidates import FEATURES, Candidate, Query, candidates, features
from selflearn.rewrite.encoder import SentenceEncoder, shared_encoder
from selflearn.rewrite.guards import OWN_HISTORY_MAY, Guard, load_guard
from selflearn.rewrite.index import (
    GLOBAL,
    IndexConfig,
    RetrievalIndex,
    build_entries,
    guard_vocabulary,
    request_owner,
    worked_row,
)
from selflearn.rewrite.ranker import RankerConfig, RankerModel, train_rankers

__all__ = ["ONLINE_DIR", "OnlineConfig", "OnlineLearner", "OnlineRewriter"]

ONLINE_DIR = "online"
_OWN = FEATURES.index("own_successes")


@dataclass(frozen=True)
class OnlineConfig:
    use_global: bool = True
    use_personal: bool = True
    k: int = 8
    personal_min_support: int = 2
    known_good_successes: int = 3  # a request that worked this often, at ≥ known_good_rate,
    known_good_rate: float = 0.9  # is left alone without searching
    global_threshold: float | None = None  # None: the threshold chosen at training
    personal_threshold: float | None = None


class OnlineRewriter:
    """The global and personal online layers over one index and two rankers."""

    def __init__(
        self,
        index: RetrievalIndex,
        encoder: SentenceEncoder,
        rankers: dict[str, RankerModel],
        config: OnlineConfig | None = None,
        guard: Guard | None = None,
    ) -> None:
        self.index = index
        self.encoder = encoder
        self.rankers = rankers
        self.config = config or OnlineConfig()
        self.guard = guard or Guard()

    @classmethod
    def load(
        cls,
        folder: Path,
        config: OnlineConfig | None = None,
        encoder: SentenceEncoder | None = None,
    ) -> OnlineRewriter:
        if not folder.is_dir():
            raise DataFileError(f"{folder}: no online rewrite index (run selflearn learn)")
        rankers = {
            layer: RankerModel.load(folder / f"ranker_{layer}.lgb")
            for layer in ("global", "personal")
        }
        guard = load_guard(folder.parent)
        return cls(RetrievalIndex.load(folder), encoder or shared_encoder(), rankers, config, guard)

    def save(self, folder: Path) -> None:
        self.index.save(folder)
        for layer, model in self.rankers.items():
            model.save(folder / f"ranker_{layer}.lgb")

    def _known_good(self, text: str, owner: str | None) -> bool:
        cfg, index = self.config, self.index
        for scope in (owner, GLOBAL):
            row = index.row(scope, text) if scope else None
            if (
                row is not None
                and index.successes[row] >= cfg.known_good_successes
                and index.successes[row] / max(index.tries[row], 1.0) >= cfg.known_good_rate
            ):
                return True
        return False

    def to_encode(self, request: RewriteRequest) -> str | None:
        """The words :meth:`consider` would encode for ``request`` (None when it needs no
        encoding: known to work, a vector stored, or encoded recently), so that a server can
        encode the words of requests arriving together in one run first."""
        searched = self._searched(request)
        if searched is None:
            return None
        text, _ = searched
        if self.index.known_vector(text) is not None or self.encoder.knows(text):
            return None
        return text

    def _searched(self, request: RewriteRequest) -> tuple[str, str | None] | None:
        """The request's normalised words and owner where its candidates are to be
        searched; None where it is empty, no layer is on, or it is known to work."""
        cfg = self.config
        text = normalize_utterance(request.text)
        owner = request_owner(request.user_id, request.device_id)
        if not text or (not cfg.use_global and not cfg.use_personal):
            return None
        if self._known_good(text, owner if cfg.use_personal else None):
            return None
        return text, owner

    def _query(
        self, request: RewriteRequest, text: str, owner: str | None
    ) -> tuple[Query, np.ndarray]:
        """The request as the candidates and rankers read it, and its sentence vector."""
        query = Query.from_context(
            text, owner, request.area, request.device_type, request.context, request.confidence
        )
        vector = self.index.known_vector(text)
        return query, vector if vector is not None else self.encoder.encode_one(text)

    def _best(
        self, layer: str, query: Query, cands: list[Candidate], personal: bool
    ) -> tuple[Candidate, float, int] | None:
        if not cands:
            return None
        x = features(self.index, query, cands, personal=personal)
        scores = self.rankers[layer].score(x)
        if personal:  # only the speaker's own well-tried successes
            scores = np.where(
                x[:, _OWN] >= np.log1p(self.config.personal_min_support) - 1e-6, scores, 0.0
            )
        best = int(np.argmax(scores))
        return cands[best], float(scores[best]), best

    def rewrite(self, request: RewriteRequest) -> Rewrite | None:
        return first_served(normalize_utterance(request.text), self.consider(request))

    def consider(self, request: RewriteRequest) -> list[Considered]:
        """The best candidate of the personal layer, then of the global one, each with its
        ranker score against the layer's threshold; nothing where the request is known to
        work. The first not withheld is the rewrite."""
        cfg = self.config
        searched = self._searched(request)
        if searched is None:
            return []
        text, owner = searched
        query, vector = self._query(request, text, owner)
        personal = cfg.use_personal and owner in self.index.scopes
        cands = candidates(self.index, query, vector, personal=personal, k=cfg.k, guard=self.guard)
        out: list[Considered] = []
        if personal:
            threshold = cfg.personal_threshold or self.rankers["personal"].threshold
            found = self._best("personal", query, cands, True)
            if found:
                c, score, _ = found
                own = int(self.index.successes[c.own_row]) if c.own_row is not None else 0
                out.append(_considered(c.text, "personal", score, threshold, own))
                if score >= threshold:
                    return out
        if cfg.use_global:
            threshold = cfg.global_threshold or self.rankers["global"].threshold
            shared = [replace(c, own_row=None) for c in cands if c.global_row is not None]
            found = self._best("global", query, shared, False)
            if found:
                c, score, _ = found
                assert c.global_row is not None
                support = int(self.index.successes[c.global_row])
                out.append(_considered(c.text, "global", score, threshold, support))
        return out

    def alternatives(
        self, request: RewriteRequest, taken: list[str], n: int, margin: float
    ) -> list[Considered]:
        """Other readings of the request, for exploring only (each withheld): requests that
        worked for others, of the same intent as the best global candidate, acting on targets
        that none of ``taken`` (the texts already held close) acts on, ranked within
        ``margin`` of that best candidate. Asked even where the request is known to work:
        "the weather in Portland" works, yet the other Portland may be the one meant now."""
        text = normalize_utterance(request.text)
        owner = request_owner(request.user_id, request.device_id)
        if not text or n < 1 or not self.config.use_global:
            return []
        query, vector = self._query(request, text, owner)
        # the guard still bars what contradicts the request (another action, another room);
        # narrowing a name ("portland" → "portland maine") is what exploring is for
        cands = [
            replace(c, own_row=None)
            for c in candidates(self.index, query, vector, personal=False, k=self.config.k)
            if c.global_row is not None
            and self.guard.reason(text, c.text, request.area) in (None, *OWN_HISTORY_MAY)
        ]
        if not cands:
            return []
        scores = self.rankers["global"].score(features(self.index, query, cands, personal=False))
        order = np.argsort(-scores, kind="stable")
        top, best = cands[int(order[0])], float(scores[order[0]])
        assert top.global_row is not None
        intent = self.index.intent[top.global_row]
        effects = {self._effect(t, owner) for t in [text, *taken]}
        threshold = self.config.global_threshold or self.rankers["global"].threshold
        out: list[Considered] = []
        for i in order:
            c, score = cands[int(i)], float(scores[int(i)])
            assert c.global_row is not None
            if score < best - margin or len(out) >= n:
                break
            effect = self._effect(c.text, owner)
            if self.index.intent[c.global_row] != intent or effect is None or effect in effects:
                continue
            effects.add(effect)
            support = int(self.index.successes[c.global_row])
            out.append(
                Considered(c.text, "global", "online", round(score, 4), threshold, support,
                           "another reading, for exploring only")
            )  # fmt: skip
        return out

    def _effect(self, text: str, owner: str | None) -> tuple[str | None, tuple[str, ...]] | None:
        """What a request did when it worked (its intent and targets); None if unknown."""
        row = worked_row(self.index, owner, text)
        if row is None:
            return None
        return self.index.intent[row], tuple(sorted(self.index.entities(row)))

    def forget(self, owner: str) -> int:
        """Stop using one user's (or device's) personal rows; returns how many."""
        return self.index.drop_scope(owner)


def _considered(
    target: str, layer: str, score: float, threshold: float, support: int
) -> Considered:
    withheld = None if score >= threshold else f"ranker score below the {layer} threshold"
    return Considered(target, layer, "online", round(score, 4), threshold, support, withheld)


class OnlineLearner(Learner):
    """Learns the online rewriter of a log: its two rankers (thresholds from held-out users)
    and the index of every request that worked; ``rewrite`` by it; ``save`` writes
    ``online/`` (and the guard). The index's table of what worked is SQL on the engine; the
    rankers and the index build run here. ``fit`` raises ConfigError where the log is too
    small to learn from."""

    name: ClassVar[str] = "online"
    learned: ClassVar[str] = "rewriter_"

    def __init__(
        self,
        ranker: RankerConfig | None = None,
        index: IndexConfig | None = None,
        online: OnlineConfig | None = None,
    ) -> None:
        self.ranker = ranker
        self.index = index
        self.online = online
        self.rewriter_: OnlineRewriter | None = None
        self.seconds_: float | None = None

    def fit(
        self,
        turns: pa.Table,
        *,
        signals: pa.Table | None = None,
        engine: Engine | None = None,
        progress: Progress | None = None,
        guard: Guard | None = None,
    ) -> Self:
        """``guard``: what no rewrite may contradict (the log's own, when not given)."""
        say = progress or (lambda _step: None)
        started = time.perf_counter()
        signals = signals_of(turns, signals, engine)
        index = self.index or IndexConfig()
        encoder = SentenceEncoder(threads=(self.ranker or RankerConfig()).threads)
        guard = guard or guard_vocabulary(turns)
        rankers = train_rankers(
            turns, signals, encoder, self.ranker, index, guard=guard, progress=say
        )
        say("online index of every request that worked")
        entries = build_entries(turns, signals, index, engine=engine)
        built = RetrievalIndex.build(entries, encoder, index)
        self.rewriter_ = OnlineRewriter(built, encoder, rankers, self.online, guard=guard)
        self.seconds_ = round(time.perf_counter() - started, 2)
        return self

    def rewrite(self, request: RewriteRequest) -> Rewrite | None:
        return self._require(self.rewriter_).rewrite(request)

    def save(self, folder: Path) -> Path:
        rewriter = self._require(self.rewriter_)
        rewriter.save(folder / ONLINE_DIR)
        rewriter.guard.save(folder)
        self._save_params(folder)
        return folder / ONLINE_DIR

    @classmethod
    def load(cls, folder: Path) -> Self:
        learner = cls(**cls._saved_params(folder))
        learner.rewriter_ = OnlineRewriter.load(folder / ONLINE_DIR, learner.online)
        return learner

    @property
    def summary(self) -> dict[str, Any]:
        rewriter = self._require(self.rewriter_)
        built = rewriter.index
        owners = len(built.scopes) - (1 if len(built.global_rows) else 0)
        return {
            "global_rows": len(built.global_rows),
            "personal_rows": len(built.tries) - len(built.global_rows),
            "scopes": owners,
            "rankers": {layer: m.held_out for layer, m in rewriter.rankers.items()},
            **({"seconds": self.seconds_} if self.seconds_ is not None else {}),
        }
