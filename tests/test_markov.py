"""Offline rewrite mining: the chain's counts in SQL, its solution, and what it keeps."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from selflearn.assistant import Assistant
from selflearn.engine import DuckDBEngine
from selflearn.errors import DataFileError
from selflearn.evaluate.speech_errors import evaluate_speech_errors
from selflearn.logs import events_to_table
from selflearn.rewrite import RewriteRequest, RewriteTable, normalize_utterance
from selflearn.rewrite import markov as markov_module
from selflearn.rewrite.chains import NORMALIZE_SQL, Chains
from selflearn.rewrite.markov import MarkovConfig, MarkovMiner, absorb_success
from selflearn.rewrite.template import Template
from selflearn.signals import compute_signals
from tests.conftest import shared_file


def test_sql_normalisation_is_the_python_one() -> None:
    texts = [
        "Turn ON the  kitchen light!",
        "set it to 50%",
        "it's 21° in here",
        "what's the time, please?",
        "",
        "rock'n'roll radio",
    ]
    con = duckdb.connect()
    con.register("t", pa.table({"text": texts}))
    sql = NORMALIZE_SQL.format(col="text")
    got = [row[0] for row in con.sql(f"SELECT {sql} FROM t").fetchall()]
    assert got == [normalize_utterance(t) for t in texts]


def _chains(states: list[tuple[int, int, int, int]], edges: list[tuple[int, int, int]]) -> Chains:
    """states: (id, comp, successes, failures); edges: (src, dst, n)."""
    moved = {s: 0 for s, *_ in states}
    for src, _, n in edges:
        moved[src] += n
    table = pa.table(
        {
            "id": [s[0] for s in states],
            "comp": [s[1] for s in states],
            "scope": [""] * len(states),
            "text": [f"s{s[0]}" for s in states],
            "intent": [None] * len(states),
            "successes": [s[2] for s in states],
            "failures": [s[3] for s in states],
            "visits": [s[2] + s[3] + moved[s[0]] for s in states],
        }
    )
    edge_table = pa.table(
        {
            "src": [e[0] for e in edges],
            "dst": [e[1] for e in edges],
            "n": [e[2] for e in edges],
            "users": [1] * len(edges),
        }
    )
    return Chains(table, edge_table, edge_table, passes=1)


def test_absorption_matches_the_fundamental_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two components, listed by component; ids deliberately not in that order.
    states = [(3, 0, 0, 2), (0, 0, 3, 1), (1, 1, 1, 1), (2, 1, 0, 0), (4, 1, 5, 0)]
    edges = [(3, 0, 2), (0, 3, 1), (1, 2, 2), (2, 4, 3), (2, 1, 1)]
    chains = _chains(states, edges)
    # The same by hand: N = (I - Q)^-1, B = N R, on the dense matrices.
    ids = [s[0] for s in states]
    visits = chains.states.column("visits").to_pylist()
    q = np.zeros((5, 5))
    r = np.zeros(5)
    for row, (_, _, ok, _) in enumerate(states):
        r[row] = ok / visits[row]
    for src, dst, n in edges:
        q[ids.index(src), ids.index(dst)] = n / visits[ids.index(src)]
    expected = np.linalg.inv(np.eye(5) - q) @ r
    assert np.allclose(absorb_success(chains), expected)
    # One component per block or all in one block: the same answer.
    monkeypatch.setattr(markov_module, "BATCH_STATES", 1)
    assert np.allclose(absorb_success(chains), expected)


def _log(assistant: Assistant, script: list[tuple[str | None, str]]) -> pa.Table:
    """script: (user or None, utterance); one utterance every 8 s per user, users hours apart."""
    events = []
    clock: dict[str | None, float] = {}
    for i, (user, text) in enumerate(script):
        ts = clock.get(user, 1_000_000.0 + 7200.0 * len(clock))
        clock[user] = ts + 8.0
        turn = assistant.handle(
            text, device_id="satellite.kitchen", ts=ts, user_id=user, turn_id=f"t{i:04d}"
        )
        events.append(turn.event)
    return events_to_table(events)


def _mine(
    assistant: Assistant, script: list[tuple[str | None, str]], **config: object
) -> RewriteTable:
    turns = _log(assistant, script)
    signals = compute_signals(turns).table
    return MarkovMiner(MarkovConfig(**config)).mine(turns, signals).table  # type: ignore[arg-type]


def test_mining_keeps_what_many_users_fixed(assistant: Assistant) -> None:
    script = []
    for user in ("u1", "u2", "u3"):
        script += [(user, "kill the kitchen light"), (user, "turn off the kitchen light")]
    script += [("u4", "turn off the kitchen light")] * 3  # the target works on its own
    table = _mine(assistant, script, templates=False)
    found = table.rewrite(RewriteRequest("kill the kitchen light"))
    assert found is not None and found.target == "turn off the kitchen light"
    assert found.layer == "global" and found.score >= 0.7
    row = next(r for r in table.rows_ if r.source == "kill the kitchen light")
    assert row.support == 3 and row.source_score == 0.0
    assert table.rewrite(RewriteRequest("turn off the kitchen light")) is None


class _Scripts(DuckDBEngine):
    """The embedded engine, keeping each script and query it was asked to run."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def run(self, script: str) -> None:
        self.asked.append(script)
        super().run(script)

    def query(self, sql: str) -> pa.Table:
        self.asked.append(sql)
        return super().query(sql)


def test_the_six_chains_read_the_log_once_and_solve_on_the_engine(assistant: Assistant) -> None:
    script = []
    for user in ("u1", "u2", "u3"):
        script += [(user, "kill the kitchen light"), (user, "turn off the kitchen light")]
    turns = _log(assistant, script)
    signals = compute_signals(turns).table
    engine = _Scripts()
    result = MarkovMiner().mine(turns, signals, engine=engine)
    assert len(result.stats) == 6  # global and personal, three kinds of state each
    assert sum("FROM turns" in sql for sql in engine.asked) == 1
    assert sum("WITH RECURSIVE walk" in sql for sql in engine.asked) == 1
    # Only rewrite rows and counts come back: no query collects the states or transitions.
    assert not [sql for sql in engine.asked if "FROM chain_out ORDER BY" in sql]
    assert result.table.rewrite(RewriteRequest("kill the kitchen light")) is not None
    # The tables of a row per turn are dropped when the miner is done.
    tables = {row[0] for row in engine.connection.sql("SHOW TABLES").fetchall()}
    assert "chain_base" not in tables and "chain_steps" not in tables
    engine.close()


def test_one_users_habit_stays_theirs(assistant: Assistant) -> None:
    script = [("u1", "big light off"), ("u1", "turn off the ceiling light")] * 3
    script += [("u2", "turn off the ceiling light")] * 2
    table = _mine(assistant, script, templates=False)
    mine = table.rewrite(RewriteRequest("big light off", user_id="u1"))
    assert mine is not None and mine.layer == "personal"
    assert table.rewrite(RewriteRequest("big light off", user_id="u2")) is None
    assert table.rewrite(RewriteRequest("big light off")) is None


def test_an_unknown_speakers_habit_stays_with_their_device(assistant: Assistant) -> None:
    script: list[tuple[str | None, str]] = [
        (None, "big light off"),
        (None, "turn off the ceiling light"),
    ] * 3
    table = _mine(assistant, script, templates=False)
    here = table.rewrite(RewriteRequest("big light off", device_id="satellite.kitchen"))
    assert here is not None and here.layer == "personal"
    assert table.rewrite(RewriteRequest("big light off", device_id="satellite.bedroom")) is None
    assert table.rewrite(RewriteRequest("big light off", user_id="u9")) is None


def test_sources_that_work_or_split_are_left_alone(assistant: Assistant) -> None:
    script = []
    # Users reach two different reformulations from one source: not ours to guess.
    for user, target in (("u1", "kitchen"), ("u2", "living room"), ("u3", "kitchen")):
        script += [(user, "lights off please now"), (user, f"turn off the lights in the {target}")]
    for user in ("u4", "u5"):
        script += [(user, "lights off please now"), (user, "turn off the lights in the bedroom")]
    table = _mine(assistant, script, templates=False, personal=False)
    assert table.rewrite(RewriteRequest("lights off please now")) is None


def test_templates_generalise_over_names(assistant: Assistant) -> None:
    script = []
    for user, name in (("u1", "coffee maker"), ("u2", "desk lamp"), ("u3", "coffee maker")):
        script += [(user, f"kill the {name}"), (user, f"turn off the {name}")]
    table = _mine(assistant, script, personal=False)
    sources = {r.source for r in table.rows_}
    assert "kill the {name}" in sources
    # A name nobody used with it before:
    found = table.rewrite(RewriteRequest("kill the porch light"))
    assert found is not None and found.target == "turn off the porch light"
    assert found.method == "markov-template"


def test_template_rows_are_checked() -> None:
    with pytest.raises(DataFileError, match="same placeholders"):
        RewriteTable.from_rows(
            [
                {
                    "source": "kill the {name}",
                    "rewrite": "turn off the lights",
                    "score": 1,
                    "support": 3,
                }
            ]
        )
    with pytest.raises(DataFileError, match="at least one word"):
        RewriteTable.from_rows(
            [{"source": "{name}", "rewrite": "turn on the {name}", "score": 1, "support": 3}]
        )
    with pytest.raises(DataFileError, match="unknown placeholder"):
        RewriteTable.from_rows(
            [{"source": "kill {x}", "rewrite": "turn off {x}", "score": 1, "support": 3}]
        )
    template = Template.parse("{name} off in the {area}", "turn off the {name} in the {area}")
    assert template.apply("lamp off in the living room") == "turn off the lamp in the living room"
    # Captures are names (at most four words), not whole sentences.
    assert template.apply("please could you now turn the lamp off in the hall") is None


def test_real_speech_errors_are_rewritten_precisely() -> None:
    result = evaluate_speech_errors(shared_file("slurp/asr_pairs_dev.jsonl"))
    print("\nSLURP held-out recordings:", {k: v for k, v in result.items() if k != "examples"})
    assert result["held_out_recordings"] > 1000 and result["mining_recordings"] > 1000
    fixed = result.get("failing_rewritten_to_gold_intent", 0)
    assert fixed >= 10
    assert fixed >= 0.9 * result.get("failing_rewritten", 0)
    assert result.get("working_rewritten_to_wrong_intent", 0) <= 0.01 * result["held_out_working"]


def test_a_chain_that_never_ends_is_solved_not_raised() -> None:
    # One state whose every visit restates itself: (I - Q) is singular.
    chains = _chains([(0, 0, 0, 0), (1, 1, 3, 1)], [(0, 0, 2)])
    assert np.allclose(absorb_success(chains), [0.0, 0.75])
