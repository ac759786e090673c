"""The restatement memory: a request like one that failed and was said again is rewritten
to what the restatement said (DESIGN §2 items 5, 9).

Real logs teach by restatements: a request misheard and acted on wrongly, answered
``success``, then said again and understood. A later request that is *nearer* to such a
failure than to anything that worked for another meaning is most likely the same
misrecognition, and gets the restatement's words. Word for word, that is the exact-match
table every log supports from its first restatement; by closeness in letters and sound it
reaches the misrecognitions no one made twice.

Small logs are its purpose: it needs no training split, so its threshold comes from the
log itself by leave-one-out — each restated failure asked without its own occurrence (is it
rewritten to what its restatement meant?) and each request that worked once asked without
itself (is it left alone?). The threshold is the lowest margin whose rewrites keep the
target precision there; with too few judged rewrites to tell, a conservative prior serves.

The score of a rewrite is its *margin*: how much nearer (rapidfuzz ratio, 0–100) the request
is to the failure than to the nearest request that worked meaning something else. Requests
known to work are never rewritten; the guard (opposite actions, questions vs commands,
names and places) applies as in every layer, and a rewrite's words must have worked for
several people (one user's phrasing stays theirs).

A request nearer to something that worked than to any failure is a second case: nobody
made these words work, but the nearest request that did may be what was said, misheard.
The pre-trained misheard-request model (:mod:`selflearn.rewrite.misheard`) decides. Its
threshold is the log's own by leave-one-out (each request that worked asked as if nobody had
made it work may rarely be moved to another meaning, each restated failure asked without
itself must keep the target precision); while the log is too small to judge, the threshold
the pre-training certified serves. Rewrites the misheard model proposes are held to the
same guard, and never add, drop or change a word a recogniser could not have.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from rapidfuzz import fuzz

from selflearn.engine import Engine, open_engine
from selflearn.errors import ConfigError, DataFileError
from selflearn.learner import Learner, Progress, signals_of
from selflearn.rewrite.base import (
    Considered,
    Rewrite,
    RewriteRequest,
    first_served,
    normalize_utterance,
    precision_floor,
    same_numbers,
    same_words,
)
from selflearn.rewrite.guards import Guard, load_guard
from selflearn.rewrite.index import IndexConfig, load_turn_facts, sound_vector, sound_vectors
from selflearn.rewrite.misheard import MisheardModel, Near, could_be_misheard, heard_alike

__all__ = ["RESTATED_FILE", "RestatedConfig", "RestatementLearner", "RestatementMemory"]

RESTATED_FILE = "restated.parquet"

# Each restated failure (its first working restatement, in the same session) and every
# request that worked, with what it meant. (Ties in time go to the lower turn id: every
# engine picks the same restatement.)
_OCCURRENCES_SQL = """
WITH fixes AS (
    SELECT e.turn_id, e.owner, e.text, l.text AS target, l.intent AS target_intent
    FROM signals s
    JOIN idx_turns l ON l.turn_id = s.turn_id
    JOIN idx_turns e ON e.turn_id = s.rephrase_of
    WHERE NOT e.worked AND l.worked AND e.text <> '' AND l.text <> '' AND e.text <> l.text
    QUALIFY row_number() OVER (PARTITION BY e.turn_id ORDER BY l.ts, l.turn_id) = 1
)
SELECT 'failed' AS kind, turn_id, owner, text, target, target_intent AS intent FROM fixes
UNION ALL
SELECT 'worked' AS kind, turn_id, owner, text, text AS target, intent
FROM idx_turns WHERE worked AND text <> ''
ORDER BY kind, turn_id
"""


@dataclass(frozen=True)
class RestatedConfig:
    floor: float = 60.0  # the request is at least this close (ratio) to the failure
    # a rewrite's words worked for this many people: one user's phrasing never reaches
    # another's requests (the global index's rule, IndexConfig.min_users)
    min_target_users: int = 2
    # a request near a restated failure is that failure heard again only where every word
    # swapped sounds like the one it replaced (Metaphone ratio): "a recipe for brownies" is
    # not "a recipe for eggs" heard again, however near in letters. (Not asked of the
    # misheard model's rewrites: real recognisers swap words that spell nothing alike —
    # on real recordings the rule cost 7 of 41 fixes there for 1 fewer moved.)
    swap_alike: float = 50.0
    prior_margin: float = 20.0  # the threshold while the log is too small to tell
    target_precision: float = 0.92  # leave-one-out precision the threshold must keep,
    precision_z: float = 1.0  # by its Wilson lower bound
    min_judged: int = 10  # judged rewrites before a leave-one-out precision counts
    sound_k: int = 24  # candidates by sound before the letters decide
    max_rows: int = 100_000  # the most-said requests kept (failures always kept)
    max_checks: int = 3_000  # leave-one-out queries of each kind, sampled
    seed: int = 0
    # a request nobody made work, rewritten to the nearest that did when the misheard
    # model is sure enough: at its pre-trained threshold (None), or this one
    misheard: bool = True
    misheard_threshold: float | None = None
    misheard_neighbours: int = 10
    # of the requests that worked, each asked as if nobody had made it work, at most this
    # share may be rewritten to another meaning at the threshold
    misheard_move_budget: float = 0.005
    misheard_floor: float = 0.5  # never below this probability
    misheard_min_asked: int = 200  # requests that worked before the log sets the threshold
    misheard_resamples: int = 50


@dataclass(frozen=True)
class _Found:
    key: int
    target: str
    score: float  # the margin (a restated failure), or the probability (misheard)


class RestatementMemory:
    """Restated failures and requests that worked; ``rewrite`` by nearest failure."""

    def __init__(
        self,
        rows: pa.Table,
        threshold: float,
        info: dict[str, Any] | None = None,
        config: RestatedConfig | None = None,
        guard: Guard | None = None,
    ) -> None:
        self.config = config or RestatedConfig()
        self.threshold = threshold
        self.info = info or {}
        self.guard = guard or Guard()
        self.rows = rows
        self.text: list[str] = rows.column("text").to_pylist()
        self.target: list[str] = rows.column("target").to_pylist()
        self.failed = rows.column("failed").to_numpy().astype(np.int64)
        self.worked = rows.column("worked").to_numpy().astype(np.int64)
        self.intent: list[str | None] = rows.column("intent").to_pylist()
        self.users = rows.column("users").to_numpy().astype(np.int64)
        self._row = {t: i for i, t in enumerate(self.text)}
        self._sound = sound_vectors(self.text)
        # what a misheard request may be rewritten to: worked (as often as not) for several
        # people (one user's words stay theirs)
        self._known = np.flatnonzero(
            (self.worked > 0)
            & (self.worked >= self.failed)
            & (self.users >= self.config.min_target_users)
        )
        self._known_sound = self._sound[self._known]
        self._model = MisheardModel.shipped() if self.config.misheard else None
        # the threshold the log set when the memory was learned (`build`); a memory learned
        # before the misheard model existed serves as it was learned, without it
        self.misheard_threshold = float(self.info.get("misheard", {}).get("threshold", 101.0))

    # -- building ------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        turns: pa.Table,
        signals: pa.Table,
        config: RestatedConfig | None = None,
        index_config: IndexConfig | None = None,
        *,
        guard: Guard | None = None,
        progress: Callable[[str], None] | None = None,
        engine: Engine | None = None,
    ) -> RestatementMemory:
        """The memory of a turn log and its signals, its threshold by leave-one-out. Which
        failures were restated, and what worked, is SQL on ``engine`` (an embedded DuckDB
        when not given); the memory and its leave-one-out run here, over those rows."""
        config = config or RestatedConfig()
        say = progress or (lambda _s: None)
        con = engine or open_engine()
        try:
            load_turn_facts(con, turns, signals, index_config or IndexConfig())
            occurrences = con.query(_OCCURRENCES_SQL).to_pylist()
        finally:
            if engine is None:
                con.close()
        failures = [o for o in occurrences if o["kind"] == "failed"]
        if not failures:
            raise ConfigError(
                "restatement memory", "log", "no restated failures", "a log with restatements"
            )
        rows = _rows(occurrences, config.max_rows)
        memory = cls(rows, config.prior_margin, config=config, guard=guard)
        say(f"restatement memory: {len(failures):,} restated failures; leave-one-out")
        threshold, info = memory._leave_one_out(occurrences)
        memory.threshold, memory.info = threshold, info
        say(
            f"restatement memory: threshold {threshold:g} "
            f"(leave-one-out precision {info['precision']}, {info['judged']} judged)"
        )
        if memory._model is not None:
            info["misheard"] = memory._misheard_check(failures, memory._worked_rows(occurrences))
            memory.misheard_threshold = info["misheard"]["threshold"]
            m = info["misheard"]
            say(
                f"misheard requests: threshold {memory.misheard_threshold:g} ({m['from']}; "
                f"{m['failures_right']} restated failures right, {m['failures_wrong']} wrong; "
                f"{m['working_moved']} of {m['working_checked']} requests that worked moved)"
            )
        return memory

    def _prior_threshold(self) -> float:
        if self._model is None:
            return 101.0
        given = self.config.misheard_threshold
        return float(self._model.threshold if given is None else given)

    def _misheard_check(
        self, failed: list[dict[str, Any]], worked: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """The misheard model's threshold on this log, by leave-one-out: the lowest
        probability at which (a) the requests that worked, each asked as if nobody had
        made it work, are rewritten to another meaning no more than
        ``misheard_move_budget`` of the time, and (b) the restated failures asked without
        themselves keep the target precision (when enough are judged). Off when no
        probability does; the pre-trained threshold while the log has fewer than
        ``misheard_min_asked`` requests that worked."""
        cfg = self.config
        rng = random.Random(cfg.seed)
        alone = [
            o
            for o in failed
            if self.failed[(row := self._row[o["text"]])] <= 1 and self.worked[row] == 0
        ]
        groups = [alone, list(worked)]
        for group in groups:
            if len(group) > cfg.max_checks:
                group[:] = rng.sample(group, cfg.max_checks)
        judged: list[list[tuple[float, str, int]]] = [[], []]  # (probability, kind, verdict)
        for n, (kind, group) in enumerate(zip(("failed", "worked"), groups, strict=True)):
            for o in group:
                found = self._misheard(o["text"], None, self._row[o["text"]])
                judged[n].append(
                    (found.score, kind, self._verdict(o, found.target))
                    if found is not None
                    else (0.0, kind, 0)
                )
        asked = len(groups[1])
        if asked < cfg.misheard_min_asked:
            threshold, source = self._prior_threshold(), "pre-trained (too few requests to judge)"
        else:
            # The median over resamples of the log: one request more or less moved must
            # not swing the threshold.
            cuts = [self._misheard_cut(judged[0] + judged[1])]
            for _ in range(cfg.misheard_resamples):
                cuts.append(
                    self._misheard_cut(
                        [rng.choice(judged[0]) for _ in judged[0]]
                        + [rng.choice(judged[1]) for _ in judged[1]]
                    )
                )
            threshold = float(np.median(cuts))
            source = (
                "leave-one-out" if threshold <= 1.0 else "off: no probability keeps the targets"
            )
        judged_all = [j for group in judged for j in group]
        kept = [j for j in judged_all if j[0] >= threshold]
        return {
            "threshold": round(threshold, 6),
            "from": source,
            "prior": self._prior_threshold(),
            "failures_checked": len(groups[0]),
            "working_checked": asked,
            "failures_right": sum(k == "failed" and v == 1 for _, k, v in kept),
            "failures_wrong": sum(k == "failed" and v == -1 for _, k, v in kept),
            "working_moved": sum(k == "worked" and v == -1 for _, k, v in kept),
        }

    def _misheard_cut(self, judged: list[tuple[float, str, int]]) -> float:
        """The lowest probability keeping both targets on ``judged`` (see
        :meth:`_misheard_check`), or 101 (off)."""
        cfg = self.config
        asked = max(sum(k == "worked" for _, k, _ in judged), 1)
        threshold = 101.0
        right = wrong = moved = 0
        for p, kind, verdict in sorted(judged, key=lambda j: -j[0]):
            if p < cfg.misheard_floor:
                break
            if kind == "worked":
                moved += verdict == -1
            else:
                right, wrong = right + (verdict == 1), wrong + (verdict == -1)
            if moved / asked > cfg.misheard_move_budget:
                break
            if right + wrong < cfg.min_judged or (
                precision_floor(right, right + wrong, cfg.precision_z) >= cfg.target_precision
            ):
                threshold = p
        return threshold

    def _worked_rows(self, occurrences: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One occurrence of each request that worked (and never failed)."""
        seen: set[str] = set()
        out = []
        for o in occurrences:
            row = self._row.get(o["text"])
            if (
                o["kind"] == "worked"
                and row is not None
                and self.failed[row] == 0
                and o["text"] not in seen
            ):
                seen.add(o["text"])
                out.append(o)
        return out

    def _leave_one_out(self, occurrences: list[dict[str, Any]]) -> tuple[float, dict[str, Any]]:
        """Each sampled restated failure asked without its own occurrence, each sampled
        request that worked once (and never failed) asked without itself: the margin and
        verdict (right / wrong / neutral) of every rewrite the memory would make."""
        cfg = self.config
        rng = random.Random(cfg.seed)
        failed = [o for o in occurrences if o["kind"] == "failed"]
        once = [
            o
            for o in occurrences
            if o["kind"] == "worked"
            and (row := self._row.get(o["text"])) is not None
            and self.worked[row] == 1
            and self.failed[row] == 0
        ]
        weights = {}
        for name, group in (("failed", failed), ("worked", once)):
            weights[name] = max(len(group) / cfg.max_checks, 1.0)
            if len(group) > cfg.max_checks:
                group[:] = rng.sample(group, cfg.max_checks)
        verdicts: list[tuple[float, int, float]] = []  # (margin, +1/-1/0, weight)
        for o in failed + once:
            row = self._row[o["text"]]
            alone = o["kind"] == "worked" or (self.failed[row] <= 1 and self.worked[row] == 0)
            found = self._nearest(o["text"], None, exclude=row if alone else None)
            if found is None:
                continue
            verdict = self._verdict(o, found.target)
            verdicts.append((found.score, verdict, weights[o["kind"]]))
        verdicts.sort(key=lambda v: -v[0])
        threshold, source = None, "leave-one-out"
        right = wrong = 0.0
        at_prior = [0.0, 0.0]  # right, wrong at the prior's margin and above
        for margin, verdict, weight in verdicts:
            right += weight * (verdict == 1)
            wrong += weight * (verdict == -1)
            judged = right + wrong
            if margin >= cfg.prior_margin:
                at_prior = [right, wrong]
            if (
                judged >= cfg.min_judged
                and precision_floor(right, judged, cfg.precision_z) >= cfg.target_precision
            ):
                threshold = margin
        judged_all = sum(w for _, v, w in verdicts if v != 0)
        if threshold is None:
            # Too little to certify a margin: the prior, unless what the log shows above it
            # already misses the target (then off).
            prior_judged = sum(at_prior)
            precise = prior_judged == 0 or at_prior[0] / prior_judged >= cfg.target_precision
            threshold, source = (cfg.prior_margin, "prior") if precise else (101.0, "off")
        kept = [(v, w) for m, v, w in verdicts if m >= threshold]
        right = sum(w for v, w in kept if v == 1)
        judged = right + sum(w for v, w in kept if v == -1)
        return float(threshold), {
            "precision": round(right / judged, 4) if judged else None,
            "precision_floor": round(precision_floor(right, judged, cfg.precision_z), 4),
            "recall": round(right / max(len(failed) * weights["failed"], 1), 4),
            "judged": round(judged_all),
            "failures_checked": len(failed),
            "working_checked": len(once),
            "threshold": threshold,
            "from": source,
        }

    def _verdict(self, occurrence: dict[str, Any], target: str) -> int:
        """+1: a failure rewritten to what its restatement meant; -1: a change of meaning;
        0: a working request rewritten to words that mean the same (neither)."""
        meant = occurrence["target"] if occurrence["kind"] == "failed" else occurrence["text"]
        if target == meant:
            return 1 if occurrence["kind"] == "failed" else 0
        row = self._row.get(target)
        same = (
            row is not None
            and occurrence["intent"] is not None
            and self.intent[row] == occurrence["intent"]
            and same_numbers(target, meant)
            and same_words(target, meant)
        )
        if occurrence["kind"] == "failed":
            return 1 if same else -1
        return 0 if same else -1

    # -- serving -------------------------------------------------------------------

    def _nearest(
        self,
        text: str,
        area: str | None,
        exclude: int | None = None,
        probe: np.ndarray | None = None,
    ) -> _Found | None:
        """The nearest known request; a failure's restatement with its margin over the
        nearest that means something else, or None."""
        if not self.text:
            return None
        probe = sound_vectors([text])[0] if probe is None else probe
        k = min(self.config.sound_k + 1, len(self.text))
        near = np.argpartition(-(self._sound @ probe), k - 1)[:k]
        # nearest first; at a tie, what worked wins (precision first)
        scored = sorted(
            (
                (fuzz.ratio(text, self.text[i]), self.failed[i] <= self.worked[i], int(i))
                for i in near.tolist()
                if i != exclude
            ),
            reverse=True,
        )
        if not scored:
            return None
        closeness, worked, key = scored[0]
        if worked or closeness < self.config.floor:
            return None  # nearest to something that worked: the misheard model's case
        if not heard_alike(text, self.text[key], self.config.swap_alike):
            return None  # not that failure heard again: another request near it
        target = self.target[key]
        row = self._row.get(target)
        if (
            target == text
            or row is None
            or self.users[row] < self.config.min_target_users
            or self.guard.reason(text, target, area) is not None
        ):
            return None
        other = max((s for s, _, i in scored[1:] if self.target[i] != target), default=0.0)
        return _Found(key, target, float(closeness - other))

    def _misheard(
        self,
        text: str,
        area: str | None,
        exclude: int | None = None,
        probe: np.ndarray | None = None,
    ) -> _Found | None:
        """The nearest request that worked for several people, with the misheard model's
        probability that it is what was said, or None."""
        if self._model is None or not len(self._known):
            return None
        probe = sound_vectors([text])[0] if probe is None else probe
        alike = self._known_sound @ probe
        known = len(self._known)
        if exclude is not None:
            itself = self._known == exclude
            alike[itself] = -np.inf
            known -= int(itself.sum())
        k = min(self.config.sound_k, known)
        if k == 0:
            return None
        near = self._known[np.argpartition(-alike, k - 1)[:k]]
        scored = sorted(
            ((fuzz.ratio(text, self.text[i]), self.text[i], int(i)) for i in near.tolist()),
            key=lambda s: (-s[0], s[1]),
        )[: self.config.misheard_neighbours]
        closeness, target, key = scored[0]
        if (
            closeness < self.config.floor
            or not could_be_misheard(text, target)
            or self.guard.reason(text, target, area) is not None
        ):
            return None
        found = [Near(t, self.intent[i], float(c)) for c, t, i in scored]
        return _Found(key, target, self._model.probability(text, found, known))

    def rewrite(self, request: RewriteRequest) -> Rewrite | None:
        return first_served(normalize_utterance(request.text), self.consider(request))

    def consider(self, request: RewriteRequest) -> list[Considered]:
        """The nearest restated failure (by its margin against the memory's threshold), then
        the nearest request that worked (by the misheard model's probability against its
        threshold); nothing where the request is known to work. The first not withheld is
        the rewrite."""
        text = normalize_utterance(request.text)
        row = self._row.get(text)
        if not text or (row is not None and self.worked[row] >= self.failed[row]):
            return []  # known to work (as often as not): leave it
        probe = sound_vector(text)
        out: list[Considered] = []
        found = self._nearest(text, request.area, probe=probe)
        if found is not None:
            served = found.score >= self.threshold
            out.append(
                Considered(
                    found.target,
                    "global",
                    "restated",
                    round(found.score / 100.0, 4),
                    round(self.threshold / 100.0, 4),
                    int(self.failed[found.key]),
                    None if served else "nearer to another request than the memory's margin",
                )
            )
            if served:
                return out
        found = self._misheard(text, request.area, probe=probe)
        if found is not None:
            out.append(
                Considered(
                    found.target,
                    "global",
                    "misheard",
                    round(found.score, 4),
                    round(self.misheard_threshold, 4),
                    int(self.worked[found.key]),
                    None
                    if found.score >= self.misheard_threshold
                    else "not sure enough it was misheard",
                )
            )
        return out

    # -- files ---------------------------------------------------------------------

    def save(self, folder: Path) -> Path:
        path = folder / RESTATED_FILE
        meta = {
            "threshold": self.threshold,
            "info": self.info,
            "config": asdict(self.config),
        }
        table = self.rows.replace_schema_metadata({"selflearn": json.dumps(meta)})
        pq.write_table(table, path)
        return path

    @classmethod
    def load(cls, folder: Path, guard: Guard | None = None) -> RestatementMemory:
        path = folder / RESTATED_FILE
        try:
            table = pq.read_table(path)
            meta = json.loads((table.schema.metadata or {})[b"selflearn"])
            config = RestatedConfig(**meta["config"])
            return cls(table, float(meta["threshold"]), meta.get("info"), config, guard)
        except (OSError, KeyError, TypeError, ValueError, pa.ArrowInvalid) as exc:
            raise DataFileError(f"{path}: not a readable restatement memory ({exc})") from exc


class RestatementLearner(Learner):
    """Learns the restatement memory of a log (``fit`` raises ConfigError where the log has
    no restated failure); ``rewrite`` by it; ``save`` writes ``restated.parquet``."""

    name: ClassVar[str] = "restated"
    learned: ClassVar[str] = "memory_"

    def __init__(
        self, config: RestatedConfig | None = None, index: IndexConfig | None = None
    ) -> None:
        self.config = config
        self.index = index
        self.memory_: RestatementMemory | None = None

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
        from selflearn.rewrite.index import guard_vocabulary

        self.memory_ = RestatementMemory.build(
            turns,
            signals_of(turns, signals, engine),
            self.config,
            self.index,
            guard=guard or guard_vocabulary(turns),
            progress=progress,
            engine=engine,
        )
        return self

    def rewrite(self, request: RewriteRequest) -> Rewrite | None:
        return self._require(self.memory_).rewrite(request)

    def save(self, folder: Path) -> Path:
        memory = self._require(self.memory_)
        memory.guard.save(folder)
        self._save_params(folder)
        return memory.save(folder)

    @classmethod
    def load(cls, folder: Path) -> Self:
        learner = cls(**cls._saved_params(folder))
        learner.memory_ = RestatementMemory.load(folder, load_guard(folder))
        return learner

    @property
    def summary(self) -> dict[str, Any]:
        memory = self._require(self.memory_)
        return {
            "failures": int((memory.failed > 0).sum()),
            "rows": len(memory.text),
            "threshold": round(memory.threshold, 4),
            "held_out": memory.info,
            "misheard": memory.info.get("misheard", {"used": False}),
        }


def _rows(occurrences: list[dict[str, Any]], max_rows: int) -> pa.Table:
    """One row per request: how often it failed and was restated (and to what, the most
    said), how often it worked, for how many people, what it meant."""
    failed: Counter[str] = Counter()
    worked: Counter[str] = Counter()
    targets: dict[str, Counter[str]] = {}
    intents: dict[str, Counter[str]] = {}
    users: dict[str, set[str]] = {}
    for o in occurrences:
        text = o["text"]
        (failed if o["kind"] == "failed" else worked)[text] += 1
        if o["kind"] == "failed":
            targets.setdefault(text, Counter())[o["target"]] += 1
        elif o["intent"]:
            intents.setdefault(text, Counter())[o["intent"]] += 1
        users.setdefault(text, set()).add(o["owner"] or "")
    texts = sorted(set(failed) | set(worked))
    kept = [t for t in texts if failed[t]] + sorted(
        (t for t in texts if not failed[t]), key=lambda t: (-worked[t], t)
    )[: max(max_rows - sum(1 for t in texts if failed[t]), 0)]
    kept.sort()

    def target(text: str) -> str:
        counts = targets.get(text)
        return max(sorted(counts), key=lambda t: counts[t]) if counts else text

    def intent(text: str) -> str | None:
        counts = intents.get(text)
        return max(sorted(counts), key=lambda i: counts[i]) if counts else None

    return pa.table(
        {
            "text": kept,
            "target": [target(t) for t in kept],
            "failed": pa.array([failed[t] for t in kept], pa.int64()),
            "worked": pa.array([worked[t] for t in kept], pa.int64()),
            "users": pa.array([len(users[t]) for t in kept], pa.int64()),
            "intent": pa.array([intent(t) for t in kept], pa.string()),
        }
    )
