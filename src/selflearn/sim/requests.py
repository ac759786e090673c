"""Requests a household might make, sampled from Home Assistant's templates over its home."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from hassil.sample import sample_sentence

from selflearn.assistant.home import Home
from selflearn.assistant.media import Catalogue
from selflearn.assistant.nlu import IntentMatcher, build_slot_lists, load_intents
from selflearn.assistant.result import Executor

__all__ = ["Request", "RequestSampler"]

# Intents the reference assistant carries out (those its result stage has a handler for);
# media search is phrased separately from the catalogue.
SERVED_INTENTS = tuple(
    sorted(
        name[1:]
        for name in dir(Executor)
        if name.startswith("_Hass") and name != "_HassMediaSearchAndPlay"
    )
)
MEDIA_PHRASES = (
    "play {title}",
    "play the {cls} {title}",
    "put on {title}",
    "play {title} by {artist}",
)
PER_TEMPLATE = 12
MAX_DRAWS = 8


@dataclass(frozen=True)
class Request:
    """A request as spoken, the intent it means, and the device it is said to."""

    text: str
    intent: str
    device_id: str


class RequestSampler:
    """Draws varied requests: template expansions over the home's names, and media requests."""

    def __init__(
        self, pool: dict[str, list[str]], home: Home, catalogue: Catalogue, matcher: IntentMatcher
    ) -> None:
        self.pool = pool
        self.home = home
        self.catalogue = catalogue
        self.matcher = matcher

    @classmethod
    def from_home(cls, home: Home, catalogue: Catalogue, language: str = "en") -> RequestSampler:
        intents = load_intents(language)
        lists = {**intents.slot_lists, **build_slot_lists(home)}
        pool: dict[str, list[str]] = {}
        picker = random.Random(0)  # which expansions enter the pool; fixed for reproducibility
        for name in SERVED_INTENTS:
            intent = intents.intents.get(name)
            if intent is None:
                continue
            texts: list[str] = []
            for data in intent.data:
                if data.requires_context.get("area"):
                    continue
                rules = {**intents.expansion_rules, **data.expansion_rules}
                for sentence in data.sentences:
                    expansions = sample_sentence(
                        sentence, lists, rules, language, expand_ranges=False
                    )
                    head = list(itertools.islice(expansions, PER_TEMPLATE * 20))
                    texts.extend(picker.sample(head, min(PER_TEMPLATE, len(head))))
            pool[name] = sorted(
                {" ".join(t.split()) for t in texts if "{" not in t and "<" not in t}
            )
        return cls(pool, home, catalogue, IntentMatcher(intents, build_slot_lists(home), language))

    def media_request(self, rng: random.Random) -> str:
        item = rng.choice(self.catalogue.items)
        phrase = rng.choice(MEDIA_PHRASES)
        if "{artist}" in phrase and not item.artist:
            phrase = "play {title}"
        if "{cls}" in phrase and item.media_class not in ("movie", "album", "podcast", "playlist"):
            phrase = "play {title}"
        return phrase.format(
            title=item.title.lower(), cls=item.media_class, artist=item.artist or ""
        )

    def sample(self, rng: random.Random, n: int) -> list[Request]:
        intents = [name for name, texts in self.pool.items() if texts]
        devices = [d.id for d in self.home.devices]
        out = []
        for _ in range(n):
            device = rng.choice(devices)
            if rng.random() < 0.12:
                out.append(Request(self.media_request(rng), "HassMediaSearchAndPlay", device))
                continue
            intent = rng.choice(intents)
            # Templates let any name fill a slot; keep expansions the matcher itself
            # reads as the intent in that room, as a user of this home would say them.
            area = self.home.area_name(self.home.devices[devices.index(device)].area)
            for _ in range(MAX_DRAWS):
                text = rng.choice(self.pool[intent]).lower()
                if self.matcher.match(text, area).intent == intent:
                    break
            out.append(Request(text, intent, device))
        return out
