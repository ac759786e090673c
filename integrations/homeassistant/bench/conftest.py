"""The tests' fixtures (a real service process, custom integrations enabled), and the event
loop as Home Assistant runs it: the test harness turns asyncio's debug mode on, which records
a stack for every callback and would be measured with the request."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import auto_enable_custom_integrations, service

__all__ = ["auto_enable_custom_integrations", "enable_event_loop_debug", "service"]


@pytest.fixture(autouse=True)
def enable_event_loop_debug(event_loop: asyncio.AbstractEventLoop) -> None:
    """Overrides the harness's fixture of this name: no debug mode while measuring."""
    event_loop.set_debug(False)
