"""The A/B figures as a terminal table (the CLI and the demo print the same one)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from selflearn.evaluate.ab import PEER_COLUMNS

__all__ = ["arms_table", "curve_table", "layers_table", "peers_table"]

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
