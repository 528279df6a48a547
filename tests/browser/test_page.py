""" "Finn aktivitet" in a real browser (Debian's chromium, Playwright) against the app on the demo
data: the search and its cards, paging, the URL round-trip, filters on every layer, the basemap
and its fallback, the counsellor's short list with its QR code, the analyst views, and axe-core's
accessibility checks at phone and desktop widths in nb, en and ar (right to left)."""

from __future__ import annotations

import base64
import json
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from geo.settings import PROJECT_ROOT
from tests.browser.conftest import DESKTOP, PHONE, Problems, TileServer, new_page, shoot

NODE_MODULES = PROJECT_ROOT / "web" / "node_modules"
OSLO = {"lat": 59.9133, "lon": 10.7389}  # where the page searches when no place is chosen
ACTIVITY_IDS = (
    "query($filter: DirectoryFilterInput, $near: NearInput, $after: String) {"
    " activities(filter: $filter, near: $near, first: 100, after: $after) {"
    " totalCount pageInfo { hasNextPage endCursor } edges { node { id title } } } }"
)


def graphql(base_url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{base_url}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body
    return body["data"]


def every_activity(base_url: str, filter_: dict[str, Any], radius: float) -> list[str]:
    """The ids the API gives for the page's question, paged through to the end."""
    ids: list[str] = []
    after = None
    while True:
        near = {"at": OSLO, "radiusMeters": radius}
        answer = graphql(base_url, ACTIVITY_IDS, {"filter": filter_, "near": near, "after": after})[
            "activities"
        ]
        ids += [e["node"]["id"] for e in answer["edges"]]
        if not answer["pageInfo"]["hasNextPage"]:
            return ids
        after = answer["pageInfo"]["endCursor"]


def open_page(tab: Page, base_url: str, query: str = "", with_map: bool = True) -> None:
    """The page with its first results (and its map, which a phone's list view does not load)."""
    tab.goto(f"{base_url}/{query}")
    if with_map:
        tab.wait_for_selector("body[data-map-ready='true']", timeout=30_000, state="attached")
    tab.wait_for_selector("body[data-results]", timeout=30_000, state="attached")


def card_ids(tab: Page) -> list[str]:
    return tab.eval_on_selector_all("#results > li", "items => items.map(li => li.dataset.id)")


def rendered(tab: Page, layer: str) -> list[dict[str, Any]]:
    return tab.evaluate(
        "layer => window.hverdagMap.queryRenderedFeatures({layers: [layer]})"
        ".map(f => f.properties)",
        layer,
    )


def settle(tab: Page) -> None:
    tab.wait_for_function("window.hverdagMap.areTilesLoaded()", timeout=30_000)
    tab.wait_for_timeout(400)


def overlapping_markers(tab: Page) -> list[tuple[str, str]]:
    return tab.evaluate(
        """() => {
          const boxes = [...document.querySelectorAll('.marker')].map(m => [m.textContent,
            m.getBoundingClientRect()]);
          const hits = [];
          boxes.forEach(([a, p], i) => boxes.slice(i + 1).forEach(([b, q]) => {
            if (p.left < q.right - 2 && q.left < p.right - 2 && p.top < q.bottom - 2
                && q.top < p.bottom - 2) { hits.push([a, b]); }
          }));
          return hits;
        }"""
    )


def test_cards_are_the_apis_answer_and_say_what_a_person_needs(base_url, page):
    tab, problems = page
    open_page(tab, base_url)
    expected = every_activity(base_url, {}, 3000)
    assert card_ids(tab) == expected[:20]
    assert tab.locator("#results-heading").inner_text() == f"{len(expected)} treff nær Oslo sentrum"
    first = tab.locator("#results > li").first.inner_text()
    for fact in ("Neste gang", "Sted", "Pris", "Språk", "For", "Tilgjengelighet"):
        assert fact in first, (fact, first)
    assert "unna" in first  # the distance
    # The organiser, where the directory names one.
    texts = tab.locator("#results > li").all_inner_texts()
    for activity_id, text in zip(expected[:20], texts, strict=True):
        node = graphql(
            base_url,
            "query($id: ID!) { node(id: $id) { ... on Activity { organiser { name } } } }",
            {"id": activity_id},
        )["node"]
        if node["organiser"]:
            assert f"Arrangør\n{node['organiser']['name']}" in text
    assert any("Arrangør" in text for text in texts)
    # Every card says how to join: a sign-up or info link, or that one just comes along.
    joins = tab.eval_on_selector_all(
        "#results > li", "items => items.map(li => !!li.querySelector('.action, .action-text'))"
    )
    assert all(joins)
    settle(tab)
    assert int(tab.evaluate("document.body.dataset.markers")) > 0
    assert overlapping_markers(tab) == []
    tab.evaluate("window.hverdagMap.jumpTo({zoom: 16})")
    settle(tab)
    assert overlapping_markers(tab) == []
    shoot(tab, "desktop-nb")
    assert problems == []


def test_vis_flere_pages_through_every_hit(base_url, page):
    tab, problems = page
    filter_ = {"categories": ["LANGUAGE_CAFE"]}
    expected = every_activity(base_url, filter_, 10000)
    assert len(expected) > 40, "the demo should need several pages here"
    open_page(tab, base_url, "?cat=LANGUAGE_CAFE&r=10000")
    while tab.locator("#more").is_visible():
        shown = len(card_ids(tab))
        tab.click("#more")
        tab.wait_for_function(f"document.querySelectorAll('#results > li').length > {shown}")
    assert card_ids(tab) == expected
    assert tab.evaluate("document.body.dataset.allShown") == "true"
    assert tab.locator("#status").inner_text() == f"Viser {len(expected)} av {len(expected)}"
    # Every hit on the map too: the clusters' and single markers' counts add up.
    assert tab.evaluate(
        "window.hverdagMap.getSource('results').serialize().data.features.length"
    ) == len(expected)
    assert problems == []


def test_the_url_holds_the_whole_state_and_survives_a_reload(base_url, page):
    tab, problems = page
    open_page(tab, base_url)
    tab.click("#filters-summary")
    tab.select_option("#filters select[name=cat]", "HOMEWORK_HELP")
    tab.wait_for_function("location.search.includes('cat=HOMEWORK_HELP')")
    tab.check("#filters input[name=free]")
    tab.wait_for_function("location.search.includes('free=1')")
    tab.wait_for_function("document.querySelector('#status').textContent.startsWith('Viser')")
    ids = card_ids(tab)
    assert ids
    tab.locator("#results h3 a").nth(1).click()
    tab.wait_for_selector("#detail:not([hidden]) h2")
    title = tab.locator("#detail h2").inner_text()
    assert ids[1] in tab.evaluate("decodeURIComponent(location.search)")
    # The entry's own public page and its calendar file, by the row's number.
    row = base64.b64decode(ids[1]).decode().split(":")[1]
    hrefs = tab.eval_on_selector_all("#detail a", "links => links.map(a => a.getAttribute('href'))")
    assert f"/a/{row}" in hrefs
    assert f"/calendar/activities/{row}.ics" in hrefs
    url = tab.url
    tab.reload()
    tab.wait_for_selector("#detail:not([hidden]) h2", timeout=30_000)
    assert tab.url == url
    assert tab.locator("#detail h2").inner_text() == title
    assert tab.locator("#filters select[name=cat]").input_value() == "HOMEWORK_HELP"
    assert tab.locator("#filters input[name=free]").is_checked()
    tab.click("#detail .back")
    tab.wait_for_selector("#results-view:not([hidden])")
    tab.wait_for_function("document.querySelector('#status').textContent.startsWith('Viser')")
    assert card_ids(tab) == ids
    assert "sel=" not in tab.url
    # The language is part of the state too.
    tab.select_option("#lang", "en")
    tab.wait_for_function("document.documentElement.lang === 'en'")
    tab.wait_for_selector("body[data-results]", state="attached")
    assert "lang=en" in tab.url
    assert "cat=HOMEWORK_HELP" in tab.url
    assert tab.locator("#filters select[name=cat]").input_value() == "HOMEWORK_HELP"
    assert tab.locator("label:has(input[name=free])").text_content() == "Free only"
    assert problems == []


def test_filters_apply_to_the_list_the_markers_and_the_background_layer(base_url, page):
    tab, problems = page
    open_page(tab, base_url)
    settle(tab)
    before = rendered(tab, "activity-points")
    assert {f["category"] for f in before} > {"LANGUAGE_CAFE"}
    assert {f["free"] for f in before} == {True, False}
    tab.click("#filters-summary")
    tab.select_option("#filters select[name=cat]", "LANGUAGE_CAFE")
    tab.check("#filters input[name=free]")
    tab.wait_for_function(
        "document.body.dataset.tileQuery === 'category=LANGUAGE_CAFE&freeOnly=true'"
    )
    tab.wait_for_function("document.querySelector('#status').textContent.startsWith('Viser')")
    settle(tab)
    expected = every_activity(base_url, {"categories": ["LANGUAGE_CAFE"], "freeOnly": True}, 3000)
    assert card_ids(tab) == expected[:20]
    kinds = tab.locator("#results .card-head .kind").all_inner_texts()
    assert set(kinds) == {"Språkkafé"}
    after = rendered(tab, "activity-points")
    assert after, "the background layer is empty"
    assert {f["category"] for f in after} == {"LANGUAGE_CAFE"}
    assert {f["free"] for f in after} == {True}
    markers = tab.evaluate("window.hverdagMap.getSource('results').serialize().data.features")
    assert [f["properties"]["id"] for f in markers] == expected[:20]
    # Rooms are a search of their own, with their own background layer.
    tab.click("#kind label:has(input[value=venues])")
    tab.wait_for_function("location.search.includes('kind=venues')")
    tab.wait_for_function("document.querySelector('#status').textContent.startsWith('Viser')")
    settle(tab)
    assert (
        tab.evaluate("window.hverdagMap.getLayoutProperty('activity-points', 'visibility')")
        == "none"
    )
    venues = rendered(tab, "venue-points")
    assert venues
    assert {f["price_model"] for f in venues} == {"FREE"}
    assert problems == []


def test_the_basemap_comes_through_the_setting(base_url, page, tile_server: TileServer):
    tab, problems = page
    tile_server.requested.clear()
    open_page(tab, base_url)
    settle(tab)
    assert tile_server.requested, "no basemap tile was asked for"
    assert all(path.endswith(".png") for path in tile_server.requested)
    assert tab.evaluate("document.body.dataset.basemap") == "up"
    assert tab.locator("#notice").is_hidden()
    assert "Test tiles" in tab.locator(".maplibregl-ctrl-attrib").inner_html()
    # No English from the map library on the Norwegian page.
    assert tab.get_attribute(".maplibregl-ctrl-zoom-in", "title") == "Zoom inn"
    assert (
        tab.get_attribute(".maplibregl-ctrl-attrib-button", "title")
        == "Vis eller skjul kreditering"
    )
    assert problems == []


def test_the_page_works_without_the_basemap_and_says_so(
    base_url, browser: Browser, tile_server: TileServer
):
    tab, problems = new_page(browser, PHONE)
    host = tile_server.url.split("/{z}")[0]
    tab.route(f"{host}/**", lambda route: route.abort("internetdisconnected"))
    open_page(tab, base_url, "?view=map")
    tab.wait_for_selector("#notice:not([hidden])", timeout=20_000)
    notice = tab.locator("#notice").inner_text()
    assert notice.startswith("Bakgrunnskartet kan ikke lastes akkurat nå.")
    assert tab.evaluate("document.body.dataset.basemap") == "down"
    assert int(tab.evaluate("document.body.dataset.results")) == 20
    settle(tab)
    assert rendered(tab, "municipality-fill"), "own layers are still drawn"
    shoot(tab, "phone-map-no-basemap")
    tab.context.close()
    # The browser reports the refused tiles; nothing else may fail.
    assert [p for p in problems if host not in p and "ERR_INTERNET" not in p] == []


def test_search_box_finds_places_and_copes_with_typos(base_url, page):
    tab, problems = page
    open_page(tab, base_url)
    tab.fill("#q", "grorudal")  # a letter short: the initiative and the district still come
    tab.wait_for_selector("#suggestions:not([hidden]) .option")
    options = tab.locator("#suggestions .option").all_inner_texts()
    assert "Groruddalen\nOmrådesatsing" in options, options
    assert "Grorud\nBydel" in options, options
    # The keyboard walks the list (aria-activedescendant), Enter takes the highlighted one.
    target = options.index("Groruddalen\nOmrådesatsing")
    for _ in range(target + 1):
        tab.keyboard.press("ArrowDown")
    assert tab.get_attribute("#q", "aria-activedescendant") == f"suggestion-{target}"
    tab.keyboard.press("Enter")
    tab.wait_for_function("location.search.includes('place=Groruddalen')")
    tab.wait_for_function(
        "document.querySelector('#results-heading').textContent.includes('Groruddalen')"
    )
    tab.wait_for_function("document.querySelector('#status').textContent.startsWith('Viser')")
    lat, lon = (
        float(tab.evaluate(f"new URLSearchParams(location.search).get('{k}')"))
        for k in ("lat", "lon")
    )
    around = graphql(
        base_url,
        "query($at: LatLonInput!) { whereAmI(at: $at) { areaInitiatives { slug } } }",
        {"at": {"lat": lat, "lon": lon}},
    )["whereAmI"]
    assert {"slug": "groruddalen"} in around["areaInitiatives"]  # searching inside it
    # Free text with a typo and no Norwegian letters, as the API's text filter takes it.
    tab.goto(f"{base_url}/")
    tab.wait_for_selector("body[data-results]", state="attached")
    tab.fill("#q", "sprakkafe")
    tab.click("#search button[type=submit]")
    tab.wait_for_function("location.search.includes('q=sprakkafe')")
    tab.wait_for_function("document.querySelector('#status').textContent.startsWith('Viser')")
    expected = every_activity(base_url, {"text": "sprakkafe"}, 3000)
    assert expected
    assert card_ids(tab) == expected[:20]
    assert problems == []


def test_municipality_from_the_search_box_filters_to_it(base_url, page):
    tab, problems = page
    open_page(tab, base_url)
    tab.fill("#q", "0301")
    tab.wait_for_selector("#suggestions:not([hidden]) .option")
    tab.locator("#suggestions .option", has_text="Kommune").first.click()
    tab.wait_for_function("location.search.includes('m=0301')")
    tab.wait_for_function("document.querySelector('#status').textContent.startsWith('Viser')")
    total = graphql(
        base_url,
        'query { activities(filter: {municipality: "0301"}) { totalCount } }',
        {},
    )["activities"]["totalCount"]
    assert tab.evaluate("document.body.dataset.total") == str(total)
    assert "municipality=0301" in tab.evaluate("document.body.dataset.tileQuery")
    assert problems == []


def test_a_counsellors_short_list_with_link_and_qr_code(base_url, page):
    tab, problems = page
    open_page(tab, base_url, "?lang=en")
    picks = tab.locator("#results .pick")
    picks.nth(0).click()
    picks.nth(2).click()
    chosen = [card_ids(tab)[0], card_ids(tab)[2]]
    link = tab.get_attribute("#picks-link", "href")
    assert link is not None
    assert link.startswith(base_url)
    query = link.split("?", 1)[1]
    assert sorted(q.split("=")[0] for q in query.split("&")) == ["lang", "list"]  # nothing more
    tab.goto(link)
    tab.wait_for_selector("body[data-short-list='ready']", state="attached", timeout=30_000)
    assert tab.locator("#shortlist h2").inner_text() == "Activities for you"
    assert tab.eval_on_selector_all("#shortlist li.card", "l => l.map(x => x.dataset.id)") == chosen
    tab.add_script_tag(path=str(NODE_MODULES / "jsqr" / "dist" / "jsQR.js"))
    decoded = tab.evaluate(
        """() => new Promise(resolve => {
          const img = document.getElementById('qr');
          const canvas = document.createElement('canvas');
          canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
          const c = canvas.getContext('2d');
          c.drawImage(img, 0, 0);
          const data = c.getImageData(0, 0, canvas.width, canvas.height);
          const code = jsQR(data.data, canvas.width, canvas.height);
          resolve(code && code.data);
        })"""
    )
    assert decoded is not None, "the QR code does not decode"
    assert decoded.split("?")[1].split("&")[0] == "list=" + "%2C".join(
        urllib.request.quote(i, safe="") for i in chosen
    )
    assert "lang=en" in decoded
    shoot(tab, "short-list-en", full_page=True)
    assert problems == []


def test_municipality_view(base_url, page):
    tab, problems = page
    tab.goto(f"{base_url}/?tool=municipality")
    tab.wait_for_selector("#analyst:not([hidden]) form input", timeout=30_000)
    tab.fill("#analyst input[name=m]", "Oslo")
    tab.click("#analyst button[type=submit]")
    tab.wait_for_selector("#analyst .report", timeout=20_000)
    report = tab.locator("#analyst .report").inner_text()
    assert "Oslo (0301)" in report
    assert "Rådet for innvandrerorganisasjoner" in report
    assert "m=0301" in tab.url
    assert "tool=municipality" in tab.url
    assert problems == []


def test_coverage_view_in_the_pages_language(base_url, page):
    tab, problems = page
    tab.goto(f"{base_url}/?tool=coverage&area=groruddalen&cat=WOMENS_GROUP")
    tab.wait_for_selector("#analyst .report", timeout=30_000)
    report = graphql(
        base_url,
        '{ coverage(area: {areaInitiative: "groruddalen"}, target: '
        "{categories: [WOMENS_GROUP]}, withinMeters: 1000, unitKind: GRID_1KM)"
        " { gapCount notes } }",
        {},
    )["coverage"]
    assert int(tab.evaluate("document.body.dataset.gaps")) == report["gapCount"] > 0
    assert report["notes"], "the population grid has no immigrant figures: a note says so"
    notes = tab.locator("#analyst .note").all_inner_texts()
    assert len(notes) == len(report["notes"])
    assert not any(n in notes for n in report["notes"])  # not the API's English
    settle(tab)
    assert rendered(tab, "gap-fill")
    assert problems == []


AXE_RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
}"""


@pytest.mark.parametrize("lang", ["nb", "en", "ar"])
@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_axe_finds_no_serious_violations(base_url, browser: Browser, lang: str, width: str):
    tab, problems = new_page(browser, PHONE if width == "phone" else DESKTOP)
    open_page(tab, base_url, f"?lang={lang}", with_map=width == "desktop")
    # A phone's list view never loads the map library; the map view does.
    loaded = tab.evaluate("typeof window.maplibregl !== 'undefined'")
    assert loaded == (width == "desktop")
    assert tab.evaluate("document.documentElement.dir") == ("rtl" if lang == "ar" else "ltr")
    tab.wait_for_function("document.querySelector('#status').textContent.length > 8")
    tab.add_script_tag(path=str(NODE_MODULES / "axe-core" / "axe.min.js"))
    assert tab.evaluate(AXE_RUN) == [], "the list"
    shoot(tab, f"{width}-{lang}")
    tab.locator("#results h3 a").first.click()
    tab.wait_for_selector("#detail:not([hidden]) h2")
    assert tab.evaluate(AXE_RUN) == [], "the detail"
    shoot(tab, f"{width}-{lang}-detail")
    tab.locator("#detail .pick").click()
    tab.goto(tab.get_attribute("#picks-link", "href") or "")
    tab.wait_for_selector("body[data-short-list='ready']", state="attached", timeout=30_000)
    tab.add_script_tag(path=str(NODE_MODULES / "axe-core" / "axe.min.js"))
    assert tab.evaluate(AXE_RUN) == [], "the short list"
    tab.context.close()
    assert problems == []


def test_explorer_runs_in_the_browser(base_url, page: tuple[Page, Problems]):
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


def test_labels_and_translated_texts_in_the_readers_language(base_url, page):
    tab, problems = page
    open_page(tab, base_url, "?lang=uk")
    with urllib.request.urlopen(f"{base_url}/labels/uk.json", timeout=10) as response:
        labels = json.loads(response.read())["vocabularies"]["ActivityCategory"]
    names = {v if isinstance(v, str) else v["label"] for v in labels.values()}
    kinds = tab.locator("#results .card-head .kind").all_inner_texts()
    assert kinds
    assert set(kinds) <= names  # the app's Ukrainian labels, not the page's fallbacks
    # Each title in the language the API answered in, marked so for screen readers.
    answer = graphql(
        base_url,
        'query($near: NearInput) { activities(near: $near, first: 20, lang: ["uk", "en"]) {'
        " edges { node { titleText { language } } } } }",
        {"near": {"at": OSLO, "radiusMeters": 3000}},
    )["activities"]["edges"]
    expected = [e["node"]["titleText"]["language"] for e in answer]
    assert tab.eval_on_selector_all("#results h3 a", "links => links.map(a => a.lang)") == expected
    assert problems == []
