"""The retrieval indexes of the online rewriter: utterances known to succeed (DESIGN §2 item 5).

One row per (scope, utterance): the *global* scope holds what worked for at least
``min_users`` people, an approximate-nearest-neighbour index (faiss HNSW over 8-bit
scalar-quantised vectors) finds its rows; each *personal* scope holds what worked for one
user (or, for an unknown speaker, one device), searched exactly. Every row carries its
evidence and interpretation: how often it was said and worked, by how many people, the
intent and entities it reached, and where, on what and when it was said, the context the
ranker compares against the request's.

Built from the turn log and its implicit signals in SQL (DuckDB): a turn *worked* when the
assistant answered with success and its defect score stayed low.
"""

from __future__ import annotations

import json
import shutil
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from selflearn.engine import Engine, open_engine
from selflearn.engine.duck import as_engine
from selflearn.errors import DataFileError
from selflearn.rewrite.chains import DEVICE_SCOPE, NORMALIZE_SQL
from selflearn.rewrite.encoder import SentenceEncoder
from selflearn.rewrite.guards import Guard
from selflearn.rewrite.memo import Memo
from selflearn.signals.rephrase import phonetic_key

__all__ = [
    "GLOBAL",
    "SOUND_DIM",
    "IndexConfig",
    "RetrievalIndex",
    "build_entries",
    "guard_vocabulary",
    "load_turn_facts",
    "recover_saved_index",
    "remove_saved_scope",
    "request_owner",
    "sound_vector",
    "sound_vectors",
]

GLOBAL = "global"
ENTRIES_FILE = "entries.parquet"
VECTORS_FILE = "vectors.npy"
ANN_FILE = "global.faiss"
SOUND_FILE = "global_sound.faiss"
OWN_SOUND_FILE = "own_sound.npy"  # the personal rows' sound vectors (else made at load)
SOUND_DIM = 256
_CONTEXTS_KEPT = 50_000  # decoded rows an index keeps (a few tens of MB at most)


def _grams(text: str) -> list[str]:
    """Character trigrams of how the utterance sounds (Metaphone, word by word) and of
    its letters: misrecognitions keep much of both ("shuts the time" ~ "whats the time")."""
    out: list[str] = []
    for kind, s in (("p", phonetic_key(text)), ("t", text)):
        padded = f"  {s} "
        out.extend(kind + padded[i : i + 3] for i in range(len(padded) - 2))
    return out


@lru_cache(maxsize=200_000)
def _slot(gram: str) -> tuple[int, float]:
    """A trigram's column and sign (signed feature hashing, crc32: the same in every
    process); trigrams repeat across utterances, so each is hashed once."""
    h = zlib.crc32(gram.encode())
    return h % SOUND_DIM, 1.0 if (h >> 16) & 1 else -1.0


def sound_vectors(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors of hashed sound and letter trigrams."""
    out = np.zeros((len(texts), SOUND_DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        slots = [_slot(gram) for gram in _grams(text)]
        if slots:
            columns, signs = zip(*slots, strict=True)
            out[row] = np.bincount(columns, weights=signs, minlength=SOUND_DIM)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    unit: np.ndarray = out / np.maximum(norms, 1e-9)
    return unit


@lru_cache(maxsize=20_000)
def sound_vector(text: str) -> np.ndarray:
    """One utterance's :func:`sound_vectors` row (read-only), kept for the most recent
    20,000 texts (about 20 MB): a request and its candidates come back request after
    request, and each is compared by sound in more than one layer."""
    vector: np.ndarray = sound_vectors([text])[0]
    vector.setflags(write=False)
    return vector


def worked_row(index: RetrievalIndex, owner: str | None, text: str) -> int | None:
    """The index row of ``text`` as it worked: the owner's own row, else the global one."""
    row = index.row(owner, text) if owner else None
    return row if row is not None else index.row(GLOBAL, text)


def request_owner(user_id: str | None, device_id: str | None) -> str | None:
    """The personal scope a request belongs to: the user, else the device spoken to."""
    return user_id or (f"{DEVICE_SCOPE}{device_id}" if device_id else None)


@dataclass(frozen=True)
class IndexConfig:
    """What counts as a known success, and how the global ANN index is built."""

    success_below: float = 0.5  # a turn worked: answered with success, defect score below this
    min_users: int = 2  # a global row worked for at least this many people
    min_global_successes: int = 2
    hnsw_m: int = 16
    ef_search: int = 64
    ef_construction: int = 80


_TURNS_SQL = """
CREATE OR REPLACE TEMP TABLE idx_turns AS
WITH first_seen AS (
    SELECT * FROM turns QUALIFY row_number() OVER (PARTITION BY turn_id ORDER BY ts) = 1
)
SELECT
    t.turn_id,
    t.ts,
    coalesce(t.user_id, '{device_scope}' || t.device_id) AS owner,
    {text} AS text,
    t.device_type,
    t.asr.confidence AS confidence,
    t.context,
    t.nlu.intent AS intent,
    coalesce(json_extract_string(t.context, '$.area'), '') AS area,
    coalesce(try_cast(split_part(json_extract_string(t.context, '$.local_time'), ':', 1)
        AS DOUBLE), hour(to_timestamp(t.ts))) AS hour,
    list_transform(list_filter(coalesce(t.resolution.entities, []),
        lambda e: e.entity_id IS NOT NULL), lambda e: e.entity_id) AS entities,
    t.response.status = 'success' AND coalesce(s.defect_score, 0) < {success_below} AS worked
FROM first_seen t LEFT JOIN signals s USING (turn_id)
WHERE {where};
"""

_ENTRIES_SQL = """
WITH scoped AS (
    SELECT *, owner AS scope FROM idx_turns
    UNION ALL
    SELECT *, '{global_scope}' AS scope FROM idx_turns
),
said AS (
    SELECT scope, text, count(*) AS tries FROM scoped WHERE text <> '' GROUP BY ALL
),
-- the intent it worked as most often (a tie: the later name), the same on any engine
intents AS (
    SELECT scope, text, intent, count(*) AS n FROM scoped
    WHERE worked AND text <> '' AND intent IS NOT NULL GROUP BY ALL
),
top_intent AS (
    SELECT scope, text, arg_max(intent, struct_pack(n := n, intent := intent)) AS intent
    FROM intents GROUP BY ALL
),
ok AS (
    SELECT scope, text,
        count(*) AS successes,
        count(DISTINCT owner) AS users,
        -- the first 8 entities it reached, in name order
        list_slice(list_sort(list_distinct(flatten(list(entities)))), 1, 8) AS entities,
        histogram(area) AS areas,
        histogram(device_type) AS device_types,
        avg(sin(hour * pi() / 12)) AS hour_sin,
        avg(cos(hour * pi() / 12)) AS hour_cos
    FROM scoped WHERE worked AND text <> '' GROUP BY ALL
)
SELECT ok.scope, ok.text, ok.successes, said.tries, ok.users, ti.intent, ok.entities,
    to_json(ok.areas)::VARCHAR AS areas, to_json(ok.device_types)::VARCHAR AS device_types,
    ok.hour_sin, ok.hour_cos
FROM ok JOIN said USING (scope, text)
LEFT JOIN top_intent ti ON ti.scope = ok.scope AND ti.text = ok.text
WHERE ok.scope <> '{global_scope}'
   OR (ok.users >= {min_users} AND ok.successes >= {min_successes})
ORDER BY ok.scope, ok.text
"""


def load_turn_facts(
    con: Engine | duckdb.DuckDBPyConnection,
    turns: pa.Table,
    signals: pa.Table,
    config: IndexConfig,
    where: str = "true",
) -> None:
    """``idx_turns`` in ``con``: per turn its owner, normalised words (what was matched:
    the rewrite where one was applied), context, interpretation and whether it worked."""
    engine = as_engine(con)
    engine.register("turns", turns)
    engine.register("signals", signals)
    engine.run(
        _TURNS_SQL.format(
            device_scope=DEVICE_SCOPE,
            text=NORMALIZE_SQL.format(col='coalesce(t.rewrite."to", t.asr.text)'),
            success_below=config.success_below,
            where=where,
        )
    )


def guard_vocabulary(turns: pa.Table) -> Guard:
    """The room names, device names and titles the log knows (normalised), for the rewrite
    guard: the rooms requests came from, and the names, titles and rooms the resolver
    matched to a device or a catalogue item (never free text a wildcard caught)."""
    con = duckdb.connect()
    con.register("turns", turns)
    resolved = "(SELECT unnest(resolution.entities) AS e FROM turns)"
    places = con.sql(
        f"""
        SELECT DISTINCT {NORMALIZE_SQL.format(col="p")} AS v FROM (
            SELECT json_extract_string(context, '$.area') AS p FROM turns
            UNION ALL
            SELECT e.value FROM {resolved} WHERE e.slot = 'area' AND e.entity_id IS NOT NULL
        ) WHERE p IS NOT NULL ORDER BY v
        """
    ).fetchall()
    names = con.sql(
        f"""
        SELECT DISTINCT {NORMALIZE_SQL.format(col="e.value")} AS v FROM {resolved}
        WHERE e.slot IN ('name', 'search_query') AND e.entity_id IS NOT NULL ORDER BY v
        """
    ).fetchall()
    con.close()
    return Guard([r[0] for r in places if r[0]], [r[0] for r in names if r[0]])


def build_entries(
    turns: pa.Table,
    signals: pa.Table,
    config: IndexConfig | None = None,
    *,
    before_ts: float | None = None,
    engine: Engine | None = None,
) -> pa.Table:
    """The index rows (global and personal) from a turn log and its signals; with
    ``before_ts`` only the turns before that time count (the ranker trains on later ones).
    The SQL runs on ``engine`` (an embedded DuckDB by default)."""
    config = config or IndexConfig()
    con = engine or open_engine()
    where = f"t.ts < {before_ts!r}" if before_ts is not None else "true"
    try:
        load_turn_facts(con, turns, signals, config, where)
        table = con.query(
            _ENTRIES_SQL.format(
                global_scope=GLOBAL,
                min_users=config.min_users,
                min_successes=config.min_global_successes,
            )
        )
    finally:
        if engine is None:
            con.close()
    return table


class RetrievalIndex:
    """Index rows with their vectors: ANN search over the global rows (their vectors live
    only in the ANN index, 8-bit), exact search over one scope's personal rows."""

    def __init__(
        self,
        entries: pa.Table,
        vectors: np.ndarray,
        config: IndexConfig | None = None,
        ann: Any = None,
        sound_ann: Any = None,
        own_sound: np.ndarray | None = None,
    ) -> None:
        """``vectors``: one per row, or (loading) one per personal row only; ``own_sound``
        (loading): the personal rows' sound vectors, as saved."""
        import faiss

        self.config = config or IndexConfig()
        self.entries = entries
        scope = entries.column("scope").to_pylist()
        self.text: list[str] = entries.column("text").to_pylist()
        self.successes = entries.column("successes").to_numpy().astype(np.float32)
        self.tries = entries.column("tries").to_numpy().astype(np.float32)
        self.users = entries.column("users").to_numpy().astype(np.float32)
        self.intent: list[str | None] = entries.column("intent").to_pylist()
        self.hour = np.stack(
            [
                entries.column("hour_sin").to_numpy(zero_copy_only=False),
                entries.column("hour_cos").to_numpy(zero_copy_only=False),
            ],
            axis=1,
        ).astype(np.float32)
        self._entities = entries.column("entities")
        self._areas = entries.column("areas")
        self._device_types = entries.column("device_types")
        self._contexts: Memo[int, tuple[list[str], dict[str, int], dict[str, int]]] = Memo(
            _CONTEXTS_KEPT
        )
        # rows are sorted by scope: each scope is one contiguous slice
        self.scopes: dict[str, tuple[int, int]] = {}
        for i, s in enumerate(scope):
            first, _ = self.scopes.get(s, (i, i))
            self.scopes[s] = (first, i + 1)
        g0, g1 = self.scopes.get(GLOBAL, (0, 0))
        self.global_rows = np.arange(g0, g1, dtype=np.int64)
        self._global_start = g0
        self._global_text = {self.text[i]: i for i in range(g0, g1)}
        self._own_row = {
            (s, t): i for i, (s, t) in enumerate(zip(scope, self.text, strict=True)) if s != GLOBAL
        }
        # any personal row of each text: its stored vector is the text's own, exactly
        self._text_row = {t: i for (_, t), i in self._own_row.items()}
        n_own = entries.num_rows - (g1 - g0)
        if len(vectors) == entries.num_rows:
            own = np.ones(entries.num_rows, dtype=bool)
            own[g0:g1] = False
            if ann is None and g1 > g0:
                ann = self._build_ann(np.ascontiguousarray(vectors[g0:g1], dtype=np.float32))
            vectors = vectors[own]
        if len(vectors) != n_own:
            raise DataFileError(f"index: {n_own} personal rows but {len(vectors)} vectors")
        self.own_vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        own_texts = self.text[:g0] + self.text[g1:]
        if own_sound is None or own_sound.shape != (n_own, SOUND_DIM):
            own_sound = sound_vectors(own_texts)  # pure Python: a saved copy loads faster
        self.own_sound = own_sound
        if sound_ann is None and g1 > g0:
            sound_ann = self._build_ann(sound_vectors(self.text[g0:g1]))
        self.ann, self.sound_ann = ann, sound_ann
        for index in (ann, sound_ann):
            if index is not None:
                faiss.ParameterSpace().set_index_parameter(index, "efSearch", self.config.ef_search)

    def _own_position(self, row: int) -> int:
        return row - (
            len(self.global_rows) if row >= self._global_start + len(self.global_rows) else 0
        )

    def vector(self, row: int) -> np.ndarray:
        """A row's sentence vector (a global row's as the ANN index stores it)."""
        if self._global_start <= row < self._global_start + len(self.global_rows):
            stored = self.ann.reconstruct(row - self._global_start)
            return np.asarray(stored, dtype=np.float32)
        own: np.ndarray = self.own_vectors[self._own_position(row)]
        return own

    def known_vector(self, text: str) -> np.ndarray | None:
        """``text``'s sentence vector when some personal row holds it (stored at full
        precision, as the encoder makes it), so a familiar request needs no encoding."""
        row = self._text_row.get(text)
        return None if row is None else self.vector(row)

    def _build_ann(self, data: np.ndarray) -> Any:
        import faiss

        kind = f"HNSW{self.config.hnsw_m},SQ8"
        ann = faiss.index_factory(data.shape[1], kind, faiss.METRIC_INNER_PRODUCT)
        ann.hnsw.efConstruction = self.config.ef_construction  # type: ignore[attr-defined]
        ann.train(data)
        ann.add(data)
        return ann

    @classmethod
    def build(
        cls,
        entries: pa.Table,
        encoder: SentenceEncoder,
        config: IndexConfig | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> RetrievalIndex:
        """Encode every row's utterance (each distinct text once) and index the rows."""
        texts = entries.column("text").to_pylist()
        distinct = sorted(set(texts))
        vectors = encoder.encode(distinct, progress=progress)
        at = {t: i for i, t in enumerate(distinct)}
        return cls(entries, vectors[[at[t] for t in texts]], config)

    # -- lookups ---------------------------------------------------------------------

    def global_search(
        self, query: np.ndarray, k: int, *, sound: bool = False
    ) -> list[tuple[int, float]]:
        """(row, cosine) of the ``k`` nearest global rows, by meaning (the sentence
        vector) or by ``sound`` (a :func:`sound_vectors` vector)."""
        index = self.sound_ann if sound else self.ann
        if index is None or k <= 0:
            return []
        scores, ids = index.search(query.reshape(1, -1), k)
        rows = self.global_rows
        return [(int(rows[i]), float(s)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]

    def personal_search(
        self, query: np.ndarray, owner: str | None, k: int, *, sound: bool = False
    ) -> list[tuple[int, float]]:
        """(row, cosine) of the ``k`` nearest rows of ``owner``'s own successes (exact), by
        meaning or by ``sound``."""
        if not owner or owner not in self.scopes or k <= 0:
            return []
        start, end = self.scopes[owner]
        first = self._own_position(start)
        vectors = self.own_sound if sound else self.own_vectors
        scores = vectors[first : first + end - start] @ query
        top = np.argsort(-scores)[:k]
        return [(start + int(i), float(scores[i])) for i in top]

    def row(self, scope: str, text: str) -> int | None:
        if scope == GLOBAL:
            return self._global_text.get(text)
        return self._own_row.get((scope, text)) if scope in self.scopes else None

    def _context(self, row: int) -> tuple[list[str], dict[str, int], dict[str, int]]:
        """A row's targets, rooms and kinds of device, decoded once (kept for the most
        recent rows: a request's candidates come back request after request)."""
        return self._contexts.get(row, lambda: self._decode(row))

    def _decode(self, row: int) -> tuple[list[str], dict[str, int], dict[str, int]]:
        areas, kinds = self._areas[row].as_py(), self._device_types[row].as_py()
        return (
            self._entities[row].as_py() or [],
            json.loads(areas) if areas else {},
            json.loads(kinds) if kinds else {},
        )

    def entities(self, row: int) -> list[str]:
        """The targets the row's request acted on (read-only)."""
        return self._context(row)[0]

    def areas(self, row: int) -> dict[str, int]:
        """How often the row's request worked in each room (read-only)."""
        return self._context(row)[1]

    def device_types(self, row: int) -> dict[str, int]:
        """How often the row's request worked on each kind of device (read-only)."""
        return self._context(row)[2]

    def drop_scope(self, owner: str) -> int:
        """Forget one personal scope (the rows stay in the file until the next build)."""
        span = self.scopes.pop(owner, None)
        return 0 if span is None else span[1] - span[0]

    # -- files -----------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        import faiss

        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(self.entries, folder / ENTRIES_FILE)
        np.save(folder / VECTORS_FILE, self.own_vectors)
        np.save(folder / OWN_SOUND_FILE, self.own_sound)
        if self.ann is not None:
            faiss.write_index(self.ann, str(folder / ANN_FILE))
            faiss.write_index(self.sound_ann, str(folder / SOUND_FILE))

    @classmethod
    def load(cls, folder: Path, config: IndexConfig | None = None) -> RetrievalIndex:
        import faiss

        entries, vectors, own_sound = _read_rows(folder)
        try:
            ann = sound = None
            if (folder / ANN_FILE).is_file():
                ann = faiss.read_index(str(folder / ANN_FILE))
                sound = faiss.read_index(str(folder / SOUND_FILE))
        except (OSError, ValueError, RuntimeError) as exc:
            raise DataFileError(f"{folder}: not a readable rewrite index ({exc})") from exc
        return cls(entries, vectors, config, ann, sound, own_sound)


def _read_rows(folder: Path) -> tuple[pa.Table, np.ndarray, np.ndarray | None]:
    """A saved index's rows, personal vectors and personal sound vectors (None when the
    index was saved without them)."""
    try:
        entries = pq.read_table(folder / ENTRIES_FILE)
        vectors = np.load(folder / VECTORS_FILE)
        own_sound = (
            np.load(folder / OWN_SOUND_FILE) if (folder / OWN_SOUND_FILE).is_file() else None
        )
    except (OSError, ValueError, RuntimeError, pa.ArrowInvalid) as exc:
        raise DataFileError(f"{folder}: not a readable rewrite index ({exc})") from exc
    return entries, vectors, own_sound


def _beside(folder: Path, role: str) -> Path:
    """A folder next to a saved index during its swap: ``<folder>.forgetting`` (the new
    one being written) or ``<folder>.old`` (the one it replaces)."""
    return folder.with_name(f"{folder.name}.{role}")


def remove_saved_scope(folder: Path, owner: str) -> int:
    """Remove one personal scope's rows (their texts, vectors and sound vectors) from the
    index saved in ``folder``; how many rows. The other files are kept as they are. The
    new files are written beside the old ones and the folder is swapped in whole (two
    renames), so a crash leaves the old index or the new one, never a mix of the two; a
    crash between the renames leaves the old one at ``<folder>.old``, where
    :func:`recover_saved_index` finds it."""
    entries, vectors, own_sound = _read_rows(folder)
    scope = np.array(entries.column("scope").to_pylist(), dtype=object)
    drop = scope == owner
    if not drop.any():
        return 0
    personal = scope != GLOBAL
    if len(vectors) != int(personal.sum()):
        raise DataFileError(
            f"{folder}: {int(personal.sum())} personal rows but {len(vectors)} vectors"
        )
    keep_own = ~drop[personal]
    fresh = _beside(folder, "forgetting")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir()
    for path in folder.iterdir():
        if path.name not in (ENTRIES_FILE, VECTORS_FILE, OWN_SOUND_FILE) and path.is_file():
            shutil.copy2(path, fresh / path.name)
    pq.write_table(entries.filter(pa.array(~drop)), fresh / ENTRIES_FILE)
    np.save(fresh / VECTORS_FILE, vectors[keep_own])
    if own_sound is not None and len(own_sound) == len(vectors):
        np.save(fresh / OWN_SOUND_FILE, own_sound[keep_own])
    old = _beside(folder, "old")
    shutil.rmtree(old, ignore_errors=True)
    folder.rename(old)
    fresh.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return int(drop.sum())


def recover_saved_index(folder: Path) -> bool:
    """After a crash inside :func:`remove_saved_scope`: put the old index back where the
    swap left it at ``<folder>.old`` (True), and drop a half-written ``<folder>.forgetting``."""
    shutil.rmtree(_beside(folder, "forgetting"), ignore_errors=True)
    old = _beside(folder, "old")
    if folder.exists() or not old.is_dir():
        return False
    old.rename(folder)
    return True
