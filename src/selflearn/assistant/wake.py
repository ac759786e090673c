"""Wake-word detection: a score for every request, and false wakes from background speech."""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["BACKGROUND_SPEECH", "WakeDetector"]

# Speech that reaches the microphone without being meant for the assistant
# (television, radio, people talking to each other). Written for selflearn.
BACKGROUND_SPEECH = (
    "and now back to the studio for the weather",
    "did you remember to call your mother",
    "the lights went out all over the city last night",
    "turn left at the next junction",
    "we should open a window it is warm in here",
    "play it again from the top",
    "what time does the game start",
    "stop it both of you",
    "next on channel four the evening news",
    "set the table please dinner is ready",
    "i think the kitchen needs a new light",
    "can you hear the music from next door",
    "lock your phone before you leave it there",
    "the temperature will drop to five degrees tonight",
    "she turned off the engine and waited",
    "who left the garage door open",
    "that movie was far too long",
    "pause for a moment and think about it",
)


@dataclass(frozen=True)
class WakeDetector:
    """Scores wake-word detections; ``false_wakes_per_hour`` sets the background rate."""

    word: str = "hey selflearn"
    threshold: float = 0.5
    false_wakes_per_hour: float = 0.3

    def score(self, rng: random.Random, *, intended: bool, noise: float = 1.0) -> float:
        """A detection score above the threshold: high for a spoken wake word, marginal otherwise."""
        raw = rng.betavariate(12.0, 1.2 + 0.8 * noise) if intended else rng.betavariate(2.0, 3.0)
        return round(self.threshold + (1.0 - self.threshold) * raw, 3)

    def false_wakes(self, rng: random.Random, hours: float) -> int:
        """How many false wakes happen in ``hours`` of background speech (Poisson)."""
        expected = self.false_wakes_per_hour * hours
        count, total = 0, rng.expovariate(1.0) if expected > 0 else float("inf")
        while total < expected:
            count += 1
            total += rng.expovariate(1.0)
        return count

    def background_utterance(self, rng: random.Random) -> str:
        return rng.choice(BACKGROUND_SPEECH)
