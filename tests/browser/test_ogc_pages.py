"""The OGC API's HTML pages in a real browser (Debian's chromium, with the fixtures of
tests/browser/conftest.py): a catalogue's link to a collection's items opens a page with a
filter form, a table and a map of the features, with no error and nothing from elsewhere."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.browser.conftest import shoot


def test_items_page_with_its_map(base_url, page):
    tab, problems = page
    requested: list[str] = []
    tab.on("request", lambda r: requested.append(r.url))
    tab.goto(f"{base_url}/ogc/collections/venues/items?municipality_number=0301&limit=50")
    assert tab.title().startswith("Venues (lokaler): features")
    tab.wait_for_selector("body[data-map-ready='true']", timeout=30_000)
    tab.wait_for_function("window.ogcMap.areTilesLoaded()", timeout=30_000)
    points = tab.evaluate("window.ogcMap.queryRenderedFeatures({layers: ['points']}).length")
    assert points > 0
    rows = tab.locator("table tr").count()
    assert rows == 51  # the header and 50 venues
    shoot(tab, "ogc-venues-items")
    # Filtering with the form keeps the page in HTML and narrows the table.
    tab.select_option("select[name='venue_type']", "LIBRARY")
    tab.click("form button")
    tab.wait_for_load_state()
    assert "venue_type=LIBRARY" in tab.url
    headers = tab.locator("table tr th").all_inner_texts()
    column = headers.index("venue_type") + 1
    cells = tab.locator(f"table tr td:nth-child({column})").all_inner_texts()
    assert cells
    assert set(cells) == {"LIBRARY"}
    assert problems == []
    # Over the network only to the app (MapLibre's workers are blob:, the icon data:).
    fetched = {urlsplit(url).netloc for url in requested if url.startswith("http")}
    assert fetched == {urlsplit(base_url).netloc}
