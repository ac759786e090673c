"""Teachable preferences (DESIGN §2 item 6): users say what they mean, the next request uses it.

:mod:`~selflearn.teach.parse` reads preference statements and teaching commands,
:mod:`~selflearn.teach.store` keeps what each user taught (with the turn it came from),
:mod:`~selflearn.teach.teacher` holds the conversation (statements, "forget that", guided
questions, teachable moments under a per-user budget) and :mod:`~selflearn.teach.apply`
applies the preferences to the next request as a rewrite layer before the learned ones.
"""

from selflearn.teach.apply import TaughtRewriter, with_preferences
from selflearn.teach.parse import Command, Statement, parse_answer, parse_command, parse_statement
from selflearn.teach.quality import read_examples, statement_quality
from selflearn.teach.store import Preference, PreferenceStore
from selflearn.teach.teacher import Reply, TeachConfig, Teacher

__all__ = [
    "Command",
    "Preference",
    "PreferenceStore",
    "Reply",
    "Statement",
    "TaughtRewriter",
    "TeachConfig",
    "Teacher",
    "parse_answer",
    "parse_command",
    "parse_statement",
    "read_examples",
    "statement_quality",
    "with_preferences",
]
