"""Rewrites applied before intent matching: the one interface every rewriting learner fits."""

from selflearn.rewrite.base import Rewrite, Rewriter, RewriteRequest, normalize_utterance
from selflearn.rewrite.table import REWRITE_COLUMNS, RewriteTable

__all__ = [
    "REWRITE_COLUMNS",
    "Rewrite",
    "RewriteRequest",
    "RewriteTable",
    "Rewriter",
    "normalize_utterance",
]
