"""Graceful shutdown: on SIGTERM uvicorn stops accepting, lets a response in flight finish (here a
GeoJSON export the client reads slowly), then exits. Runs a real uvicorn process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from geo.settings import PROJECT_ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sigterm_lets_an_inflight_export_finish(loaded_url, tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "HVERDAG_DATABASE_URL": loaded_url.render_as_string(hide_password=False),
        "HVERDAG_RATE_LIMIT_ENABLED": "false",
    }
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--timeout-graceful-shutdown",
            "30",
            "--no-access-log",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.2)
        chunks: list[bytes] = []
        # Uncompressed, so the response is large enough to be in flight when SIGTERM comes.
        with httpx.stream(
            "GET",
            f"{base}/export/activities.geojson",
            headers={"Accept-Encoding": "identity"},
            timeout=30,
        ) as response:
            assert response.status_code == 200
            for i, chunk in enumerate(response.iter_bytes(chunk_size=16_384)):
                chunks.append(chunk)
                if i == 0:
                    server.send_signal(signal.SIGTERM)
                    time.sleep(0.5)
                    # Stopped accepting: a new connection is refused while this one goes on.
                    try:
                        refused = httpx.get(f"{base}/healthz", timeout=2).status_code != 200
                    except httpx.HTTPError:
                        refused = True
                    assert refused
                if i < 50:
                    time.sleep(0.01)  # a slow reader keeps the response in flight
        document = json.loads(b"".join(chunks))
        assert document["type"] == "FeatureCollection"
        assert len(document["features"]) > 1000
        # uvicorn exits by re-raising the signal it handled, once everything is closed.
        assert server.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        log.close()
    output = (tmp_path / "server.log").read_text()
    assert "Waiting for connections to close" in output
    assert "Application shutdown complete" in output
    assert "Cancel" not in output  # nothing was cut at the grace period


def test_serve_with_workers_becomes_uvicorn_and_stops_on_sigterm(loaded_url, tmp_path):
    """`hverdag serve --workers 2` on a server it does not own replaces itself with uvicorn's
    command line (the same process, without the CLI's ~120 MB), whose two workers answer and
    log in hverdag's format; SIGTERM stops it all."""
    port = _free_port()
    env = {
        **os.environ,
        "HVERDAG_DATABASE_URL": loaded_url.render_as_string(hide_password=False),
        "HVERDAG_PORT": str(port),
        "HVERDAG_RATE_LIMIT_ENABLED": "false",
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("hverdag")), "serve", "--workers", "2"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        command = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")
        assert command[1:4] == [b"-m", b"uvicorn", b"api.app:create_app"]
        assert b"--workers" in command
        answer = httpx.post(f"{base}/graphql", json={"query": '{ county(number: "03") { name } }'})
        assert answer.json() == {"data": {"county": {"name": "Oslo"}}}
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=40) == 0
    output = log_path.read_text()
    assert output.count("INFO uvicorn.error: Application startup complete.") == 2
    assert "INFO uvicorn.access: 127.0.0.1:" in output
