"""The self-contained HTML report: one file, inline SVG plots, opens offline.

It reads the turn log (any §3.1 log) and, where they exist, the signals, what a learning
run wrote, what users taught, the failure points, the simulator's ground truth and an A/B
evaluation. It shows what an owner asks of their assistant (:mod:`selflearn.report.owner`):
how the period went and why, the requests that fail most with what selflearn now does with
each, what was learned, the rewrites applied and how each turn went after, which stage
fails, what users taught; then, given an evaluation, the simulator's A/B. A section with
nothing to show says so in a sentence, never as an empty chart.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from selflearn.errors import DataFileError
from selflearn.evaluate.ab import PEER_COLUMNS
from selflearn.report.owner import FAILED, owner_view
from selflearn.report.plots import (
    bar_svg,
    category_bars_svg,
    lines_svg,
    stacked_bars_svg,
    trend_svg,
)

__all__ = ["build_report", "report_figures", "write_report"]

CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 980px; color: #1a202c; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #e2e8f0; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
td, th { border: 1px solid #e2e8f0; padding: 0.25rem 0.5rem; text-align: left; }
th { background: #f7fafc; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 0.5rem 0; } .note { color: #4a5568; font-size: 0.85rem; }
svg { max-width: 100%; height: auto; }
"""


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for value in row:
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            text = f"{value:.4g}" if isinstance(value, float) else str(value)
            cells.append(
                f"<td class='n'>{text}</td>" if numeric else f"<td>{html.escape(text)}</td>"
            )
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _figure(svg: str, caption: str) -> str:
    return f"<figure class='plot' data-plot='{html.escape(caption)}'>{svg}<figcaption class='note'>{html.escape(caption)}</figcaption></figure>"


_STAGES = ("false_wake", "asr", "nlu", "entity", "result")
_TOP_INTENTS = 12


def _isolated(
    rows: list[dict[str, Any]],
    points: Mapping[str, Mapping[str, Any]],
    truth: Mapping[str, Mapping[str, Any]] | None,
    day_of: Callable[[float], str],
) -> list[str]:
    """The failure points ``selflearn isolate`` named, broken down by what the user meant,
    by device type and by day; beside ground truth where there is some."""
    by: dict[str, dict[str, Counter[str]]] = {
        "intent": defaultdict(Counter),
        "device": defaultdict(Counter),
        "day": defaultdict(Counter),
    }
    mix: Counter[str] = Counter()
    agree = scored = 0
    for row in rows:
        point = points.get(row["turn_id"])
        if point is None:
            continue
        stage = str(point["failure_point"])
        record = truth.get(row["turn_id"]) if truth else None
        if record is not None:
            scored += 1
            agree += record["failure_point"] == stage
        group_of = {
            "intent": point.get("intent") or row["intent"] or "(not understood)",
            "device": row["device_type"],
            "day": day_of(row["ts"]),
        }
        for name, key in group_of.items():
            by[name][key]["turns"] += 1
            by[name][key][stage] += 1
        mix[stage] += 1
    if not mix:
        return ["<p class='note'>The failure points name none of this period's turns.</p>"]
    parts = [
        "<p class='note'>Failure points as the dialogue model named them (`selflearn "
        f"isolate`), for {sum(mix.values()):,} turns"
        + (f"; they agree with ground truth on {agree / scored:.1%} of turns" if scored else "")
        + ".</p>",
        _figure(
            bar_svg(
                list(_STAGES),
                [mix[k] for k in _STAGES],
                title="Failure points of defective turns (model)",
                xlabel="turns",
            ),
            "mix of failure points",
        ),
    ]
    headers = ["turns", "defective", *_STAGES]
    for name, title in (
        ("intent", "By what the user meant"),
        ("device", "By device type"),
        ("day", "By day"),
    ):
        groups = by[name]
        keys = sorted(groups, key=lambda k: -sum(groups[k][s] for s in _STAGES))
        if name == "intent":
            keys = keys[:_TOP_INTENTS]
        elif name == "day":
            keys = sorted(groups)
        table = []
        for key in keys:
            counts = groups[key]
            defective = sum(counts[s] for s in _STAGES)
            table.append(
                [key, counts["turns"], f"{defective / counts['turns']:.1%}"]
                + [counts[s] for s in _STAGES]
            )
        parts.append(f"<h3>{title}</h3>")
        parts.append(_table([name, *headers], table))
    return parts


def _ab_sections(evaluation: dict[str, Any]) -> list[str]:
    """The simulator's A/B: arms, layers, peers, teaching, defect rate by day, the rewrites
    applied with their wins and losses (shown only when an evaluation is given)."""
    parts: list[str] = []
    summary = evaluation.get("summary", {})
    arms = summary.get("arms", {})
    parts.append("<h2>A/B evaluation</h2>")
    parts.append(
        f"<p class='note'>{summary.get('households', '?')} households, {summary.get('users', '?')} users, "
        f"days {summary.get('days')}, seed {summary.get('seed')}; changes are relative to the "
        "first arm with 95 % bootstrap intervals over households.</p>"
    )
    table_rows = []
    for name, fig in arms.items():
        change = fig.get("change_vs_control", {}).get("defect_rate")
        interval = (
            f"{change['change']:+.1%} [{change['low']:+.1%}, {change['high']:+.1%}]"
            if change
            else "control"
        )
        table_rows.append(
            [
                name,
                fig["turns"],
                fig["defect_rate"],
                interval,
                fig["goal_success_rate"],
                fig["friction"],
                fig["wrong_action_rate"],
                fig["rewrites_applied"],
                fig["wins"],
                fig["losses"],
                f"{fig.get('coverage', 0.0):.1%}",
            ]
        )
    parts.append(
        _table(
            [
                "arm",
                "turns",
                "defect rate",
                "defect change vs control",
                "goal success",
                "turns per completed goal",
                "wrong actions",
                "rewrites",
                "wins",
                "losses",
                "coverage of control's defects",
            ],
            table_rows,
        )
    )

    layer_rows = [
        [
            name,
            layer,
            r["applied"],
            r["wins"],
            r["losses"],
            f"{r['win_loss']}:1" if r["win_loss"] is not None else "no losses",
        ]
        for name, fig in arms.items()
        for layer, r in fig.get("by_layer", {}).items()
    ]
    if layer_rows:
        parts.append("<h3>Rewrites by layer</h3>")
        parts.append(_table(["arm", "layer", "applied", "wins", "losses", "win:loss"], layer_rows))
    peers = evaluation.get("peers") or []
    if peers:
        parts.append("<h3>Peers on the same traffic</h3>")
        parts.append(
            "<p class='note'>Recovered: turns whose recognised words hassil alone would "
            "have failed on, that the system's rewrite or fallback matcher made work, as "
            "a share of control's defective turns. Broken: turns hassil alone would have "
            "served, that the change made fail or act wrongly.</p>"
        )
        parts.append(
            _table(
                [*PEER_COLUMNS, "wrong-action rate"],
                [
                    [
                        p["system"],
                        p["recovered"],
                        f"{p['recovered_share']:.1%}",
                        p["broken"],
                        p["defect_rate"],
                        p["wrong_actions"],
                        p["wrong_action_rate"],
                    ]
                    for p in peers
                ],
            )
        )

    teaching = evaluation.get("teaching") or {}
    if teaching:
        parts.append("<h3>Teaching: requests only the user can explain</h3>")
        parts.append(
            "<p class='note'>Requests whose meaning only the speaker holds: their own word "
            'for a device, which of two towns of one name, what "something I like" '
            "means. Before/after: the same requests made before and after the user taught "
            "what they mean; next attempt: the attempt right after teaching.</p>"
        )

        def _pct(value: float | None) -> str:
            return f"{value:.1%}" if value is not None else "-"

        parts.append(
            _table(
                [
                    "arm",
                    "personal requests",
                    "defect rate",
                    "before taught",
                    "after taught",
                    "next attempt succeeds",
                    "questions / user / week",
                ],
                [
                    [
                        name,
                        fig["personal_turns"],
                        _pct(fig["personal_defect_rate"]),
                        _pct((fig.get("before_taught") or {}).get("defect_rate")),
                        _pct((fig.get("after_taught") or {}).get("defect_rate")),
                        _pct((fig.get("next_attempt_after_teaching") or {}).get("success_rate")),
                        fig.get("questions_per_user_week", "-"),
                    ]
                    for name, fig in teaching.items()
                ],
            )
        )

    by_day = {
        f"A/B: {arm}": {int(d): float(v) for d, v in days.items()}
        for arm, days in evaluation.get("by_day", {}).items()
    }
    if by_day:
        parts.append(
            _figure(
                lines_svg(
                    by_day,
                    title="Defect rate by simulated day and arm",
                    xlabel="simulated day",
                    ylabel="defect rate",
                ),
                "defect rate by day and arm",
            )
        )
    parts.append("<h3>Rewrites applied in the A/B</h3>")
    rewrites = evaluation.get("top_rewrites", [])
    arms = evaluation.get("summary", {}).get("arms", {})
    if arms:
        names = list(arms)
        parts.append(
            _figure(
                stacked_bars_svg(
                    names,
                    {
                        "wins": [arms[n]["wins"] for n in names],
                        "losses": [arms[n]["losses"] for n in names],
                        "neutral": [
                            arms[n]["rewrites_applied"] - arms[n]["wins"] - arms[n]["losses"]
                            for n in names
                        ],
                    },
                    title="Applied rewrites: wins and losses per arm",
                    ylabel="rewrites",
                ),
                "applied rewrites with wins and losses",
            )
        )
    curve = [c for c in evaluation.get("curve", []) if not c["arm"].startswith("check:")]
    if curve:
        parts.append("<h3>Precision against coverage, by the rewrites' support</h3>")
        parts.append(
            _table(
                ["arm", "min support", "applied", "wins", "losses", "win:loss", "coverage"],
                [
                    [
                        c["arm"],
                        c["min_support"],
                        c["applied"],
                        c["wins"],
                        c["losses"],
                        f"{c['win_loss']}:1" if c["win_loss"] is not None else "no losses",
                        f"{c['coverage']:.1%}",
                    ]
                    for c in curve
                ],
            )
        )
    if rewrites:
        parts.append(
            _table(
                ["arm", "from", "to", "applied", "won", "lost", "neutral"],
                [
                    [r["arm"], r["from"], r["to"], r["applied"], r["won"], r["lost"], r["neutral"]]
                    for r in rewrites
                ],
            )
        )
    else:
        parts.append(
            "<p class='note'>No rewrites were applied (no rewriting learner ran, or none fired).</p>"
        )
    return parts


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _note(text: str) -> str:
    return f"<p class='note'>{html.escape(text)}</p>"


_SIGNAL_ROWS = (
    ("turns", "turns"),
    ("users", "people (or devices)"),
    ("defect_rate", "failed (implicit defect rate)"),
    ("restated", "restated by the next request"),
    ("interrupted", "interrupted (barge-in)"),
    ("abandoned", "abandoned"),
    ("said_no", "said no / negative feedback"),
    ("undone_by_hand", "undone by hand"),
    ("error_status", "answered with an error status"),
)


def _period_sections(view: dict[str, Any]) -> list[str]:
    period, signals = view["period"], view["signals"]
    this, before = signals["period"], signals["before"]
    days = period["days"]
    name = f"the last {days} days" if days > 0 else "the whole log"
    parts = [f"<h2>How {html.escape(name)} went</h2>"]
    if not this["turns"]:
        return [*parts, _note("The log has no turns.")]
    parts.append(
        _note(
            f"{period['from']} to {period['to']}, {period['zone']}. A turn counts as failed "
            "when what followed it says so (restated, interrupted, abandoned, a no), as no "
            "assistant's status code can tell a request misheard and done wrongly."
        )
    )
    rows = []
    for key, label in _SIGNAL_ROWS:
        now, earlier = this[key], (before or {}).get(key)
        if key in ("turns", "users"):
            rows.append([label, f"{now:,}", f"{earlier:,}" if earlier is not None else "-"])
        else:
            rows.append([label, _pct(now), _pct(earlier)])
    heads = ["", name, f"the {days} days before" if days > 0 and before else "before"]
    parts.append(_table(heads, rows))
    if not signals["undo_recorded"]:
        parts.append(
            _note(
                "Undone by hand: this log does not record what people did right after an "
                "action (turn events' after_action, which the Home Assistant plug-in writes)."
            )
        )
    weekly = view["weekly"]
    parts.append("<h3>Week by week</h3>")
    if len(weekly) < 2:
        parts.append(_note("The log covers one week: a trend shows from the second week on."))
    else:
        parts.append(
            _figure(
                trend_svg(
                    [w["week"] for w in weekly],
                    [w["defect_rate"] for w in weekly],
                    title="Failed turns by week (week starting)",
                    ylabel="implicit defect rate",
                ),
                "defect rate by week",
            )
        )
        last = weekly[-4:]
        parts.append(
            _table(
                ["week starting", "turns", "failed"],
                [[w["week"], w["turns"], _pct(w["defect_rate"])] for w in last],
            )
        )
    return parts


def _failing_sections(view: dict[str, Any]) -> list[str]:
    failing = view["failing"]
    parts = ["<h2>Requests that fail most, and what selflearn does with them now</h2>"]
    if not failing["requests"]:
        return [*parts, _note("No request failed in this period.")]
    top = failing["top"]
    parts.append(
        _note(
            f"{failing['requests']:,} different requests failed {failing['turns']:,} times in "
            "this period. What selflearn does now is what the learned version answers when "
            "the request is said again, by the same person on the same device."
        )
    )
    if failing["coverage"]:
        if failing["explained"] < failing["requests"]:
            parts.append(
                _note(
                    f"What selflearn does now, for the {failing['explained']:,} requests that "
                    "failed most:"
                )
            )
        parts.append(
            _table(
                ["now", "requests", "failed turns"],
                [[c["now"], c["requests"], c["turns"]] for c in failing["coverage"]],
            )
        )
    else:
        parts.append(
            _note(
                "Nothing was learned from this log yet (no artefacts folder): run "
                "`selflearn learn` and pass its folder with --artefacts."
            )
        )
    if any(e["failed"] > 1 for e in top):  # a chart of ones says nothing a table does not
        parts.append(
            _figure(
                category_bars_svg(
                    [e["request"] for e in top],
                    [e["failed"] for e in top],
                    [e["now"]["category"] if "now" in e else "not learned from" for e in top],
                    title="Most frequent failing requests, by what selflearn does now",
                    xlabel="failed turns in the period",
                ),
                "most frequent failing requests",
            )
        )
    rows = []
    for e in top:
        now = e.get("now")
        rows.append(
            [
                e["request"],
                e["failed"],
                e["said"],
                e["people"],
                e["said_instead"] or "",
                now["category"] if now else "-",
                now["target"] or "" if now and now["category"] == "rewritten" else "",
                now["layer"] or "" if now and now["category"] == "rewritten" else "",
                now["detail"] if now else "not learned from yet",
            ]
        )
    parts.append(
        _table(
            [
                "request",
                "failed",
                "said",
                "people",
                "said instead (most often)",
                "now",
                "rewritten to",
                "layer",
                "why",
            ],
            rows,
        )
    )
    return parts


def _learned_sections(view: dict[str, Any]) -> list[str]:
    learned = view["learned"]
    parts = ["<h2>What selflearn learned</h2>"]
    if not learned["available"]:
        return [*parts, _note(f"Nothing to show: {learned['why']}.")]
    at = (
        datetime.fromtimestamp(learned["learned_at"], UTC).strftime("%Y-%m-%d %H:%M UTC")
        if learned["learned_at"]
        else "an unknown time"
    )
    turns = learned["learned_from_turns"]
    parts.append(
        _note(
            (f"From {turns:,} turns" if turns else "From a log")
            + f", learned {at}: {learned['mined_rows']} rewrites mined from restatements, "
            f"{learned['restated_failures']} restated failures remembered, "
            f"{learned['index_rows']:,} requests that worked indexed for the nearest-request "
            "layers."
        )
    )
    thresholds = {k: v for k, v in learned["thresholds"].items() if v is not None}
    if thresholds:
        parts.append(
            _note(
                "Thresholds chosen on the log (a rewrite must reach them): "
                + ", ".join(f"{k} {v:.3g}" for k, v in thresholds.items())
                + "."
            )
        )
    for name, why in learned["not_learned"].items():
        parts.append(_note(f"Not trained: {name.replace('_', ' ')} — {why}"))
    if learned["rewrites"]:
        parts.append(
            _table(
                ["request", "rewritten to", "layer", "learner", "support", "people", "success p"],
                [
                    [
                        r["source"],
                        r["target"],
                        r["layer"] if not r["user"] else f"personal ({r['user']})",
                        r["learner"],
                        r["support"],
                        r["people"] if r["people"] is not None else "-",
                        r["success_p"] if r["success_p"] is not None else "-",
                    ]
                    for r in learned["rewrites"]
                ],
            )
        )
        if learned["rewrites_total"] > len(learned["rewrites"]):
            parts.append(
                _note(
                    f"The {len(learned['rewrites'])} with the most support of "
                    f"{learned['rewrites_total']:,} learned."
                )
            )
    else:
        parts.append(
            _note(
                "No rewrite was learned as a pair: too few restatements that worked. The "
                "nearest-request layers may still rewrite (see the failing requests above)."
            )
        )
    return parts


def _explored_sections(view: dict[str, Any]) -> list[str]:
    seen = view.get("explored") or {}
    if not seen.get("choices"):
        return []  # exploring is off, or nothing was held close in this period

    def pct(value: float | None) -> str:
        return "–" if value is None else f"{value:.0%}"

    return [
        "<h2>Close calls and exploring</h2>",
        _note(
            f"{seen['choices']:,} requests had interpretations held close. selflearn served "
            f"one its policy did not prefer on {seen['explored']:,} of them (exploring, within "
            f"its budget; {pct(seen['explored_worked'])} went on without a sign of failure) "
            f"and its preference on the rest ({pct(seen['preferred_worked'])} without one). "
            f"What it learned changed the rewriter's pick on {seen['policy_changed_pick']:,} "
            f"({pct(seen['policy_changed_worked'])} without a sign of failure)."
        ),
    ]


def _applied_sections(view: dict[str, Any]) -> list[str]:
    applied = view["applied"]
    parts = ["<h2>Rewrites applied in this period</h2>"]
    if not applied:
        return [
            *parts,
            _note(
                "No turn in this period was rewritten: selflearn was not serving this "
                "assistant then, or nothing it learned matched."
            ),
        ]
    total = sum(a["applied"] for a in applied)
    worked = sum(a["worked"] for a in applied)
    parts.append(
        _note(
            f"{total:,} turns rewritten; {worked:,} ({worked / total:.0%}) went on without a "
            "sign of failure after the rewrite."
        )
    )
    parts.append(
        _table(
            ["said", "rewritten to", "layer", "applied", "worked", "restated", "interrupted"],
            [
                [
                    a["from"],
                    a["to"],
                    a["layer"],
                    a["applied"],
                    a.get("worked", 0),
                    a.get("restated", 0),
                    a.get("interrupted", 0),
                ]
                for a in applied[:25]
            ],
        )
    )
    return parts


def _stage_sections(
    rows: list[dict[str, Any]],
    view: dict[str, Any],
    failure_points: Mapping[str, Mapping[str, Any]] | None,
    truth: Mapping[str, Mapping[str, Any]] | None,
    day_of: Callable[[float], str],
) -> list[str]:
    parts = ["<h2>Which stage fails</h2>"]
    if failure_points:
        return parts + _isolated(rows, failure_points, truth, day_of)
    if truth:
        mix = Counter(truth[r["turn_id"]]["failure_point"] for r in rows if r["turn_id"] in truth)
        mix.pop("none", None)
        labels = sorted(mix)
        if not labels:
            return [*parts, _note("No turn failed, by the simulator's ground truth.")]
        total = sum(mix.values())
        parts.append(
            _figure(
                bar_svg(
                    labels,
                    [mix[k] for k in labels],
                    title="Failure points of defective turns (ground truth)",
                    xlabel="turns",
                ),
                "mix of failure points",
            )
        )
        parts.append(
            _table(
                ["failure point", "turns", "share"], [[k, mix[k], mix[k] / total] for k in labels]
            )
        )
        return parts
    statuses = Counter(r["status"] for r in rows if r["status"] in FAILED)
    parts.append(
        _note(
            "No dialogue model named the failing stage: `selflearn annotate`, then `selflearn "
            "learn --annotations`, trains one, and this report then shows which stage "
            "(wake word, speech recognition, intent, entity, result) fails."
        )
    )
    if statuses:
        parts.append(
            _table(["response status", "turns"], [[k, v] for k, v in statuses.most_common()])
        )
    else:
        parts.append(
            _note(
                "Every turn was answered with success: the failures above were read from what "
                "people did next, not from the assistant."
            )
        )
    return parts


def _taught_sections(view: dict[str, Any]) -> list[str]:
    taught = view["taught"]
    parts = ["<h2>What users taught</h2>"]
    if not taught["total"]:
        return [
            *parts,
            _note(
                "Nobody taught a preference yet (they say, e.g., “when I say the big light I "
                "mean the ceiling light”; `selflearn teach` or POST /v1/teach)."
            ),
        ]
    parts.append(
        _note(
            f"{taught['total']} preferences from {taught['users']} people, "
            f"{taught['in_period']} of them in this period; the most recent:"
        )
    )
    parts.append(
        _table(
            ["who", "kind", "for", "means", "likes", "how", "when"],
            [
                [
                    t["user"],
                    t["kind"],
                    t["key"] or "",
                    t["value"],
                    "yes" if t["like"] else "no",
                    t["how"],
                    t["when"] or "",
                ]
                for t in taught["recent"]
            ],
        )
    )
    return parts


def build_report(
    turns: pa.Table,
    *,
    truth: Mapping[str, Mapping[str, Any]] | None = None,
    signals: pa.Table | None = None,
    evaluation: dict[str, Any] | None = None,
    failure_points: Mapping[str, Mapping[str, Any]] | None = None,
    artefacts: Path | None = None,
    rewriter: Any = None,
    preferences: Iterable[Any] = (),
    days: int = 7,
    title: str = "selflearn report",
) -> str:
    """The report as one HTML string: the owner's view of the last ``days`` days of the log
    (0: all of it) with what the learning run in ``artefacts`` (or ``rewriter``, what serves
    now) does about its failures, and, when ``evaluation`` is given, the simulator's A/B.
    ``failure_points``: turn_id → what ``selflearn isolate`` wrote for it."""
    owner = owner_view(
        turns,
        signals,
        artefacts=artefacts,
        rewriter=rewriter,
        preferences=preferences,
        failure_points=failure_points,
        days=days,
    )
    view = owner.as_dict()

    def day_of(ts: float) -> str:
        return datetime.fromtimestamp(ts, owner.zone).strftime("%Y-%m-%d %a")

    parts = [f"<h1>{html.escape(title)}</h1>"]
    parts += _period_sections(view)
    parts += _failing_sections(view)
    parts += _learned_sections(view)
    parts += _applied_sections(view)
    parts += _explored_sections(view)
    parts += _stage_sections(owner.period, view, failure_points, truth, day_of)
    parts += _taught_sections(view)
    if evaluation:
        parts += _ab_sections(evaluation)
    body = "\n".join(parts)
    figures = {"owner": view, "evaluation": (evaluation or {}).get("summary", {})}
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>{body}"
        "<script type='application/json' id='figures'>"
        f"{html.escape(json.dumps(figures, default=str))}</script>"
        "</body></html>"
    )


_FIGURES = re.compile(r"<script type='application/json' id='figures'>(.*?)</script>", re.S)


def report_figures(page: str) -> dict[str, Any]:
    """The figures a report page embeds (``owner``: the owner's view; ``evaluation``: the
    A/B's summary), read back from its HTML."""
    found = _FIGURES.search(page)
    if found is None:
        raise DataFileError("not a selflearn report: the page embeds no figures")
    return dict(json.loads(html.unescape(found.group(1))))


def write_report(path: Path, **kwargs: Any) -> Path:
    """Build the report (see :func:`build_report`) and write it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_report(**kwargs), encoding="utf-8")
    return path
