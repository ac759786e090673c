"""A pair model pre-trained on broad data and shipped with the package.

A deployment's first log is too small to learn from scratch, so the models that judge a
pair of requests (was this one misheard for that one? does this one restate that one?)
are trained on broad data — real users' phrasings heard through the simulated
recogniser, real recordings — (:mod:`selflearn.sim.pretrain`) and ship as LightGBM text files with their threshold and
how it was certified beside them (``.json``). Each kind names its features; a file of
other features is refused rather than misread.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Self

import lightgbm as lgb
import numpy as np

from selflearn.errors import DataFileError

__all__ = ["PriorModel"]

TRAIN: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "verbose": -1,
    "deterministic": True,
    "num_threads": 1,
}
ROUNDS = 300


class PriorModel:
    """P(yes) for a pair, from the feature rows its kind computes; ``threshold``: the
    probability from which it says yes; ``info``: how it was trained and certified."""

    FEATURES: ClassVar[tuple[str, ...]] = ()
    WHAT: ClassVar[str] = "pair model"
    PACKAGE: ClassVar[str] = ""  # where the shipped file lives …
    FILE: ClassVar[str] = ""  # … and its name

    def __init__(
        self, booster: lgb.Booster, threshold: float = 1.0, info: dict[str, object] | None = None
    ) -> None:
        self.booster = booster
        self.threshold = threshold
        self.info = info or {}

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        if len(rows) == 0:
            return np.zeros(0, dtype=np.float64)
        # one thread: OpenMP's pool does not survive a fork (the A/B harness's workers)
        return np.asarray(self.booster.predict(rows, num_threads=1), dtype=np.float64)

    @classmethod
    def fit(
        cls, rows: np.ndarray, labels: np.ndarray, seed: int = 0, weights: np.ndarray | None = None
    ) -> Self:
        """Trained on feature rows and 1/0 labels (each weighing ``weights``, 1 by default);
        the same rows and seed give the same model."""
        data = lgb.Dataset(
            rows, labels, weight=weights, feature_name=list(cls.FEATURES), free_raw_data=True
        )
        return cls(lgb.train({**TRAIN, "seed": seed}, data, ROUNDS))

    def save(self, path: Path) -> Path:
        path.write_text(self.booster.model_to_string(), encoding="utf-8")
        meta = {"threshold": self.threshold, "info": self.info}
        path.with_suffix(".json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> Self:
        try:
            booster = lgb.Booster(model_str=path.read_text(encoding="utf-8"))
            meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            threshold = float(meta["threshold"])
        except (OSError, KeyError, TypeError, ValueError, lgb.basic.LightGBMError) as exc:
            raise DataFileError(f"{path}: not a readable {cls.WHAT} ({exc})") from exc
        if tuple(booster.feature_name()) != cls.FEATURES:
            raise DataFileError(f"{path}: a {cls.WHAT} of other features")
        return cls(booster, threshold, meta.get("info"))

    @classmethod
    def shipped(cls) -> Self:
        """The pre-trained model in the package (see :mod:`selflearn.sim.pretrain`); loaded
        once per process."""
        found = _SHIPPED.get(cls)
        if found is None:
            with resources.as_file(resources.files(cls.PACKAGE).joinpath("data")) as folder:
                found = _SHIPPED[cls] = cls.load(Path(folder) / cls.FILE)
        return found  # type: ignore[return-value]

    @classmethod
    def shipped_path(cls) -> Path:
        """Where the shipped model lives in a source checkout (``selflearn.sim.pretrain``
        writes it there)."""
        with resources.as_file(resources.files(cls.PACKAGE).joinpath("data")) as folder:
            return Path(folder) / cls.FILE


_SHIPPED: dict[type[PriorModel], PriorModel] = {}
