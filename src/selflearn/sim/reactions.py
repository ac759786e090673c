"""How users react to what the assistant did: rephrase, interrupt, say no, give up.

Strategies follow what the user can tell from the answer: "I couldn't understand"
invites a repeat or a plainer phrasing, "no device called …" the device's real
name, "there are several called …" the room, a wrong action a clearer request. Timing
follows real dialogue: seconds between attempts at one goal (a log-normal with a
median near 3 s after the answer ends), minutes to hours between goals.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from selflearn.errors import ConfigError
from selflearn.sim.goals import Goal

__all__ = ["ReactionConfig", "choose_strategy", "speech_seconds"]

SECONDS_PER_WORD = 0.32


@dataclass(frozen=True)
class ReactionConfig:
    """Rates of the user reactions the simulator draws.

    ``confirm_rate`` is how often the assistant asks "did I get that right?" after it
    acted; the user answers "no" when it did not serve them (``feedback`` negative).
    """

    confirm_rate: float = 0.08
    barge_in_wrong: float = 0.55
    barge_in_failed: float = 0.15
    barge_in_long: float = 0.06
    long_response_ms: int = 2500
    give_up_after_wrong: float = 0.3
    notice_rate: float = 0.9  # how often a user notices that a "success" was wrong
    gap_median_s: float = 3.0
    gap_sigma: float = 0.6

    def __post_init__(self) -> None:
        for name in (
            "confirm_rate",
            "barge_in_wrong",
            "barge_in_failed",
            "barge_in_long",
            "give_up_after_wrong",
            "notice_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError("ReactionConfig", name, value, "a float in [0, 1]")

    def gap_s(self, rng: random.Random) -> float:
        """Seconds from the end of the answer (or the interruption) to the next attempt."""
        return min(30.0, max(0.6, rng.lognormvariate(math.log(self.gap_median_s), self.gap_sigma)))

    def barge_in_ms(
        self, rng: random.Random, duration_ms: int, served: bool, wrong: bool, status: str
    ) -> int | None:
        """When (ms into the answer) the user talks over it, or None."""
        if duration_ms <= 0:
            return None
        if wrong:
            rate = self.barge_in_wrong
        elif not served and status != "success":
            rate = self.barge_in_failed if duration_ms >= self.long_response_ms else 0.03
        elif duration_ms >= self.long_response_ms:
            rate = self.barge_in_long
        else:
            rate = 0.01
        if rng.random() >= rate:
            return None
        return int(duration_ms * rng.uniform(0.15, 0.7))

    def feedback(self, rng: random.Random, served: bool) -> str | None:
        """The answer to "did I get that right?" (sometimes none)."""
        if rng.random() < 0.1:
            return None
        noticed = rng.random() < self.notice_rate
        return "positive" if served or not noticed else "negative"


def choose_strategy(goal: Goal, status: str, response: str, rng: random.Random) -> str:
    """How the user rephrases after a failed attempt, from what the answer told them."""
    if status == "no_valid_targets" and "several" in response:
        options = {"add_room": 0.7, "canonical": 0.3} if goal.area else {"canonical": 1.0}
    elif status == "no_valid_targets":
        options = {"real_name": 0.55, "canonical": 0.3, "add_room": 0.15}
    elif status == "no_intent_match":
        options = {
            "repeat": 0.15,
            "canonical": 0.4,
            "synonym": 0.2,
            "shorten": 0.15,
            "correct": 0.1,
        }
    elif status == "failed_to_handle":
        options = {"repeat": 0.4, "canonical": 0.6}
    else:  # the assistant acted or answered, but not as meant
        options = {"canonical": 0.4, "repeat": 0.2, "add_room": 0.2, "correct": 0.2}
    names = list(options)
    return rng.choices(names, weights=[options[n] for n in names])[0]


def speech_seconds(text: str) -> float:
    """How long saying ``text`` takes."""
    return 0.4 + SECONDS_PER_WORD * len(text.split())
