"""The media catalogue and its search, as Home Assistant's media search-and-play does."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from selflearn.assistant.datafiles import packaged_yaml, read_yaml_mapping
from selflearn.assistant.home import normalize_name
from selflearn.errors import DataFileError

__all__ = ["Catalogue", "MediaItem", "MediaMatch"]

VIDEO_CLASSES = frozenset({"movie", "tv_show"})
MIN_SEARCH_SCORE = 0.8
TWIN_GAP = 0.06  # another title this close to the best match is a near twin ("summer nights")


@dataclass(frozen=True)
class MediaItem:
    id: str
    title: str
    media_class: str
    artist: str | None = None

    @property
    def is_video(self) -> bool:
        return self.media_class in VIDEO_CLASSES


@dataclass(frozen=True)
class MediaMatch:
    item: MediaItem
    score: float
    tied: int
    twins: int = 0  # items of other titles scoring within TWIN_GAP of this one


class Catalogue:
    """Songs, albums, artists, playlists, podcasts, audiobooks, movies and shows."""

    def __init__(self, items: list[MediaItem]) -> None:
        self.items = items
        self._keys = [
            (item, key)
            for item in items
            for key in {
                normalize_name(item.title),
                normalize_name(f"{item.title} by {item.artist}") if item.artist else "",
            }
            if key
        ]

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<catalogue>") -> Catalogue:
        try:
            items = [
                MediaItem(str(x["id"]), str(x["title"]), str(x["class"]), x.get("artist"))
                for x in data.get("items") or []
            ]
        except (KeyError, TypeError) as exc:
            raise DataFileError(f"{source}: malformed media catalogue ({exc!r})") from exc
        return cls(items)

    @classmethod
    def from_yaml(cls, path: Path | str) -> Catalogue:
        return cls.from_dict(read_yaml_mapping(path, "media catalogue"), str(path))

    @classmethod
    def default(cls) -> Catalogue:
        return cls.from_dict(packaged_yaml("media.yaml"), "media.yaml")

    def search(
        self, query: str, media_class: str | None = None, prefer_video: bool = False
    ) -> MediaMatch | None:
        """Best item for ``query``: closest title, then the class the device plays best.

        A title shared by a movie and an audiobook goes to the movie on a display and
        to the audiobook on a speaker unless the request named the class.
        """
        key = normalize_name(query)
        if not key:
            return None
        scored: dict[str, tuple[float, MediaItem]] = {}
        for item, item_key in self._keys:
            if media_class and item.media_class != media_class:
                continue
            score = fuzz.ratio(key, item_key) / 100.0
            if score > scored.get(item.id, (-1.0, item))[0]:
                scored[item.id] = (score, item)
        if not scored:
            return None
        best = max(score for score, _ in scored.values())
        if best < MIN_SEARCH_SCORE:
            return None
        top = [item for score, item in scored.values() if score == best]
        top.sort(key=lambda item: (item.is_video != prefer_video, self.items.index(item)))
        title = normalize_name(top[0].title)
        twins = sum(
            1
            for score, item in scored.values()
            if score >= best - TWIN_GAP and normalize_name(item.title) != title
        )
        return MediaMatch(top[0], best, len(top), twins)
