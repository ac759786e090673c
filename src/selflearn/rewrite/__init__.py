"""Rewrites applied before intent matching: the offline table, the online layers, and the
one :class:`Rewriter` that puts them in order."""

from selflearn.rewrite.base import Rewrite, RewriteRequest, SupportsRewrite, normalize_utterance
from selflearn.rewrite.online import OnlineConfig, OnlineRewriter
from selflearn.rewrite.rewriter import LAYERS, Rewriter
from selflearn.rewrite.table import REWRITE_COLUMNS, RewriteTable

__all__ = [
    "LAYERS",
    "REWRITE_COLUMNS",
    "OnlineConfig",
    "OnlineRewriter",
    "Rewrite",
    "RewriteRequest",
    "RewriteTable",
    "Rewriter",
    "SupportsRewrite",
    "normalize_utterance",
]
