"""selflearn's rewriter: the offline table, then the personal layer, then the global one
(the learned rankers over what works, then the restatement memory).

It never raises and never makes the assistant wait past its budget: an error in any layer,
or an answer later than ``budget_s``, lets the original utterance pass through, and is
counted (``metrics``). Loaded from a ``selflearn learn`` artefacts folder; pickles as that
folder's path (worker processes load it once each).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from selflearn.errors import ConfigError, DataFileError
from selflearn.rewrite.base import Considered, Rewrite, RewriteRequest, SupportsRewrite
from selflearn.rewrite.guards import load_guard
from selflearn.rewrite.online import ONLINE_DIR, OnlineConfig, OnlineRewriter
from selflearn.rewrite.restated import RESTATED_FILE, RestatementMemory
from selflearn.rewrite.table import REWRITES_FILE, RewriteTable

__all__ = ["LAYERS", "Rewriter", "available_layers"]

log = logging.getLogger(__name__)
LAYERS = ("offline", "global", "personal")
# Folders loaded in this process, the most recent last; a long-running service loads a new
# version after every learning run, so only the last few are kept.
_Loaded = tuple[SupportsRewrite | None, OnlineRewriter | None, RestatementMemory | None]
_LOADED: OrderedDict[tuple[str, tuple[str, ...], str], _Loaded] = OrderedDict()
_KEEP_LOADED = 3
_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Source:
    artefacts: str
    layers: tuple[str, ...]
    online: OnlineConfig


class Rewriter:
    """Rewrites an utterance before intent matching, or lets it pass (None).

    >>> from selflearn.rewrite.table import RewriteTable
    >>> table = RewriteTable.from_rows([{"source": "turn of the light",
    ...     "rewrite": "turn off the light", "score": 0.9, "support": 5}])
    >>> rewriter = Rewriter(table=table)
    >>> rewriter.rewrite(RewriteRequest("turn of the light")).target
    'turn off the light'
    >>> rewriter.rewrite(RewriteRequest("what time is it")) is None
    True
    >>> rewriter.metrics["requests"], rewriter.metrics["rewrites:global"]
    (2, 1)
    """

    def __init__(
        self,
        *,
        table: SupportsRewrite | None = None,
        online: OnlineRewriter | None = None,
        restated: RestatementMemory | None = None,
        budget_s: float = 0.03,
    ) -> None:
        self.table = table
        self.online = online
        self.restated = restated
        self.budget_s = budget_s
        self.metrics: Counter[str] = Counter()
        self._source: _Source | None = None

    @classmethod
    def load(
        cls,
        artefacts: Path | str,
        *,
        layers: tuple[str, ...] | list[str] | None = None,
        online: OnlineConfig | None = None,
        budget_s: float = 0.03,
        cache: bool = True,
    ) -> Rewriter:
        """The layers named (``offline``, ``global``, ``personal``) from a ``selflearn
        learn`` folder; by default every layer the folder has (a small log may leave no
        ``online/`` index: then the offline table, the restatement memory and the speaker's
        own rows serve). Naming the global layer needs the ``online/`` index or the
        restatement memory. ``cache``: keep what
        was loaded for the next load of the same folder in this process (a service that
        swaps versions loads each once and wants the old one gone with its last user)."""
        folder = Path(artefacts)
        layers = tuple(layers) if layers is not None else available_layers(folder)
        unknown = sorted(set(layers) - set(LAYERS))
        if unknown:
            raise ConfigError("Rewriter.load", "layers", unknown, f"some of {LAYERS}")
        if not folder.is_dir():
            raise DataFileError(f"{folder}: no such artefacts folder (run selflearn learn)")
        config = OnlineConfig(
            **{
                **asdict(online or OnlineConfig()),
                "use_global": "global" in layers,
                "use_personal": "personal" in layers,
            }
        )
        table, model, restated = _load(folder, layers, config, cache)
        rewriter = cls(table=table, online=model, restated=restated, budget_s=budget_s)
        rewriter._source = _Source(str(folder.resolve()), layers, config)
        return rewriter

    @property
    def layers(self) -> tuple[str, ...]:
        if self._source:
            return self._source.layers
        out: tuple[str, ...] = ("offline",) if self.table else ()
        if self.restated and not (self.online and self.online.config.use_global):
            out += ("global",)
        if self.online:
            out += tuple(
                name
                for name, on in (
                    ("global", self.online.config.use_global),
                    ("personal", self.online.config.use_personal),
                )
                if on
            )
        return out

    def rewrite(self, request: RewriteRequest) -> Rewrite | None:
        """The first layer's rewrite, or None; never raises (fail open)."""
        self.metrics["requests"] += 1
        start = time.perf_counter()
        answer: Rewrite | None = None
        try:
            if self.table is not None:
                answer = self.table.rewrite(request)
            if answer is None and self.online is not None:
                answer = self.online.rewrite(request)
            if answer is None and self.restated is not None:
                answer = self.restated.rewrite(request)
        except Exception:  # fail open: whatever went wrong, the original passes through
            log.warning("rewriter failed; the original utterance passes through", exc_info=True)
            self.metrics["fail_open:error"] += 1
            return None
        if time.perf_counter() - start > self.budget_s:
            self.metrics["fail_open:timeout"] += 1
            return None
        if answer is not None:
            self.metrics[f"rewrites:{answer.layer}"] += 1
        return answer

    def to_encode(self, request: RewriteRequest) -> str | None:
        """The words the online layers would encode for ``request`` (None when none need
        encoding), for a server that encodes concurrent requests together; never raises."""
        if self.online is None:
            return None
        try:
            return self.online.to_encode(request)
        except Exception:  # only a hint: the rewrite itself fails open where it must
            log.warning("could not tell what a request needs encoded", exc_info=True)
            return None

    def consider(self, request: RewriteRequest) -> list[Considered]:
        """What every layer found for the request, in the order they are asked, each with
        the figure it was judged by and why it was withheld; the first not withheld is what
        :meth:`rewrite` serves (within its time budget). For reports and explanations: it
        asks every layer, and raises what a layer raises."""
        out: list[Considered] = []
        if isinstance(self.table, RewriteTable):
            found = self.table.consider(request)
            out += [found] if found is not None else []
        elif self.table is not None and (answer := self.table.rewrite(request)) is not None:
            # a table of another kind says only what it answers
            out.append(
                Considered(
                    answer.target, answer.layer, answer.method, answer.score, 0.0, answer.support
                )
            )
        if self.online is not None:
            out += self.online.consider(request)
        if self.restated is not None:
            out += self.restated.consider(request)
        return out

    def forget(self, owner: str) -> int:
        """Stop using ``owner``'s personal rows (a user id, or ``device:<id>``), in the
        table and in the index, in memory; how many rows. The files are left as they are
        (:func:`~selflearn.rewrite.index.remove_saved_scope` rewrites the index's)."""
        dropped = 0
        if isinstance(self.table, RewriteTable):
            dropped += self.table.forget(owner)
        if self.online is not None:
            dropped += self.online.forget(owner)
        return dropped

    @property
    def fail_opens(self) -> int:
        return self.metrics["fail_open:error"] + self.metrics["fail_open:timeout"]

    # -- pickling: a loaded rewriter travels as its folder ---------------------------

    def __getstate__(self) -> dict[str, Any]:
        if self._source is None:
            return self.__dict__.copy()
        return {"_source": self._source, "budget_s": self.budget_s}

    def __setstate__(self, state: dict[str, Any]) -> None:
        source = state.get("_source")
        if source is None or "table" in state:
            self.__dict__.update(state)
            return
        table, online, restated = _load(Path(source.artefacts), source.layers, source.online)
        self.table, self.online, self.restated = table, online, restated
        self.budget_s = state["budget_s"]
        self.metrics = Counter()
        self._source = source


def available_layers(artefacts: Path | str) -> tuple[str, ...]:
    """Every layer a ``selflearn learn`` folder has: the global one where ``learn`` built
    the online index or the restatement memory (the personal layer is at least the
    speaker's own table rows)."""
    folder = Path(artefacts)
    if (folder / ONLINE_DIR).is_dir() or (folder / RESTATED_FILE).is_file():
        return LAYERS
    return ("offline", "personal")


def _load(
    folder: Path, layers: tuple[str, ...], config: OnlineConfig, cache: bool = True
) -> _Loaded:
    """Each (folder, layers, config) loaded once per process (the last few kept)."""
    key = (str(folder.resolve()), layers, repr(config))
    if not cache:
        return _read(folder, layers, config)
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = _read(folder, layers, config)
            while len(_LOADED) > _KEEP_LOADED:
                _LOADED.popitem(last=False)
        _LOADED.move_to_end(key)
        return _LOADED[key]


def _read(folder: Path, layers: tuple[str, ...], config: OnlineConfig) -> _Loaded:
    """The offline table, the online rewriter and the restatement memory of ``folder``
    (None where the layers do not need it, or the folder has no memory)."""
    table = None
    guard = load_guard(folder)  # one guard for every layer read here
    if "offline" in layers:
        path = folder / REWRITES_FILE
        if not path.is_file():
            raise DataFileError(f"{path}: no offline rewrite table (run selflearn learn)")
        table = RewriteTable.load(path)
        table.guard = guard
        table.personal = "personal" in layers
    online = restated = None
    has_index = (folder / ONLINE_DIR).is_dir()
    if "global" in layers and (folder / RESTATED_FILE).is_file():
        restated = RestatementMemory.load(folder, guard)
    # The personal layer is the speaker's own table rows and, where ``learn`` built
    # one, their own index; the global layer needs the index or the memory.
    if ("global" in layers and (has_index or restated is None)) or (
        "personal" in layers and has_index
    ):
        online = OnlineRewriter.load(folder / ONLINE_DIR, config)
    return table, online, restated
