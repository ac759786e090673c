"""What users taught: preferences per user, with the turn each came from and when.

A :class:`PreferenceStore` keeps them in memory and, given a path, in a JSON file written
atomically after every change (a crash leaves the old file or the new one, never half of
one). Forgetting removes the entries from memory and from the file: nothing of a forgotten
preference is kept anywhere.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from selflearn.errors import DataFileError
from selflearn.teach.parse import KINDS, Statement

__all__ = ["Preference", "PreferenceStore"]

# Kinds a user holds one of per key (a new one replaces the old); the others accumulate.
_SINGLE = frozenset({"place", "player", "alias", "media"})


@dataclass(frozen=True)
class Preference:
    """One taught preference of one user (see :class:`~selflearn.teach.parse.Statement`)."""

    user_id: str
    kind: str
    value: str
    key: str | None = None
    like: bool = True
    turn_id: str | None = None  # the turn it was said in (provenance)
    ts: float = 0.0  # when it was taught (seconds since the epoch)
    source: str = "statement"  # statement / question / guided / api

    def statement(self) -> Statement:
        return Statement(self.kind, self.value, self.key, self.like)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class PreferenceStore:
    """Per-user preferences; thread-safe. ``path`` None keeps them in memory only.

    >>> store = PreferenceStore()
    >>> _ = store.add("u1", Statement("team", "warriors"), turn_id="t1", ts=1.0)
    >>> [p.value for p in store.of("u1")]
    ['warriors']
    >>> store.forget_user("u1"), store.of("u1")
    (1, [])
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._by_user: dict[str, list[Preference]] = {}
        self._lock = threading.RLock()  # the preferences in memory; held for no I/O
        self._file_lock = threading.Lock()  # one write of the file at a time
        self.version = 0  # grows with every change: readers cache against it

    @classmethod
    def open(cls, path: Path | str) -> PreferenceStore:
        """The store kept in ``path`` (created on the first change if it does not exist)."""
        store = cls(path)
        file = Path(path)
        if file.is_file():
            try:
                rows = json.loads(file.read_text(encoding="utf-8") or "[]")
                for row in rows:
                    preference = Preference(**row)
                    if preference.kind not in KINDS:
                        raise ValueError(f"kind {preference.kind!r} is not one of {KINDS}")
                    store._by_user.setdefault(preference.user_id, []).append(preference)
            except (ValueError, TypeError) as exc:
                raise DataFileError(f"{file}: not a selflearn preference file ({exc})") from None
        return store

    def add(
        self,
        user_id: str,
        statement: Statement,
        *,
        turn_id: str | None = None,
        ts: float | None = None,
        source: str = "statement",
    ) -> Preference:
        """Store what ``user_id`` stated; one alias, place, player or media preference per
        key (the newest wins), any number of liked teams, artists, genres and cuisines."""
        if not user_id:
            raise ValueError("a preference needs a user_id; got an empty one")
        preference = Preference(
            user_id,
            statement.kind,
            statement.value,
            statement.key,
            statement.like,
            turn_id,
            time.time() if ts is None else ts,
            source,
        )
        with self._lock:
            mine = self._by_user.setdefault(user_id, [])
            mine[:] = [p for p in mine if not _replaces(preference, p)]
            mine.append(preference)
            self.version += 1
        self._save()
        return preference

    def of(self, user_id: str | None, kind: str | None = None) -> list[Preference]:
        """``user_id``'s preferences (of ``kind``), oldest first."""
        if not user_id:
            return []
        with self._lock:
            mine = list(self._by_user.get(user_id, ()))
        return [p for p in mine if kind is None or p.kind == kind]

    def users(self) -> list[str]:
        with self._lock:
            return sorted(u for u, p in self._by_user.items() if p)

    def __iter__(self) -> Iterator[Preference]:
        with self._lock:
            everything = [p for prefs in self._by_user.values() for p in prefs]
        return iter(everything)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(p) for p in self._by_user.values())

    def forget_last(self, user_id: str) -> Preference | None:
        """Forget the newest thing ``user_id`` taught ("forget that")."""
        with self._lock:
            mine = self._by_user.get(user_id)
            if not mine:
                return None
            newest = max(range(len(mine)), key=lambda i: mine[i].ts)
            gone = mine.pop(newest)
            self.version += 1
        self._save()
        return gone

    def forget_user(self, user_id: str) -> int:
        """Forget everything ``user_id`` taught; how many preferences went."""
        with self._lock:
            gone = len(self._by_user.pop(user_id, []))
            if gone:
                self.version += 1
        if gone:
            self._save()
        return gone

    def _save(self) -> None:
        """Write the file (when there is one) after a change, and return once it is on
        disk. Readers never wait on the disk: the rows are copied under the lock and
        written outside it; a writer copies after taking the file lock, so the last
        write holds every change made before it."""
        if self.path is None:
            return
        with self._file_lock:
            with self._lock:
                rows = [p.to_dict() for prefs in self._by_user.values() for p in prefs]
            self._write(self.path, rows)

    @staticmethod
    def _write(path: Path, rows: list[dict[str, Any]]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(rows, out, indent=1)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _replaces(new: Preference, old: Preference) -> bool:
    """Whether ``new`` supersedes ``old``: the same key of a one-per-key kind, or the
    same liked or disliked thing said again."""
    if new.kind != old.kind:
        return False
    if new.kind in _SINGLE:
        return new.key == old.key
    return new.value == old.value
