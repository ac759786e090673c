"""selflearn: a self-learning layer for voice assistants, smart home first.

The public surface; import from here rather than from submodules. Names are imported when
first used, so a process that needs one part (the service's parsing worker, a CLI verb) does
not pay for every other part's libraries.
"""

from __future__ import annotations

import typing

from selflearn._lazy import lazy_names
from selflearn._version import __version__ as __version__

if typing.TYPE_CHECKING:
    from selflearn.assistant import Assistant, Catalogue, Home, SpeechChannel, Turn, WakeDetector
    from selflearn.errors import (
        ConfigError,
        DataFileError,
        EngineError,
        NotFittedError,
        SchemaError,
        SelflearnError,
    )
    from selflearn.evaluate import ABResult, Arm, run_ab
    from selflearn.learner import Learner
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
    from selflearn.rewrite.markov import MarkovMiner
    from selflearn.rewrite.online import OnlineLearner
    from selflearn.rewrite.restated import RestatementLearner
    from selflearn.signals import HeuristicRephraseDetector, SessionConfig, Signals, compute_signals
    from selflearn.signals.span_train import RephraseLearner
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

# name → the module it comes from
_WHERE = {
    "TURN_SCHEMA": "selflearn.logs",
    "ABResult": "selflearn.evaluate",
    "Arm": "selflearn.evaluate",
    "Assistant": "selflearn.assistant",
    "Catalogue": "selflearn.assistant",
    "ConfigError": "selflearn.errors",
    "DataFileError": "selflearn.errors",
    "EngineError": "selflearn.errors",
    "HeuristicRephraseDetector": "selflearn.signals",
    "Home": "selflearn.assistant",
    "IngestSummary": "selflearn.logs",
    "Learner": "selflearn.learner",
    "MarkovMiner": "selflearn.rewrite.markov",
    "NotFittedError": "selflearn.errors",
    "OnlineLearner": "selflearn.rewrite.online",
    "Preference": "selflearn.teach",
    "PreferenceStore": "selflearn.teach",
    "ReactionConfig": "selflearn.sim",
    "Rejection": "selflearn.logs",
    "RephraseLearner": "selflearn.signals.span_train",
    "RestatementLearner": "selflearn.rewrite.restated",
    "Rewrite": "selflearn.rewrite",
    "RewriteRequest": "selflearn.rewrite",
    "RewriteTable": "selflearn.rewrite",
    "Rewriter": "selflearn.rewrite",
    "SchemaError": "selflearn.errors",
    "SelflearnError": "selflearn.errors",
    "SessionConfig": "selflearn.signals",
    "Signals": "selflearn.signals",
    "SimConfig": "selflearn.sim",
    "Simulator": "selflearn.sim",
    "SpeechChannel": "selflearn.assistant",
    "Statement": "selflearn.teach",
    "TaughtRewriter": "selflearn.teach",
    "TeachConfig": "selflearn.teach",
    "Teacher": "selflearn.teach",
    "Turn": "selflearn.assistant",
    "TurnEvent": "selflearn.logs",
    "TurnStore": "selflearn.logs",
    "WakeDetector": "selflearn.assistant",
    "build_report": "selflearn.report",
    "compute_signals": "selflearn.signals",
    "json_schema": "selflearn.logs",
    "parse_statement": "selflearn.teach",
    "read_events": "selflearn.logs",
    "read_turns": "selflearn.logs",
    "run_ab": "selflearn.evaluate",
    "with_preferences": "selflearn.teach",
    "write_jsonl": "selflearn.logs",
    "write_parquet": "selflearn.logs",
    "write_report": "selflearn.report",
}

__all__ = [
    "TURN_SCHEMA",
    "ABResult",
    "Arm",
    "Assistant",
    "Catalogue",
    "ConfigError",
    "DataFileError",
    "EngineError",
    "HeuristicRephraseDetector",
    "Home",
    "IngestSummary",
    "Learner",
    "MarkovMiner",
    "NotFittedError",
    "OnlineLearner",
    "Preference",
    "PreferenceStore",
    "ReactionConfig",
    "Rejection",
    "RephraseLearner",
    "RestatementLearner",
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


__getattr__, __dir__ = lazy_names(__name__, _WHERE)
