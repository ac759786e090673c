"""Rewrite templates: "shut off the {name}" → "turn off the {name}".

A template's placeholders stand for the names and areas a request is about; the literal
words around them are normalised like any utterance. A template rewrite carries every
captured name over to the target, so it can only ever rephrase, never change, what the
user asked about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selflearn.rewrite.base import normalize_utterance

__all__ = [
    "CAPTURE",
    "PLACEHOLDERS",
    "PLACEHOLDER_SLOTS",
    "Template",
    "is_template",
    "source_regex",
]

# placeholder → the intent slot whose value it stands for
# (Titles are left out: on held-out days "{query}" templates added no wins the exact rows
# did not already make, and "can you play {query} for me" → "play the album {query}" lost.)
PLACEHOLDER_SLOTS = {"name": "name", "area": "area"}
# "{said}": all the words that worked, with the words around them being what failed.
PLACEHOLDERS = (*PLACEHOLDER_SLOTS, "said")
_SLOT = re.compile(r"\{([a-z_]+)\}")
# One to MAXCAPTURE_WORDS words, as few as fit: a longer capture is a misparse.
CAPTURE = "[a-z0-9']+(?: [a-z0-9']+){0,3}?"
SAID_CAPTURE = "[a-z0-9']+(?: [a-z0-9']+)*"


def is_template(text: str) -> bool:
    return bool(_SLOT.search(text))


def _normalize(text: str) -> str:
    """Normalise the words between placeholders; keep the placeholders.

    >>> _normalize("Shut OFF the {name}!")
    'shut off the {name}'
    """
    pieces = []
    for i, part in enumerate(_SLOT.split(text)):
        pieces.append(f"{{{part}}}" if i % 2 else normalize_utterance(part))
    return " ".join(p for p in pieces if p)


def source_regex(source: str) -> str:
    """The regular expression a normalised source template matches (Python and RE2 alike).

    Normalised words are letters, digits, apostrophes and spaces: nothing to escape.

    >>> source_regex("kill the {name}")
    "kill the (?P<name>[a-z0-9']+(?: [a-z0-9']+){0,3}?)"
    """
    return "".join(
        f"(?P<{part}>{SAID_CAPTURE if part == 'said' else CAPTURE})" if i % 2 else part
        for i, part in enumerate(_SLOT.split(source))
    )


@dataclass(frozen=True)
class Template:
    """A parsed source/target template pair.

    >>> t = Template.parse("shut off the {name}", "turn off the {name}")
    >>> t.apply("shut off the porch light")
    'turn off the porch light'
    >>> t.apply("turn off the porch light") is None
    True
    """

    source: str
    target: str
    pattern: re.Pattern[str]
    literals: frozenset[str]

    @classmethod
    def parse(cls, source: str, target: str) -> Template:
        """Raise ValueError (naming the problem) unless the pair is a usable template."""
        source, target = _normalize(source), _normalize(target)
        slots = _SLOT.findall(source)
        unknown = sorted(set(slots + _SLOT.findall(target)) - set(PLACEHOLDERS))
        if unknown:
            raise ValueError(f"unknown placeholder(s) {unknown}; known: {list(PLACEHOLDERS)}")
        if len(set(slots)) != len(slots):
            raise ValueError(f"a placeholder appears twice in {source!r}")
        if sorted(slots) != sorted(_SLOT.findall(target)):
            raise ValueError(f"{source!r} and {target!r} must have the same placeholders")
        literals = frozenset(w for w in _SLOT.sub(" ", source).split() if w)
        if not literals:
            raise ValueError(f"{source!r} needs at least one word besides placeholders")
        return cls(source, target, re.compile(source_regex(source)), literals)

    def apply(self, text: str) -> str | None:
        """The target with this utterance's names filled in, or None if it does not fit."""
        found = self.pattern.fullmatch(text)
        if found is None:
            return None
        values = found.groupdict()
        return _SLOT.sub(lambda m: values[m.group(1)], self.target)
