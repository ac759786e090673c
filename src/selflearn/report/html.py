"""The self-contained HTML report: one file, inline SVG plots, opens offline.

It reads the turn log (any §3.1 log), and where they exist the signals, the simulator's
ground truth and an A/B evaluation, and shows: defect rate by day and arm, the mix of
failure points, the most frequent failing requests, and the applied rewrites with their
wins and losses.
"""

from __future__ import annotations

import html
import json
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from selflearn.evaluate.ab import PEER_COLUMNS
from selflearn.report.plots import bar_svg, lines_svg, stacked_bars_svg

__all__ = ["build_report", "write_report"]

FAILED = frozenset({"no_intent_match", "no_valid_targets", "failed_to_handle", "unknown"})
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


def _is_defect(
    row: dict[str, Any],
    truth: dict[str, dict[str, Any]] | None,
    defect_scores: dict[str, float],
) -> bool:
    """Ground truth where there is some, else the implicit defect score, else the status."""
    record = truth.get(row["turn_id"]) if truth else None
    if record is not None:
        return bool(record["defect"])
    score = defect_scores.get(row["turn_id"])
    return score >= 0.5 if score is not None else row["status"] in FAILED


def _defect_by_day(
    rows: list[dict[str, Any]],
    truth: dict[str, dict[str, Any]] | None,
    defect_scores: dict[str, float],
) -> tuple[dict[int, float], str]:
    days: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    first = min((r["ts"] for r in rows), default=0.0)
    for row in rows:
        record = truth.get(row["turn_id"]) if truth else None
        day = int(record["day"]) if record is not None else int((row["ts"] - first) // 86_400)
        days[day][0] += 1
        days[day][1] += _is_defect(row, truth, defect_scores)
    source = (
        "ground truth"
        if truth
        else ("implicit defect score" if defect_scores else "response status")
    )
    return {d: n[1] / n[0] for d, n in sorted(days.items()) if n[0]}, source


_STAGES = ("false_wake", "asr", "nlu", "entity", "result")
_TOP_INTENTS = 12


def _isolated(
    rows: list[dict[str, Any]],
    points: dict[str, dict[str, Any]],
    truth: dict[str, dict[str, Any]] | None,
) -> list[str]:
    """The failure points ``selflearn isolate`` named, broken down by what the user meant,
    by device type and by day; beside ground truth where there is some."""
    first = min((r["ts"] for r in rows), default=0.0)
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
        day = int(record["day"]) if record is not None else int((row["ts"] - first) // 86_400)
        group_of = {
            "intent": point.get("intent") or row["intent"] or "(not understood)",
            "device": row["device_type"],
            "day": f"day {day}",
        }
        for name, key in group_of.items():
            by[name][key]["turns"] += 1
            by[name][key][stage] += 1
        mix[stage] += 1
    if not mix:
        return ["<p class='note'>The failure-point file names none of these turns.</p>"]
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
            keys = sorted(groups, key=lambda k: int(k.split()[1]))
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


def build_report(
    turns: pa.Table,
    *,
    truth: dict[str, dict[str, Any]] | None = None,
    signals: pa.Table | None = None,
    evaluation: dict[str, Any] | None = None,
    failure_points: dict[str, dict[str, Any]] | None = None,
    title: str = "selflearn report",
) -> str:
    """The report as one HTML string. ``failure_points``: turn_id → what ``selflearn
    isolate`` wrote for it (failure point, confidence, meant intent)."""
    rows = [
        {
            "turn_id": t,
            "ts": ts,
            "text": (a or {}).get("text") or "",
            "status": (r or {}).get("status"),
            "intent": (n or {}).get("intent"),
            "device_type": d or "unknown",
        }
        for t, ts, a, r, n, d in zip(
            turns.column("turn_id").to_pylist(),
            turns.column("ts").to_pylist(),
            turns.column("asr").to_pylist(),
            turns.column("response").to_pylist(),
            turns.column("nlu").to_pylist(),
            turns.column("device_type").to_pylist(),
            strict=True,
        )
    ]
    defect_scores: dict[str, float] = {}
    if signals is not None:
        defect_scores = dict(
            zip(
                signals.column("turn_id").to_pylist(),
                signals.column("defect_score").to_pylist(),
                strict=True,
            )
        )
    parts = [f"<h1>{html.escape(title)}</h1>"]
    start = min((r["ts"] for r in rows), default=0.0)
    end = max((r["ts"] for r in rows), default=0.0)
    span = (
        f"{datetime.fromtimestamp(start, UTC):%Y-%m-%d} to {datetime.fromtimestamp(end, UTC):%Y-%m-%d}"
        if rows
        else "no turns"
    )
    statuses = Counter(r["status"] for r in rows)
    parts.append(
        f"<p class='note'>{len(rows):,} turns, {span}. Statuses: "
        + ", ".join(f"{html.escape(str(k))} {v:,}" for k, v in statuses.most_common())
        + ".</p>"
    )

    # -- the A/B evaluation ------------------------------------------------------------
    if evaluation:
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
            parts.append(
                _table(["arm", "layer", "applied", "wins", "losses", "win:loss"], layer_rows)
            )
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
                            _pct(
                                (fig.get("next_attempt_after_teaching") or {}).get("success_rate")
                            ),
                            fig.get("questions_per_user_week", "-"),
                        ]
                        for name, fig in teaching.items()
                    ],
                )
            )

    # -- defect rate by day ---------------------------------------------------------------
    parts.append("<h2>Defect rate by day</h2>")
    baseline, source = _defect_by_day(rows, truth, defect_scores)
    series: dict[str, dict[int, float]] = {f"logged traffic ({source})": baseline}
    for arm, days in (evaluation or {}).get("by_day", {}).items():
        series[f"A/B: {arm}"] = {int(d): float(v) for d, v in days.items()}
    parts.append(
        _figure(
            lines_svg(
                series, title="Defect rate by day and arm", xlabel="day", ylabel="defect rate"
            ),
            "defect rate by day and arm",
        )
    )

    # -- failure points ---------------------------------------------------------------------
    parts.append("<h2>Which stage fails</h2>")
    if failure_points:
        parts.extend(_isolated(rows, failure_points, truth))
    elif truth:
        mix = Counter(truth[r["turn_id"]]["failure_point"] for r in rows if r["turn_id"] in truth)
        mix.pop("none", None)
        labels = sorted(mix)
        parts.append(
            _figure(
                bar_svg(
                    labels,
                    [mix[k] for k in labels],
                    title="Failure points of defective turns",
                    xlabel="turns",
                ),
                "mix of failure points",
            )
        )
        total = sum(mix.values())
        parts.append(
            _table(
                ["failure point", "turns", "share"], [[k, mix[k], mix[k] / total] for k in labels]
            )
        )
    else:
        failing = Counter(r["status"] for r in rows if r["status"] in FAILED)
        labels = sorted(failing)
        parts.append(
            _figure(
                bar_svg(
                    labels,
                    [failing[k] for k in labels],
                    title="Failing turns by response status",
                    xlabel="turns",
                ),
                "mix of failure points",
            )
        )
        parts.append(
            "<p class='note'>Without ground truth the stage is read from the response status; "
            "failure point isolation names the stage from the dialogue.</p>"
        )

    # -- failing requests ---------------------------------------------------------------------
    parts.append("<h2>Most frequent failing requests</h2>")
    failing_requests: Counter[str] = Counter()
    for row in rows:
        record = truth.get(row["turn_id"]) if truth else None
        false_wake = record is not None and record["failure_point"] == "false_wake"
        if row["text"] and not false_wake and _is_defect(row, truth, defect_scores):
            failing_requests[row["text"]] += 1
    top = failing_requests.most_common(15)
    if top:
        parts.append(
            _figure(
                bar_svg(
                    [t for t, _ in top],
                    [n for _, n in top],
                    title="Most frequent failing requests",
                    xlabel="turns",
                    horizontal=True,
                ),
                "most frequent failing requests",
            )
        )
    else:
        parts.append("<p class='note'>No failing requests.</p>")

    # -- rewrites ---------------------------------------------------------------------------
    parts.append("<h2>Applied rewrites</h2>")
    rewrites = (evaluation or {}).get("top_rewrites", [])
    arms = (evaluation or {}).get("summary", {}).get("arms", {})
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
    curve = [c for c in (evaluation or {}).get("curve", []) if not c["arm"].startswith("check:")]
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
    body = "\n".join(parts)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>{body}"
        f"<script type='application/json' id='figures'>{html.escape(json.dumps((evaluation or {}).get('summary', {})))}</script>"
        "</body></html>"
    )


def write_report(path: Path, **kwargs: Any) -> Path:
    """Build the report (see :func:`build_report`) and write it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_report(**kwargs), encoding="utf-8")
    return path
