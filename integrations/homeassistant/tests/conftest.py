"""Real Home Assistant core and a real selflearn service process, both on this machine.

The service runs from the project's own environment (``../../.venv``, or the ``selflearn``
command named by ``SELFLEARN_BIN``) on 127.0.0.1 and a free port, with a fresh data folder;
each test that needs it starts one and stops it. Home Assistant is the test harness's real
core with the real default agent (hassil and the intents package), the test home's lights
and speakers (tests/home) placed in areas, and a voice satellite device in the kitchen.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent


def _custom_components() -> None:
    """Home Assistant finds custom integrations by importing ``custom_components``; the
    harness's own test folder holds a package of that name too. Import ours first (the
    integration and the test home, both portions of one namespace package), so that the
    loader sees them."""
    import custom_components

    for folder in (HERE.parent / "custom_components", HERE / "home" / "custom_components"):
        if str(folder) not in list(custom_components.__path__):
            raise RuntimeError(f"custom_components resolves without {folder}")


_custom_components()


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load the integration from ``custom_components/`` beside these tests."""


def _selflearn_bin() -> str:
    named = os.environ.get("SELFLEARN_BIN")
    if named:
        return named
    found = ROOT / ".venv" / "bin" / "selflearn"
    if found.exists():
        return str(found)
    on_path = shutil.which("selflearn")
    if on_path:
        return on_path
    raise RuntimeError("no selflearn service to test against: run `make install` at the root")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServiceProcess:
    """``selflearn serve`` in a child process: start, stop, kill, start again on the
    same port and data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = _free_port()
        self.token = secrets.token_urlsafe(24)
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"service-{self.port}.log"

    def start(self, timeout_s: float = 120.0) -> None:
        env = {
            **os.environ,
            "SELFLEARN_TOKEN": self.token,
            "SELFLEARN_PSEUDONYMISE_KEY": "ha-test-key-0123456789",
        }
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    _selflearn_bin(),
                    "serve",
                    "--data-dir",
                    str(self.data_dir),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the service exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    pass
                if self.sync("GET", "/healthz")["status"] == "ok":
                    return
            except (OSError, RuntimeError):
                time.sleep(0.2)
        raise RuntimeError("the service did not start in time")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def sync(self, method: str, path: str, body: Any = None, timeout_s: float = 600) -> Any:
        """A call from the test itself (urllib: outside Home Assistant's loop)."""
        import json
        import urllib.error
        import urllib.request

        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as answer:
                return json.loads(answer.read() or b"null")
        except urllib.error.URLError as err:
            raise RuntimeError(f"{method} {path}: {err}") from err

    async def call(self, method: str, path: str, body: Any = None, timeout_s: float = 600) -> Any:
        return await asyncio.to_thread(self.sync, method, path, body, timeout_s)

    def stored(self) -> list[dict[str, Any]]:
        """Every stored turn, read from the service's store by the project's own code
        (the service must be stopped: the store has one writer)."""
        import json

        python = Path(_selflearn_bin()).with_name("python")
        script = (
            "import json, sys\n"
            "from selflearn.logs.store import TurnStore\n"
            "with TurnStore.open(sys.argv[1], read_only=True) as store:\n"
            "    print(json.dumps([e.to_dict() for e in store.events()]))\n"
        )
        out = subprocess.run(
            [str(python), "-c", script, str(self.data_dir / "turns.duckdb")],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return list(json.loads(out.stdout))


@pytest.fixture
def service(tmp_path: Path, socket_enabled: None) -> Iterator[ServiceProcess]:
    proc = ServiceProcess(tmp_path / "service")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


AREAS = {"kitchen": "Kitchen", "living_room": "Living Room", "bedroom": "Bedroom"}
# demo entity → area it is placed in
PLACES = {
    "light.kitchen_light": "kitchen",
    "light.ceiling_light": "living_room",
    "light.desk_lamp": "living_room",
    "light.bed_light": "bedroom",
    "media_player.kitchen_speaker": "kitchen",
    "media_player.bedroom_speaker": "bedroom",
}


async def setup_home(hass: HomeAssistant) -> dict[str, str]:
    """The home: Assist, the demo's lights and players in areas, a kitchen satellite.
    Returns the satellite's device id."""
    hass.config.language = "en"
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    assert await async_setup_component(hass, "intent", {})
    assert await async_setup_component(hass, "light", {"light": [{"platform": "testhome"}]})
    assert await async_setup_component(
        hass, "media_player", {"media_player": [{"platform": "testhome"}]}
    )
    await hass.async_block_till_done()
    areas = ar.async_get(hass)
    ids = {key: areas.async_get_or_create(name).id for key, name in AREAS.items()}
    entities = er.async_get(hass)
    for entity_id, area in PLACES.items():
        assert entities.async_get(entity_id) is not None, entity_id
        entities.async_update_entity(entity_id, area_id=ids[area])
    sat_entry = MockConfigEntry(domain="esphome")
    sat_entry.add_to_hass(hass)
    satellite = dr.async_get(hass).async_get_or_create(
        config_entry_id=sat_entry.entry_id,
        identifiers={("esphome", "kitchen-satellite")},
        name="Kitchen satellite",
        suggested_area="Kitchen",
    )
    dr.async_get(hass).async_update_device(satellite.id, area_id=ids["kitchen"])
    entities.async_get_or_create(
        "assist_satellite", "esphome", "kitchen-satellite-assist", device_id=satellite.id
    )
    return {"satellite": satellite.id, **ids}


async def add_selflearn(
    hass: HomeAssistant, service: ServiceProcess, **options: Any
) -> tuple[str, str]:
    """Add the integration as a user does (config flow, then options); its entry id and
    its agent's entity id."""
    flow = await hass.config_entries.flow.async_init("selflearn", context={"source": "user"})
    assert flow["type"] == "form"
    done = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"url": service.url, "token": service.token}
    )
    assert done["type"] == "create_entry", done
    entry = done["result"]
    await hass.async_block_till_done()
    if options:
        step = await hass.config_entries.options.async_init(entry.entry_id)
        merged = {
            "agent_id": "conversation.home_assistant",
            "budget_ms": 50,
            "shadow": False,
            "window_s": 20,
            "url": service.url,
            **options,
        }
        result = await hass.config_entries.options.async_configure(step["flow_id"], merged)
        assert result["type"] == "create_entry", result
        await hass.async_block_till_done()
    agent = er.async_get(hass).async_get_entity_id(
        "conversation", "selflearn", f"{entry.entry_id}-agent"
    )
    assert agent is not None
    return entry.entry_id, agent


async def drain(hass: HomeAssistant, entry_id: str, timeout_s: float = 30.0) -> None:
    """Wait until every queued event has been acknowledged by the service."""
    runtime = hass.config_entries.async_get_entry(entry_id).runtime_data
    deadline = time.monotonic() + timeout_s
    while len(runtime.queue):
        await runtime.queue.async_send(force=True)
        if not len(runtime.queue):
            break
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{len(runtime.queue)} events still queued: {runtime.queue.last_error}"
            )
        await asyncio.sleep(0.2)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
