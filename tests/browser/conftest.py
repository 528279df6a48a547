"""The app in a subprocess, Debian's chromium driven by Playwright, and a basemap tile server of
the tests' own (the tests have no internet, so Kartverket's cache is out of reach: the basemap
setting points at this server instead). Screenshots go to artifacts/screenshots/ (git-ignored).

Chromium comes from apt (``scripts/bootstrap.sh --browser``, run by ``scripts/test.sh``); the
tests never download a browser (no ``playwright install``).
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy.engine import URL

from geo.settings import PROJECT_ROOT

SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    pytest.fail(
        "chromium is not installed: run ./scripts/bootstrap.sh --browser (./scripts/test.sh does)"
    )


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain-colour PNG, built by hand: a basemap tile with nothing on it."""
    row = b"\x00" + bytes(rgb) * width
    raw = zlib.compress(row * height)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


@dataclass
class TileServer:
    """One light-green 256 px PNG for any /{z}/{x}/{y}.png; what was asked is remembered."""

    url: str
    requested: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def tile_server() -> Iterator[TileServer]:
    tile = png(256, 256, (226, 236, 220))
    port = free_port()
    server_url = f"http://127.0.0.1:{port}"
    found = TileServer(f"{server_url}/{{z}}/{{x}}/{{y}}.png")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found.requested.append(self.path)
            parts = self.path.strip("/").removesuffix(".png").split("/")
            if len(parts) != 3 or not all(p.isdigit() for p in parts):
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(tile)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(tile)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield found
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def base_url(
    loaded_url: URL, tile_server: TileServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The app on the demo clone, served by uvicorn in a subprocess on a free port, its basemap
    setting pointing at the tests' own tile server."""
    port = free_port()
    log = tmp_path_factory.mktemp("uvicorn") / "uvicorn.log"
    env = {
        **os.environ,
        "HVERDAG_DATABASE_URL": loaded_url.render_as_string(hide_password=False),
        "HVERDAG_GRAPHQL_EXPLORER": "true",
        "HVERDAG_BASEMAP_URL": tile_server.url,
        "HVERDAG_BASEMAP_ATTRIBUTION": "Test tiles",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "api.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"uvicorn exited: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"uvicorn not ready in 60 s: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Problems(list[str]):
    """Errors the page reported: uncaught exceptions, console errors, failed requests."""


def new_page(
    browser: Browser, viewport: dict[str, int], locale: str = "nb-NO"
) -> tuple[Page, Problems]:
    context = browser.new_context(viewport=viewport, locale=locale, timezone_id="Europe/Oslo")
    tab = context.new_page()
    problems = Problems()
    tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    tab.on(
        "console",
        lambda m: (
            problems.append(f"console: {m.text} ({m.location.get('url')})")
            if m.type == "error"
            else None
        ),
    )
    tab.on(
        "response",
        lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
    )
    return tab, problems


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, Problems]]:
    tab, problems = new_page(browser, DESKTOP)
    yield tab, problems
    tab.context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[tuple[Page, Problems]]:
    tab, problems = new_page(browser, PHONE)
    yield tab, problems
    tab.context.close()


def shoot(tab: Page, name: str, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=full_page)
    return path
