"""Signals read from the turn log alone: sessions, rephrases, barge-ins, abandonment,
explicit feedback and an implicit defect score (DESIGN §2 item 2, §3.3)."""

from selflearn.signals.compute import SIGNALS_SCHEMA, Signals, compute_signals
from selflearn.signals.defect import defect_score
from selflearn.signals.quality import auc, read_truth, signal_quality
from selflearn.signals.rephrase import HeuristicRephraseDetector, phonetic_key
from selflearn.signals.restatement import RestatementModel
from selflearn.signals.sessions import SessionConfig

__all__ = [
    "SIGNALS_SCHEMA",
    "HeuristicRephraseDetector",
    "RestatementModel",
    "SessionConfig",
    "Signals",
    "auc",
    "compute_signals",
    "defect_score",
    "phonetic_key",
    "read_truth",
    "signal_quality",
]
