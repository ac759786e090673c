"""What simulated users do with their hands in the seconds after the assistant acted.

A smart home sees it: the light the assistant switched goes back off at the wall, the lamp
the user meant comes on instead, the song it started is skipped or stopped. The producer
(the Home Assistant plug-in's watcher) lists such changes on the turn as ``after_action``
for a window of seconds; the simulator writes the same field, so every learner that reads
it (signals, defect score, chains, rankers, the dialogue model) is measured on it.

The rates are stated here with their reasoning; they are judgement, not measurement, and
every figure that depends on them says so.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from selflearn.assistant.home import Home
from selflearn.errors import ConfigError

__all__ = ["HandsConfig", "Reaction", "react_by_hand"]

# Devices a person switches at the wall, on the device or in the app without thinking
# twice; a wrong switch of one of these is put right by hand more often than by voice.
SWITCHED_BY_HAND = frozenset({"light", "switch", "fan"})
_ON_OFF = frozenset({"on", "off"})


@dataclass(frozen=True)
class HandsConfig:
    """How often users put things right by hand, and how fast.

    * ``undo_wrong`` (0.7): a device the assistant changed that the user did not want
      changed is mostly changed back at once — a light that came on is seen, a fan is heard;
      the rest are in another room, unnoticed, or left for later.
    * ``do_it_by_hand`` (0.4): of those who switched the wrong device back, the share who
      then switch the one they meant themselves (the switch is at hand) and stop asking.
    * ``skip_wrong`` (0.5), ``stop_wrong`` (0.3): a wrong song or station is skipped or
      stopped by most listeners within seconds; the remaining 0.2 let it play (it will do,
      or they ask again by voice).
    * ``undo_right`` (0.005), ``skip_right`` (0.02), ``stop_right`` (0.01): people also
      touch what the assistant got right — a change of mind, a song not fancied after all,
      the phone ringing — so none of these signs is proof on its own; within seconds of
      asking for that very thing by name it is rare.
    * ``delay_median_s`` (5.0), ``delay_sigma`` (0.5): seconds from the end of the answer to
      the hand on the switch (a log-normal: reaching for a phone or a wall switch takes a
      few seconds, walking across a room longer). The watcher only lists what happens
      within ``window_s`` (20 s, the plug-in's default) of the request.
    """

    undo_wrong: float = 0.7
    do_it_by_hand: float = 0.4
    skip_wrong: float = 0.5
    stop_wrong: float = 0.3
    undo_right: float = 0.005
    skip_right: float = 0.02
    stop_right: float = 0.01
    delay_median_s: float = 5.0
    delay_sigma: float = 0.5
    window_s: float = 20.0

    def __post_init__(self) -> None:
        for name in (
            "undo_wrong",
            "do_it_by_hand",
            "skip_wrong",
            "stop_wrong",
            "undo_right",
            "skip_right",
            "stop_right",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError("HandsConfig", name, value, "a float in [0, 1]")
        for a, b in (("skip_wrong", "stop_wrong"), ("skip_right", "stop_right")):
            if getattr(self, a) + getattr(self, b) > 1.0:
                raise ConfigError("HandsConfig", f"{a} + {b}", "> 1", "a sum <= 1")
        if self.delay_median_s <= 0 or self.delay_sigma < 0 or self.window_s <= 0:
            raise ConfigError(
                "HandsConfig", "delay_median_s/delay_sigma/window_s", "<= 0", "positive values"
            )


@dataclass
class Reaction:
    """What the user did by hand after one turn. ``seen``: the after-action entries the
    watcher lists (None when the assistant changed nothing: there was nothing to watch).
    ``done_by_hand``: the user did what they meant themselves, and stops asking.
    ``until``: when the last hand movement happened (epoch seconds)."""

    seen: list[dict[str, Any]] | None = None
    done_by_hand: bool = False
    until: float = 0.0
    kinds: list[str] = field(default_factory=list)


def _media(state: str) -> bool:
    return state.startswith("playing ")


def react_by_hand(
    expected: dict[str, str],
    changed: dict[str, str],
    wrong: bool,
    home: Home,
    before: Home,
    acted_at: float,
    started: float,
    rng: random.Random,
    config: HandsConfig,
) -> Reaction:
    """The user's hands after a turn that changed ``changed`` (entity id → new state).

    ``expected``: what the user wanted changed (empty: nothing, as for speech the device
    woke to by mistake). ``wrong``: the change was not what they wanted. ``home`` is
    changed in place as the user changes it; ``before`` is the home as it was before the
    turn. ``acted_at``: when the answer ended; ``started``: when the request started
    (``after_ms`` counts from it).
    """
    if not changed:
        return Reaction(None, until=acted_at)
    reaction = Reaction([], until=acted_at)
    clock = acted_at

    def note(entity_id: str, kind: str, state: str | None) -> None:
        nonlocal clock
        clock += rng.lognormvariate(math.log(config.delay_median_s), config.delay_sigma)
        reaction.until = clock
        reaction.kinds.append(kind)
        after_ms = int((clock - started) * 1000)
        if after_ms <= config.window_s * 1000:
            reaction.seen.append(  # type: ignore[union-attr]
                {
                    "entity_id": entity_id,
                    "kind": kind,
                    "after_ms": after_ms,
                    "state": state,
                    "source": "device",
                }
            )

    unwanted = {e: s for e, s in changed.items() if expected.get(e) != s}
    for entity_id, state in sorted(changed.items()):
        entity, old = home.entity(entity_id), before.entity(entity_id)
        if entity is None:
            continue
        bad = wrong and entity_id in unwanted
        draw = rng.random()
        if _media(state):
            skip, stop = (
                (config.skip_wrong, config.stop_wrong)
                if bad
                else (config.skip_right, config.stop_right)
            )
            if draw < skip:
                entity.attributes["media_title"] = entity.attributes["media_content_id"] = "next"
                note(entity_id, "skipped", "playing")
            elif draw < skip + stop:
                entity.state = "paused"
                note(entity_id, "stopped", "paused")
        elif draw < (config.undo_wrong if bad else config.undo_right) and old is not None:
            entity.state, entity.attributes = old.state, dict(old.attributes)
            note(entity_id, "undone", old.state or None)
    # switched the wrong one back: some switch the one they meant themselves
    if (
        wrong
        and "undone" in reaction.kinds
        and expected
        and all(
            e.split(".", 1)[0] in SWITCHED_BY_HAND and s in _ON_OFF for e, s in expected.items()
        )
        and rng.random() < config.do_it_by_hand
    ):
        for entity_id, state in sorted(expected.items()):
            entity = home.entity(entity_id)
            if entity is None:
                continue
            entity.state = state
            kind = "undone" if entity_id in changed else "other_device"
            note(entity_id, kind, state)
        reaction.done_by_hand = True
    return reaction
