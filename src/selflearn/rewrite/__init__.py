"""Rewrites applied before intent matching: the offline table, the online layers, and the
one :class:`Rewriter` that puts them in order; the restatement memory among the global
layer's."""

from selflearn.rewrite.base import Rewrite, RewriteRequest, SupportsRewrite, normalize_utterance
from selflearn.rewrite.online import OnlineConfig, OnlineRewriter
from selflearn.rewrite.restated import RestatedConfig, RestatementMemory
from selflearn.rewrite.rewriter import LAYERS, Rewriter
from selflearn.rewrite.table import REWRITE_COLUMNS, RewriteTable

__all__ = [
    "LAYERS",
    "REWRITE_COLUMNS",
    "OnlineConfig",
    "OnlineRewriter",
    "RestatedConfig",
    "RestatementMemory",
    "Rewrite",
    "RewriteRequest",
    "RewriteTable",
    "Rewriter",
    "SupportsRewrite",
    "normalize_utterance",
]
