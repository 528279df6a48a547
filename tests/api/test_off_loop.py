"""CPU-heavy work stays off the event loop (issue 20, item 2): a hostile polygon is refused before
its repair starts, a polygon's check runs in a worker thread while /healthz still answers, a
request cancelled while its check runs is answered at once, and the worker threads are bounded.

The ordering tests hold the check in its thread on a ``threading.Event`` instead of timing a slow
one: before the check ran off the loop, /healthz could not answer until it was released.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from api import checks
from api.app import create_app
from geo.settings import PROJECT_ROOT, Settings
from tests.api.conftest import http_client
from tests.api.writes_support import As

pytestmark = pytest.mark.anyio

#: The issue's polygon: 9,999 positions zig-zagging 1.5° east and back, closed by an edge that
#: touches every western vertex: ~10,000 self-intersections.
HOSTILE = {
    "type": "Polygon",
    "coordinates": [
        [[10 + (i % 2) * 1.5, 59 + i * 0.0002] for i in range(9999)] + [[10.0, 59.0]],
    ],
}
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[10.7, 59.9], [10.8, 59.9], [10.8, 59.95], [10.7, 59.95], [10.7, 59.9]]],
}
BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[10.7, 59.9], [10.8, 59.95], [10.8, 59.9], [10.7, 59.95], [10.7, 59.9]]],
}
COVERAGE = """
query ($area: CoverageAreaInput!) {
  coverage(area: $area, target: {}, withinMeters: 1000, unitKind: GRID_1KM) { unitCount notes }
}
"""
NEARBY = """
query { nearby(at: {lat: 59.91, lon: 10.75}, radiusMeters: 3000, first: 5) {
  edges { distanceMeters } } }
"""
IMPORT = """mutation ($f: ImportFormat!, $c: String!, $s: String!) {
  importVenues(format: $f, content: $c, source: $s) { report { inserted } } }"""
#: Longest any ordering test waits for the other side before it gives up (a failure, not a hang).
PATIENCE_S = 10.0


def _coverage(area: dict[str, Any]) -> dict[str, Any]:
    return {"query": COVERAGE, "variables": {"area": area}}


def _error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body.get("errors"), body
    (error,) = body["errors"]
    return error  # type: ignore[no-any-return]


async def test_the_issues_polygon_is_refused_as_too_complex_to_repair(client):
    response = await client.post("/graphql", json=_coverage({"polygon": HOSTILE}))
    error = _error(response)
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"]["field"] == "area.polygon"
    reason = error["extensions"]["reason"]
    assert "too complex to repair" in reason
    assert "self-intersections" in reason
    # A valid polygon, and one that needs a small repair, still get their reports.
    for area in (SQUARE, BOWTIE):
        body = (await client.post("/graphql", json=_coverage({"polygon": area}))).json()
        assert "errors" not in body, body
        assert body["data"]["coverage"]["unitCount"] > 0


async def test_the_coverage_exports_box_is_checked_in_a_worker_thread(client, monkeypatch):
    threads: list[int] = []
    real = checks.area_from_bbox

    def watched(values: Any) -> Any:
        threads.append(threading.get_ident())
        return real(values)

    monkeypatch.setattr(checks, "area_from_bbox", watched)
    response = await client.get(
        "/export/coverage.csv",
        params={"bbox": "10.7,59.9,10.8,59.95", "withinMeters": "1000", "unitKind": "GRID_1KM"},
    )
    assert response.status_code == 200, response.text
    assert threads
    assert threading.get_ident() not in threads


class _HeldCheck:
    """Stands in for geo's polygon check: says it started, then waits for ``release`` (in
    whatever thread runs it) before doing the real work."""

    def __init__(self, real: Callable[[Any], Any]) -> None:
        self.real = real
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()
        #: Whether ``release`` came before the wait gave up: the test could act while held.
        self.released_in_time: bool | None = None
        self.running = 0
        self.most_running = 0
        self.threads: set[int] = set()
        self._lock = threading.Lock()

    def __call__(self, value: Any) -> Any:
        with self._lock:
            self.running += 1
            self.most_running = max(self.most_running, self.running)
            self.threads.add(threading.get_ident())
        self.started.set()
        try:
            released = self.release.wait(PATIENCE_S)
            self.released_in_time = (
                released if self.released_in_time is None else (self.released_in_time and released)
            )
            return self.real(value)
        finally:
            with self._lock:
                self.running -= 1
            self.finished.set()


@pytest.fixture
def held(monkeypatch) -> Iterator[_HeldCheck]:
    check = _HeldCheck(checks.area_from_geojson)
    monkeypatch.setattr(checks, "area_from_geojson", check)
    yield check
    check.release.set()


async def _wait(event: threading.Event) -> bool:
    """Wait for a thread's event without holding the loop."""
    return await asyncio.to_thread(event.wait, PATIENCE_S)


async def test_healthz_answers_while_a_polygon_is_checked(client, held):
    order: list[str] = []

    async def coverage() -> httpx.Response:
        response = await client.post("/graphql", json=_coverage({"polygon": SQUARE}))
        order.append("coverage")
        return response

    task = asyncio.create_task(coverage())
    assert await _wait(held.started)
    health = await client.get("/healthz")
    order.append("healthz")
    assert health.status_code == 200
    held.release.set()
    response = await task
    # Released by this test after /healthz answered, not by the wait giving up.
    assert held.released_in_time is True
    assert order == ["healthz", "coverage"]
    assert response.json()["data"]["coverage"]["unitCount"] > 0
    assert threading.get_ident() not in held.threads  # it ran in a worker thread


async def test_a_request_that_times_out_is_answered_while_its_check_still_runs(api_settings, held):
    settings = Settings.model_validate({**api_settings.model_dump(), "request_timeout_s": 0.5})
    async with http_client(create_app(settings)) as client:
        response = await client.post("/graphql", json=_coverage({"polygon": SQUARE}))
        # Answered, and the thread is still held: the request did not wait for it.
        assert not held.finished.is_set()
        assert _error(response)["extensions"]["code"] == "TIMEOUT"
        held.release.set()
        assert await _wait(held.finished)


async def test_at_most_cpu_threads_checks_run_at_once(client, held):
    from api import cpu

    requests = [
        asyncio.create_task(client.post("/graphql", json=_coverage({"polygon": SQUARE})))
        for _ in range(cpu.THREADS + 2)
    ]
    assert await _wait(held.started)
    # The ones beyond the limit wait in the queue, not in threads of their own. Wait for the
    # steady state: a moment after the first check starts, the second may still be queued.
    deadline = time.monotonic() + PATIENCE_S
    while (cpu.queued(), held.running) != (2, cpu.THREADS) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert cpu.queued() == 2
    assert held.running == cpu.THREADS
    held.release.set()
    for response in await asyncio.gather(*requests):
        assert response.json()["data"]["coverage"]["unitCount"] > 0
    assert held.most_running == cpu.THREADS


async def test_an_imports_file_is_parsed_and_checked_in_a_worker_thread(
    schema, async_write_engine, keys, monkeypatch
):
    from api.graphql.mutations import venues as venue_mutations

    seen: list[tuple[int, int]] = []
    real = venue_mutations.prepare_import

    def watched(actor: Any, records: Any, source: str) -> Any:
        seen.append((threading.get_ident(), len(records)))
        return real(actor, records, source)

    monkeypatch.setattr(venue_mutations, "prepare_import", watched)
    editor = As(schema, async_write_engine, keys["oslo"][1])
    content = (
        "external_id;name;owner_type;venue_type;lat;lon;capacity\n"
        "off-loop-a;Off the loop;MUNICIPALITY;SCHOOL;59.91;10.75;20\n"
        "off-loop-b;Off the loop too;MUNICIPALITY;LIBRARY;59.92;10.75;20\n"
    )
    data = await editor.data(IMPORT, {"f": "CSV", "c": content, "s": "off-loop-test"})
    assert data["importVenues"]["report"]["inserted"] == 2
    assert len(seen) == 1
    assert seen[0][1] == 2
    assert seen[0][0] != threading.get_ident()
    # A file that is not CSV is still a BAD_USER_INPUT naming the problem, from the thread.
    error = await editor.error(IMPORT, {"f": "CSV", "c": "hello", "s": "off-loop-test"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "is this a CSV file" in error["message"]


async def test_large_boundaries_are_parsed_in_a_worker_thread(gql, monkeypatch):
    from api.graphql import context

    threads: list[int] = []
    real = context.parsed_boundaries

    def watched(texts: dict[str, str]) -> Any:
        threads.append(threading.get_ident())
        return real(texts)

    monkeypatch.setattr(context, "parsed_boundaries", watched)
    query = '{ municipality(number: "0301") { boundary(simplifyMeters: 100) } }'
    small = await gql.data(query)  # a simplified boundary is small: parsed at once
    assert small["municipality"]["boundary"]["type"] == "MultiPolygon"
    assert threads == [threading.get_ident()]
    monkeypatch.setattr(context, "INLINE_GEOJSON_CHARS", 0)
    large = await gql.data(query)
    assert large == small
    assert threads[1] != threading.get_ident()


# --- a real server --------------------------------------------------------------------------


@pytest.fixture
def server_url(loaded_url, tmp_path) -> Iterator[str]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {
        **os.environ,
        "HVERDAG_DATABASE_URL": loaded_url.render_as_string(hide_password=False),
        "HVERDAG_RATE_LIMIT_ENABLED": "false",
    }
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "api.app:create_app",
                "--factory",
                "--port",
                str(port),
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
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_real_server_refuses_the_polygon_and_goes_on_answering(server_url):
    """The issue's run: two clients send the polygon while a third asks near me. Each hostile
    request is a BAD_USER_INPUT (not TIMEOUT), and every near-me request is answered (not
    UNAVAILABLE)."""
    hostile: list[dict[str, Any]] = []
    near: list[httpx.Response] = []

    def send_hostile() -> None:
        with httpx.Client(base_url=server_url, timeout=30) as http:
            for _ in range(2):
                hostile.append(_error(http.post("/graphql", json=_coverage({"polygon": HOSTILE}))))

    senders = [threading.Thread(target=send_hostile) for _ in range(2)]
    for sender in senders:
        sender.start()
    with httpx.Client(base_url=server_url, timeout=30) as http:
        while any(s.is_alive() for s in senders) or len(near) < 5:
            near.append(http.post("/graphql", json={"query": NEARBY}))
            assert http.get("/healthz").status_code == 200
    for sender in senders:
        sender.join()
    assert [e["extensions"]["code"] for e in hostile] == ["BAD_USER_INPUT"] * 4, hostile
    assert all("too complex to repair" in e["extensions"]["reason"] for e in hostile)
    for response in near:
        assert "errors" not in response.json(), response.json()
        assert response.json()["data"]["nearby"]["edges"]
