"""The browser side over HTTP: the map page and its settings, the explorer from the app's own
npm assets (no CDN), and /vendor/'s allow-list."""

from __future__ import annotations

import json
import re

import pytest

from api.app import create_app
from api.http.web import NODE_MODULES, RIGHT_TO_LEFT, VENDOR, asset
from geo.settings import KARTVERKET_GREY, PROJECT_ROOT
from tests.api.conftest import http_client

pytestmark = pytest.mark.anyio

STATIC = PROJECT_ROOT / "api" / "http" / "static"


def page_config(html: str) -> dict[str, object]:
    match = re.search(r'<script id="config" type="application/json">(.*?)</script>', html, re.S)
    assert match, "no config element"
    return json.loads(match.group(1))


def external_references(text: str) -> list[str]:
    """src/href values that leave the app (http:, https:, or protocol-relative)."""
    return re.findall(r'(?:src|href)\s*=\s*"((?:https?:)?//[^"]+)"', text)


async def test_page_defaults_to_kartverkets_basemap(client):
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="nb" dir="ltr">' in page.text
    config = page_config(page.text)
    assert config["basemapUrl"] == KARTVERKET_GREY
    assert "Kartverket" in str(config["basemapAttribution"])
    assert "CC BY 4.0" in str(config["basemapAttribution"])
    assert config["graphqlUrl"] == "/graphql"
    digest = asset(NODE_MODULES / VENDOR["maplibre-gl.js"]).digest
    css = asset(NODE_MODULES / VENDOR["maplibre-gl.css"]).digest
    # MapLibre is loaded by the page when the map is first shown, from its hashed URL.
    assert config["maplibre"] == {
        "js": f"/vendor/maplibre-gl.js?v={digest}",
        "css": f"/vendor/maplibre-gl.css?v={css}",
    }
    # The basemap is the only outside address, and it is data for the browser, not a script.
    assert external_references(page.text) == []


async def test_page_language_and_direction(client):
    arabic = await client.get("/?lang=ar")
    assert '<html lang="ar" dir="rtl">' in arabic.text
    config = page_config(arabic.text)
    assert config["languages"][:3] == ["nb", "nn", "en"]
    assert {"ar", "fa", "prs", "ur", "uk", "pl", "ru", "so", "ti"} <= set(config["languages"])
    assert config["languageNames"]["prs"] == "دری"
    assert config["languageNames"]["ti"] == "ትግርኛ"
    tigrinya = await client.get("/?lang=ti")
    assert '<html lang="ti" dir="ltr">' in tigrinya.text
    unknown = await client.get("/?lang=xx")
    assert '<html lang="nb" dir="ltr">' in unknown.text


async def test_no_basemap_when_the_setting_is_empty(api_settings):
    settings = api_settings.model_copy(update={"basemap_url": ""})
    async with http_client(create_app(settings)) as client:
        page = await client.get("/")
    assert page_config(page.text)["basemapUrl"] is None


def test_message_files_have_the_same_keys():
    """Every UI language says everything nb says (plural forms may differ by language)."""
    base = json.loads((STATIC / "messages" / "nb.json").read_text(encoding="utf-8"))

    def keys(messages: dict[str, dict[str, str]]) -> set[str]:
        return {re.sub(r"_(zero|one|two|few|many|other)$", "", k) for k in messages["ui"]}

    for path in (STATIC / "messages").glob("*.json"):
        messages = json.loads(path.read_text(encoding="utf-8"))
        assert keys(messages) == keys(base), path.name
        assert messages["meta"]["dir"] == ("rtl" if path.stem in RIGHT_TO_LEFT else "ltr")


async def test_assets_are_compressed_and_cached_by_content_hash(client):
    js = await client.get("/vendor/maplibre-gl.js", headers={"accept-encoding": "gzip"})
    raw = (NODE_MODULES / VENDOR["maplibre-gl.js"]).read_bytes()
    assert js.headers["content-encoding"] == "gzip"
    assert int(js.headers["content-length"]) < len(raw) / 3
    assert js.content == raw  # httpx undoes the gzip
    assert js.headers["cache-control"] == "no-cache"  # no hash in the URL: revalidate
    etag = js.headers["etag"]
    again = await client.get("/vendor/maplibre-gl.js", headers={"if-none-match": etag})
    assert again.status_code == 304
    digest = asset(NODE_MODULES / VENDOR["maplibre-gl.js"]).digest
    hashed = await client.get(f"/vendor/maplibre-gl.js?v={digest}")
    assert hashed.headers["cache-control"] == "public, max-age=31536000, immutable"
    plain = await client.get("/vendor/maplibre-gl.js", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == raw
    page = await client.get("/", headers={"accept-encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip"
    for path in re.findall(r'(?:src|href)="(/(?:static|vendor)/[^"]+)"', page.text):
        assert "?v=" in path, path
        answer = await client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["cache-control"].endswith("immutable"), path


async def test_the_apis_json_and_exports_are_compressed(client):
    query = {"query": "{ counties { number name municipalities { number name } } }"}
    answer = await client.post("/graphql", json=query, headers={"accept-encoding": "gzip"})
    assert answer.status_code == 200
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.json()["data"]["counties"]
    export = await client.get("/export/venues.csv", headers={"accept-encoding": "gzip"})
    assert export.status_code == 200
    assert export.headers["content-encoding"] == "gzip"
    assert export.text.lstrip("\ufeff").startswith("id,name,")  # the BOM is for Excel
    # A tile over Oslo sentrum (zoom 12), compressed too; an MVT shrinks by about half.
    tile = await client.get("/tiles/venues/12/2170/1191.mvt", headers={"accept-encoding": "gzip"})
    assert tile.status_code == 200
    assert tile.headers["content-encoding"] == "gzip"
    assert int(tile.headers["content-length"]) < len(tile.content)


async def test_map_page_with_a_basemap(api_settings):
    url = "https://tiles.example/{z}/{x}/{y}.png?a=1&b=</script>"
    settings = api_settings.model_copy(
        update={"basemap_url": url, "basemap_attribution": "© Example"}
    )
    async with http_client(create_app(settings)) as client:
        page = await client.get("/")
    config = page_config(page.text)  # the value cannot close the element early
    assert config["basemapUrl"] == url
    assert config["basemapAttribution"] == "© Example"


async def test_own_files_have_no_cdn(client):
    for name in ("index.html", "graphiql.html", "app.js", "graphiql-start.js", "app.css"):
        text = (STATIC / name).read_text(encoding="utf-8")
        assert external_references(text) == [], name
        assert not re.search(r"unpkg|jsdelivr|cdnjs|esm\.sh", text), name
    for name in ("app.js", "app.css", "graphiql-start.js", "messages/nb.json"):
        assert (await client.get(f"/static/{name}")).status_code == 200


async def test_explorer_is_served_from_own_assets(client, api_settings):
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    for path in (
        "/vendor/graphiql.js",
        "/vendor/graphiql.css",
        "/vendor/react.js",
        "/vendor/react-dom.js",
    ):
        assert path in page.text
        assert (await client.get(path)).status_code == 200, path
    assert external_references(page.text) == []
    quiet = create_app(api_settings.model_copy(update={"graphql_explorer": False}))
    async with http_client(quiet) as other:
        assert (await other.get("/graphql", headers={"accept": "text/html"})).status_code == 404


async def test_vendor_serves_only_the_allow_list(client):
    js = await client.get("/vendor/maplibre-gl.js")
    assert js.status_code == 200
    assert "javascript" in js.headers["content-type"]
    assert js.content == (NODE_MODULES / VENDOR["maplibre-gl.js"]).read_bytes()
    for name in ("package.json", "graphql.js", "index.umd.js"):
        response = await client.get(f"/vendor/{name}")
        assert response.status_code == 404, name
        assert response.json()["error"]["code"] == "NOT_FOUND"
    for path in ("maplibre-gl%2Fpackage.json", "..%2F..%2Fpackage.json", "react/package.json"):
        assert (await client.get(f"/vendor/{path}")).status_code == 404, path
    # Nothing of node_modules is reachable through /static/ either.
    assert (await client.get("/static/../../web/package.json")).status_code == 404


def test_every_vendor_file_is_installed_and_built():
    """bootstrap's `npm ci` installed what VENDOR names, and the builds are the browser ones."""
    for name, relative in VENDOR.items():
        path = NODE_MODULES / relative
        assert path.is_file(), f"{name}: {path} missing (run scripts/bootstrap.sh)"
        assert path.stat().st_size > 1000, name
    umd = (NODE_MODULES / VENDOR["graphiql.js"]).read_text(encoding="utf-8")[:400]
    assert "GraphiQL" in umd  # the UMD build sets a global
    lock = json.loads((PROJECT_ROOT / "web" / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/graphiql"]["version"].startswith("4.")
    assert lock["packages"]["node_modules/react"]["version"].startswith("18.")
