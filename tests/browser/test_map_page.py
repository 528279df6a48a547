"""The map page in a real browser: Debian's chromium driven by Playwright's Python API against
the app (uvicorn in a subprocess) on the demo data. Screenshots go to artifacts/screenshots/
(git-ignored).

Chromium comes from apt (``scripts/bootstrap.sh --browser``, run by ``scripts/test.sh``); the
tests never download a browser (no ``playwright install``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy.engine import URL

from geo.settings import PROJECT_ROOT

SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
OSLO_POINT = (59.9139, 10.7522)  # (lat, lon): Oslo sentrum, where the map opens


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    pytest.fail(
        "chromium is not installed: run ./scripts/bootstrap.sh --browser (./scripts/test.sh does)"
    )


@pytest.fixture(scope="module")
def base_url(loaded_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on the demo clone, served by uvicorn in a subprocess on a free port."""
    port = _free_port()
    log = tmp_path_factory.mktemp("uvicorn") / "uvicorn.log"
    env = {
        **os.environ,
        "HVERDAG_DATABASE_URL": loaded_url.render_as_string(hide_password=False),
        "HVERDAG_GRAPHQL_EXPLORER": "true",
    }
    env.pop("HVERDAG_BASEMAP_URL", None)  # the page must work with no basemap
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
        chromium = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Problems(list[str]):
    """Errors the page reported: uncaught exceptions, console errors, failed requests."""


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, Problems]]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="nb-NO")
    tab = context.new_page()
    problems = Problems()
    tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    tab.on(
        "console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None
    )
    tab.on(
        "response",
        lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
    )
    yield tab, problems
    context.close()


def shoot(tab: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    tab.screenshot(path=str(path))
    return path


def open_map(tab: Page, base_url: str, query: str = "") -> None:
    tab.goto(f"{base_url}/{query}")
    tab.wait_for_selector("body[data-map-ready='true']", timeout=30_000)
    tab.wait_for_function("window.hverdagMap.areTilesLoaded()", timeout=30_000)


def rendered(tab: Page, layer: str) -> list[dict[str, Any]]:
    return tab.evaluate(
        "layer => window.hverdagMap.queryRenderedFeatures({layers: [layer]})"
        ".map(f => f.properties)",
        layer,
    )


def graphql(base_url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{base_url}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body
    return body["data"]


def test_search_near_a_point_in_oslo(base_url, page):
    tab, problems = page
    open_map(tab, base_url)
    # Own layers with no basemap: municipalities, and venues coloured by price model.
    assert {f["number"] for f in rendered(tab, "municipality-fill")} >= {"0301"}
    prices = {f["price_model"] for f in rendered(tab, "venue-points")}
    assert prices >= {"FREE", "REDUCED", "MARKET"}
    # Click the middle of the map (Oslo sentrum) to search there.
    box = tab.locator("#map").bounding_box()
    assert box is not None
    tab.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tab.wait_for_selector("#results li", timeout=20_000)
    items = tab.locator("#results li")
    markers = tab.locator(".marker")
    count = items.count()
    assert count == markers.count() == 25
    # The list is the API's answer for that point, nearest first, with distances.
    center = tab.evaluate(
        "(() => { const c = window.hverdagMap.getCenter(); return [c.lat, c.lng]; })()"
    )
    expected = graphql(
        base_url,
        "query($at: LatLonInput!) { nearby(at: $at, radiusMeters: 3000,"
        " first: 25, kinds: [ACTIVITY, VENUE]) { totalCount edges {"
        " node { ... on Activity { title } ... on Venue { name } } } } }",
        {"at": {"lat": center[0], "lon": center[1]}},
    )["nearby"]
    names = tab.locator("#results .name").all_inner_texts()
    assert names == [e["node"].get("title") or e["node"].get("name") for e in expected["edges"]]
    assert tab.locator("#near-status").inner_text().startswith(str(expected["totalCount"]))
    distances = tab.locator("#results .meta:not(.when)").all_inner_texts()
    assert all(" m ·" in d or " km ·" in d for d in distances), distances
    assert tab.locator("#results .when").count() > 0  # opening times shown
    # A list entry and its marker are linked.
    items.nth(2).click()
    assert "active" in (markers.nth(2).get_attribute("class") or "")
    assert "active" in (items.nth(2).get_attribute("class") or "")
    tab.wait_for_timeout(800)  # the map eases to the marker
    shoot(tab, "near-oslo-sentrum")
    assert problems == []


def test_filters_narrow_the_results(base_url, page):
    tab, problems = page
    lat, lon = OSLO_POINT
    open_map(tab, base_url, f"?lat={lat}&lon={lon}")
    tab.wait_for_selector("#results li", timeout=20_000)
    tab.select_option("#category", "LANGUAGE_CAFE")
    # Activities of the category, and venues that suit it.
    every_one = (
        "([a, b]) => { const m = [...document.querySelectorAll("
        "'#results .meta:not(.when)')].map(e => e.textContent);"
        " return m.some(t => t.includes(a)) && m.every(t => t.includes(a) ||"
        " t.includes(b)); }"
    )
    tab.wait_for_function(every_one, arg=["Språkkafé", "Lokale"], timeout=20_000)
    tab.select_option("#weekday", "TUESDAY")
    tab.wait_for_timeout(1500)
    whens = tab.locator("#results .when").all_inner_texts()
    assert whens, "no opening times"
    assert all("tir" in w for w in whens), whens
    shoot(tab, "near-language-cafe-tuesday")
    tab.click("#lang")
    assert tab.locator("[data-tab=near]").inner_text() == "Near me"
    tab.wait_for_function(every_one, arg=["Language café", "Venue"], timeout=20_000)
    assert "lang=en" in tab.url
    shoot(tab, "near-english")
    assert problems == []


def test_groruddalen_coverage_view(base_url, page):
    tab, problems = page
    open_map(tab, base_url)
    tab.click("[data-tab=initiative]")
    tab.wait_for_function("document.querySelector('#initiative').options.length > 0")
    tab.select_option("#initiative", "groruddalen")
    # Women's groups: within 1 km of most of Groruddalen's residents on the demo data, not all.
    tab.select_option("#coverage-category", "WOMENS_GROUP")
    tab.click("#show-coverage")
    tab.wait_for_selector("#coverage-view .card", timeout=30_000)
    tab.wait_for_function("window.hverdagMap.areTilesLoaded()", timeout=30_000)
    tab.wait_for_timeout(500)
    gaps = int(tab.evaluate("document.body.dataset.gaps"))
    report = graphql(
        base_url,
        '{ coverage(area: {areaInitiative: "groruddalen"}, target: '
        "{categories: [WOMENS_GROUP]}, withinMeters: 1000, unitKind: GRID_1KM)"
        " { gapCount population } }",
        {},
    )["coverage"]
    assert gaps == report["gapCount"] > 0
    assert "Groruddalen" in tab.locator("#coverage-view h2").inner_text()
    assert f"{report['gapCount']}" in tab.locator("#coverage-view h3").inner_text()
    drawn = rendered(tab, "gap-fill")
    assert drawn, "the gap layer is not drawn"
    assert all(f["population"] > 0 for f in drawn)
    shoot(tab, "groruddalen-coverage-womens-group")
    assert problems == []


def test_municipality_view(base_url, page):
    tab, problems = page
    open_map(tab, base_url)
    tab.click("[data-tab=municipality]")
    tab.fill("#municipality-number", "0301")
    tab.click("#municipality-form button")
    tab.wait_for_selector("#municipality-view .card", timeout=20_000)
    card = tab.locator("#municipality-view .card").inner_text()
    assert "Oslo (0301)" in card
    assert "Rådet for innvandrerorganisasjoner" in card
    assert "LOKALER" in card.upper()
    assert "AKTIVITETER" in card.upper()
    tab.wait_for_timeout(500)
    shoot(tab, "municipality-oslo")
    assert problems == []


def test_explorer_runs_in_the_browser(base_url, page):
    tab, problems = page
    tab.goto(f"{base_url}/graphql")
    tab.wait_for_selector(".graphiql-container", timeout=30_000)
    tab.click(".graphiql-query-editor .CodeMirror")
    tab.keyboard.press("Control+A")
    tab.keyboard.type("{ counties { name ")  # the editor closes the braces
    tab.click(".graphiql-execute-button")
    tab.wait_for_function(
        "document.querySelector('.result-window') && "
        "document.querySelector('.result-window').textContent.includes('Oslo')",
        timeout=20_000,
    )
    shoot(tab, "graphiql")
    assert problems == []
