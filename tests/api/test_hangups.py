"""A client that hangs up mid-download is not a database outage (issue 20, item 1): before the
one read path, `curl …/export/venues.csv | head -c 100` opened the outage breaker and the next
queries answered UNAVAILABLE. Runs a real uvicorn, since only a real socket can be cut."""

from __future__ import annotations

import os
import re
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from geo.settings import PROJECT_ROOT

QUERIES = [
    "{ whereAmI(at: {lat: 59.942, lon: 10.892}) { municipality { number } district { name } } }",
    "{ nearby(at: {lat: 59.9155, lon: 10.772}, radiusMeters: 2000, first: 5) "
    "{ totalCount edges { distanceMeters } } }",
    '{ activities(first: 3, filter: {municipality: "0301"}) { edges { node { title } } } }',
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def api_server(loaded_url, tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "HVERDAG_DATABASE_URL": loaded_url.render_as_string(hide_password=False),
        "HVERDAG_RATE_LIMIT_ENABLED": "false",
    }
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"),
                *("--port", str(port), "--no-access-log"),
            ],
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
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        print(log_path.read_text())  # shown when the test fails


def _hang_up_mid_download(port: int, path: str) -> None:
    """Ask for a download, read its first bytes, then reset the connection (as `head -c 100`
    or a closed browser tab does)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    received = sock.recv(4096)
    assert received.startswith(b"HTTP/1.1 200"), received[:300]
    while b"\r\n\r\n" not in received or len(received) < 2000:
        chunk = sock.recv(4096)
        assert chunk, "the server closed the download before sending it"
        received += chunk
    # SO_LINGER 0: close with a reset, mid-stream, rather than an orderly FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _unavailable_count(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    found = re.search(r'^hverdag_graphql_errors_total\{code="UNAVAILABLE"\} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


@pytest.mark.parametrize(
    "path", ["/export/venues.csv", "/export/activities.geojson", "/export/hsds/datapackage.zip"]
)
def test_hanging_up_mid_download_is_no_outage(api_server: str, path: str) -> None:
    port = int(api_server.rsplit(":", 1)[1])
    for _ in range(4):
        _hang_up_mid_download(port, path)
        with httpx.Client(base_url=api_server, timeout=30) as client:
            for query in QUERIES:
                answer = client.post("/graphql", json={"query": query}).json()
                assert "errors" not in answer, answer
    assert _unavailable_count(api_server) == 0
    # And the downloads themselves still work whole afterwards.
    whole = httpx.get(f"{api_server}{path}", timeout=60)
    assert whole.status_code == 200
    assert len(whole.content) > 2000
