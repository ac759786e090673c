"""Versions of the learned artefacts: each learning run writes a new folder; one is current.

``root/v000001``, ``root/v000002``, … and ``root/current`` naming the one being served,
replaced atomically (``os.replace``), so a crash leaves the old pointer or the new one. The
previous versions are kept; :meth:`ArtefactVersions.restore` goes back to the one before.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from selflearn.errors import DataFileError

__all__ = ["ArtefactVersions"]

_NAME = re.compile(r"^v(\d{6})$")
KEEP = 5  # versions kept on disk (the current one and those before it)


class ArtefactVersions:
    """The artefact folders under ``root`` and which one is current."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def all(self) -> list[str]:
        """Version names, oldest first."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and _NAME.match(p.name))

    def current(self) -> str | None:
        pointer = self.root / "current"
        if not pointer.is_file():
            return None
        name = pointer.read_text(encoding="utf-8").strip()
        if not _NAME.match(name) or not (self.root / name).is_dir():
            raise DataFileError(f"{pointer}: names {name!r}, which is not a kept version")
        return name

    def path(self, name: str) -> Path:
        return self.root / name

    def new(self) -> Path:
        """A fresh, empty folder for the next version (not yet current)."""
        self.root.mkdir(parents=True, exist_ok=True)
        names = self.all()
        number = int(names[-1][1:]) + 1 if names else 1
        folder = self.root / f"v{number:06d}"
        folder.mkdir()
        return folder

    def publish(self, name: str) -> None:
        """Make ``name`` current (atomically), and drop the oldest beyond :data:`KEEP`."""
        if not (self.root / name).is_dir():
            raise DataFileError(f"{self.root / name}: no such artefact version")
        tmp = self.root / "current.tmp"
        tmp.write_text(name, encoding="utf-8")
        os.replace(tmp, self.root / "current")
        names = self.all()
        keep = set(names[-KEEP:]) | {name}
        for old in names:
            if old not in keep:
                shutil.rmtree(self.root / old, ignore_errors=True)

    def discard(self, name: str) -> None:
        """Remove a version that failed validation (never the current one)."""
        if name != self.current():
            shutil.rmtree(self.root / name, ignore_errors=True)

    def previous(self) -> str | None:
        """The version before the current one, if one is kept."""
        current = self.current()
        names = self.all()
        if current is None or current not in names:
            return None
        at = names.index(current)
        return names[at - 1] if at > 0 else None

    def restore(self) -> str:
        """Serve the version before the current one again; its name."""
        previous = self.previous()
        if previous is None:
            raise DataFileError(f"{self.root}: no earlier artefact version to restore")
        self.publish(previous)
        return previous
