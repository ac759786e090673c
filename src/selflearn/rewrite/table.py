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
from selflearn.rewrite.base import Rewrite, RewriteRequest, normalize_utterance

__all__ = ["REWRITE_COLUMNS", "RewriteRow", "RewriteTable"]

REWRITE_COLUMNS = ("source", "rewrite", "score", "support", "layer", "user_id", "method")
REWRITE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("rewrite", pa.string()),
        ("score", pa.float64()),
        ("support", pa.int64()),
        ("layer", pa.string()),
        ("user_id", pa.string()),
        ("method", pa.string()),
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
        if not normalize_utterance(source) or not normalize_utterance(target):
            raise DataFileError(f"{where}: source and rewrite must contain words")
        return cls(
            normalize_utterance(source),
            normalize_utterance(target),
            score,
            support,
            layer,
            str(user_id) if user_id else None,
            str(row.get("method") or "markov"),
        )


class RewriteTable:
    """Looks an utterance up: the speaker's personal rows first, then the global ones.

    >>> table = RewriteTable.from_rows(
    ...     [{"source": "turn of the light", "rewrite": "turn off the light",
    ...       "score": 0.9, "support": 12}]
    ... )
    >>> table.rewrite(RewriteRequest("Turn of the light")).target
    'turn off the light'
    >>> table.rewrite(RewriteRequest("turn off the light")) is None
    True
    """

    def __init__(self, *, min_score: float = 0.0, min_support: int = 1) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise ConfigError("RewriteTable", "min_score", min_score, "a float in [0, 1]")
        if min_support < 1:
            raise ConfigError("RewriteTable", "min_support", min_support, "an int >= 1")
        self.min_score = min_score
        self.min_support = min_support
        self.rows_: list[RewriteRow] = []
        self._global: dict[str, RewriteRow] = {}
        self._personal: dict[tuple[str, str], RewriteRow] = {}

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
        if row.layer == "personal" and row.user_id:
            key = (row.user_id, row.source)
            if key not in self._personal or row.score > self._personal[key].score:
                self._personal[key] = row
        elif row.source not in self._global or row.score > self._global[row.source].score:
            self._global[row.source] = row

    def __len__(self) -> int:
        return len(self.rows_)

    def rewrite(self, request: RewriteRequest) -> Rewrite | None:
        key = normalize_utterance(request.text)
        row = self._personal.get((request.user_id, key)) if request.user_id else None
        row = row or self._global.get(key)
        if row is None or row.score < self.min_score or row.support < self.min_support:
            return None
        return Rewrite(key, row.rewrite, row.layer, round(row.score, 4), row.method)

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
        records = [{c: getattr(r, c) for c in REWRITE_COLUMNS} for r in self.rows_]
        if path.suffix == ".parquet":
            pq.write_table(pa.Table.from_pylist(records, schema=REWRITE_SCHEMA), path)
        else:
            path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        return path
