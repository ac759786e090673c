"""What one configured selflearn entry holds while it runs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .api import SelflearnClient
from .queue import EventQueue
from .watch import AfterActionWatcher


@dataclass
class Runtime:
    """The service client, the event queue, the after-action watcher and the counters
    the sensors and the diagnostics show."""

    client: SelflearnClient
    queue: EventQueue
    watcher: AfterActionWatcher
    counters: Counter[str] = field(default_factory=Counter)

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] += n
