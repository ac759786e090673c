"""What an owner reads about their own assistant, from its log and what selflearn learned.

No ground truth and no A/B: for a period (the last 7 days of the log by default, and the 7
before it for comparison) the turns, the implicit defect rate and the signals behind it, the
weekly trend, the requests that fail most with what selflearn now does with each (see
:mod:`selflearn.rewrite.explain`), the rewrites learned, the rewrites applied and how the
turn went after each, the failing stage where a dialogue model named it, and what users
taught. Dates are the log's local time where its turns say what time it was
(``context.local_time``), else UTC, and the view says which.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from selflearn.logs.arrow import context_dict
from selflearn.rewrite.base import RewriteRequest, normalize_utterance

__all__ = ["FAILED", "OwnerView", "local_zone", "owner_view", "turn_rows"]

FAILED = frozenset({"no_intent_match", "no_valid_targets", "failed_to_handle", "unknown"})
DEFECT_AT = 0.5  # the implicit defect score at which a turn counts as failed
_EXPLAINED = 400  # the most-failing requests each explained (the rest are counted)


@dataclass(frozen=True)
class OwnerView:
    """The figures of the owner's report (see :func:`owner_view`); ``as_dict`` is JSON.
    ``period``: the period's turns (:func:`turn_rows`); ``zone``: the log's time zone."""

    data: dict[str, Any]
    period: list[dict[str, Any]] = field(default_factory=list)
    zone: tzinfo = UTC

    def as_dict(self) -> dict[str, Any]:
        return self.data


def local_zone(ts: Iterable[float], local_times: Iterable[str | None]) -> timezone | None:
    """The log's UTC offset, read from turns that say their local time ("HH:MM") beside
    their epoch time: the most common difference, to the quarter hour; None where no turn
    says."""
    offsets: Counter[int] = Counter()
    for t, local in zip(ts, local_times, strict=True):
        if not local or len(local) != 5 or local[2] != ":":
            continue
        utc = datetime.fromtimestamp(t, UTC)
        minutes = int(local[:2]) * 60 + int(local[3:]) - (utc.hour * 60 + utc.minute)
        minutes = (minutes + 720) % 1440 - 720
        offsets[round(minutes / 15) * 15] += 1
    if not offsets:
        return None
    return timezone(timedelta(minutes=offsets.most_common(1)[0][0]))


def turn_rows(turns: pa.Table, signals: pa.Table | None = None) -> list[dict[str, Any]]:
    """One dict per turn, oldest first, with what the report reads of it: the ids, time,
    text, intent, status, context (parsed), rewrite, after-action list, its signals row and
    whether it ``failed`` (its implicit defect score, else its status)."""
    by_turn: dict[str, dict[str, Any]] = {}
    if signals is not None:
        by_turn = {r["turn_id"]: r for r in signals.to_pylist()}
    after = (
        turns.column("after_action").to_pylist()
        if "after_action" in turns.column_names
        else [None] * turns.num_rows
    )
    choices = (
        turns.column("choice").to_pylist()
        if "choice" in turns.column_names
        else [None] * turns.num_rows
    )
    rows = []
    for t, ts, user, device, kind, asr, nlu, response, context, rewrite, acted, choice in zip(
        turns.column("turn_id").to_pylist(),
        turns.column("ts").to_pylist(),
        turns.column("user_id").to_pylist(),
        turns.column("device_id").to_pylist(),
        turns.column("device_type").to_pylist(),
        turns.column("asr").to_pylist(),
        turns.column("nlu").to_pylist(),
        turns.column("response").to_pylist(),
        turns.column("context").to_pylist(),
        turns.column("rewrite").to_pylist(),
        after,
        choices,
        strict=True,
    ):
        context = context_dict(context)
        signal = by_turn.get(t, {})
        status = (response or {}).get("status")
        score = signal.get("defect_score")
        rows.append(
            {
                "turn_id": t,
                "ts": ts,
                "user_id": user,
                "device_id": device,
                "device_type": kind,
                "text": (asr or {}).get("text") or "",
                "intent": (nlu or {}).get("intent"),
                "status": status,
                "context": context or {},
                "rewrite": rewrite,
                "after_action": acted or [],
                "choice": choice,
                "signal": signal,
                "failed": score >= DEFECT_AT if score is not None else status in FAILED,
            }
        )
    rows.sort(key=lambda r: r["ts"])
    return rows


def _signal_figures(rows: list[dict[str, Any]], undo_recorded: bool) -> dict[str, Any]:
    n = len(rows)

    def share(count: int) -> float | None:
        return round(count / n, 4) if n else None

    undone = sum(any(a.get("kind") == "undone" for a in r["after_action"]) for r in rows)
    return {
        "turns": n,
        "users": len({r["user_id"] or f"device:{r['device_id']}" for r in rows}),
        "defect_rate": share(sum(r["failed"] for r in rows)),
        "error_status": share(sum(r["status"] in FAILED for r in rows)),
        "restated": share(sum(r["signal"].get("rephrase_of") is not None for r in rows)),
        "interrupted": share(sum(bool(r["signal"].get("barge_in")) for r in rows)),
        "abandoned": share(sum(bool(r["signal"].get("abandoned")) for r in rows)),
        "said_no": share(sum(r["signal"].get("feedback") == "negative" for r in rows)),
        "undone_by_hand": share(undone) if undo_recorded else None,
    }


def _weekly(rows: list[dict[str, Any]], zone: timezone) -> list[dict[str, Any]]:
    weeks: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        day = datetime.fromtimestamp(row["ts"], zone).date()
        monday = day - timedelta(days=day.weekday())
        weeks[monday.isoformat()][0] += 1
        weeks[monday.isoformat()][1] += row["failed"]
    return [
        {"week": week, "turns": n, "defect_rate": round(bad / n, 4)}
        for week, (n, bad) in sorted(weeks.items())
    ]


def _restatements(rows: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    """What people said instead of each request (normalised) that a later one restated."""
    by_id = {r["turn_id"]: r for r in rows}
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        earlier = by_id.get(row["signal"].get("rephrase_of") or "")
        if earlier is not None:
            out[normalize_utterance(earlier["text"])][normalize_utterance(row["text"])] += 1
    return out


def _learned(artefacts: Path | None, limit: int) -> dict[str, Any]:
    """What the learning run in ``artefacts`` wrote: its summary and the rewrites it learned
    (the mined table and the restatement memory's restated failures), most support first."""
    from selflearn.learn import LEARN_SUMMARY, REWRITES_FILE
    from selflearn.rewrite.restated import RESTATED_FILE

    if artefacts is None:
        return {"available": False, "why": "no artefacts folder was given (--artefacts)"}
    if not artefacts.is_dir():
        return {"available": False, "why": f"{artefacts}: no such artefacts folder"}
    summary: dict[str, Any] = {}
    path = artefacts / LEARN_SUMMARY
    if path.is_file():
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            summary = {}
    rows: list[dict[str, Any]] = []
    table = artefacts / REWRITES_FILE
    if table.is_file():
        for r in pq.read_table(table).to_pylist():
            rows.append(
                {
                    "source": r["source"],
                    "target": r["rewrite"],
                    "layer": r["layer"],
                    "learner": r["method"],
                    "user": r["user_id"],
                    "support": int(r["support"]),
                    "people": None,
                    "success_p": round(float(r["score"]), 3),
                }
            )
    memory = artefacts / RESTATED_FILE
    if memory.is_file():
        for r in pq.read_table(memory).to_pylist():
            if r["failed"] and r["target"] != r["text"]:
                rows.append(
                    {
                        "source": r["text"],
                        "target": r["target"],
                        "layer": "global",
                        "learner": "restated",
                        "user": None,
                        "support": int(r["failed"]),
                        "people": int(r["users"]),
                        "success_p": None,
                    }
                )
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:  # a pair both the miner and the memory learned is one rewrite
        key = (row["source"], row["target"], row["layer"], row["user"])
        if key in merged:
            kept = merged[key]
            kept["learner"] = f"{kept['learner']} + {row['learner']}"
            kept["support"] = max(kept["support"], row["support"])
            kept["people"] = kept["people"] or row["people"]
            kept["success_p"] = kept["success_p"] or row["success_p"]
        else:
            merged[key] = row
    rows = sorted(merged.values(), key=lambda r: (-r["support"], r["source"]))
    online = summary.get("online", {})
    restated = summary.get("restated", {})
    return {
        "available": True,
        "folder": str(artefacts),
        "learned_from_turns": summary.get("turns"),
        "learned_at": path.stat().st_mtime if path.is_file() else None,
        "mined_rows": sum(r["learner"].startswith("markov") for r in rows),
        "restated_failures": sum("restated" in r["learner"] for r in rows),
        "index_rows": online.get("global_rows", 0) + online.get("personal_rows", 0)
        if online.get("used")
        else 0,
        "thresholds": {
            "restatement memory": restated.get("threshold"),
            "misheard": (restated.get("misheard") or {}).get("threshold"),
            **{
                f"{layer} ranker": m.get("threshold")
                for layer, m in (online.get("rankers") or {}).items()
            },
        },
        "not_learned": {
            name: part["why_not"]
            for name, part in summary.items()
            if isinstance(part, dict) and part.get("used") is False and part.get("why_not")
        },
        "rewrites": rows[:limit],
        "rewrites_total": len(rows),
        "markov_config": (summary.get("rewrites") or {}).get("config"),
    }


def _applied(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each rewrite served in ``rows``: how often, and how the turn went after it (worked,
    or restated / interrupted / failed)."""
    restated = {r["signal"].get("rephrase_of") for r in rows} - {None}
    groups: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    for row in rows:
        rewrite = row["rewrite"]
        if not rewrite:
            continue
        key = (rewrite.get("from") or row["text"], rewrite.get("to") or "", rewrite.get("layer"))
        counts = groups[key]
        counts["applied"] += 1
        counts["worked"] += not row["failed"]
        counts["restated"] += row["turn_id"] in restated
        counts["interrupted"] += bool(row["signal"].get("barge_in"))
    ordered = sorted(groups.items(), key=lambda g: (-g[1]["applied"], g[0][0]))
    return [{"from": f, "to": t, "layer": layer or "?", **c} for (f, t, layer), c in ordered]


def _explored(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Where selflearn chose among close interpretations: how often, how often it explored
    (served an option its policy did not prefer), and how each kind of choice went."""
    chose = [r for r in rows if r["choice"]]
    explored = [r for r in chose if r["choice"]["chosen"] != r["choice"]["preferred"]]
    changed = [r for r in chose if r["choice"]["preferred"] != r["choice"]["default"]]
    explored_ids = {r["turn_id"] for r in explored}
    kept = [r for r in chose if r["turn_id"] not in explored_ids]

    def worked(group: list[dict[str, Any]]) -> float | None:
        return round(sum(not r["failed"] for r in group) / len(group), 4) if group else None

    return {
        "choices": len(chose),
        "explored": len(explored),
        "explored_worked": worked(explored),
        "preferred_worked": worked(kept),
        "policy_changed_pick": len(changed),
        "policy_changed_worked": worked(changed),
    }


def _stages(
    rows: list[dict[str, Any]], points: Mapping[str, Mapping[str, Any]] | None
) -> dict[str, Any]:
    if not points:
        return {"available": False}
    mix: Counter[str] = Counter()
    named = 0
    for row in rows:
        point = points.get(row["turn_id"])
        if point is None:
            continue
        named += 1
        if point["failure_point"] != "none":
            mix[str(point["failure_point"])] += 1
    return {"available": True, "turns": named, "mix": dict(mix.most_common())}


def owner_view(
    turns: pa.Table,
    signals: pa.Table | None = None,
    *,
    artefacts: Path | None = None,
    rewriter: Any = None,
    preferences: Iterable[Any] = (),
    failure_points: Mapping[str, Mapping[str, Any]] | None = None,
    days: int = 7,
    top: int = 15,
    learned_rows: int = 25,
    near_misses: Mapping[str, Mapping[str, Any]] | None = None,
) -> OwnerView:
    """The owner's figures for the last ``days`` days of the log (0: the whole log).
    ``rewriter``: what serves now (default: loaded from ``artefacts``); ``near_misses``:
    the miner's (default: computed from the log and ``signals`` with the learning run's
    configuration); ``signals``: default the learning run's, else the response status
    marks the failures; ``preferences``: what users taught (:class:`~selflearn.teach.Preference`)."""
    from selflearn.learn import SIGNALS_FILE
    from selflearn.rewrite.explain import CATEGORIES, explain, mining_near_misses

    if signals is None and artefacts is not None and (artefacts / SIGNALS_FILE).is_file():
        signals = pq.read_table(artefacts / SIGNALS_FILE)  # what the learning run read
    rows = turn_rows(turns, signals)
    found_zone = local_zone((r["ts"] for r in rows), (r["context"].get("local_time") for r in rows))
    zone = found_zone or UTC
    undo_recorded = any(r["after_action"] for r in rows)
    end = rows[-1]["ts"] if rows else 0.0
    start = end - days * 86_400 if days > 0 and rows else (rows[0]["ts"] if rows else 0.0)
    period = [r for r in rows if r["ts"] > start or days <= 0]
    before = [r for r in rows if start - days * 86_400 < r["ts"] <= start] if days > 0 else []

    def when(ts: float) -> str:
        return datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d %H:%M")

    data: dict[str, Any] = {
        "period": {
            "days": days,
            "from": when(period[0]["ts"]) if period else None,
            "to": when(end) if rows else None,
            "zone": (
                f"local time ({zone.tzname(None)})"
                if found_zone is not None
                else "UTC (the log does not say its local time)"
            ),
            "log_turns": len(rows),
            "log_from": when(rows[0]["ts"]) if rows else None,
        },
        "signals": {
            "period": _signal_figures(period, undo_recorded),
            "before": _signal_figures(before, undo_recorded) if before else None,
            "undo_recorded": undo_recorded,
        },
        "weekly": _weekly(rows, zone),
    }

    # -- the requests that fail most, and what selflearn does with each now ----------------
    learned = _learned(artefacts, learned_rows)
    data["learned"] = learned
    if rewriter is None and learned["available"]:
        from selflearn.errors import SelflearnError
        from selflearn.rewrite.rewriter import Rewriter

        try:
            rewriter = Rewriter.load(artefacts, budget_s=10.0, cache=False)  # type: ignore[arg-type]
        except SelflearnError as exc:
            learned["why_no_rewriter"] = str(exc)
    failing: dict[str, list[dict[str, Any]]] = defaultdict(list)
    said: Counter[str] = Counter()
    for row in period:
        key = normalize_utterance(row["text"])
        if not key:
            continue
        said[key] += 1
        if row["failed"]:
            failing[key].append(row)
    whole_said: Counter[str] = Counter()
    whole_failed: Counter[str] = Counter()
    for row in rows:
        key = normalize_utterance(row["text"])
        whole_said[key] += 1
        whole_failed[key] += row["failed"]
    ranked = sorted(failing, key=lambda k: (-len(failing[k]), -whole_failed[k], k))
    if rewriter is not None and near_misses is None and signals is not None:
        config = None
        markov = learned.get("markov_config")
        if markov:
            from selflearn.rewrite.markov import MarkovConfig

            config = MarkovConfig(**{k: v for k, v in markov.items() if k != "chains"})
        near_misses = mining_near_misses(turns, signals, config)
    for learnt in learned.get("rewrites", ()):  # the table keeps no head count: the miner does
        miss = (near_misses or {}).get(learnt["source"])
        if learnt["people"] is None and miss is not None and miss["rewrite"] == learnt["target"]:
            learnt["people"] = int(miss["users"])
    instead = _restatements(rows)
    explained: list[dict[str, Any]] = []
    coverage: dict[str, list[int]] = {c: [0, 0] for c in CATEGORIES}
    for k, key in enumerate(ranked):
        entry = {
            "request": key,
            "failed": len(failing[key]),
            "said": said[key],
            "people": len({r["user_id"] or r["device_id"] for r in failing[key]}),
            "failed_in_log": whole_failed[key],
            "said_in_log": whole_said[key],
            "said_instead": instead[key].most_common(1)[0][0] if instead.get(key) else None,
        }
        if rewriter is not None and k < _EXPLAINED:
            last = failing[key][-1]
            request = RewriteRequest(
                last["text"],
                user_id=last["user_id"],
                device_id=last["device_id"],
                device_type=last["device_type"],
                area=last["context"].get("area"),
            )
            why = explain(
                rewriter,
                request,
                near_misses=near_misses,
                restated=sum(instead[key].values()) if key in instead else 0,
                works=whole_failed[key] * 2 < whole_said[key],
            )
            entry["now"] = why.as_dict()
            coverage[why.category][0] += 1
            coverage[why.category][1] += len(failing[key])
        explained.append(entry)
    data["failing"] = {
        "requests": len(ranked),
        "turns": sum(len(v) for v in failing.values()),
        "explained": min(len(ranked), _EXPLAINED) if rewriter is not None else 0,
        "coverage": [{"now": c, "requests": n, "turns": t} for c, (n, t) in coverage.items() if n],
        "top": explained[:top],
    }
    data["applied"] = _applied(period)
    data["explored"] = _explored(period)
    data["stages"] = _stages(period, failure_points)
    taught = sorted(preferences, key=lambda p: -p.ts)
    data["taught"] = {
        "total": len(taught),
        "users": len({p.user_id for p in taught}),
        "in_period": sum(p.ts > start for p in taught),
        "recent": [
            {
                "user": p.user_id,
                "kind": p.kind,
                "key": p.key,
                "value": p.value,
                "like": p.like,
                "how": p.source,
                "when": when(p.ts) if p.ts else None,
            }
            for p in taught[:top]
        ],
    }
    return OwnerView(data, period, zone)
