"""The browser side over HTTP: the map page and its settings, the explorer from the app's own
npm assets (no CDN), and /vendor/'s allow-list."""

from __future__ import annotations

import json
import re

import pytest

from api.app import create_app
from api.http.web import NODE_MODULES, VENDOR
from geo.settings import PROJECT_ROOT
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


async def test_map_page_without_a_basemap(client):
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="nb">' in page.text
    config = page_config(page.text)
    assert config["basemapUrl"] is None
    assert config["graphqlUrl"] == "/graphql"
    assert '<script src="/vendor/maplibre-gl.js">' in page.text
    assert external_references(page.text) == []


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
    for name in ("index.html", "graphiql.html", "map.js", "graphiql-start.js", "map.css"):
        text = (STATIC / name).read_text(encoding="utf-8")
        assert external_references(text) == [], name
        assert not re.search(r"unpkg|jsdelivr|cdnjs|esm\.sh", text), name
    for name in ("map.js", "map.css", "graphiql-start.js"):
        assert (await client.get(f"/static/{name}")).status_code == 200


async def test_explorer_is_served_from_own_assets(client, api_settings):
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    for asset in (
        "/vendor/graphiql.js",
        "/vendor/graphiql.css",
        "/vendor/react.js",
        "/vendor/react-dom.js",
    ):
        assert asset in page.text
        assert (await client.get(asset)).status_code == 200, asset
    assert external_references(page.text) == []
    quiet = create_app(api_settings.model_copy(update={"graphql_explorer": False}))
    async with http_client(quiet) as other:
        assert (await other.get("/graphql", headers={"accept": "text/html"})).status_code == 404


async def test_vendor_serves_only_the_allow_list(client):
    js = await client.get("/vendor/maplibre-gl.js")
    assert js.status_code == 200
    assert "javascript" in js.headers["content-type"]
    assert js.headers["cache-control"].startswith("public")
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
