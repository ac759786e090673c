"""Offline rewrite mining with an absorbing Markov chain (DESIGN §2 item 4).

Rephrase chains across all users (:mod:`selflearn.rewrite.chains`) give transition counts
between utterance states and into two absorbing states, success and failure. Per connected
component, with Q the transient-to-transient and R the transient-to-absorbing transition
probabilities, the absorption probabilities are B = N·R with N = (I − Q)⁻¹; this solves
(I − Q)·b = r for the success column with a sparse LU factorisation. For each source that
fails on its own, the reformulation users reached from it that most probably ends in success
becomes its rewrite — kept only with enough support (transitions and distinct users) and a
success probability clearly above the source's own. The same mining over each user's own
chain gives personal rewrites.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pyarrow as pa
from scipy.sparse import csr_matrix, identity
from scipy.sparse.linalg import splu

from selflearn.engine import Engine, open_engine
from selflearn.errors import ConfigError
from selflearn.learner import Learner, Progress, signals_of
from selflearn.rewrite.base import Rewrite, RewriteRequest
from selflearn.rewrite.chains import (
    STATE_KINDS,
    ChainConfig,
    Chains,
    count_chains,
    prepare_chains,
)
from selflearn.rewrite.guards import Guard, load_guard
from selflearn.rewrite.table import REWRITES_FILE, RewriteTable

__all__ = ["MarkovConfig", "MarkovMiner", "MiningResult", "absorb_success"]

METHODS = {"exact": "markov", "slots": "markov-template", "said": "markov-affix"}
BATCH_STATES = 20_000  # components labelled in one run of this many ids: one system
ABSORBED = pa.schema([("id", pa.int64()), ("success_p", pa.float64())])
# An exact source's own success rate: how often it worked when said.
_EXACT_RATES = """
    SELECT t.scope, t.text, t.worked / t.said AS own, t.said AS seen
    FROM chain_texts t SEMI JOIN chain_out s ON s.scope = t.scope AND s.text = t.text
"""
# A template source's own success rate: how often the utterances it matches worked. LIKE
# (each placeholder a wildcard) matches a superset of what the template will, so the rate
# errs towards "it already works" and the rewrite towards not being kept.
_TEMPLATE_RATES = """
    SELECT s.scope, s.text, sum(t.worked) / sum(t.said) AS own, sum(t.said) AS seen
    FROM (
        SELECT DISTINCT scope, text,
            regexp_replace(text, '\\{[a-z]+\\}', '%', 'g') AS pattern
        FROM chain_out
        WHERE contains(text, '{')
    ) s
    JOIN chain_texts t ON t.scope = s.scope AND t.text LIKE s.pattern
    GROUP BY s.scope, s.text
"""
# What a global rewrite may not add: a kind of media in a template ("play the album
# {name}" fits one title, not all), and, if configured, a place the user did not say
# (which room "the lamp" is in differs from home to home, and with where the user stands).
_NO_ADDED_PLACE = """NOT EXISTS (
    SELECT 1 FROM chain_areas a
    WHERE a.kind IN ({kinds})
      AND contains(' ' || r.rewrite || ' ', ' ' || a.area || ' ')
      AND NOT contains(' ' || r.source || ' ', ' ' || a.area || ' ')
)"""
# A template pair must carry the same placeholders over and keep a word of its own.
_TEMPLATE_FILTER = (
    "list_sort(regexp_extract_all(r.source, '\\{[a-z]+\\}')) = "
    "list_sort(regexp_extract_all(r.rewrite, '\\{[a-z]+\\}')) "
    "AND array_length(regexp_extract_all(r.source, '\\{[a-z]+\\}')) > 0 "
    "AND regexp_matches(regexp_replace(r.source, '\\{[a-z]+\\}', '', 'g'), '[a-z0-9]')"
)

# A source and a reformulation are texts: the intents the assistant read in them are
# summed over (their probabilities weighted by how often each was reached).
_SELECT_SQL = """
WITH state_b AS (
    SELECT s.*, b.success_p, s.successes / s.visits AS direct
    FROM chain_out s JOIN absorbed b USING (id)
), source_text AS (
    {source_rates}
), pairs AS (
    SELECT
        src.scope, src.text AS source, dst.text AS rewrite,
        -- the intent reached most often; a tie goes to the later name (the same on any engine)
        arg_max(dst.intent, struct_pack(n := r.n, intent := coalesce(dst.intent, ''))) AS intent,
        sum(r.n) AS support,
        max(r.users) AS users,
        min(r.hops) AS hops,
        sum(r.n * dst.success_p) / sum(r.n) AS score,
        sum(r.n * dst.direct) / sum(r.n) AS rewrite_direct
    FROM chain_reach r
    JOIN state_b src ON src.id = r.src
    JOIN state_b dst ON dst.id = r.dst
    WHERE src.text <> dst.text
    GROUP BY src.scope, src.text, dst.text
), reformulations AS (
    SELECT *,
        sum(CASE WHEN rewrite_direct >= {min_direct} THEN support ELSE 0 END)
            OVER (PARTITION BY scope, source) AS working
    FROM pairs
), candidates AS (
    SELECT
        r.* EXCLUDE (working), r.support / r.working AS share,
        st.own AS source_score, st.seen AS source_seen
    FROM reformulations r
    JOIN source_text st ON st.scope = r.scope AND st.text = r.source
    WHERE r.support >= {min_support}
      AND r.support >= {min_share} * r.working
      AND r.users >= {min_users}
      AND r.score >= {min_score}
      AND r.rewrite_direct >= {min_direct}
      AND r.score - st.own >= {min_margin}
      AND st.own <= {max_own}
      AND {template_filter}
      AND {place_filter}
)
SELECT * FROM candidates
QUALIFY row_number() OVER (
    PARTITION BY scope, source ORDER BY score DESC, support DESC, rewrite
) = 1
ORDER BY scope, source
"""


@dataclass(frozen=True)
class MarkovConfig:
    """Thresholds that trade coverage for precision (a wrong rewrite is worse than none).

    ``min_support``/``min_users``: transitions from source to reformulation, and distinct
    users making them, for the global layer; ``personal_support`` for a user's own chain.
    ``min_score``: the reformulation's probability of ending in success; ``min_direct``:
    its own success rate when said; ``min_margin``: how far its score must exceed the
    source's own success rate; ``min_share``: its share of all the working reformulations
    users reached from the source (a source that works out differently for different
    users — the Wilkerson in Nevada or the one in California — is theirs to teach, not
    ours to guess); ``max_template_source``: how often the utterances a template matches
    may already work (a template that would also rewrite working requests is dropped);
    ``global_may_add_place``: whether a global row may add a room the user did not say
    (on held-out days forbidding it cut losses from 37 to 6 of ~2,000 rewrites but also
    coverage from 33 % to 24 % of defects, and left the wrong-action rate as it was).
    """

    min_support: int = 2
    min_users: int = 2
    personal_support: int = 2
    min_score: float = 0.7
    min_direct: float = 0.6
    min_margin: float = 0.4
    min_share: float = 0.6
    max_template_source: float = 0.25
    global_may_add_place: bool = True
    personal: bool = True
    templates: bool = True
    chains: ChainConfig = field(default_factory=ChainConfig)

    def __post_init__(self) -> None:
        for name in ("min_support", "min_users", "personal_support"):
            if getattr(self, name) < 1:
                raise ConfigError("MarkovConfig", name, getattr(self, name), "an int >= 1")
        for name in ("min_score", "min_direct", "min_margin", "min_share", "max_template_source"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError("MarkovConfig", name, getattr(self, name), "in [0, 1]")


def absorb_success(chains: Chains) -> np.ndarray:
    """P(ending in success) from each state (row of ``chains.states``, ordered by
    component), solved component by component."""
    return _solve(chains.states, chains.edges)


def _solve(states: pa.Table, edges: pa.Table) -> np.ndarray:
    """The absorption probabilities of ``states`` (id, comp, visits, successes; ordered by
    comp), over their transitions (``edges``: src, dst, n, between these states only).

    Components never share a transition, so stacking several into one block-diagonal
    system and factorising it solves each exactly as alone; batching only saves overhead.
    A batch is every component whose label (its smallest state id) falls in one run of
    :data:`BATCH_STATES` ids: which states are solved together depends on the states alone,
    never on how an engine split them into groups, so every engine gets the same floats.
    """
    count = states.num_rows
    if count == 0:
        return np.zeros(0)
    ids = states.column("id").to_numpy()
    comps = states.column("comp").to_numpy()
    visits = states.column("visits").to_numpy().astype(float)
    successes = states.column("successes").to_numpy().astype(float)
    order = np.argsort(ids, kind="stable")
    position = order[np.searchsorted(ids[order], edges.column("src").to_numpy())]
    target = order[np.searchsorted(ids[order], edges.column("dst").to_numpy())]
    n = edges.column("n").to_numpy().astype(float)
    safe = np.maximum(visits, 1.0)
    q = csr_matrix((n / safe[position], (position, target)), shape=(count, count))
    system = (identity(count, format="csr") - q).tocsr()
    r = successes / safe
    solved = np.zeros(count)
    batches = comps // BATCH_STATES
    starts = np.flatnonzero(np.r_[True, batches[1:] != batches[:-1]])
    for lo, hi in zip(starts, np.r_[starts[1:], count], strict=True):
        block = system[lo:hi, lo:hi].tocsc()
        try:
            solved[lo:hi] = splu(block).solve(r[lo:hi])
        except RuntimeError:
            # A set of states that never reaches absorption in the counts: give every step
            # a vanishing chance of ending in failure, which makes the system regular.
            leaky = identity(hi - lo, format="csc") - (identity(hi - lo) - block) * (1 - 1e-9)
            solved[lo:hi] = splu(leaky.tocsc()).solve(r[lo:hi])
    return np.clip(solved, 0.0, 1.0)


def _absorbed(states: pa.Table, edges: pa.Table) -> pa.Table:
    """:data:`ABSORBED` rows for some whole components (``Engine.cogroup`` over their
    states and transitions): where the solve runs on the engine (Spark's executors)."""
    states = states.sort_by([("comp", "ascending"), ("id", "ascending")])
    return pa.table(
        {"id": states.column("id"), "success_p": _solve(states, edges)}, schema=ABSORBED
    )


@dataclass
class MiningResult:
    """The rewrite table and what it took: counts per layer, timings, every candidate kept."""

    table: RewriteTable
    stats: dict[str, Any]
    rows: list[dict[str, Any]]


class MarkovMiner(Learner):
    """Mines the global and personal rewrite rows from a turn log and its signals: the
    offline rewrite table (``fit``, then ``rewrite``; ``save`` writes ``rewrites.parquet``)."""

    name: ClassVar[str] = "rewrites"
    learned: ClassVar[str] = "table_"

    def __init__(self, config: MarkovConfig | None = None) -> None:
        self.config = config or MarkovConfig()
        self.table_: RewriteTable | None = None
        self.result_: MiningResult | None = None  # what fit found (not kept by save)

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

        signals = signals_of(turns, signals, engine)
        say = progress or (lambda _s: None)
        self.result_ = self.mine(
            turns, signals, progress=lambda s: say(f"mining: {s}"), engine=engine
        )
        self.table_ = self.result_.table
        self.table_.guard = guard or guard_vocabulary(turns)
        return self

    def rewrite(self, request: RewriteRequest) -> Rewrite | None:
        return self._require(self.table_).rewrite(request)

    def save(self, folder: Path) -> Path:
        table = self._require(self.table_)
        path = table.save(folder / REWRITES_FILE)
        (table.guard or Guard()).save(folder)
        self._save_params(folder)
        return path

    @classmethod
    def load(cls, folder: Path) -> Self:
        miner = cls(**cls._saved_params(folder))
        miner.table_ = RewriteTable.load(folder / REWRITES_FILE)
        miner.table_.guard = load_guard(folder)
        return miner

    @property
    def summary(self) -> dict[str, Any]:
        rows = self._require(self.table_).rows_
        return {
            "global": sum(r.user_id is None for r in rows),
            "personal": sum(r.user_id is not None for r in rows),
            **({"chains": self.result_.stats} if self.result_ is not None else {}),
            "config": asdict(self.config),
        }

    def _layer(
        self,
        con: Engine,
        personal: bool,
        states: str,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        config = self.config
        templates = states != "exact"
        start = time.perf_counter()
        passes = count_chains(con, personal=personal, states=states, config=config.chains)
        counted = time.perf_counter()
        # The solve runs where the engine runs, a batch of whole components at a time.
        batch = f"CAST(floor(l.comp / {int(BATCH_STATES)}) AS BIGINT) AS batch"
        con.create(
            "absorb_states", f"SELECT l.id, l.comp, l.visits, l.successes, {batch} FROM chain_out l"
        )
        con.create(
            "absorb_edges",
            f"SELECT e.src, e.dst, e.n, {batch} FROM chain_edges e "
            "JOIN chain_labels l ON l.id = e.src",
        )
        con.register(
            "absorbed",
            con.cogroup(
                "batch", "absorb_states", "absorb_edges", _absorbed, ABSORBED, order=["id"]
            ),
        )
        con.drop("absorb_states")
        con.drop("absorb_edges")
        solved = time.perf_counter()
        sql = _SELECT_SQL.format(
            min_support=int(config.personal_support if personal else config.min_support),
            min_users=1 if personal else int(config.min_users),
            min_score=float(config.min_score),
            min_direct=float(config.min_direct),
            min_margin=float(config.min_margin),
            min_share=float(config.min_share),
            max_own=float(config.max_template_source if templates else 1.0),
            template_filter=_TEMPLATE_FILTER if templates else "TRUE",
            # An exact title's media class is the title's own; a template's is a guess.
            place_filter="TRUE"
            if personal
            else _NO_ADDED_PLACE.format(kinds=self._added_kinds(templates)),
            source_rates=_TEMPLATE_RATES if templates else _EXACT_RATES,
        )
        rows = con.query(sql).to_pylist()
        for row in rows:
            row["layer"] = "personal" if personal else "global"
            row["user_id"] = row.pop("scope") if personal else None
            if not personal:
                row.pop("scope")
            row["method"] = METHODS[states]
        sizes = con.query(
            "SELECT count(*) AS components, coalesce(sum(size), 0) AS states, "
            "coalesce(max(size), 0) AS largest "
            "FROM (SELECT comp, count(*) AS size FROM chain_out GROUP BY comp)"
        ).to_pylist()[0]
        stats = {
            "states": int(sizes["states"]),
            "transitions": int(con.scalar("SELECT count(*) FROM chain_edges") or 0),
            "components": int(sizes["components"]),
            "largest_component": int(sizes["largest"]),
            "label_passes": passes,
            "rewrites": len(rows),
            "seconds_sql": round(counted - start, 3),
            "seconds_solve": round(solved - counted, 3),
        }
        return rows, stats

    def _added_kinds(self, templates: bool) -> str:
        """What a global row may not add: media kinds (templates), places (if configured)."""
        kinds = ["'none'"]
        if templates:
            kinds.append("'media'")
        if not self.config.global_may_add_place:
            kinds.append("'place'")
        return ", ".join(kinds)

    def mine(
        self,
        turns: pa.Table,
        signals: pa.Table,
        progress: Callable[[str], None] | None = None,
        *,
        engine: Engine | None = None,
    ) -> MiningResult:
        """Global rows from everyone's chain; personal rows where a user's own chain differs.
        The chains' SQL runs on ``engine`` (an embedded DuckDB by default), and so does the
        absorption solve, a batch of whole components at a time (``Engine.cogroup``: in
        Spark's executors); only the rewrite rows come back here."""
        con = engine or open_engine()
        rows: list[dict[str, Any]] = []
        stats: dict[str, Any] = {}
        layers = [("global", False), ("personal", True)]
        try:
            if progress:
                progress("reading the turns")
            prepare_chains(con, turns, signals, self.config.chains)
            for name, personal in layers[: 2 if self.config.personal else 1]:
                for states in STATE_KINDS if self.config.templates else ("exact",):
                    label = f"{name} {states}"
                    if progress:
                        progress(f"{label} chain")
                    mined, stats[label] = self._layer(con, personal, states)
                    if personal:
                        # A user's own row only where it differs from what everyone gets.
                        known = {(r["source"], r["rewrite"]) for r in rows if r["user_id"] is None}
                        mined = [r for r in mined if (r["source"], r["rewrite"]) not in known]
                        stats[label]["rewrites"] = len(mined)
                    rows.extend(mined)
        finally:
            if engine is None:
                con.close()
            else:  # those with a row a turn; the states' and transitions' stay, small
                for name in ("base", "end", "meaning", "raw", "meant", "turns", "steps"):
                    con.drop(f"chain_{name}")
        table = RewriteTable.from_rows(rows)
        return MiningResult(table, stats, rows)
