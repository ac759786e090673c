"""The exception tree of selflearn: one root, each error naming what was wrong."""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataFileError",
    "EngineError",
    "NotFittedError",
    "SchemaError",
    "SelflearnError",
]


class SelflearnError(Exception):
    """Root of every error selflearn raises on purpose."""


class SchemaError(SelflearnError, ValueError):
    """A turn event does not follow the contract (DESIGN §3.1).

    ``field`` is the dotted path of the offending field, ``value`` the value
    found and ``allowed`` a short description of what the contract accepts.
    """

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        if field == "<line>":
            super().__init__(f"the line is not {allowed}")
            return
        if allowed == "present":
            super().__init__(f"field '{field}' is missing; the contract requires it")
            return
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"field '{field}' must be {allowed}; got {shown}")


class DataFileError(SelflearnError, ValueError):
    """A file given to selflearn cannot be read as the format it claims to be."""


class ConfigError(SelflearnError, ValueError):
    """A parameter or configuration value is outside what is allowed."""

    def __init__(self, owner: str, parameter: str, value: object, allowed: str) -> None:
        self.owner = owner
        self.parameter = parameter
        self.value = value
        self.allowed = allowed
        super().__init__(
            f"The '{parameter}' parameter of {owner} must be {allowed}. Got {value!r} instead."
        )


class EngineError(SelflearnError, RuntimeError):
    """The engine a learning run's steps run on (Spark) could not start or failed a step."""


class NotFittedError(SelflearnError, ValueError, AttributeError):
    """A learner was applied or saved before it was fitted (or loaded)."""
