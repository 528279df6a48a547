"""A real `hverdag serve` on 127.0.0.1 for the tests that need the server itself (its protocol,
its command line, its proxy handling), not only the ASGI app."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.engine import URL

from geo.settings import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connect(self, timeout: float = 10) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)


@contextmanager
def serving(url: URL, tmp_path: Path, workers: int = 1, **settings: str) -> Iterator[Server]:
    """`hverdag serve --workers N` on a free port of 127.0.0.1 with ``HVERDAG_*`` ``settings``
    (``header_timeout_s="1"``), ready (/readyz 200) when it is yielded; SIGTERM afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "HVERDAG_DATABASE_URL": url.render_as_string(hide_password=False),
        "HVERDAG_PORT": str(port),
        "HVERDAG_HOST": "127.0.0.1",
        **{f"HVERDAG_{name.upper()}": value for name, value in settings.items()},
    }
    log_path = tmp_path / f"serve-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            # `python -m api.cli` from the project root, as the `hverdag` script does: the
            # checkout's own code, whichever checkout the virtual environment was made in.
            [sys.executable, "-m", "api.cli", "serve", "--workers", str(workers)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(port=port, log=log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{server.base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
