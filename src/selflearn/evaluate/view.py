"""The A/B figures as a terminal table (the CLI and the demo print the same one)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from selflearn.evaluate.ab import PEER_COLUMNS

__all__ = ["arms_table", "curve_table", "layers_table", "peers_table", "teaching_table"]

COLUMNS = (
    "arm",
    "turns",
    "defect rate",
    "change vs control",
    "goal success",
    "friction",
    "wrong actions",
    "wins:losses",
    "coverage",
)


def arms_table(summary: dict[str, Any], title: str) -> Table:
    """One row per arm: figures, and the defect-rate change with its 95 % interval."""
    view = Table(title=title)
    for column in COLUMNS:
        view.add_column(column, justify="left" if column == "arm" else "right")
    for name, fig in summary["arms"].items():
        change = fig.get("change_vs_control", {}).get("defect_rate")
        view.add_row(
            name,
            f"{fig['turns']:,}",
            f"{fig['defect_rate']:.3f}",
            f"{change['change']:+.1%} [{change['low']:+.1%}, {change['high']:+.1%}]"
            if change
            else "control",
            f"{fig['goal_success_rate']:.3f}",
            f"{fig['friction']:.3f}",
            f"{fig['wrong_action_rate']:.4f}",
            f"{fig['wins']}:{fig['losses']}",
            f"{fig.get('coverage', 0.0):.1%}",
        )
    return view


def explore_table(document: dict[str, Any], title: str) -> Table:
    """Goal success where interpretations were held close, per arm and period, with its
    interval; wrong actions per goal; exploring's cost; the learned policy's value
    on-policy beside its off-policy estimates."""
    view = Table(title=title)
    for column in ("figure", "value"):
        view.add_column(column, justify="left" if column == "figure" else "right")

    def interval(change: dict[str, float] | None, digits: int = 2) -> str:
        if not change or change["change"] != change["change"]:  # none, or 0 of 0 (NaN)
            return ""
        return (
            f"  {change['change']:+.{digits}%} "
            f"[{change['low']:+.{digits}%}, {change['high']:+.{digits}%}]"
        )

    for period in (document, document["check"]):
        for subset, label in (("held_close", "held close"), ("novel", "meaning changed")):
            for arm, fig in period.get(subset, {}).items():
                view.add_row(
                    f"{label}: goal success, {arm}",
                    f"{fig['goal_success_rate']:.4f} of {fig['goals']:,}"
                    f"{interval(fig.get('change'))}",
                )
        for arm, fig in period["wrong_actions"].items():
            view.add_row(
                f"wrong actions, {arm}",
                f"{fig['count']:,} ({fig['per_goal']:.4f} per goal)"
                f"{interval(fig.get('change_per_goal'))}",
            )
    for label, cost in (("learning", document["cost"]), ("check", document["check"]["cost"])):
        view.add_row(
            f"explored turns, {label} period (won / lost / neutral)",
            f"{cost['explored']:,} ({cost['won']} / {cost['lost']} / {cost['neutral']})",
        )
        view.add_row(
            f"defects caused by exploring, {label} period",
            f"{cost['defects_caused']:,} ({cost['defects_caused_share']:.2%} of turns; budget "
            f"{cost['budget']:,} explorations, {'kept' if cost['within_budget'] else 'EXCEEDED'})",
        )
    policy = document["policy"]
    for reward in ("truth", "signals"):
        on, off = policy["on_policy"][reward], policy["off_policy"][reward]
        for estimator in ("ips", "snips"):
            view.add_row(
                f"learned policy ({reward}): on-policy / off-policy {estimator.upper()}",
                f"{on['ips']:.3f} [{on['ips_ci'][0]:.3f}, {on['ips_ci'][1]:.3f}] / "
                f"{off[estimator]:.3f} [{off[estimator + '_ci'][0]:.3f}, "
                f"{off[estimator + '_ci'][1]:.3f}]",
            )
    return view


def curve_table(curve: list[dict[str, Any]], title: str) -> Table:
    """Coverage against win:loss as the support threshold rises."""
    view = Table(title=title)
    for column in ("arm", "min support", "applied", "wins", "losses", "win:loss", "coverage"):
        view.add_column(column, justify="left" if column == "arm" else "right")
    for row in curve:
        view.add_row(
            row["arm"],
            str(row["min_support"]),
            f"{row['applied']:,}",
            f"{row['wins']:,}",
            f"{row['losses']:,}",
            f"{row['win_loss']:.1f}:1" if row["win_loss"] is not None else "no losses",
            f"{row['coverage']:.1%}",
        )
    return view


def layers_table(summary: dict[str, Any], title: str) -> Table:
    """Each arm's applied rewrites by the layer that made them."""
    view = Table(title=title)
    for column in ("arm", "layer", "applied", "wins", "losses", "win:loss"):
        view.add_column(column, justify="left" if column in ("arm", "layer") else "right")
    for name, fig in summary["arms"].items():
        for layer, row in fig.get("by_layer", {}).items():
            view.add_row(
                name,
                layer,
                f"{row['applied']:,}",
                f"{row['wins']:,}",
                f"{row['losses']:,}",
                f"{row['win_loss']:.1f}:1" if row["win_loss"] is not None else "no losses",
            )
    return view


def peers_table(peers: list[dict[str, Any]], title: str) -> Table:
    """Home Assistant's matchers and selflearn on the same traffic."""
    view = Table(title=title)
    for column in PEER_COLUMNS:
        view.add_column(column, justify="left" if column == "system" else "right")
    for row in peers:
        view.add_row(
            row["system"],
            f"{row['recovered']:,}",
            f"{row['recovered_share']:.1%}",
            f"{row['broken']:,}",
            f"{row['defect_rate']:.3f}",
            f"{row['wrong_actions']:,} ({row['wrong_action_rate']:.4f})",
        )
    return view


def teaching_table(teaching: dict[str, dict[str, Any]], title: str) -> Table:
    """Requests whose meaning only the user holds (own words, ambiguous places, tastes):
    their defect rate per arm, before and after the user taught it, and how often the
    assistant asked."""

    def pct(value: float | None) -> str:
        return f"{value:.1%}" if value is not None else "-"

    view = Table(title=title)
    columns = (
        "arm",
        "personal requests",
        "defect rate",
        "own word / place / taste",
        "before taught",
        "after taught",
        "next attempt after teaching",
        "questions / user / week",
        "answers stored",
    )
    for column in columns:
        view.add_column(column, justify="left" if column == "arm" else "right")
    for name, fig in teaching.items():
        kinds = fig.get("by_kind", {})
        before, after = fig.get("before_taught"), fig.get("after_taught")
        nxt = fig.get("next_attempt_after_teaching")
        view.add_row(
            name,
            f"{fig['personal_turns']:,}",
            pct(fig["personal_defect_rate"]),
            " / ".join(
                pct(kinds.get(k, {}).get("defect_rate")) for k in ("alias", "place", "taste")
            ),
            f"{pct(before['defect_rate'])} of {before['turns']:,}" if before else "-",
            f"{pct(after['defect_rate'])} of {after['turns']:,}" if after else "-",
            f"{pct(nxt['success_rate'])} of {nxt['turns']:,}" if nxt else "-",
            f"{fig['questions_per_user_week']:.2f}"
            if fig.get("questions_per_user_week") is not None
            else "-",
            f"{fig['answers_stored']} of {fig['answers']} (+{fig['guided_stored']} guided)"
            if "answers" in fig
            else "-",
        )
    return view
