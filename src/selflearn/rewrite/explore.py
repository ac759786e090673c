"""Exploring close interpretations, and learning which one a context wants (DESIGN §2 item 5).

The rewriter serves only interpretations it is sure of, so it only learns from what
someone already tried. Where it holds two interpretations of a request close — a rewrite
just under its threshold beside the words as heard, two rewrites with near scores — the
exploring rewriter sometimes serves the one it would not, where being wrong is cheap to
undo, and learns from what the user did next (the signals' defect score: a restatement, a
"no", the light switched back by hand, the song skipped).

* **The learner** is Vowpal Wabbit's contextual bandit over action-dependent features
  (``--cb_explore_adf``): the context is who spoke, on what kind of device, in which room,
  when, and what was on there; each option is its words, where it came from and its score.
  It is trained from the log's logged choices, with the defect score as cost and the logged
  propensity (inverse-propensity weighting inside VW).
* **The policy** serves what VW prefers only where this speaker already had it served and
  it worked (``min_evidence`` times); otherwise what the rewriter would serve. It explores
  with probability ``epsilon`` (VW's epsilon-greedy shape), within a budget per speaker and
  day and per domain and day, and never where an option has effects that are costly or
  unsafe to undo (locks, doors, covers, alarms, timers, climate set points) or unknown.
* **Every choice is logged** in the turn event (``choice``: the options, the one served,
  the one the policy preferred, the propensity), explored or not, so a policy can be judged
  off-policy from the log (:mod:`selflearn.evaluate.off_policy`).

It never raises into the assistant: an error lets the rewriter's own answer (or the words
as heard) through, and is counted.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

import pyarrow as pa

from selflearn.engine import Engine
from selflearn.errors import ConfigError, DataFileError
from selflearn.learner import Learner, Progress, signals_of
from selflearn.logs.arrow import context_dict
from selflearn.rewrite.base import Considered, Rewrite, RewriteRequest, normalize_utterance
from selflearn.rewrite.index import RetrievalIndex, request_owner, worked_row

__all__ = [
    "EXPLORE_DIR",
    "ExplorationLearner",
    "ExplorationPolicy",
    "ExploreConfig",
    "ExploringRewriter",
    "Option",
    "logged_choices",
    "option_domain",
]

log = logging.getLogger(__name__)
EXPLORE_DIR = "explore"
_MODEL = "policy.vw"
_META = "policy.json"
HEARD = "heard"  # the layer of the option that is the words as recognised
# Intents whose effects are cheap to undo, by the domain their budget counts in: reading
# something out changes nothing; a light, a switch, a fan or a player is put back by hand in
# a second. Anything else (locks, doors, covers, alarms, timers, climate set points, …) is
# never explored, nor is an interpretation whose intent is unknown.
_QUERY_INTENTS = frozenset(
    {
        "HassGetState",
        "HassGetWeather",
        "HassGetCurrentTime",
        "HassGetCurrentDate",
        "HassClimateGetTemperature",
        "HassTimerStatus",
        "HassMediaSearch",
    }
)
_CHEAP_DOMAINS = frozenset({"light", "switch", "fan", "media_player"})
_SWITCH_INTENTS = frozenset({"HassTurnOn", "HassTurnOff", "HassToggle", "HassLightSet"})
_MEDIA_INTENTS = frozenset(
    {
        "HassMediaSearchAndPlay",
        "HassMediaPause",
        "HassMediaUnpause",
        "HassMediaNext",
        "HassMediaPrevious",
        "HassSetVolume",
        "HassSetVolumeRelative",
    }
)
_TOKEN = re.compile(r"[^a-z0-9_]+")


@dataclass(frozen=True)
class ExploreConfig:
    """How much to explore, and where.

    ``epsilon``: the share of explorable requests served an option the policy does not
    prefer. ``margin``: how close a withheld rewrite's score must come to its threshold (or
    to the served one's score) to count as a close interpretation. ``per_user_day`` and
    ``domain_share``: the budget — at most that many explored requests per speaker and day,
    and at most that share of a domain's requests per day (counted from the first request
    of the day). ``min_evidence`` and ``min_owners``: what must be behind an option before
    the policy serves it over the rewriter's own choice — it worked every time this speaker
    had it served for these words (that many times), or for that many people. ``seed`` makes the
    draws reproducible (each draw is seeded by the request, not by the order of requests).
    """

    epsilon: float = 0.2
    margin: float = 0.25
    max_options: int = 3
    per_user_day: int = 3
    domain_share: float = 0.1
    min_evidence: int = 1
    min_owners: int = 3
    worked_below: float = 0.5  # a served option worked when its turn's defect score is below
    passes: int = 2
    seed: int = 0
    explore: bool = True  # False: the learned policy without exploring (propensity 1)

    def __post_init__(self) -> None:
        for name in ("epsilon", "margin", "domain_share", "worked_below"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError("ExploreConfig", name, value, "a float in [0, 1]")
        least = {"max_options": 2, "passes": 1, "per_user_day": 0, "min_evidence": 0,
                 "min_owners": 0}  # fmt: skip
        for name, low in least.items():
            if getattr(self, name) < low:
                raise ConfigError("ExploreConfig", name, getattr(self, name), f"an int >= {low}")


@dataclass(frozen=True)
class Option:
    """One interpretation: the words acted on, where they came from, the layer's score."""

    text: str
    layer: str
    score: float | None = None

    def as_event(self) -> dict[str, Any]:
        return {"text": self.text, "layer": self.layer, "score": self.score}


def option_domain(index: RetrievalIndex | None, owner: str | None, text: str) -> str | None:
    """The budget domain of acting on ``text`` where that is cheap to undo (``query``,
    ``light``, ``switch``, ``fan``, ``media_player``), from what it did when it worked
    (the index's intent and devices); None where it is costly, unsafe or unknown."""
    if index is None:
        return None
    row = worked_row(index, owner, text)
    if row is None:
        return None
    intent = index.intent[row]
    if intent in _QUERY_INTENTS:
        return "query"
    domains = {e.split(".", 1)[0] for e in index.entities(row)}
    if intent in _MEDIA_INTENTS and domains <= {"media_player"}:
        return "media_player"
    if intent in _SWITCH_INTENTS and domains and domains <= _CHEAP_DOMAINS:
        return sorted(domains)[0] if len(domains) == 1 else "light"
    return None


def _tok(value: Any) -> str:
    return _TOKEN.sub("_", str(value).lower()).strip("_") or "none"


def _context_features(request: RewriteRequest) -> str:
    """The shared (context) line of a VW example."""
    owner = request_owner(request.user_id, request.device_id) or "anyone"
    context = request.context or {}
    hour = str(context.get("local_time") or "")[:2]
    bucket = f"h{int(hour) // 3}" if hour.isdigit() else "hnone"
    weekday = context.get("weekday")
    states = context.get("device_states") or {}
    active = sorted(
        f"on_{_tok(entity)}"
        for entity, state in states.items()
        if str(state) in ("on", "playing", "heat", "open", "unlocked")
    )[:8]
    words = " ".join(_tok(w) for w in normalize_utterance(request.text).split()[:12])
    return (
        f"shared |u o_{_tok(owner)} |c t_{_tok(request.device_type or 'none')} "
        f"a_{_tok(request.area or context.get('area') or 'none')} {bucket} "
        f"w{int(weekday) >= 5 if isinstance(weekday, int) else 'none'} {' '.join(active)} "
        f"|s {words}"
    )


def _option_features(option: Option, heard: str, picked: bool) -> str:
    score = option.score if option.score is not None else 0.0
    words = normalize_utterance(option.text).split()
    said = set(heard.split())
    added = [w for w in words if w not in said][:8]
    return (
        f"|a l_{_tok(option.layer)} s{int(score * 5)} {'as_heard' if option.text == heard else 'changed'} "
        f"{'rewriter_pick' if picked else 'other'} "
        f"|w {' '.join(_tok(w) for w in words[:12])} "
        f"|x {' '.join('plus_' + _tok(w) for w in added) or 'same_words'}"
    )


def vw_example(
    request: RewriteRequest,
    options: Sequence[Option],
    default: int,
    label: tuple[int, float, float] | None,
) -> str:
    """The VW multi-line example of a request and its options (``default``: the one the
    rewriter alone serves); ``label``: (chosen, cost, propensity) where the outcome is
    known."""
    heard = normalize_utterance(request.text)
    lines = [_context_features(request)]
    for i, option in enumerate(options):
        prefix = ""
        if label is not None and label[0] == i:
            prefix = f"0:{label[1]:.4f}:{label[2]:.4f} "
        lines.append(prefix + _option_features(option, heard, i == default))
    return "\n".join(lines)


class ExplorationPolicy:
    """A VW contextual-bandit model and the evidence behind it: which options each speaker
    had served and found working."""

    ARGS: ClassVar[str] = (
        "--cb_explore_adf --quiet --cb_type ips --noconstant "
        "--interactions ua --interactions ca --interactions ux --interactions cx "
        "--interactions sx --interactions uw"
    )

    def __init__(
        self,
        config: ExploreConfig | None = None,
        *,
        model: Path | None = None,
        evidence: dict[str, tuple[int, int]] | None = None,
        version: str = "none",
        trained_on: int = 0,
    ) -> None:
        import vowpalwabbit

        self.config = config or ExploreConfig()
        args = f"{self.ARGS} --epsilon {self.config.epsilon} --random_seed {self.config.seed}"
        if model is not None:
            args = f"--quiet -i {model}"
        self._vw = vowpalwabbit.Workspace(args)
        # (worked, failed) per speaker, heard words and option; (people it worked for, 0)
        # per heard words and option
        self.evidence: dict[str, tuple[int, int]] = dict(evidence or {})
        self.version = version
        self.trained_on = trained_on

    # -- pickling (worker processes): the model travels as its saved bytes ----------

    def __getstate__(self) -> dict[str, Any]:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / _MODEL
            self._vw.save(str(path))
            model = path.read_bytes()
        return {**{k: v for k, v in self.__dict__.items() if k != "_vw"}, "_model": model}

    def __setstate__(self, state: dict[str, Any]) -> None:
        import tempfile

        import vowpalwabbit

        model = state.pop("_model")
        self.__dict__.update(state)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / _MODEL
            path.write_bytes(model)
            self._vw = vowpalwabbit.Workspace(f"--quiet -i {path}")

    @staticmethod
    def evidence_key(owner: str | None, heard: str, option: str) -> str:
        return f"{owner or '*'}\t{heard}\t{option}"

    def trusted(self, owner: str | None, heard: str, option: str) -> bool:
        """Whether serving ``option`` for ``heard`` has enough behind it for ``owner``: it
        worked for them every time it was served (at least ``min_evidence`` times, or once
        where ``min_evidence`` allows one), or it worked for ``min_owners`` people."""
        worked, failed = self.evidence.get(self.evidence_key(owner, heard, option), (0, 0))
        if worked >= max(self.config.min_evidence, 1) and failed == 0:
            return True
        if worked >= self.config.min_evidence + 1 and worked >= 4 * failed:
            return True
        owners, _ = self.evidence.get(self.evidence_key(None, heard, option), (0, 0))
        return owners >= self.config.min_owners

    def preferred(self, request: RewriteRequest, options: Sequence[Option], default: int) -> int:
        """The index VW's model prefers (ties: the first)."""
        pmf = self._vw.predict(vw_example(request, options, default, None))
        return max(range(len(options)), key=lambda i: (pmf[i], -i))

    def learn(self, examples: Iterable[str]) -> None:
        for example in examples:
            self._vw.learn(example)

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        self._vw.save(str(folder / _MODEL))
        meta = {
            "config": asdict(self.config),
            "evidence": self.evidence,
            "version": self.version,
            "trained_on": self.trained_on,
        }
        (folder / _META).write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: Path, config: ExploreConfig | None = None) -> ExplorationPolicy:
        """The policy ``save`` wrote; ``config`` overrides how it explores (not what it
        learned)."""
        meta_path, model = folder / _META, folder / _MODEL
        if not meta_path.is_file() or not model.is_file():
            raise DataFileError(f"{folder}: no exploration policy (run selflearn learn)")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            saved = ExploreConfig(**meta["config"])
        except (ValueError, KeyError, TypeError) as exc:
            raise DataFileError(f"{meta_path}: not an exploration policy ({exc})") from None
        return cls(
            config or saved,
            model=model,
            evidence={str(k): (int(v[0]), int(v[1])) for k, v in meta.get("evidence", {}).items()},
            version=str(meta.get("version", "none")),
            trained_on=int(meta.get("trained_on", 0)),
        )


@dataclass
class _Budget:
    """Explorations spent today, per speaker and per domain; requests seen per domain."""

    day: int = -1
    users: Counter[str] = field(default_factory=Counter)
    explored: Counter[str] = field(default_factory=Counter)
    seen: Counter[str] = field(default_factory=Counter)

    def roll(self, day: int) -> None:
        if day != self.day:
            self.day, self.users, self.explored, self.seen = day, Counter(), Counter(), Counter()


def _closeness(considered: Considered, best: float | None, margin: float) -> bool:
    """Whether a layer's answer is an interpretation worth holding close: served, or
    withheld for its score alone and within ``margin`` of its threshold or of the best."""
    if considered.withheld is None:
        return True
    reason = considered.withheld
    if "guard" in reason or "support" in reason:
        return False  # contradicts what the request says, or has too little behind it
    near = considered.score >= considered.threshold - margin
    return near or (best is not None and considered.score >= best - margin)


class ExploringRewriter:
    """A rewriter (anything with ``consider``, e.g. :class:`~selflearn.rewrite.Rewriter`)
    with a learned choice among close interpretations, exploring within a budget."""

    def __init__(
        self,
        rewriter: Any,
        policy: ExplorationPolicy | None = None,
        config: ExploreConfig | None = None,
        *,
        index: RetrievalIndex | None = None,
        budget_s: float | None = None,
    ) -> None:
        self.rewriter = rewriter
        self.config = config or (policy.config if policy is not None else ExploreConfig())
        self.policy = policy or ExplorationPolicy(self.config)
        online = getattr(rewriter, "online", None)
        self.index = index if index is not None else getattr(online, "index", None)
        self.budget_s = budget_s if budget_s is not None else getattr(rewriter, "budget_s", 0.03)
        self.metrics: Counter[str] = Counter()
        self._budget = _Budget()

    @classmethod
    def load(
        cls, rewriter: Any, artefacts: Path | str, config: ExploreConfig | None = None
    ) -> ExploringRewriter:
        """Over ``rewriter``, with the policy ``selflearn learn`` left in ``artefacts``
        (a fresh one, preferring the rewriter's own choices, where there is none yet)."""
        folder = Path(artefacts) / EXPLORE_DIR
        policy = (
            ExplorationPolicy.load(folder, config)
            if (folder / _META).is_file()
            else ExplorationPolicy(config)
        )
        return cls(rewriter, policy, config or policy.config)

    def __getstate__(self) -> dict[str, Any]:
        # the index travels inside the rewriter (a loaded one pickles as its folder)
        state = self.__dict__.copy()
        if state["index"] is getattr(getattr(self.rewriter, "online", None), "index", None):
            state["index"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self.index is None:
            self.index = getattr(getattr(self.rewriter, "online", None), "index", None)

    @property
    def fail_opens(self) -> int:
        return (
            self.metrics["fail_open:error"]
            + self.metrics["fail_open:timeout"]
            + int(getattr(self.rewriter, "fail_opens", 0) or 0)
        )

    def to_encode(self, request: RewriteRequest) -> str | None:
        """The words the wrapped rewriter would encode (its other readings reuse them)."""
        to_encode = getattr(self.rewriter, "to_encode", None)
        return to_encode(request) if to_encode is not None else None

    def options(self, request: RewriteRequest) -> tuple[list[Option], int, list[str | None]]:
        """The close interpretations of ``request`` (the words as heard first), the index of
        the one the rewriter serves, and each one's budget domain (None: not explorable)."""
        heard = normalize_utterance(request.text)
        considered = self.rewriter.consider(request)
        served = next((c for c in considered if c.withheld is None), None)
        best = served.score if served is not None else None
        options = [Option(heard, HEARD, None)]
        default = 0  # the rewriter's own pick: the words as heard, or what it serves
        if served is not None and normalize_utterance(served.target) != heard:
            target = normalize_utterance(served.target)
            options.append(Option(target, served.layer, round(float(served.score), 4)))
            default = 1
        for c in considered:
            target = normalize_utterance(c.target)
            if (
                target
                and all(o.text != target for o in options)
                and _closeness(c, best, self.config.margin)
            ):
                options.append(Option(target, c.layer, round(float(c.score), 4)))
            if len(options) >= self.config.max_options:
                break
        owner = request_owner(request.user_id, request.device_id)
        domains = [option_domain(self.index, owner, o.text) for o in options]
        for c in self._alternatives(request, [o.text for o in options]):
            target = normalize_utterance(c.target)
            # a reading never served for these words is tried only where a wrong one
            # changes nothing: it is read out, not done
            if option_domain(self.index, owner, target) == "query":
                options.append(Option(target, c.layer, round(float(c.score), 4)))
                domains.append("query")
        return options, default, domains

    def _alternatives(self, request: RewriteRequest, taken: list[str]) -> list[Considered]:
        """The online layer's other readings of the request (other towns, other devices of
        the same name) while there is room among the options."""
        room = self.config.max_options - len(taken)
        alternatives = getattr(getattr(self.rewriter, "online", None), "alternatives", None)
        if room < 1 or alternatives is None:
            return []
        found: list[Considered] = alternatives(request, taken, room, self.config.margin)
        return found

    def rewrite(self, request: RewriteRequest) -> Rewrite | None:
        """The rewrite served (its ``choice`` set where there were close options); None
        lets the words as heard through. Never raises (fail open)."""
        self.metrics["requests"] += 1
        started = time.perf_counter()
        try:
            answer = self._choose(request)
        except Exception:  # fail open: the rewriter's own answer, else the words as heard
            log.warning("exploration failed; the rewriter's own answer serves", exc_info=True)
            self.metrics["fail_open:error"] += 1
            return _plain(self.rewriter, request)
        if time.perf_counter() - started > self.budget_s:
            self.metrics["fail_open:timeout"] += 1
            return None
        return answer

    def prefer(
        self,
        request: RewriteRequest,
        options: Sequence[Option],
        default: int,
        domains: Sequence[str | None],
    ) -> int:
        """The option the policy serves without exploring: VW's preference where this
        speaker has had it served and it worked (``min_evidence`` times) and it is cheap to
        undo; otherwise the rewriter's own (``default``)."""
        greedy = self.policy.preferred(request, options, default)
        if greedy == default:
            return default
        if domains[greedy] is None or not self.policy.trusted(
            request_owner(request.user_id, request.device_id),
            options[0].text,
            options[greedy].text,
        ):
            return default  # VW alone is not enough to change what the rewriter does
        return greedy

    def _choose(self, request: RewriteRequest) -> Rewrite | None:
        config = self.config
        options, default, domains = self.options(request)
        heard = options[0].text
        if len(options) < 2:
            return None  # nothing held close: the words as heard (the rewriter had none)
        owner = request_owner(request.user_id, request.device_id)
        greedy = self.prefer(request, options, default, domains)
        day = int((request.ts if request.ts is not None else time.time()) // 86_400)
        budget = self._budget
        budget.roll(day)
        explorable = [i for i, d in enumerate(domains) if i != greedy and d is not None]
        domain = domains[greedy] or next((domains[i] for i in explorable), None)
        if domain is not None:
            budget.seen[domain] += 1
        may = bool(
            config.explore
            and explorable
            and config.epsilon > 0
            and (domains[greedy] is not None or greedy == 0)  # never away from a costly one
            and budget.users[owner or ""] < config.per_user_day
            and domain is not None
            and budget.explored[domain] < max(1.0, config.domain_share * budget.seen[domain])
        )
        chosen, propensity = greedy, 1.0
        if may:
            assert domain is not None
            share = config.epsilon / len(explorable)
            draw = random.Random(f"{config.seed}\t{owner}\t{heard}\t{request.ts}").random()
            if draw < config.epsilon:
                chosen = explorable[min(int(draw / share), len(explorable) - 1)]
                propensity = share
                budget.users[owner or ""] += 1
                budget.explored[domain] += 1
                self.metrics["explored"] += 1
            else:
                propensity = 1.0 - config.epsilon
        self.metrics["choices"] += 1
        choice = {
            "options": [o.as_event() for o in options],
            "chosen": chosen,
            "default": default,
            "preferred": greedy,
            "propensity": round(propensity, 6),
            "policy": f"{'explore' if may else 'greedy'}:{self.policy.version}",
        }
        return _served(heard, options[chosen], choice)

    def consider(self, request: RewriteRequest) -> list[Considered]:
        return list(self.rewriter.consider(request))


def _served(heard: str, option: Option, choice: dict[str, Any] | None) -> Rewrite:
    """The rewrite acting on ``option`` (the words as heard: source and target alike)."""
    score = option.score if option.score is not None else 1.0
    return Rewrite(heard, option.text, option.layer, score, "explore", 0, choice)


def _plain(rewriter: Any, request: RewriteRequest) -> Rewrite | None:
    try:
        answer = rewriter.rewrite(request)
        return answer if isinstance(answer, Rewrite) else None
    except Exception:
        return None


def logged_choices(turns: pa.Table, signals: pa.Table) -> list[dict[str, Any]]:
    """Every logged choice of ``turns`` with its request, options, the option served, its
    propensity and its cost (the turn's defect score minus 1: -1 worked, 0 failed), in
    time order."""
    import duckdb

    if "choice" not in turns.column_names:
        return []
    con = duckdb.connect()
    try:
        con.register("turns", turns)
        con.register("signals", signals)
        rows = (
            con.sql(
                """
            SELECT t.turn_id, t.ts, t.user_id, t.device_id, t.device_type, t.context,
                t.asr.text AS text, t.asr.confidence AS confidence, t.choice,
                s.defect_score
            FROM (SELECT * FROM turns WHERE choice IS NOT NULL
                  QUALIFY row_number() OVER (PARTITION BY turn_id ORDER BY ts) = 1) t
            JOIN signals s USING (turn_id)
            ORDER BY t.ts, t.turn_id
            """
            )
            .to_arrow_table()
            .to_pylist()
        )
    finally:
        con.close()
    out = []
    for row in rows:
        context = context_dict(row["context"])
        choice = row["choice"]
        request = RewriteRequest(
            row["text"] or "",
            row["user_id"],
            row["device_id"],
            row["device_type"],
            context.get("area"),
            context,
            row["confidence"],
            ts=row["ts"],
        )
        options = [Option(o["text"], o["layer"], o["score"]) for o in choice["options"]]
        out.append(
            {
                "turn_id": row["turn_id"],
                "request": request,
                "options": options,
                "chosen": int(choice["chosen"]),
                "default": int(choice["default"]),
                "preferred": int(choice["preferred"]),
                "propensity": float(choice["propensity"]),
                "cost": float(row["defect_score"]) - 1.0,
            }
        )
    return out


class ExplorationLearner(Learner):
    """Learns the exploration policy from the log's logged choices: VW's contextual bandit
    (cost: the defect score; weighted by the logged propensity) and the evidence of what
    worked for whom. ``fit`` raises ConfigError where the log holds no choice."""

    name: ClassVar[str] = "explore"
    learned: ClassVar[str] = "policy_"

    def __init__(self, config: ExploreConfig | None = None) -> None:
        self.config = config
        self.policy_: ExplorationPolicy | None = None

    def fit(
        self,
        turns: pa.Table,
        *,
        signals: pa.Table | None = None,
        engine: Engine | None = None,
        progress: Progress | None = None,
    ) -> Self:
        config = self.config or ExploreConfig()
        signals = signals_of(turns, signals, engine)
        choices = logged_choices(turns, signals)
        if not choices:
            raise ConfigError("explore", "log", "no logged choice", "a log with choices")
        if progress is not None:
            progress(f"exploration policy from {len(choices):,} logged choices")
        worked: Counter[str] = Counter()
        failed: Counter[str] = Counter()
        people: dict[str, set[str]] = {}
        for c in choices:
            served = c["options"][c["chosen"]]
            if served.layer == HEARD:
                continue
            owner = request_owner(c["request"].user_id, c["request"].device_id)
            heard = c["options"][0].text
            key = ExplorationPolicy.evidence_key(owner, heard, served.text)
            if c["cost"] + 1.0 < config.worked_below:
                worked[key] += 1
                people.setdefault(
                    ExplorationPolicy.evidence_key(None, heard, served.text), set()
                ).add(owner or "")
            else:
                failed[key] += 1
        evidence = {k: (worked[k], failed[k]) for k in sorted(set(worked) | set(failed))}
        evidence.update({k: (len(v), 0) for k, v in sorted(people.items())})
        last = max(c["request"].ts or 0.0 for c in choices)
        policy = ExplorationPolicy(
            config, evidence=evidence, version=f"{len(choices)}@{int(last)}",
            trained_on=len(choices),
        )  # fmt: skip
        examples = [
            vw_example(
                c["request"], c["options"], c["default"], (c["chosen"], c["cost"], c["propensity"])
            )
            for c in choices
        ]
        for _ in range(config.passes):
            policy.learn(examples)
        self.policy_ = policy
        return self

    def save(self, folder: Path) -> Path:
        policy = self._require(self.policy_)
        policy.save(folder / EXPLORE_DIR)
        self._save_params(folder)
        return folder / EXPLORE_DIR

    @classmethod
    def load(cls, folder: Path) -> Self:
        learner = cls(**cls._saved_params(folder))
        learner.policy_ = ExplorationPolicy.load(folder / EXPLORE_DIR, learner.config)
        return learner

    def choose(self, request: RewriteRequest, options: Sequence[Option], default: int = 0) -> int:
        """The option the learned policy prefers (the apply verb of this learner)."""
        return self._require(self.policy_).preferred(request, options, default)

    @property
    def summary(self) -> dict[str, Any]:
        policy = self._require(self.policy_)
        return {
            "choices": policy.trained_on,
            "evidence": len(policy.evidence),
            "version": policy.version,
        }
