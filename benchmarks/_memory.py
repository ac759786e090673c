"""Resident memory of a process, for the benchmarks that print it."""

from __future__ import annotations

import resource
from pathlib import Path


def rss_mb(pid: int | str = "self") -> float:
    """The process's resident set in MB (``VmRSS``); for this process on a system without
    ``/proc``, its peak instead; NaN for another process there."""
    status = Path(f"/proc/{pid}/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    if pid == "self":
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return float("nan")
