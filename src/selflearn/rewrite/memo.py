"""A bounded memory of answers for recent keys, for work a request path repeats.

Each request's candidates come back request after request, and every layer asks about
them again: the guard's decisions, the places and names an utterance mentions, an index
row's decoded context. A memo keeps those answers for up to ``size`` keys; when full it
starts again, which costs less than evicting one key at a time, and the keys that matter
come straight back.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["Memo"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """``get(key, compute)``: the kept answer for ``key``, else ``compute()``'s, kept.

    >>> memo: Memo[str, int] = Memo(2)
    >>> memo.get("a", lambda: 1), memo.get("a", lambda: 2)
    (1, 1)
    >>> memo.get("b", lambda: None) is None, memo.get("b", lambda: 3) is None
    (True, True)
    >>> memo.get("c", lambda: 4), len(memo)  # full: started again
    (4, 1)
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._kept: dict[K, V] = {}

    def get(self, key: K, compute: Callable[[], V]) -> V:
        try:
            return self._kept[key]
        except KeyError:
            pass
        value = compute()
        if len(self._kept) >= self._size:
            self._kept.clear()
        self._kept[key] = value
        return value

    def __len__(self) -> int:
        return len(self._kept)
