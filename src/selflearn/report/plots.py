"""Plots for the report, drawn with matplotlib to inline SVG (the page needs nothing else)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

__all__ = ["bar_svg", "category_bars_svg", "lines_svg", "stacked_bars_svg", "trend_svg"]

PALETTE = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#e53e3e", "#718096", "#d69e2e")


def _figure(width: float = 7.0, height: float = 3.2):  # type: ignore[no-untyped-def]
    from matplotlib.figure import Figure  # lazy: only the report needs matplotlib

    figure = Figure(figsize=(width, height), dpi=100)
    figure.set_layout_engine("tight")
    return figure


def _svg(figure) -> str:  # type: ignore[no-untyped-def]
    buffer = io.StringIO()
    # "tight": the saved picture grows to hold a legend or labels outside the axes
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prologue: the SVG sits inside HTML


def _legend_outside(axes) -> None:  # type: ignore[no-untyped-def]
    """The legend right of the plot, never over the data."""
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def lines_svg(
    series: Mapping[str, Mapping[int, float]], *, title: str, xlabel: str, ylabel: str
) -> str:
    """One line per series (x → y), e.g. defect rate by day per arm."""
    figure = _figure()
    axes = figure.add_subplot()
    styles = ("-", "--", ":", "-.")
    markers = ("o", "s", "^", "D", "v")
    for i, (name, points) in enumerate(series.items()):
        xs = sorted(points)
        # Distinct dashes and markers: arms with equal figures stay visible on top of each other.
        axes.plot(
            xs,
            [points[x] for x in xs],
            marker=markers[i % len(markers)],
            linestyle=styles[i % len(styles)],
            label=name,
            color=PALETTE[i % len(PALETTE)],
        )
    every_x = sorted({x for points in series.values() for x in points})
    if every_x and len(every_x) <= 20:
        axes.set_xticks(every_x)  # whole days, not 7.5
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    if series:
        _legend_outside(axes)
    return _svg(figure)


def bar_svg(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    xlabel: str,
    horizontal: bool = False,
) -> str:
    """A single bar chart (horizontal for long labels such as requests)."""
    figure = _figure(7.0, max(3.0, 0.28 * len(labels) + 1.0) if horizontal else 3.2)
    axes = figure.add_subplot()
    if horizontal:
        axes.barh(list(labels)[::-1], list(values)[::-1], color=PALETTE[0])
        axes.set_xlabel(xlabel)
        axes.tick_params(axis="y", labelsize=7)
    else:
        axes.bar(list(labels), list(values), color=PALETTE[: len(labels)] or PALETTE[0])
        axes.set_ylabel(xlabel)
    axes.set_title(title)
    axes.grid(alpha=0.3, axis="x" if horizontal else "y")
    return _svg(figure)


def stacked_bars_svg(
    groups: Sequence[str], parts: Mapping[str, Sequence[float]], *, title: str, ylabel: str
) -> str:
    """Bars per group split into parts, e.g. wins / losses / neutral per arm."""
    figure = _figure()
    axes = figure.add_subplot()
    bottom = [0.0] * len(groups)
    for i, (name, values) in enumerate(parts.items()):
        axes.bar(
            list(groups), list(values), bottom=bottom, label=name, color=PALETTE[i % len(PALETTE)]
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.tick_params(axis="x", labelrotation=30, labelsize=8)
    for label in axes.get_xticklabels():
        label.set_horizontalalignment("right")
    axes.set_title(title)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3, axis="y")
    if parts:
        _legend_outside(axes)
    return _svg(figure)


def category_bars_svg(
    labels: Sequence[str],
    values: Sequence[float],
    categories: Sequence[str],
    *,
    title: str,
    xlabel: str,
) -> str:
    """Horizontal bars (long labels such as requests), coloured by each bar's category,
    the categories' legend below the plot."""
    figure = _figure(7.5, max(3.0, 0.3 * len(labels) + 1.6))
    axes = figure.add_subplot()
    order = list(dict.fromkeys(categories))
    colour = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(order)}
    axes.barh(list(labels)[::-1], list(values)[::-1], color=[colour[c] for c in categories][::-1])
    axes.tick_params(axis="y", labelsize=7)
    axes.set_xlabel(xlabel)
    axes.set_title(title)
    axes.grid(alpha=0.3, axis="x")
    from matplotlib.patches import Patch

    axes.legend(
        handles=[Patch(color=colour[c], label=c) for c in order],
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(0.0, -0.12 - 0.6 / max(len(labels), 1)),
        ncols=2,
        frameon=False,
    )
    return _svg(figure)


def trend_svg(labels: Sequence[str], rates: Sequence[float], *, title: str, ylabel: str) -> str:
    """One rate over labelled periods (e.g. weeks by their first day), as a line."""
    figure = _figure(7.0, 3.0)
    axes = figure.add_subplot()
    xs = list(range(len(labels)))
    axes.plot(xs, list(rates), marker="o", color=PALETTE[0])
    step = max(1, len(labels) // 12)  # at most a dozen dates under the axis
    axes.set_xticks(xs[::step], list(labels)[::step], rotation=30, ha="right", fontsize=7)
    axes.set_ylim(bottom=0.0)
    axes.set_title(title)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    return _svg(figure)
