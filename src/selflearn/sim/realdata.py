"""Real user phrasings, read at run time from ``../shared/data`` through our intent mapping.

HWU64 and SLURP hold how real people ask assistants for things. We never copy their
sentences into the repository: where the shared data folder is present, this module
reads the annotated sentences, keeps those whose scenario maps onto a goal kind the
reference assistant serves, and turns each into a pattern whose annotated slots are
placeholders the simulator fills with the household's own names.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

__all__ = ["REAL_INTENT_MAP", "RealPhrasings", "default_data_dir"]

log = logging.getLogger(__name__)

# Dataset intent → the phrasing key of our goals: the goal kind, or kind:detail where
# the dataset's intent means one particular action or thing (smart home, music,
# weather, time, media). Alarms are left out: the assistant has timers, not alarms.
REAL_INTENT_MAP: dict[str, str] = {
    "iot_hue_lighton": "area_lights_on",
    "iot_hue_lightoff": "area_lights_off",
    "iot_hue_lightdim": "brightness",
    "iot_hue_lightup": "brightness",
    "iot_wemo_on": "power_on",
    "iot_wemo_off": "power_off",
    "iot_coffee": "power_on:switch.coffee_maker",
    "weather_query": "weather",
    "datetime_query": "time",
    "play_music": "play_music",
    "play_audiobook": "play_media:audiobook",
    "play_podcasts": "play_media:podcast",
    "audio_volume_up": "media_control:volume_up",
    "audio_volume_down": "media_control:volume_down",
}
_DATE_WORDS = re.compile(r"\b(date|day|today|month|year)\b")
# Annotated slot type → the placeholder our goals fill. Types not listed here (dates,
# times of day) stay as the user said them; sentences with unknown types are dropped.
SLOT_PLACEHOLDERS = {
    "house_place": "{area}",
    "place_name": "{place}",
    "song_name": "{title}",
    "artist_name": "{artist}",
    "audiobook_name": "{title}",
    "podcast_name": "{title}",
    "podcast_descriptor": "{title}",
    "device_type": "{device}",
}
KEEP_TYPES = frozenset(
    {"date", "time", "timeofday", "general_frequency", "media_type", "player_setting"}
)
# Wake words of the assistants the datasets were recorded with; ours has its own.
_WAKE_WORDS = re.compile(r"^(?:(?:hey|ok|okay|hi|hello)\s+)?(?:olly|alexa|siri|google|robot)\b\s*")
_ANNOTATION = re.compile(r"\[\s*([a-z_]+)\s*:\s*([^\]]*?)\s*\]")


def default_data_dir() -> Path | None:
    """``../shared/data`` beside the repository (or the working directory), if present."""
    for base in (Path.cwd(), Path(__file__).resolve().parents[3]):
        candidate = base.parent / "shared" / "data"
        if (candidate / "hwu64").is_dir() or (candidate / "slurp").is_dir():
            return candidate
    return None


def _pattern(annotation: str) -> str | None:
    """``turn on [house_place : kitchen] lights`` → ``turn on {area} lights``."""
    ok = True

    def swap(match: re.Match[str]) -> str:
        nonlocal ok
        kind, text = match.group(1), match.group(2)
        if kind in SLOT_PLACEHOLDERS:
            return SLOT_PLACEHOLDERS[kind]
        if kind not in KEEP_TYPES:
            ok = False
        return text

    pattern = _ANNOTATION.sub(swap, annotation.lower())
    pattern = re.sub(r"[^a-z0-9{}' ]+", " ", pattern)
    pattern = _WAKE_WORDS.sub("", " ".join(pattern.split()))
    return pattern if ok and pattern else None


class RealPhrasings:
    """Patterns by goal kind. Empty (and says so) when the shared data is absent."""

    def __init__(self, patterns: dict[str, list[str]], source: str) -> None:
        self.patterns = patterns
        self.source = source

    def __bool__(self) -> bool:
        return any(self.patterns.values())

    @classmethod
    def load(cls, data_dir: Path | None = None) -> RealPhrasings:
        data_dir = data_dir if data_dir is not None else default_data_dir()
        if data_dir is None or not any((data_dir / d).is_dir() for d in ("hwu64", "slurp")):
            where = data_dir if data_dir is not None else "../shared/data"
            return cls({}, f"none: {where} not found (templates and our own rules only)")
        return _load_cached(str(data_dir))

    def for_key(self, key: str) -> list[str]:
        return self.patterns.get(key, [])


def _refine(key: str, pattern: str) -> str:
    """Date questions and time questions share one dataset intent; split them."""
    if key == "time" and _DATE_WORDS.search(pattern):
        return "date"
    return key


@lru_cache(maxsize=2)
def _load_cached(data_dir: str) -> RealPhrasings:
    found: dict[str, set[str]] = defaultdict(set)
    hwu = Path(data_dir) / "hwu64" / "hwu64_all_folds_merged.csv"
    if hwu.is_file():
        with hwu.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter=";"):
                key = REAL_INTENT_MAP.get(f"{row.get('scenario')}_{row.get('intent')}")
                pattern = _pattern(row.get("answer_annotation") or "") if key else None
                if key and pattern:
                    found[_refine(key, pattern)].add(pattern)
    slurp = Path(data_dir) / "slurp" / "devel.jsonl"
    if slurp.is_file():
        for line in slurp.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            key = REAL_INTENT_MAP.get(str(row.get("intent")))
            pattern = _pattern(str(row.get("sentence_annotation") or "")) if key else None
            if key and pattern:
                found[_refine(key, pattern)].add(pattern)
    patterns = {kind: sorted(values) for kind, values in sorted(found.items())}
    total = sum(len(v) for v in patterns.values())
    log.info("real phrasings: %d patterns from %s", total, data_dir)
    return RealPhrasings(patterns, f"{data_dir} ({total} patterns)")
