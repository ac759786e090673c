"""The one shape every learner has: ``fit`` on a turn table (through an engine), ``save`` and
``load`` an artefacts folder, and the apply verb of its kind (``rewrite`` for the rewriters,
``predict`` for the models).

Constructors only store their configuration; ``fit`` returns the learner; what it learned
lives in attributes ending in ``_``; applying or saving a learner that has not been fitted
raises :class:`~selflearn.errors.NotFittedError`. ``tests/test_learners.py`` runs one battery
of checks over every learner :func:`selflearn.learn.learner_classes` lists (save/load round
trip, same seed same output, inputs left as they were, the same output from either engine).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import types
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

import pyarrow as pa

from selflearn.engine import Engine
from selflearn.errors import DataFileError, NotFittedError

__all__ = ["PARAMS_DIR", "Learner", "Progress"]

Progress = Callable[[str], None]
_T = TypeVar("_T")
# ``params/<name>.json`` beside what a learner saved: its constructor's arguments.
PARAMS_DIR = "params"


class Learner(ABC):
    """A learner of selflearn's loop. ``name`` is its key in ``learn.json``; ``learned``
    names the attribute that holds what it learned (None until fitted or loaded)."""

    name: ClassVar[str]
    learned: ClassVar[str]

    @abstractmethod
    def fit(
        self,
        turns: pa.Table,
        *,
        signals: pa.Table | None = None,
        engine: Engine | None = None,
        progress: Progress | None = None,
    ) -> Self:
        """Learn from ``turns`` (the turn-event table, DESIGN §3.1) and their ``signals``
        (computed here, with the pre-trained restatement model, when not given); log-sized
        SQL runs on ``engine`` (an embedded DuckDB when not given)."""

    @abstractmethod
    def save(self, folder: Path) -> Path:
        """Write what was learned into the artefacts folder ``folder``; the path written."""

    @classmethod
    @abstractmethod
    def load(cls, folder: Path) -> Self:
        """A fitted learner from an artefacts folder its :meth:`save` wrote."""

    @property
    @abstractmethod
    def summary(self) -> dict[str, Any]:
        """What was learned, in numbers (``learn.json``'s entry)."""

    @property
    def fitted(self) -> bool:
        return getattr(self, self.learned, None) is not None

    def get_params(self) -> dict[str, Any]:
        """The constructor's arguments, as stored (scikit-learn's convention)."""
        names = inspect.signature(type(self).__init__).parameters
        return {n: getattr(self, n) for n in names if n != "self"}

    def _save_params(self, folder: Path) -> None:
        """The constructor's arguments beside what was learned (a file says what made it,
        STYLE §8), so :meth:`load` gives back the learner that was saved, not a default one."""
        (folder / PARAMS_DIR).mkdir(parents=True, exist_ok=True)
        params = {
            name: dataclasses.asdict(value)
            if dataclasses.is_dataclass(value) and not isinstance(value, type)
            else value
            for name, value in self.get_params().items()
        }
        record = {"learner": type(self).__name__, "params": params}
        (folder / PARAMS_DIR / f"{self.name}.json").write_text(
            json.dumps(record, indent=1), encoding="utf-8"
        )

    @classmethod
    def _saved_params(cls, folder: Path) -> dict[str, Any]:
        """The constructor's arguments :meth:`_save_params` recorded in ``folder`` (none
        for a folder saved before they were recorded: the defaults)."""
        path = folder / PARAMS_DIR / f"{cls.name}.json"
        if not path.is_file():
            return {}
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))["params"]
            hints = typing.get_type_hints(cls.__init__)
            names = set(inspect.signature(cls.__init__).parameters) - {"self"}
            return {n: _typed(hints.get(n), v) for n, v in saved.items() if n in names}
        except (OSError, KeyError, NameError, TypeError, ValueError) as exc:
            raise DataFileError(f"{path}: not readable learner parameters ({exc})") from exc

    def _require(self, value: _T | None) -> _T:
        if value is None:
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet: call fit(turns) or "
                f"{type(self).__name__}.load(folder) first."
            )
        return value

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def _typed(hint: Any, value: Any) -> Any:
    """A JSON value as the type ``hint`` names: a (nested) configuration dataclass from its
    fields, a tuple from a list; anything else as it is."""
    if value is None:
        return None
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for option in options:
        if (
            dataclasses.is_dataclass(option)
            and isinstance(option, type)
            and isinstance(value, dict)
        ):
            fields = typing.get_type_hints(option)
            known = {f.name for f in dataclasses.fields(option)}
            return option(**{k: _typed(fields.get(k), v) for k, v in value.items() if k in known})
        if typing.get_origin(option) is tuple and isinstance(value, list):
            args = [a for a in typing.get_args(option) if a is not Ellipsis]
            inner = args[0] if len(args) == 1 else None
            return tuple(_typed(inner, v) for v in value)
    return value


def signals_of(turns: pa.Table, signals: pa.Table | None, engine: Engine | None) -> pa.Table:
    """The signals handed in, or those of the pre-trained restatement model."""
    if signals is not None:
        return signals
    from selflearn.signals import compute_signals

    return compute_signals(turns, engine=engine).table
