"""Preference parsing benchmark: precision and recall per preference type on held-out sentences.

Reads ``benchmarks/data/preference_statements.tsv`` (written after the parser was tuned on
the two development sets, ``preference_statements_dev.tsv`` and ``…_dev2.tsv``, and never
tuned on) and prints, per preference type, how many statements there are, the parser's
precision and recall, and the sentences it got wrong. Targets: precision ≥ 0.95, recall ≥
0.85. Last line: JSON.

    python benchmarks/preferences.py [--set held-out|dev|dev2|all] [--smoke]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from _figures import figures_line
from selflearn.assistant.media import Catalogue
from selflearn.teach import read_examples, statement_quality

DATA = Path(__file__).resolve().parent / "data"
SETS = {
    "held-out": "preference_statements.tsv",
    "dev": "preference_statements_dev.tsv",
    "dev2": "preference_statements_dev2.tsv",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=(*SETS, "all"), default="held-out")
    # the sets are a few hundred sentences: the smoke run is the full run
    parser.add_argument("--smoke", action="store_true", help="the same run (it takes seconds)")
    args = parser.parse_args()
    console = Console(stderr=True)
    catalogue = Catalogue.default()
    # the assistant knows its catalogue's artists; any other name must read as one
    artists = {i.title.lower() for i in catalogue.items if i.media_class == "artist"}
    out = {}
    for name in SETS if args.set == "all" else (args.set,):
        quality = statement_quality(read_examples(DATA / SETS[name]), artists=artists)
        table = Table(title=f"preference statements, {name} set ({quality['sentences']} sentences)")
        for column in ("type", "statements", "precision", "recall"):
            table.add_column(column, justify="left" if column == "type" else "right")
        for kind, row in quality["by_kind"].items():
            table.add_row(
                kind,
                str(row["statements"]),
                f"{row['precision']:.3f}" if row["precision"] is not None else "-",
                f"{row['recall']:.3f}" if row["recall"] is not None else "-",
            )
        table.add_row(
            "all",
            f"{quality['statements']} (+{quality['non_statements']} non-statements)",
            f"{quality['precision']:.3f}",
            f"{quality['recall']:.3f}",
        )
        console.print(table)
        console.print(f"value read right on {quality['value_accuracy']:.1%} of statements found")
        for error in quality["errors"]:
            console.print(f"  {error['expected']:>7} read as {error['parsed']:<7} {error['text']}")
        out[name] = {k: v for k, v in quality.items() if k != "errors"}
    print(figures_line(out))


if __name__ == "__main__":
    main()
