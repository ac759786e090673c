"""The peers selflearn is measured against, on the same traffic (DESIGN §4)."""

from selflearn.peers.gazetteer import GazetteerFallback

__all__ = ["GazetteerFallback"]
