"""The service as a library object: ingest, rewrite, teach, forget, learn, report.

:class:`Service` holds the turn store, the users' preferences, the teacher and the
rewriter being served. The HTTP app (:mod:`selflearn.service.app`) is a thin shell over it.

- Ingest is durable before it answers: one DuckDB transaction per batch, committed (the
  write-ahead log reaches the operating system) before the call returns; idempotent on
  ``turn_id``.
- Rewriting never fails the caller: any error or an answer past the budget lets the
  original through, and is counted.
- Learning runs away from the request path on a copy of the log; the new artefacts are
  loaded and smoke-tested, then swapped in under a lock; a failed run leaves the served
  version as it was and is recorded.
- Forgetting a user removes their turns, preferences and the personal rewrite rows of every
  kept version, and is recorded in ``audit.jsonl``. Any version learned from turns read
  before the user was forgotten (the one served, or an older one restored later) never
  hears their user id, so its personal layers cannot answer from what it learned of them.
- Each version served is frozen out of the garbage collector (``gc.freeze``): a full
  collection over the loaded index and tables takes about 0.1 s, all of it holding the
  interpreter lock, and would stall the requests in flight.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from selflearn.errors import DataFileError
from selflearn.logs.arrow import events_to_table
from selflearn.logs.io import Batch
from selflearn.logs.schema import TurnEvent
from selflearn.logs.store import IngestSummary, TurnStore
from selflearn.rewrite.base import Rewrite, RewriteRequest, SupportsRewrite
from selflearn.service.ingest import pseudonym
from selflearn.service.settings import ServiceSettings
from selflearn.service.versions import ArtefactVersions
from selflearn.signals.said import correction_request, read_feedback
from selflearn.teach import PreferenceStore, Reply, TaughtRewriter, Teacher

__all__ = ["LearningRun", "Said", "Service"]

log = logging.getLogger(__name__)
# Requests a new version must answer without error before it is served.
SMOKE_REQUESTS = ("turn on the kitchen light", "what is the weather", "play some music", "")
FORGOTTEN_FILE = "forgotten.json"  # forgotten (stored) user id → when
SNAPSHOT_FILE = "learned_from.json"  # in a version: when its turns were read, how many


@dataclass(frozen=True)
class Said:
    """What a request's words say beyond the request (:meth:`Service.read`): ``feedback``
    on the answer before it (negative / positive / None), whether the user ``gave_up`` on
    it, whether the teacher takes the words (``teach``), and the request a correction says
    ``again`` ("no, I meant turn off the light" → "turn off the light")."""

    feedback: str | None
    gave_up: bool
    teach: bool
    again: str | None


@dataclass
class LearningRun:
    """One learning run: when, on how many turns, what came of it."""

    started: float
    turns: int = 0
    version: str | None = None
    seconds: float = 0.0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "turns": self.turns,
            "version": self.version,
            "seconds": round(self.seconds, 2),
            "error": self.error,
        }


@dataclass
class _Metrics:
    counts: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)

    def observe(self, route: str, seconds: float) -> None:
        window = self.latencies.setdefault(route, [])
        window.append(seconds)
        if len(window) > 10_000:
            del window[: len(window) - 10_000]


class Service:
    """Everything behind the HTTP routes. Open with :meth:`open`; :meth:`close` when done."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.token = settings.token or ""
        self.metrics = _Metrics()
        self.runs: list[LearningRun] = []
        self._store: TurnStore | None = None
        self._store_lock = threading.Lock()
        self._swap_lock = threading.Lock()
        self._learn_lock = threading.Lock()
        self._teach_lock = threading.Lock()  # the teacher's conversation state
        self._scrub_lock = threading.Lock()  # one rewrite of a version's files at a time
        self._learned: SupportsRewrite | None = None
        self._version: str | None = None
        # forgotten users → when; versions learned from turns read before then still hold them
        self._forgotten: dict[str, float] = {}
        self._snapshot = 0.0  # when the served version's turns were read (0: unknown)
        self._since_learn = 0
        self.preferences = PreferenceStore()
        self.teacher = Teacher(self.preferences)
        self.versions = ArtefactVersions(settings.data_dir / "artefacts")

    @classmethod
    def open(cls, settings: ServiceSettings) -> Service:
        """The service over ``settings.data_dir`` (created if needed)."""
        service = cls(settings)
        data = settings.data_dir
        data.mkdir(parents=True, exist_ok=True)
        service.token = settings.token or _token(data / "token")
        # one thread: the other core stays free for the requests being answered
        service._store = TurnStore.open(data / "turns.duckdb", threads=1)
        service.preferences = PreferenceStore.open(data / "preferences.json")
        service.teacher = Teacher(service.preferences)
        forgotten = data / FORGOTTEN_FILE
        if forgotten.is_file():
            service._forgotten = {
                str(k): float(v)
                for k, v in json.loads(forgotten.read_text(encoding="utf-8")).items()
            }
        service._recover()
        current = service.versions.current()
        if current is not None:
            try:
                service._serve(current, service._load(current))
            except Exception as exc:  # a broken current version: serve without one, say so
                log.error("artefact version %s cannot be served: %s", current, exc)
                service.metrics.counts["load_failures"] += 1
        return service

    def close(self) -> None:
        with self._store_lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    @property
    def store(self) -> TurnStore:
        if self._store is None:
            raise RuntimeError("the service is closed")
        return self._store

    @property
    def version(self) -> str | None:
        return self._version

    # -- identities ---------------------------------------------------------------------

    def user(self, user_id: str | None) -> str | None:
        """The id stored for ``user_id``: a keyed hash when pseudonymising, else itself."""
        key = self.settings.pseudonymise_key
        if user_id is None or not key:
            return user_id
        return pseudonym(user_id, key)

    # -- ingest ---------------------------------------------------------------------------

    def ingest(self, events: list[TurnEvent]) -> IngestSummary:
        """Store the events (new ones only); returns once they are committed."""
        if self.settings.pseudonymise_key:
            events = [
                e.model_copy(update={"user_id": self.user(e.user_id)}) if e.user_id else e
                for e in events
            ]
        return self.ingest_table(events_to_table(events))

    def ingest_table(self, table: pa.Table) -> IngestSummary:
        """Store events already validated and converted (:func:`~selflearn.service.ingest.parse_batch`,
        user ids already pseudonymised); returns once they are committed."""
        batch = Batch("POST /v1/events", table, list(range(1, table.num_rows + 1)), [], 0)
        with self._store_lock:
            summary = self.store.ingest_batch(batch, checked=True)
        self.metrics.counts["events_accepted"] += summary.accepted
        self.metrics.counts["events_duplicate"] += summary.duplicates
        self._since_learn += summary.accepted
        return summary

    def turns(self) -> pa.Table:
        """A copy of every stored turn (for learning and reports)."""
        with self._store_lock:
            return self.store.table()

    # -- rewrite and teach ----------------------------------------------------------------

    def rewrite(self, request: RewriteRequest) -> Rewrite | None:
        """The served rewrite, or None; never raises, never past the budget (fail open)."""
        user = self.user(request.user_id)
        start = time.perf_counter()
        try:
            taught = TaughtRewriter(self.preferences).rewrite(replace(request, user_id=user))
            answer = taught
            learned = self._learned
            if answer is None and learned is not None:
                answer = learned.rewrite(replace(request, user_id=self._speaker(user)))
        except Exception:
            log.warning("rewrite failed; the original passes through", exc_info=True)
            self.metrics.counts["fail_opens"] += 1
            return None
        if time.perf_counter() - start > self.settings.rewrite_budget_s:
            self.metrics.counts["fail_opens"] += 1
            return None
        if answer is not None:
            self.metrics.counts["rewrites_applied"] += 1
        return answer

    def _speaker(self, user: str | None) -> str | None:
        """The user id the served version is asked with: none for a forgotten user, whose
        personal rows may still be in it."""
        return None if self.withholds(user) else user

    def to_encode(self, request: RewriteRequest) -> str | None:
        """The words the served version would encode for ``request`` (None when none need
        encoding, or when it cannot tell): the HTTP app encodes the words of requests that
        arrive together in one run (:meth:`encode_together`) before rewriting each. Never
        raises."""
        learned = self._learned
        to_encode = getattr(learned, "to_encode", None)
        if to_encode is None:
            return None
        try:
            speaker = self._speaker(self.user(request.user_id))
            return to_encode(replace(request, user_id=speaker))  # type: ignore[no-any-return]
        except Exception:
            log.warning("could not tell what a request needs encoded", exc_info=True)
            return None

    def encode_together(self, texts: list[str]) -> None:
        """Encodes ``texts`` in one run into the request-time encoder's recent vectors (the
        one every served version shares), so the rewrites that follow find them. Never
        raises: a rewrite encodes what it does not find."""
        from selflearn.rewrite.encoder import shared_encoder

        try:
            shared_encoder().remember(texts)
        except Exception:
            log.warning("encoding requests together failed; each encodes its own", exc_info=True)

    def read(self, text: str, user_id: str | None) -> Said:
        """What ``text`` says beyond a request: feedback on the answer before it, a
        correction's request, or words for the teacher. Never raises (all False/None)."""
        try:
            said = read_feedback(text)
            with self._teach_lock:
                teach = self.teacher.takes(text, user_id=self.user(user_id), ts=time.time())
            again = correction_request(text)  # only ever for a negative reaction
        except Exception:
            log.warning("reading the words failed; read as a plain request", exc_info=True)
            return Said(None, False, False, None)
        return Said(said.feedback, said.gave_up, teach, again)

    def teach(self, user_id: str, text: str, turn_id: str | None = None) -> Reply | None:
        """What the teacher makes of ``text`` from ``user_id`` (None: not for the teacher)."""
        with self._teach_lock:
            return self.teacher.hear(
                text, user_id=self.user(user_id), ts=time.time(), turn_id=turn_id
            )

    # -- forgetting -------------------------------------------------------------------------

    def forget_user(self, user_id: str, *, relearn: bool = True) -> dict[str, Any]:
        """Remove everything of ``user_id``; what was removed. Recorded in ``audit.jsonl``.
        ``relearn``: when a learned version is served, start a learning run in the
        background, so that the served artefacts soon hold nothing learned from the user
        (until then their requests never reach the personal layers)."""
        user = self.user(user_id)
        assert user is not None
        with self._store_lock:
            turns = self.store.delete_user(user)
            self.store.checkpoint()  # the deleted rows leave the write-ahead log too
            when = time.time()  # a learning run reading the turns after this never sees them
        with self._swap_lock:
            self._forgotten[user] = when
            _write_json(self.settings.data_dir / FORGOTTEN_FILE, self._forgotten)
        with self._teach_lock:
            preferences = self.teacher.forget_user(user)
        # every finished version on disk (one still being learned is scrubbed when it ends)
        rows = entries = 0
        for name in self.versions.all():
            folder = self.versions.path(name)
            if (folder / SNAPSHOT_FILE).is_file():
                dropped = self._scrub(folder, user)
                rows, entries = rows + dropped[0], entries + dropped[1]
        forget = getattr(self._learned, "forget", None)  # the served version, in memory
        if forget is not None:
            forget(user)
        removed = {
            "turns": turns,
            "preferences": preferences,
            "personal_rewrite_rows": rows,
            "personal_index_entries": entries,
        }
        self._audit({"event": "forget_user", "user": user, "removed": removed})
        self.metrics.counts["users_forgotten"] += 1
        if relearn and self._version is not None:
            threading.Thread(target=self.learn, name="selflearn-relearn", daemon=True).start()
        return removed

    def _recover(self) -> None:
        """Undo what a crash while forgetting left half done: an index put back from
        beside its folder holds the forgotten users' entries again, so they are removed."""
        from selflearn.rewrite.index import recover_saved_index
        from selflearn.rewrite.online import ONLINE_DIR

        for name in self.versions.all():
            folder = self.versions.path(name)
            if recover_saved_index(folder / ONLINE_DIR):
                log.warning("%s: index put back after a crash; forgetting again", folder)
                for user in self._forgotten:
                    self._scrub(folder, user)

    def _scrub(self, folder: Path, user: str) -> tuple[int, int]:
        """Remove ``user``'s personal rewrite rows and index entries from a version on disk."""
        with self._scrub_lock:
            return _drop_personal_rows(folder, user), _drop_index_scope(folder, user)

    def withholds(self, user: str | None) -> bool:
        """Whether the served version was learned from turns of ``user`` (a stored id)
        that has since been forgotten: their requests then reach it as an unknown speaker."""
        when = self._forgotten.get(user) if user is not None else None
        return when is not None and when >= self._snapshot

    def _audit(self, record: dict[str, Any]) -> None:
        line = json.dumps({"ts": time.time(), **record}, separators=(",", ":"))
        with (self.settings.data_dir / "audit.jsonl").open("a", encoding="utf-8") as out:
            out.write(line + "\n")

    # -- learning ---------------------------------------------------------------------------

    @property
    def events_since_learn(self) -> int:
        return self._since_learn

    def learn(self) -> LearningRun:
        """One learning run on a copy of the log; the result served only if it loads and
        answers the smoke requests. Never raises: a failure is in the returned run."""
        run = LearningRun(started=time.time())
        if not self._learn_lock.acquire(blocking=False):
            run.error = "a learning run is already going"
            return run
        folder: Path | None = None
        try:
            folder = self.versions.new()
            log_file = folder / "turns.parquet"
            with self._store_lock:
                run.turns = self.store.export(log_file)
                snapshot = time.time()
            self._since_learn = 0
            if run.turns == 0:
                raise DataFileError("no turns stored yet")
            _learn_in_child(
                log_file,
                folder,
                online=self.settings.online,
                engine=(self.settings.learn_engine, self.settings.spark_master),
            )
            _write_json(folder / SNAPSHOT_FILE, {"turns_read": snapshot, "turns": run.turns})
            with self._swap_lock:
                since = [u for u, when in self._forgotten.items() if when >= snapshot]
            for user in since:  # forgotten while this version was being learned
                self._scrub(folder, user)
            rewriter = self._load(folder.name)
            for text in SMOKE_REQUESTS:
                rewriter.rewrite(RewriteRequest(text, "smoke-test", "smoke-device"))
            self.versions.publish(folder.name)
            self._serve(folder.name, rewriter)
            self._prune_forgotten()
            run.version = folder.name
        except Exception as exc:
            run.error = f"{type(exc).__name__}: {exc}"
            log.error("learning run failed; the served version is unchanged: %s", run.error)
            self.metrics.counts["learning_failures"] += 1
            if folder is not None:
                self.versions.discard(folder.name)
        finally:
            run.seconds = time.time() - run.started
            self.runs.append(run)
            self.metrics.counts["learning_runs"] += 1
            self._learn_lock.release()
            self._audit({"event": "learning_run", **run.as_dict()})
        return run

    def restore(self) -> str:
        """Serve the version before the current one again."""
        name = self.versions.restore()
        self._serve(name, self._load(name))
        self._audit({"event": "restore", "version": name})
        return name

    def _load(self, name: str) -> SupportsRewrite:
        from selflearn.rewrite.rewriter import Rewriter, available_layers

        folder = self.versions.path(name)
        rewriter = Rewriter.load(
            folder,
            layers=available_layers(folder),
            budget_s=self.settings.rewrite_budget_s,
            cache=False,  # the version replaced is dropped, not kept in memory
        )
        if not self.settings.explore:
            return rewriter
        from selflearn.rewrite.explore import ExploreConfig, ExploringRewriter

        return ExploringRewriter.load(
            rewriter, folder, ExploreConfig(epsilon=self.settings.explore_epsilon)
        )

    def _serve(self, name: str, rewriter: SupportsRewrite) -> None:
        snapshot = self._snapshot_of(name)
        with self._swap_lock:
            self._learned, self._version, self._snapshot = rewriter, name, snapshot
        gc.freeze()  # the loaded version is long-lived: no collection need walk it again

    def _snapshot_of(self, name: str) -> float:
        """When version ``name``'s turns were read (0.0 when it does not say)."""
        path = self.versions.path(name) / SNAPSHOT_FILE
        try:
            return float(json.loads(path.read_text(encoding="utf-8"))["turns_read"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0.0

    def _prune_forgotten(self) -> None:
        """Drop forgotten users that no kept version was learned from."""
        oldest = min((self._snapshot_of(v) for v in self.versions.all()), default=0.0)
        with self._swap_lock:
            kept = {u: t for u, t in self._forgotten.items() if t >= oldest}
            if kept != self._forgotten:
                self._forgotten = kept
                _write_json(self.settings.data_dir / FORGOTTEN_FILE, kept)

    # -- reports ------------------------------------------------------------------------------

    def report_html(self, days: int = 7) -> str:
        """The owner's HTML report over the stored log for its last ``days`` days (0: all),
        with what the served version does with each failing request."""
        return _report_of(self, days)

    def summary(self) -> dict[str, Any]:
        """The figures a report shows: the log, what was served and learned."""
        with self._store_lock:
            row = self.store.sql(
                "SELECT count(*) AS turns, count(DISTINCT user_id) AS users, "
                "avg(CASE WHEN response.status = 'success' THEN 0.0 ELSE 1.0 END) AS failing, "
                "avg(CASE WHEN rewrite IS NOT NULL THEN 1.0 ELSE 0.0 END) AS rewritten "
                "FROM turns"
            ).to_pylist()[0]
        return {
            "turns": row["turns"],
            "users": row["users"],
            "failing_share": round(row["failing"] or 0.0, 4),
            "rewritten_share": round(row["rewritten"] or 0.0, 4),
            "version": self._version,
            "versions": self.versions.all(),
            "learning_runs": [r.as_dict() for r in self.runs[-10:]],
            "preferences": len(self.preferences),
            "counts": dict(self.metrics.counts),
        }


def _report_of(service: Service, days: int) -> str:
    """The HTML report over the stored log, with what the served version does now."""
    from selflearn.learn import SIGNALS_FILE
    from selflearn.report import build_report
    from selflearn.signals import compute_signals
    from selflearn.signals.compute import extend_signals

    turns = service.turns()
    version = service.version
    folder = service.versions.path(version) if version else None
    signals = None
    if turns.num_rows and folder is not None and (folder / SIGNALS_FILE).is_file():
        # the served version's signals, and the turns stored since computed in context
        signals = extend_signals(turns, pq.read_table(folder / SIGNALS_FILE))
    elif turns.num_rows:
        signals = compute_signals(turns).table
    return build_report(
        turns,
        signals=signals,
        artefacts=folder,
        rewriter=service._learned if version else None,
        preferences=list(service.preferences),
        days=days,
        title="selflearn service report"
        + (f" — serving version {version}" if version else " — nothing learned yet"),
    )


def _learn_in_child(
    log_file: Path, folder: Path, *, online: bool, engine: tuple[str, str] = ("duckdb", "")
) -> None:
    """``selflearn learn`` on ``log_file`` (removed after) into ``folder``, in a child
    process on idle CPU time only: learning is CPU-heavy, and in this process it would hold
    the interpreter lock against the requests being served."""
    command = [
        sys.executable, "-m", "selflearn.cli", "learn", str(log_file),
        "--out", str(folder), "--no-rephrase-model", "--threads", "1",
    ]  # fmt: skip
    if not online:
        command.append("--no-online")
    if engine[0] != "duckdb":
        command += ["--engine", engine[0], "--master", engine[1]]
    # Started without a pre-exec hook (which would fork this large process and stall it),
    # then moved to the background before it has loaded anything.
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _to_background(child.pid)
    _, stderr = child.communicate()
    log_file.unlink(missing_ok=True)
    if child.returncode != 0:
        last = (stderr.strip().splitlines() or ["no output"])[-1]
        raise DataFileError(f"selflearn learn failed (exit {child.returncode}): {last}")


def _to_background(pid: int) -> None:
    """Let process ``pid`` run only on CPU time the server leaves idle (``SCHED_IDLE``,
    where the platform has it; else the lowest priority)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, pid, 19)
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))


def _token(path: Path) -> str:
    """The token kept in ``path``, made (owner-readable only) on first use."""
    if path.is_file():
        token = path.read_text(encoding="utf-8").strip()
        if len(token) >= 16:
            return token
    token = secrets.token_urlsafe(32)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(token, encoding="utf-8")
    log.warning("no token configured; generated one in %s", path)
    return token


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(path)


def _drop_index_scope(folder: Path, user: str) -> int:
    """Remove ``user``'s personal entries from a version's online index on disk."""
    from selflearn.rewrite.index import ENTRIES_FILE, remove_saved_scope
    from selflearn.rewrite.online import ONLINE_DIR

    index = folder / ONLINE_DIR
    if not (index / ENTRIES_FILE).is_file():
        return 0
    try:
        return remove_saved_scope(index, user)
    except (OSError, DataFileError) as exc:
        log.warning("%s: cannot remove a forgotten user's entries (%s)", index, exc)
        return 0


def _drop_personal_rows(folder: Path, user: str) -> int:
    """Remove ``user``'s personal rows from a version's rewrite table on disk."""
    from selflearn.rewrite.table import REWRITES_FILE

    path = folder / REWRITES_FILE
    if not path.is_file():
        return 0
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        log.warning("%s: cannot remove a forgotten user's rows (%s)", path, exc)
        return 0
    if "user_id" not in table.column_names:
        return 0
    keep = [u != user for u in table.column("user_id").to_pylist()]
    dropped = int(len(keep) - sum(keep))
    if dropped:
        tmp = path.with_suffix(".tmp")
        pq.write_table(table.filter(pa.array(keep)), tmp)
        tmp.replace(path)
    return dropped
