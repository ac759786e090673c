"""One battery of checks over every learner ``selflearn learn`` fits (STYLE §4–5): the
constructor only stores, applying before fitting is a clear error, a saved learner loads and
answers as it did, the same seed gives the same output, fitting leaves its inputs as they
were, and the output does not depend on the engine the log-sized SQL ran on (the embedded
DuckDB or Spark).

Each learner is fitted on one simulated log with a configuration small enough for the
suite; its output is what its apply verb gives on probes taken from the log (requests that
failed, for the rewriters; candidate pairs, for the rephrase model; every turn, for the
dialogue model)."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest

pytest.importorskip("torch")

from selflearn.dialogue.learner import DialogueConfig, DialogueLearner
from selflearn.dialogue.model import NetConfig
from selflearn.engine import DuckDBEngine, Engine
from selflearn.errors import NotFittedError
from selflearn.learn import learner_classes
from selflearn.learner import Learner
from selflearn.logs import read_turns
from selflearn.rewrite import RewriteRequest
from selflearn.rewrite.explore import ExplorationLearner, ExploreConfig, Option
from selflearn.rewrite.markov import MarkovConfig, MarkovMiner
from selflearn.rewrite.online import OnlineLearner
from selflearn.rewrite.ranker import RankerConfig
from selflearn.rewrite.restated import RestatementLearner
from selflearn.signals import compute_signals
from selflearn.signals.compute import pair_text
from selflearn.signals.sessions import SessionConfig, candidate_pairs, sessionize
from selflearn.signals.span import PairText
from selflearn.signals.span_train import RephraseLearner, SpanTrainConfig


@dataclass
class Log:
    turns: pa.Table
    signals: pa.Table
    requests: list[RewriteRequest]  # what the rewriters are asked
    pairs: list[PairText]  # what the rephrase model is asked


# Small enough for the suite, large enough that each learner learns something.
FACTORIES: dict[type[Learner], Callable[[], Learner]] = {
    RephraseLearner: lambda: RephraseLearner(
        SpanTrainConfig(layers=2, max_examples=400, min_passes=0, max_seconds=1e9)
    ),
    # the exact-words layers (global, personal): every layer's SQL is checked on both engines, end to
    # end, by benchmarks/spark.py --smoke
    MarkovMiner: lambda: MarkovMiner(MarkovConfig(templates=False)),
    RestatementLearner: lambda: RestatementLearner(),
    OnlineLearner: lambda: OnlineLearner(
        RankerConfig(trees=40, folds=3, unfixed_per_failure=0.5, max_queries=2_000)
    ),
    ExplorationLearner: lambda: ExplorationLearner(ExploreConfig(seed=3)),
    DialogueLearner: lambda: DialogueLearner(
        DialogueConfig(
            net=NetConfig(width=32, layers=1),
            pretrain_epochs=1,
            finetune_epochs=1,
            members=1,
            threads=2,
        )
    ),
}
LEARNERS = list(learner_classes())


def test_every_learner_is_in_the_battery() -> None:
    assert set(LEARNERS) == set(FACTORIES)
    assert len({c.name for c in LEARNERS}) == len(LEARNERS)


@pytest.fixture(scope="module")
def log(sim_files: tuple[Path, Path, dict[str, object]]) -> Log:
    turns, _ = read_turns([sim_files[0]])
    signals = compute_signals(turns).table
    con = duckdb.connect()
    con.register("turns", turns)
    failed = con.sql(
        """
        SELECT DISTINCT ON (asr.text) asr.text AS text, user_id, device_id,
            json_extract_string(context, '$.area') AS area
        FROM turns WHERE response.status <> 'success' AND asr.text <> ''
        ORDER BY asr.text LIMIT 300
        """
    ).to_arrow_table()
    sessionize(con, turns, SessionConfig())
    pairs = [pair_text(p) for p in candidate_pairs(con, SessionConfig()).to_pylist()[:300]]
    con.close()
    requests = [
        RewriteRequest(r["text"], user_id=r["user_id"], device_id=r["device_id"], area=r["area"])
        for r in failed.to_pylist()
    ]
    return Log(_with_choices(turns, signals), signals, requests, pairs)


def _with_choices(turns: pa.Table, signals: pa.Table) -> pa.Table:
    """The log as an exploring rewriter would have written it: each restated request logged
    as a choice between its words and its restatement's, one drawn at random (propensity
    0.5) — what the exploration policy learns from."""
    restated = {
        r["rephrase_of"]: r["turn_id"]
        for r in signals.select(["turn_id", "rephrase_of"]).to_pylist()
        if r["rephrase_of"]
    }
    text = dict(
        zip(
            turns.column("turn_id").to_pylist(),
            [a["text"] for a in turns.column("asr").to_pylist()],
            strict=True,
        )
    )
    rng = np.random.default_rng(0)
    choices = []
    for turn_id in turns.column("turn_id").to_pylist():
        later = restated.get(turn_id)
        if later is None or text[later] == text[turn_id] or not text[turn_id]:
            choices.append(None)
            continue
        options = [
            {"text": text[turn_id], "layer": "heard", "score": None},
            {"text": text[later], "layer": "global", "score": 0.5},
        ]
        choices.append(
            {
                "options": options,
                "chosen": int(rng.integers(2)),
                "default": 0,
                "preferred": 0,
                "propensity": 0.5,
                "policy": "battery",
            }
        )
    column = turns.schema.get_field_index("choice")
    return turns.set_column(
        column, turns.schema.field(column), pa.array(choices, turns.schema.field(column).type)
    )


def output(learner: Learner, log: Log) -> list[Any]:
    """What the learner's apply verb gives on the log's probes, as plain values."""
    if isinstance(learner, RephraseLearner):
        return [[p, s] for p, s in learner.predict(log.pairs)]
    if isinstance(learner, DialogueLearner):
        got = learner.predict(log.turns)
        return [got.turn_ids, got.failure_point.tolist(), got.defect.tolist(), got.intents]
    out: list[Any] = []
    if isinstance(learner, ExplorationLearner):  # which of two readings each probe gets
        for request in log.requests:
            options = [Option(request.text, "heard"), Option("turn on the light", "global", 0.5)]
            out.append(learner.choose(request, options, 0))
        return out
    for request in log.requests:
        done = learner.rewrite(request)  # type: ignore[attr-defined]
        out.append(None if done is None else [done.target, done.layer, done.score, done.method])
        # and what it weighed (scores against thresholds), where it held back
        weighed = getattr(learner, learner.learned).consider(request)
        for c in weighed if isinstance(weighed, list) else [weighed] if weighed else []:
            out.append([c.target, c.layer, c.method, c.score, c.threshold, c.withheld])
    return out


def same(a: Any, b: Any, tol: float = 1e-5) -> bool:
    """Equal, floats within ``tol`` (ONNX Runtime and torch on 2 threads)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=tol, abs_tol=tol)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, tol) for x, y in zip(a, b, strict=True))
    return bool(a == b)


class Recording(DuckDBEngine):
    """The embedded engine, counting what a learner asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    def register(self, name: str, table: pa.Table) -> None:
        self.asked += 1
        super().register(name, table)

    def create(self, name: str, sql: str) -> None:
        self.asked += 1
        super().create(name, sql)

    def run(self, script: str) -> None:
        self.asked += 1
        super().run(script)

    def rename(self, old: str, new: str) -> None:
        self.asked += 1
        super().rename(old, new)

    def query(self, sql: str) -> pa.Table:
        self.asked += 1
        return super().query(sql)


@pytest.fixture(scope="module")
def fitted(log: Log) -> Iterator[Callable[..., Learner]]:
    """Each (learner, engine) fitted once for the module: "duckdb" (no engine given: the
    learner opens its own), "again" (a second fit, on a :class:`Recording` engine), "spark".
    Fitting must leave the log's tables as they were (checked on every fit)."""
    cache: dict[tuple[type[Learner], str], Learner] = {}
    before = (log.turns, log.signals)

    def fit(cls: type[Learner], key: str, engine: Engine | None = None) -> Learner:
        if (cls, key) not in cache:
            cache[(cls, key)] = FACTORIES[cls]().fit(log.turns, signals=log.signals, engine=engine)
            assert log.turns.equals(before[0]) and log.signals.equals(before[1])
            assert log.turns.schema.metadata == before[0].schema.metadata
        return cache[(cls, key)]

    yield fit


@pytest.fixture(scope="module")
def recorded() -> dict[type[Learner], Recording]:
    return {cls: Recording() for cls in LEARNERS}


@pytest.mark.parametrize("cls", LEARNERS, ids=lambda c: c.name)
def test_the_constructor_only_stores(cls: type[Learner]) -> None:
    learner = FACTORIES[cls]()
    assert not learner.fitted
    params = learner.get_params()
    assert params and set(params) == set(inspect.signature(cls.__init__).parameters) - {"self"}
    # defaults are None (resolved when fitting) or immutable: no shared mutable default
    for p in inspect.signature(cls.__init__).parameters.values():
        assert (
            p.default is inspect.Parameter.empty
            or p.default is None
            or (isinstance(p.default, str | int | float | bool | tuple))
        ), (cls.__name__, p.name)
    for value in params.values():
        frozen = getattr(getattr(value, "__dataclass_params__", None), "frozen", True)
        assert frozen, f"{cls.__name__}'s configuration {value!r} is mutable"
    assert repr(learner).startswith(cls.__name__ + "(")


@pytest.mark.parametrize("cls", LEARNERS, ids=lambda c: c.name)
def test_applying_or_saving_before_fitting_is_a_clear_error(
    cls: type[Learner], log: Log, tmp_path: Path
) -> None:
    learner = FACTORIES[cls]()
    with pytest.raises(NotFittedError, match=f"This {cls.__name__} is not fitted yet"):
        output(learner, log)
    with pytest.raises(NotFittedError, match="call fit"):
        learner.save(tmp_path)
    with pytest.raises(NotFittedError):
        _ = learner.summary
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("cls", LEARNERS, ids=lambda c: c.name)
def test_a_saved_learner_loads_and_answers_as_it_did(
    cls: type[Learner], log: Log, fitted: Callable[..., Learner], tmp_path: Path
) -> None:
    learner = fitted(cls, "duckdb")
    assert learner.fitted
    expected = output(learner, log)
    path = learner.save(tmp_path)
    assert path.exists()
    loaded = cls.load(tmp_path)
    assert loaded.fitted and type(loaded) is cls
    # the configuration it was fitted with, not the defaults (the folder records it)
    assert loaded.get_params() == learner.get_params()
    assert same(output(loaded, log), expected)
    assert learner.summary and loaded.summary


@pytest.mark.parametrize("cls", LEARNERS, ids=lambda c: c.name)
def test_the_same_seed_gives_the_same_output(
    cls: type[Learner],
    log: Log,
    fitted: Callable[..., Learner],
    recorded: dict[type[Learner], Recording],
) -> None:
    first = output(fitted(cls, "duckdb"), log)
    again = output(fitted(cls, "again", recorded[cls]), log)
    assert same(first, again)
    assert any(x is not None for x in first), f"{cls.__name__} answered nothing on the probes"


@pytest.mark.parametrize("cls", LEARNERS, ids=lambda c: c.name)
def test_the_output_does_not_depend_on_the_engine(
    cls: type[Learner],
    log: Log,
    fitted: Callable[..., Learner],
    recorded: dict[type[Learner], Recording],
    request: pytest.FixtureRequest,
) -> None:
    """Fitted on Spark, the learner answers as fitted on DuckDB. A learner that asked
    nothing of the engine it was given (its second fit, recorded) cannot depend on it."""
    fitted(cls, "again", recorded[cls])
    if recorded[cls].asked == 0:
        return
    spark: Engine = request.getfixturevalue("spark")
    assert same(output(fitted(cls, "spark", spark), log), output(fitted(cls, "duckdb"), log))


def test_the_learners_that_run_sql_ask_it_of_the_engine(
    fitted: Callable[..., Learner], recorded: dict[type[Learner], Recording]
) -> None:
    """The miner's chains and the online index's table are log-sized SQL: on the engine."""
    for cls in (MarkovMiner, OnlineLearner):
        fitted(cls, "again", recorded[cls])
        assert recorded[cls].asked > 0, cls.__name__


def test_the_probes_reach_every_rewriter(log: Log, fitted: Callable[..., Learner]) -> None:
    """The rewriters' checks compare something: each weighs some of the probes (and the
    offline table and the memory serve some; the online layer may rightly abstain on a log
    this small)."""
    for cls in (MarkovMiner, RestatementLearner, OnlineLearner):
        learner = fitted(cls, "duckdb")
        assert any(g is not None for g in output(learner, log)), cls.__name__
        if cls is not OnlineLearner:
            assert any(learner.rewrite(r) for r in log.requests), cls.__name__  # type: ignore[attr-defined]
    rephrase = fitted(RephraseLearner, "duckdb")
    assert isinstance(rephrase, RephraseLearner)
    scores = np.array([p for p, _ in rephrase.predict(log.pairs)])
    # the suite's two-layer model, trained in seconds, separates little; it reads its input
    assert scores.max() - scores.min() > 0.02
