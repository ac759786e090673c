"""YAML data files of the assistant: the shipped defaults and users' own replacements."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from selflearn.errors import DataFileError

__all__ = ["packaged_yaml", "read_yaml_mapping"]


def read_yaml_mapping(path: Path | str, what: str) -> dict[str, Any]:
    """The mapping in a YAML file, or a :class:`DataFileError` naming the file and ``what``."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataFileError(f"{path}: cannot read {what} ({exc})") from exc
    if not isinstance(data, dict):
        raise DataFileError(f"{path}: a {what} must hold a mapping at the top level")
    return data


def packaged_yaml(name: str) -> dict[str, Any]:
    """A YAML file shipped in ``selflearn/assistant/data``."""
    text = resources.files("selflearn.assistant").joinpath(f"data/{name}").read_text()
    data: dict[str, Any] = yaml.safe_load(text)
    return data
