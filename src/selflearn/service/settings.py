"""The service's settings: every one has a default; the environment is read only at the edge."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from selflearn.engine.base import ENGINES
from selflearn.errors import ConfigError

__all__ = ["ENV_PREFIX", "ServiceSettings"]

ENV_PREFIX = "SELFLEARN_"


@dataclass(frozen=True)
class ServiceSettings:
    """How ``selflearn serve`` runs.

    ``token``: the bearer token every write and admin route needs; None makes the service
    generate one at start and keep it in ``data_dir/token`` (readable by its owner only).
    ``open_rewrite``: ``POST /v1/rewrite`` without a token — allowed only when the service
    is bound to a loopback address. ``pseudonymise_key``: user ids are replaced at ingest by
    a keyed hash (HMAC-SHA256), so the store never holds the raw ids. ``learn_after_events``
    / ``learn_every_s``: re-learn after that many new events / that often (0: never on its
    own; ``POST /v1/admin/learn`` always can). ``learn_engine`` / ``spark_master``: where a
    learning run's log-sized steps run (``duckdb``, embedded; or ``spark`` at that master).
    ``explore``: choose among interpretations held close with the learned exploration policy
    (:mod:`selflearn.rewrite.explore`), exploring at ``explore_epsilon`` within its budgets;
    each answer then carries the ``choice`` to log with the turn. ``encoder_threads``: the
    cores one run of the request encoder uses; requests that arrive together are encoded
    in one run (:mod:`selflearn.service.batching`).
    """

    data_dir: Path = Path("selflearn-data/service")
    host: str = "127.0.0.1"
    port: int = 8321
    token: str | None = None
    open_rewrite: bool = True
    max_body_bytes: int = 2_000_000
    max_batch: int = 1_000
    max_text_chars: int = 500
    pseudonymise_key: str | None = None
    learn_after_events: int = 0
    learn_every_s: float = 0.0
    rewrite_budget_s: float = 0.03
    encoder_threads: int = 2  # cores one run of the request encoder uses (runs are batches)
    online: bool = True  # learn the online index and rankers, not only the offline table
    learn_engine: str = "duckdb"
    spark_master: str = "local[2]"
    explore: bool = False
    explore_epsilon: float = 0.2

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_batch", "max_text_chars"):
            if getattr(self, name) < 1:
                raise ConfigError("ServiceSettings", name, getattr(self, name), "an int >= 1")
        if not 0.0 <= self.explore_epsilon <= 1.0:
            raise ConfigError(
                "ServiceSettings", "explore_epsilon", self.explore_epsilon, "a float in [0, 1]"
            )
        if not 0 < self.port < 65536:
            raise ConfigError("ServiceSettings", "port", self.port, "an int in [1, 65535]")
        if self.learn_after_events < 0 or self.learn_every_s < 0:
            raise ConfigError(
                "ServiceSettings",
                "learn_after_events" if self.learn_after_events < 0 else "learn_every_s",
                min(self.learn_after_events, self.learn_every_s),
                "a number >= 0",
            )
        if self.learn_engine not in ENGINES:
            raise ConfigError(
                "ServiceSettings", "learn_engine", self.learn_engine, f"one of {ENGINES}"
            )
        if self.token is not None and len(self.token) < 16:
            raise ConfigError("ServiceSettings", "token", "<hidden>", "at least 16 characters")

    @property
    def loopback(self) -> bool:
        """Whether the service listens on this machine only."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def rewrite_needs_token(self) -> bool:
        return not (self.open_rewrite and self.loopback)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> ServiceSettings:
        """Settings from ``SELFLEARN_*`` variables (``SELFLEARN_TOKEN``, ``SELFLEARN_PORT``,
        …), then ``overrides`` (None values are ignored)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = env.get(ENV_PREFIX + field.name.upper())
            if raw is None:
                continue
            kind = str(field.type)
            try:
                if "Path" in kind:
                    values[field.name] = Path(raw)
                elif "bool" in kind:
                    values[field.name] = raw.strip().lower() in ("1", "true", "yes", "on")
                elif "int" in kind:
                    values[field.name] = int(raw)
                elif "float" in kind:
                    values[field.name] = float(raw)
                else:
                    values[field.name] = raw
            except ValueError:
                raise ConfigError(
                    "ServiceSettings", ENV_PREFIX + field.name.upper(), raw, f"a {kind}"
                ) from None
        settings = cls(**values)
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})
