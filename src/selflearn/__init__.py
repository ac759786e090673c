"""selflearn: a self-learning layer for voice assistants, smart home first.

The public surface; import from here rather than from submodules.
"""

from selflearn._version import __version__ as __version__
from selflearn.assistant import Assistant, Catalogue, Home, SpeechChannel, Turn, WakeDetector
from selflearn.errors import ConfigError, DataFileError, SchemaError, SelflearnError
from selflearn.evaluate import ABResult, Arm, run_ab
from selflearn.logs import (
    TURN_SCHEMA,
    IngestSummary,
    Rejection,
    TurnEvent,
    TurnStore,
    json_schema,
    read_events,
    read_turns,
    write_jsonl,
    write_parquet,
)
from selflearn.report import build_report, write_report
from selflearn.rewrite import Rewrite, Rewriter, RewriteRequest, RewriteTable
from selflearn.signals import HeuristicRephraseDetector, SessionConfig, Signals, compute_signals
from selflearn.sim import ReactionConfig, SimConfig, Simulator
from selflearn.teach import (
    Preference,
    PreferenceStore,
    Statement,
    TaughtRewriter,
    TeachConfig,
    Teacher,
    parse_statement,
    with_preferences,
)

__all__ = [
    "TURN_SCHEMA",
    "ABResult",
    "Arm",
    "Assistant",
    "Catalogue",
    "ConfigError",
    "DataFileError",
    "HeuristicRephraseDetector",
    "Home",
    "IngestSummary",
    "Preference",
    "PreferenceStore",
    "ReactionConfig",
    "Rejection",
    "Rewrite",
    "RewriteRequest",
    "RewriteTable",
    "Rewriter",
    "SchemaError",
    "SelflearnError",
    "SessionConfig",
    "Signals",
    "SimConfig",
    "Simulator",
    "SpeechChannel",
    "Statement",
    "TaughtRewriter",
    "TeachConfig",
    "Teacher",
    "Turn",
    "TurnEvent",
    "TurnStore",
    "WakeDetector",
    "build_report",
    "compute_signals",
    "json_schema",
    "parse_statement",
    "read_events",
    "read_turns",
    "run_ab",
    "with_preferences",
    "write_jsonl",
    "write_parquet",
    "write_report",
]
