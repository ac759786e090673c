"""How well the parser reads preference statements: precision and recall per kind."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selflearn.errors import DataFileError
from selflearn.teach.parse import KINDS, normalize, parse_statement

__all__ = ["Example", "read_examples", "statement_quality"]


@dataclass(frozen=True)
class Example:
    """One sentence and what it states (``kind`` "none": no preference)."""

    kind: str
    value: str
    text: str


def read_examples(path: Path | str) -> list[Example]:
    """A tab-separated file of ``kind, value, text`` rows (``#`` starts a comment)."""
    path = Path(path)
    examples = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read the statement set ({exc.strerror})") from None
    for number, row in enumerate(csv.reader(lines, delimiter="\t"), start=1):
        if not row or row[0].startswith("#"):
            continue
        if len(row) != 3 or (row[0] != "none" and row[0] not in KINDS):
            raise DataFileError(
                f"{path}:{number}: expected 'kind<TAB>value<TAB>text' with kind one of "
                f"none, {', '.join(KINDS)}; got {row!r}"
            )
        examples.append(Example(row[0], row[1], row[2]))
    return examples


def statement_quality(
    examples: list[Example], *, artists: frozenset[str] | set[str] = frozenset()
) -> dict[str, Any]:
    """Precision and recall of statement detection per kind (a statement found with the
    wrong kind counts against both), and how often the value read is the one stated.
    ``artists``: the names the assistant's catalogue knows."""
    found: Counter[str] = Counter()
    truth: Counter[str] = Counter()
    right: Counter[str] = Counter()
    values_right = 0
    errors = []
    for example in examples:
        statement = parse_statement(example.text, artists=artists)
        kind = statement.kind if statement else "none"
        if example.kind != "none":
            truth[example.kind] += 1
        if kind != "none":
            found[kind] += 1
        if kind == example.kind and kind != "none":
            right[kind] += 1
            assert statement is not None
            if normalize(example.value) in (statement.value, statement.value.removeprefix("the ")):
                values_right += 1
        if kind != example.kind:
            errors.append({"text": example.text, "expected": example.kind, "parsed": kind})
    per_kind = {
        kind: {
            "statements": truth[kind],
            "precision": round(right[kind] / found[kind], 4) if found[kind] else None,
            "recall": round(right[kind] / truth[kind], 4) if truth[kind] else None,
        }
        for kind in KINDS
    }
    total_found, total_truth, total_right = (sum(c.values()) for c in (found, truth, right))
    return {
        "sentences": len(examples),
        "statements": total_truth,
        "non_statements": len(examples) - total_truth,
        "precision": round(total_right / total_found, 4) if total_found else 0.0,
        "recall": round(total_right / total_truth, 4) if total_truth else 0.0,
        "value_accuracy": round(values_right / total_right, 4) if total_right else 0.0,
        "by_kind": per_kind,
        "errors": errors,
    }
