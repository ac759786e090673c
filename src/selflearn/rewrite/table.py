"""The rewrite table (DESIGN §3.2): exact source → rewrite, global and per user."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from selflearn.errors import ConfigError, DataFileError
from selflearn.rewrite.base import Considered, Rewrite, RewriteRequest, normalize_utterance
from selflearn.rewrite.chains import DEVICE_SCOPE
from selflearn.rewrite.guards import OFFLINE_MAY, OWN_ROW_MAY, Guard
from selflearn.rewrite.template import Template, is_template

__all__ = ["REWRITES_FILE", "REWRITE_COLUMNS", "RewriteRow", "RewriteTable"]

REWRITES_FILE = "rewrites.parquet"  # the offline table in an artefacts folder
REWRITE_COLUMNS = ("source", "rewrite", "score", "support", "layer", "user_id", "method")
# How a row the guard stops is said to be withheld (``Considered.withheld`` starts so).
GUARD_BLOCKED = "blocked by a guard"
# Optional beyond the contract: the source's own success rate, where the learner knows it.
EXTRA_COLUMNS = ("source_score",)
REWRITE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("rewrite", pa.string()),
        ("score", pa.float64()),
        ("support", pa.int64()),
        ("layer", pa.string()),
        ("user_id", pa.string()),
        ("method", pa.string()),
        ("source_score", pa.float64()),
    ]
)


@dataclass(frozen=True)
class RewriteRow:
    source: str
    rewrite: str
    score: float
    support: int
    layer: str = "global"
    user_id: str | None = None
    method: str = "markov"
    source_score: float | None = None

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any], where: str) -> RewriteRow:
        try:
            source, target = str(row["source"]), str(row["rewrite"])
            score, support = float(row["score"]), int(row["support"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DataFileError(
                f"{where}: a rewrite row needs {REWRITE_COLUMNS} ({exc!r})"
            ) from exc
        layer = str(row.get("layer") or "global")
        user_id = row.get("user_id")
        if layer not in ("global", "personal"):
            raise DataFileError(f"{where}: layer must be 'global' or 'personal'; got {layer!r}")
        if layer == "personal" and not user_id:
            raise DataFileError(f"{where}: a personal rewrite needs a user_id")
        if not (0.0 <= score <= 1.0) or math.isnan(score):
            raise DataFileError(f"{where}: score must be in [0, 1]; got {score}")
        if is_template(source) or is_template(target):
            try:
                template = Template.parse(source, target)
            except ValueError as exc:
                raise DataFileError(f"{where}: not a usable template ({exc})") from exc
            source, target = template.source, template.target
        elif not normalize_utterance(source) or not normalize_utterance(target):
            raise DataFileError(f"{where}: source and rewrite must contain words")
        else:
            source, target = normalize_utterance(source), normalize_utterance(target)
        return cls(
            source,
            target,
            score,
            support,
            layer,
            str(user_id) if user_id else None,
            str(row.get("method") or "markov"),
            float(row["source_score"]) if row.get("source_score") is not None else None,
        )


class RewriteTable:
    """Looks an utterance up: exact rows before templates, and within each the speaker's
    personal rows before the global ones.

    >>> table = RewriteTable.from_rows(
    ...     [{"source": "turn of the light", "rewrite": "turn off the light",
    ...       "score": 0.9, "support": 12}]
    ... )
    >>> table.rewrite(RewriteRequest("Turn of the light")).target
    'turn off the light'
    >>> table.rewrite(RewriteRequest("turn off the light")) is None
    True
    >>> table.add(RewriteRow("kill the {name}", "turn off the {name}", 0.95, 30))
    >>> table.rewrite(RewriteRequest("kill the porch light")).target
    'turn off the porch light'
    """

    def __init__(self, *, min_score: float = 0.0, min_support: int = 1) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise ConfigError("RewriteTable", "min_score", min_score, "a float in [0, 1]")
        if min_support < 1:
            raise ConfigError("RewriteTable", "min_support", min_support, "an int >= 1")
        self.min_score = min_score
        self.min_support = min_support
        self.guard: Guard | None = None  # what no rewrite may do (see selflearn.rewrite.guards)
        self.personal = True  # False: the global rows only (the personal layer is off)
        self.rows_: list[RewriteRow] = []
        self._global: dict[str, RewriteRow] = {}
        self._personal: dict[tuple[str, str], RewriteRow] = {}
        # user (None: global) → one literal word of theirs → templates
        self._templates: dict[str | None, dict[str, list[tuple[Template, RewriteRow]]]] = {}

    @classmethod
    def from_rows(
        cls, rows: Iterable[Mapping[str, Any]], *, min_score: float = 0.0, min_support: int = 1
    ) -> RewriteTable:
        table = cls(min_score=min_score, min_support=min_support)
        for i, row in enumerate(rows):
            table.add(RewriteRow.from_mapping(row, f"row {i}"))
        return table

    def add(self, row: RewriteRow) -> None:
        """Keep the best-scoring row per (user, source)."""
        self.rows_.append(row)
        if is_template(row.source):
            template = Template.parse(row.source, row.rewrite)
            owner = row.user_id if row.layer == "personal" else None
            anchor = min(template.literals)
            bucket = self._templates.setdefault(owner, {}).setdefault(anchor, [])
            bucket.append((template, row))
        elif row.layer == "personal" and row.user_id:
            key = (row.user_id, row.source)
            if key not in self._personal or row.score > self._personal[key].score:
                self._personal[key] = row
        elif row.source not in self._global or row.score > self._global[row.source].score:
            self._global[row.source] = row

    def __len__(self) -> int:
        return len(self.rows_)

    def forget(self, owner: str) -> int:
        """Drop the personal rows of ``owner`` (a user id, or ``device:<id>``); how many."""
        kept = [r for r in self.rows_ if r.layer != "personal" or r.user_id != owner]
        dropped = len(self.rows_) - len(kept)
        if dropped:
            self.rows_ = kept
            self._personal = {k: r for k, r in self._personal.items() if k[0] != owner}
            self._templates.pop(owner, None)
        return dropped

    def rewrite(self, request: RewriteRequest) -> Rewrite | None:
        found = self.consider(request)
        return found.served(normalize_utterance(request.text)) if found else None

    def consider(self, request: RewriteRequest) -> Considered | None:
        """The row that matches the request (the speaker's own first, then everyone's, then
        a template), with why it is withheld (too weak, or a guard blocks it), or None."""
        key = normalize_utterance(request.text)
        # Personal rows belong to the speaker, or, when the speaker is unknown, to the
        # device they spoke to (``device:<device_id>``, as the miner names that scope).
        owner = request.user_id or (
            f"{DEVICE_SCOPE}{request.device_id}" if request.device_id else None
        )
        if not self.personal:
            owner = None
        row = self._personal.get((owner, key)) if owner else None
        row = row or self._global.get(key)
        target = row.rewrite if row is not None else None
        if row is None:
            target, row = self._template(key, owner)
        if row is None or target is None or target == key:
            return None
        withheld = None
        if row.score < self.min_score:
            withheld = f"score {row.score:.2f} is below the table's {self.min_score:.2f}"
        elif row.support < self.min_support:
            withheld = f"support {row.support} is below the table's {self.min_support}"
        elif self.guard is not None:
            why = self.guard.reason(key, target, request.area)
            may = OWN_ROW_MAY if row.layer == "personal" else OFFLINE_MAY
            if why is not None and why not in may:
                withheld = f"{GUARD_BLOCKED}: {why}"
        return Considered(
            target,
            row.layer,
            row.method,
            round(row.score, 4),
            self.min_score,
            row.support,
            withheld,
        )

    def _template(self, text: str, user_id: str | None) -> tuple[str | None, RewriteRow | None]:
        words = set(text.split())
        for owner in ([user_id] if user_id else []) + [None]:
            buckets = self._templates.get(owner, {})
            fits = [
                (row, target)
                for word in words & buckets.keys()
                for template, row in buckets[word]
                if template.literals <= words and (target := template.apply(text))
            ]
            if fits:
                row, target = min(fits, key=lambda f: (-f[0].score, -f[0].support, f[0].source))
                return target, row
        return None, None

    # -- files ------------------------------------------------------------------

    @classmethod
    def load(
        cls, path: Path | str, *, min_score: float = 0.0, min_support: int = 1
    ) -> RewriteTable:
        """A table from Parquet or JSON Lines."""
        path = Path(path)
        if not path.is_file():
            raise DataFileError(f"{path}: no such rewrite table")
        if path.suffix == ".parquet":
            try:
                rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
            except (pa.ArrowInvalid, OSError) as exc:
                raise DataFileError(f"{path}: not a readable Parquet file ({exc})") from exc
        else:
            rows = []
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        raise DataFileError(f"{path}:{n}: not JSON ({exc.msg})") from exc
        table = cls(min_score=min_score, min_support=min_support)
        for i, row in enumerate(rows, 1):
            table.add(RewriteRow.from_mapping(row, f"{path}:{i}"))
        return table

    def save(self, path: Path | str) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        columns = REWRITE_COLUMNS + EXTRA_COLUMNS
        records = [{c: getattr(r, c) for c in columns} for r in self.rows_]
        if path.suffix == ".parquet":
            pq.write_table(pa.Table.from_pylist(records, schema=REWRITE_SCHEMA), path)
        else:
            path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        return path
