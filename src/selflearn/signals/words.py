"""How two requests differ, word by word: the stretches that changed, how alike they sound,
and which words carry no request of their own (English's closed classes) or are numbers.
The misheard-request model and the restatement model read pairs through these."""

from __future__ import annotations

import difflib

from rapidfuzz import fuzz

from selflearn.signals.rephrase import phonetic_key

__all__ = [
    "FUNCTION_WORDS",
    "NUMBER_WORDS",
    "changed_spans",
    "is_number",
    "sounds_alike",
    "word_diff",
]

# Words a recogniser drops or slips in without changing what is asked: English's closed
# classes (articles, pronouns, prepositions, auxiliaries, conjunctions) and "please".
FUNCTION_WORDS = frozenset(
    (
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "my",
        "your",
        "his",
        "her",
        "its",
        "our",
        "their",
        "me",
        "you",
        "him",
        "us",
        "them",
        "it",
        "i",
        "we",
        "they",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "with",
        "about",
        "into",
        "onto",
        "over",
        "as",
        "and",
        "or",
        "but",
        "so",
        "if",
        "then",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "am",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "can",
        "could",
        "will",
        "would",
        "shall",
        "should",
        "may",
        "might",
        "must",
        "please",
        "just",
        "some",
        "any",
        "up",
        "out",
        "off",
    )
)
NUMBER_WORDS = frozenset(
    (
        "zero",
        "oh",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "sixty",
        "seventy",
        "eighty",
        "ninety",
        "hundred",
        "thousand",
        "million",
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "sixth",
        "seventh",
        "eighth",
        "ninth",
        "tenth",
        "half",
        "quarter",
    )
)


def is_number(word: str) -> bool:
    return word.isdigit() or word in NUMBER_WORDS


def changed_spans(heard: list[str], said: list[str]) -> list[tuple[list[str], list[str]]]:
    """The stretches where the two differ, word by word: (heard words, said words); one
    side is empty where words were dropped or slipped in."""
    return word_diff(heard, said)[0]


def word_diff(a: list[str], b: list[str]) -> tuple[list[tuple[list[str], list[str]]], list[int]]:
    """One alignment of the two, word by word: the stretches where they differ (as
    :func:`changed_spans`) and the lengths of the stretches they share, in order."""
    opcodes = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
    spans = [(a[a1:a2], b[b1:b2]) for tag, a1, a2, b1, b2 in opcodes if tag != "equal"]
    return spans, [a2 - a1 for tag, a1, a2, _, _ in opcodes if tag == "equal"]


def sounds_alike(a: list[str], b: list[str]) -> float:
    """How alike two stretches of words sound (ratio of their Metaphone codes, 0–100)."""
    return fuzz.ratio(phonetic_key(" ".join(a)), phonetic_key(" ".join(b)))
