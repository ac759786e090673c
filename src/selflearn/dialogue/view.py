"""The dialogue model's scores as terminal tables (for ``selflearn isolate`` / ``label``)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from selflearn.dialogue.annotate import FAILURE_POINTS

__all__ = ["confusion_table", "coverage_table", "goal_table"]


def confusion_table(scores: dict[str, Any]) -> Table:
    """Failure points: truth by row, the model's by column, with recall and precision."""
    c = scores["failure_point"]
    table = Table(title=f"failure points against ground truth: accuracy {c['accuracy']:.4f}")
    table.add_column("truth \\ model")
    for point in FAILURE_POINTS:
        table.add_column(point, justify="right")
    table.add_column("recall", justify="right")
    table.add_column("precision", justify="right")
    for point in FAILURE_POINTS:
        recall, precision = c["recall"][point], c["precision"][point]
        table.add_row(
            point,
            *(f"{c['matrix'][point][q]:,}" for q in FAILURE_POINTS),
            f"{recall:.3f}" if recall is not None else "",
            f"{precision:.3f}" if precision is not None else "",
        )
    return table


def goal_table(scores: dict[str, Any]) -> Table:
    """Goal segmentation and goal success: the model beside a single annotator."""
    table = Table(title="goals against ground truth: the model and a single annotator")
    for column in ("label", "turns", "model F1", "annotator F1", "model acc.", "annotator acc."):
        table.add_column(column, justify="left" if column == "label" else "right")
    for name in ("goal_start", "goal_success"):
        g = scores[name]
        table.add_row(
            name,
            f"{g['turns']:,}",
            f"{g['model_f1']:.4f}",
            f"{g['annotator_f1']:.4f}",
            f"{g['model_accuracy']:.4f}",
            f"{g['annotator_accuracy']:.4f}",
        )
    return table


def coverage_table(scores: dict[str, Any], annotator_accuracy: dict[str, float]) -> Table:
    """Precision of the labels kept as the confidence threshold keeps fewer turns."""
    table = Table(title="precision by coverage (labels kept above a confidence threshold)")
    table.add_column("label")
    table.add_column("annotator", justify="right")
    curves = {
        "failure_point": scores["failure_point_by_confidence"],
        "goal_start": scores["goal_start"]["by_confidence"],
        "goal_success": scores["goal_success"]["by_confidence"],
    }
    coverages = [point["coverage"] for point in curves["failure_point"]]
    for coverage in coverages:
        table.add_column(f"{coverage:.0%} kept", justify="right")
    for name, curve in curves.items():
        table.add_row(
            name,
            f"{annotator_accuracy[name]:.4f}",
            *(f"{p['precision']:.4f} (≥{p['threshold']:.2f})" for p in curve),
        )
    return table
