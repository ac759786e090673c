"""A real ``selflearn serve`` process for the plug-ins' tests (each plug-in runs in its host's
own environment, so this file is imported by path, never installed): started on 127.0.0.1
and a free port with a fresh data folder, from the project's own environment (``.venv`` at
the repository root, or the ``selflearn`` command named by ``SELFLEARN_BIN``)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


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

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.env = dict(env or {})  # settings of the service's own (SELFLEARN_*)
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
            **self.env,
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


@contextmanager
def running_service(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[ServiceProcess]:
    """A started service, stopped on the way out (a test fixture's body)."""
    proc = ServiceProcess(data_dir, env)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()
