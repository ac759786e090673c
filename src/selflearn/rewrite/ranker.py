"""The learned ranker of the online rewriter, trained from the log alone (DESIGN §2 item 5).

Training examples come from the later part of the log, candidates from an index built from
the earlier part only (as at serving time, when the request is new to the index):

* a request that failed and was then restated by a request that worked: the candidates
  that mean what the restatement meant (its words, or its intent with the same devices and
  numbers) are positives, every other retrieved candidate a negative;
* a request that worked: every candidate is a negative — rewriting it can only do harm;
* a request that failed alone — it restated nothing and no one restated it (mostly speech
  the device woke to by mistake): every candidate is a negative — nothing says it was meant
  for the assistant, and a rewrite would act on a guess. (Some were meant and given up on,
  so they teach the model but do not count against its precision.)

LightGBM fits the probability that a candidate is a good rewrite. Two models: one for the
global layer (global candidates, no personal evidence) and one for the personal layer
(the speaker's own successes too, with their evidence). Each model's threshold is chosen on
held-out predictions (folds by user): the lowest score at which the rewrites it would make
keep the target precision.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from selflearn.errors import ConfigError, DataFileError
from selflearn.logs.arrow import context_dict
from selflearn.rewrite.base import normalize_utterance, precision_floor, same_numbers, same_words
from selflearn.rewrite.candidates import FEATURES, Query, candidates, features
from selflearn.rewrite.encoder import SentenceEncoder
from selflearn.rewrite.guards import Guard
from selflearn.rewrite.index import IndexConfig, RetrievalIndex, build_entries, load_turn_facts

__all__ = ["RankerConfig", "RankerModel", "train_rankers"]


@dataclass(frozen=True)
class RankerConfig:
    k: int = 8  # candidates per search (meaning, sound, own)
    train_share: float = 0.7  # the index for training is built from this earlier share of the log
    ok_per_failure: float = 1.5  # working requests sampled per failing one
    unfixed_per_failure: float = 1.0  # lone failures (never restated) per restated one
    max_queries: int = 20_000
    trees: int = 300
    leaves: int = 15
    learning_rate: float = 0.05
    min_child: int = 20
    folds: int = 4
    target_precision: float = 0.92  # held-out precision each layer's threshold must keep
    precision_z: float = 0.0  # > 0: kept by the Wilson lower bound (0: as measured)
    min_threshold: float = 0.3
    min_judged: int = 25  # rewrites judged before a precision counts (at 10, one is 10 points)
    personal_min_support: int = 2  # own successes before the personal layer may act
    seed: int = 0
    threads: int = 2  # for training and for encoding the log


@dataclass
class RankerModel:
    """A fitted LightGBM booster and the threshold chosen for it."""

    booster: Any
    threshold: float
    held_out: dict[str, Any]

    def score(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster.predict(x, num_threads=1), dtype=np.float64)

    def save(self, path: Path) -> None:
        self.booster.save_model(str(path))
        meta = {"threshold": self.threshold, "held_out": self.held_out, "features": FEATURES}
        path.with_suffix(".json").write_text(json.dumps(meta, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> RankerModel:
        import lightgbm as lgb

        try:
            meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            booster = lgb.Booster(model_file=str(path))
        except (OSError, ValueError, lgb.basic.LightGBMError) as exc:
            raise DataFileError(f"{path}: not a readable ranker ({exc})") from exc
        if tuple(meta.get("features", ())) != FEATURES:
            raise DataFileError(f"{path}: trained on other features than this version computes")
        return cls(booster, float(meta["threshold"]), meta.get("held_out", {}))


_QUERIES_SQL = """
WITH fixes AS (
    SELECT e.turn_id, e.owner, e.text, e.area, e.device_type, e.context, e.confidence,
        l.text AS fix_text, s.rephrase_span AS fix_span, l.intent AS fix_intent,
        l.entities AS fix_entities, e.intent AS q_intent, e.entities AS q_entities,
        'fail' AS kind
    FROM signals s
    JOIN idx_turns l ON l.turn_id = s.turn_id
    JOIN idx_turns e ON e.turn_id = s.rephrase_of
    WHERE NOT e.worked AND l.worked AND e.ts >= {cutoff!r} AND e.text <> ''
    QUALIFY row_number() OVER (PARTITION BY e.turn_id ORDER BY l.ts) = 1
),
working AS (
    SELECT turn_id, owner, text, area, device_type, context, confidence,
        NULL AS fix_text, NULL AS fix_span, NULL AS fix_intent, NULL AS fix_entities,
        intent AS q_intent, entities AS q_entities, 'ok' AS kind
    FROM idx_turns
    WHERE worked AND ts >= {cutoff!r} AND text <> ''
    ORDER BY hash(turn_id || '{seed}')
    LIMIT (SELECT CAST(count(*) * {ok_per_failure} AS BIGINT) FROM fixes)
),
unfixed AS (
    SELECT turn_id, owner, text, area, device_type, context, confidence,
        NULL AS fix_text, NULL AS fix_span, NULL AS fix_intent, NULL AS fix_entities,
        intent AS q_intent, entities AS q_entities, 'unfixed' AS kind
    FROM idx_turns
    WHERE NOT worked AND ts >= {cutoff!r} AND text <> ''
        AND turn_id NOT IN (SELECT rephrase_of FROM signals WHERE rephrase_of IS NOT NULL)
        AND turn_id NOT IN (SELECT turn_id FROM signals WHERE rephrase_of IS NOT NULL)
    ORDER BY hash(turn_id || '{seed}')
    LIMIT (SELECT CAST(count(*) * {unfixed_per_failure} AS BIGINT) FROM fixes)
)
SELECT * FROM fixes UNION ALL SELECT * FROM working UNION ALL SELECT * FROM unfixed
ORDER BY hash(turn_id || '{seed}')
LIMIT {max_queries}
"""


def _query(record: dict[str, Any]) -> Query:
    return Query.from_context(
        record["text"],
        record["owner"],
        record["area"] or None,
        record["device_type"],
        context_dict(record["context"]),
        record["confidence"],
    )


def _same_meaning(
    index: RetrievalIndex, text: str, intent: str | None, entities: set[str], said: str
) -> bool:
    """Does global candidate ``text`` mean what ``said`` meant: its intent, the same
    numbers, and the devices ``said`` reached among those the candidate has reached (a
    global row reaches each home's own); where no device is involved, much the same words?"""
    row = index.row("global", text)
    if row is None or intent is None or index.intent[row] != intent:
        return False
    if not same_numbers(text, said):
        return False
    reached = set(index.entities(row))  # every device it reached, in every home
    if entities:
        return entities <= reached
    return not reached and same_words(text, said)


def _labels(
    index: RetrievalIndex, record: dict[str, Any], texts: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(label, same meaning) per candidate. A failed request's label: the candidate means
    what its successful restatement meant. A working request's candidates are all labelled
    0 (rewriting it can only do harm); ``same meaning`` marks those that would change
    nothing it meant (a neutral rewrite, not an error). A lone failure: all 0, and all
    counted neutral when choosing the threshold — what it meant, if anything, is unknown."""
    labels = np.zeros(len(texts), dtype=np.float32)
    if record["kind"] == "unfixed":
        return labels, ~labels.astype(bool)
    if record["kind"] == "fail":
        good = {record["fix_text"]}
        if record["fix_span"]:
            good.add(normalize_utterance(record["fix_span"]))
        ents = set(record["fix_entities"] or [])
        for i, text in enumerate(texts):
            labels[i] = float(
                text in good
                or _same_meaning(index, text, record["fix_intent"], ents, record["fix_text"])
            )
        return labels, labels.astype(bool)
    ents = set(record["q_entities"] or [])
    same = np.array(
        [_same_meaning(index, t, record["q_intent"], ents, record["text"]) for t in texts],
        dtype=bool,
    )
    return labels, same


def _examples(
    index: RetrievalIndex,
    encoder: SentenceEncoder,
    records: list[dict[str, Any]],
    config: RankerConfig,
    *,
    personal: bool,
    guard: Guard,
    progress: Callable[[str], None],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Features, labels, same-meaning marks and the request number of every (request,
    candidate) pair, and each request's owner."""
    vectors = encoder.encode([r["text"] for r in records])
    xs, ys, sames, groups = [], [], [], []
    owners = [r["owner"] or "" for r in records]  # by request number
    for i, (record, vector) in enumerate(zip(records, vectors, strict=True)):
        query = _query(record)
        cands = candidates(index, query, vector, personal=personal, k=config.k, guard=guard)
        if not cands:
            continue
        xs.append(features(index, query, cands, personal=personal))
        label, same = _labels(index, record, [c.text for c in cands])
        ys.append(label)
        sames.append(same)
        groups.append(np.full(len(cands), i))
        if (i + 1) % 2000 == 0:
            progress(
                f"ranker ({'personal' if personal else 'global'}): {i + 1:,}/{len(records):,} requests"
            )
    if not xs:
        raise ConfigError("ranker", "log", "no requests", "a log with restated failures")
    return (
        np.concatenate(xs),
        np.concatenate(ys),
        np.concatenate(sames),
        np.concatenate(groups),
        owners,
    )


def _fit(x: np.ndarray, y: np.ndarray, config: RankerConfig) -> Any:
    import lightgbm as lgb

    params = {
        "objective": "binary",
        "learning_rate": config.learning_rate,
        "num_leaves": config.leaves,
        "min_child_samples": config.min_child,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "seed": config.seed,
        "num_threads": config.threads,
        "verbose": -1,
        "deterministic": True,
    }
    data = lgb.Dataset(x, y, feature_name=list(FEATURES), free_raw_data=False)
    return lgb.train(params, data, num_boost_round=config.trees)


def _held_out_threshold(
    x: np.ndarray,
    y: np.ndarray,
    same: np.ndarray,
    groups: np.ndarray,
    kinds: list[str],
    owners: list[str],
    config: RankerConfig,
    eligible: np.ndarray,
) -> tuple[float, dict[str, Any]]:
    """Predictions for each fold's users from a model that never saw them; the threshold
    is the lowest top score at which the rewrites kept reach the target precision.

    Precision counts a failed request's rewrite to what its restatement meant as right and
    any rewrite that changes what a request meant as wrong; a working request rewritten to
    something that means the same is neutral (neither)."""
    fold_of_owner = {o: zlib.crc32(o.encode()) % config.folds for o in set(owners)}
    fold = np.array([fold_of_owner[owners[g]] for g in groups])
    scores = np.zeros(len(y))
    for f in range(config.folds):
        train, test = fold != f, fold == f
        if y[train].sum() == 0 or not test.any():
            continue
        scores[test] = _fit(x[train], y[train], config).predict(x[test])
    scores = np.where(eligible, scores, 0.0)
    # each request's top candidate: right, wrong or neutral?
    tops: dict[int, tuple[float, int]] = {}
    for score, label, alike, g in zip(scores.tolist(), y, same, groups.tolist(), strict=True):
        if g not in tops or score > tops[g][0]:
            tops[g] = (score, 1 if label else (0 if alike else -1))
    failing = sum(1 for k in kinds if k == "fail")
    ranked = sorted(tops.values(), key=lambda item: -item[0])
    threshold: float = 1.0
    best: dict[str, Any] = {"precision": None, "recall": 0.0, "rewrites": 0}
    right = wrong = neutral = 0
    for top, verdict in ranked:
        if top < config.min_threshold:
            break
        right += verdict == 1
        wrong += verdict == -1
        neutral += verdict == 0
        judged = right + wrong
        if (
            judged >= config.min_judged
            and precision_floor(right, judged, config.precision_z) >= config.target_precision
        ):
            threshold = top
            best = {
                "precision": round(right / judged, 4),
                "precision_floor": round(precision_floor(right, judged, config.precision_z), 4),
                "recall": round(right / max(failing, 1), 4),
                "rewrites": judged + neutral,
                "neutral": neutral,
            }
    return threshold, {
        **best,
        "requests": len(tops),
        "failing": failing,
        "threshold": round(threshold, 4),
    }


def train_rankers(
    turns: pa.Table,
    signals: pa.Table,
    encoder: SentenceEncoder,
    config: RankerConfig | None = None,
    index_config: IndexConfig | None = None,
    *,
    guard: Guard | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, RankerModel]:
    """The global and personal rankers, with thresholds from held-out users."""
    config = config or RankerConfig()
    index_config = index_config or IndexConfig()
    say = progress or (lambda _s: None)
    ts = turns.column("ts").to_numpy()
    if len(ts) == 0:
        raise ConfigError("ranker", "log", "empty", "a non-empty turn log")
    cutoff = float(np.quantile(ts, config.train_share))
    say(f"ranker: index of the log before {config.train_share:.0%} of its time")
    index = RetrievalIndex.build(
        build_entries(turns, signals, index_config, before_ts=cutoff), encoder
    )
    con = duckdb.connect()
    load_turn_facts(con, turns, signals, index_config)
    records = (
        con.sql(
            _QUERIES_SQL.format(
                cutoff=cutoff,
                seed=config.seed,
                ok_per_failure=config.ok_per_failure,
                unfixed_per_failure=config.unfixed_per_failure,
                max_queries=config.max_queries,
            )
        )
        .to_arrow_table()
        .to_pylist()
    )
    con.close()
    kinds = [r["kind"] for r in records]
    if kinds.count("fail") < 20:
        raise ConfigError(
            "ranker", "log", f"{kinds.count('fail')} restated failures", "at least 20 to learn from"
        )
    out: dict[str, RankerModel] = {}
    for layer in ("global", "personal"):
        personal = layer == "personal"
        x, y, same, groups, owners = _examples(
            index, encoder, records, config, personal=personal, guard=guard or Guard(), progress=say
        )
        # the personal layer acts only on the speaker's own evidence
        own = FEATURES.index("own_successes")
        eligible = (
            x[:, own] >= np.log1p(config.personal_min_support) - 1e-6
            if personal
            else np.ones(len(y), dtype=bool)
        )
        threshold, held = _held_out_threshold(x, y, same, groups, kinds, owners, config, eligible)
        say(
            f"ranker ({layer}): {len(y):,} candidates, {int(y.sum()):,} positive; "
            f"threshold {threshold:.3f} (held-out precision {held['precision']}, "
            f"recall of failing requests {held['recall']})"
        )
        out[layer] = RankerModel(_fit(x, y, config), threshold, {**held, "candidates": len(y)})
    out["global"].held_out["config"] = asdict(config)
    return out
