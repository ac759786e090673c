"""The selflearn service over HTTP (DESIGN §3.5): rewrite, events, teach, health.

Every call has a deadline; the caller decides what a failure means. A rewrite that errs or
comes late is None, so the original words go on (fail open).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

_LOGGER = logging.getLogger(__name__)


class ServiceError(Exception):
    """The service answered with an error, or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class SelflearnClient:
    """A thin client of one selflearn service."""

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str | None) -> None:
        self._session = session
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def _call(
        self, method: str, path: str, timeout_s: float, body: Any = None
    ) -> dict[str, Any]:
        try:
            async with asyncio.timeout(timeout_s):
                async with self._session.request(
                    method, self.url + path, json=body, headers=self._headers
                ) as response:
                    data = await response.json(content_type=None)
                    if response.status >= 400:
                        said = data.get("error") if isinstance(data, dict) else None
                        raise ServiceError(
                            f"{method} {path}: {response.status} {said or ''}".strip(),
                            response.status,
                        )
                    return data if isinstance(data, dict) else {}
        except TimeoutError as err:
            raise ServiceError(f"{method} {path}: no answer within {timeout_s:.3f} s") from err
        except (aiohttp.ClientError, ValueError) as err:
            raise ServiceError(f"{method} {path}: {err}") from err

    async def health(self, timeout_s: float = 5.0) -> dict[str, Any]:
        return await self._call("GET", "/healthz", timeout_s)

    async def rewrite(self, request: dict[str, Any], budget_s: float) -> dict[str, Any]:
        """The service's reading of ``request["text"]`` (rewrite, feedback, teach)."""
        return await self._call("POST", "/v1/rewrite", budget_s, request)

    async def events(self, events: list[dict[str, Any]], timeout_s: float = 10.0) -> dict[str, Any]:
        return await self._call("POST", "/v1/events", timeout_s, {"events": events})

    async def teach(
        self, user_id: str, text: str, turn_id: str | None, timeout_s: float = 5.0
    ) -> dict[str, Any]:
        body = {"user_id": user_id, "text": text, "turn_id": turn_id}
        return await self._call("POST", "/v1/teach", timeout_s, body)
