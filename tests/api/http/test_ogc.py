"""OGC API - Features at /ogc, against the standard's rules (Part 1 Core + GeoJSON, Part 2 CRS)
on the demo data: links with rel and type, conformance classes, paging with next/prev,
numberMatched/numberReturned, bbox (also in another CRS), crs with Content-Crs, single items,
404s and 400s."""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from shapely.geometry import Point, box, shape

from geo.crs import to_storage
from geo.tables import activity, statistical_area, venue

pytestmark = pytest.mark.anyio

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
COLLECTIONS = {"municipalities", "venues", "activities", "councils", "areas", "initiatives"}


def links(body: dict[str, Any]) -> dict[str, dict[str, str]]:
    for link in body["links"]:
        assert {"href", "rel", "type"} <= set(link), link
    return {link["rel"]: link for link in body["links"]}


def relative(href: str) -> str:
    parts = urlsplit(href)
    assert parts.netloc == "hverdag.test", href
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


async def get_json(client: Any, path: str, **params: Any) -> dict[str, Any]:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_landing_page_links(client):
    body = await get_json(client, "/ogc")
    rels = links(body)
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    assert rels["data"]["type"] == "application/json"
    # Each link answers.
    for rel in ("service-desc", "conformance", "data"):
        assert (await client.get(relative(rels[rel]["href"]))).status_code == 200
    api = await get_json(client, "/ogc/api")
    assert api["openapi"].startswith("3.0")
    assert "/collections/{collectionId}/items" in api["paths"]


async def test_conformance_classes(client):
    body = await get_json(client, "/ogc/conformance")
    assert set(body["conformsTo"]) >= {
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    }


async def test_collections_describe_themselves(client):
    body = await get_json(client, "/ogc/collections")
    assert links(body)["self"]["type"] == "application/json"
    described = {c["id"]: c for c in body["collections"]}
    assert set(described) == COLLECTIONS
    for cid, collection in described.items():
        rels = links(collection)
        assert rels["items"]["type"] == "application/geo+json"
        assert relative(rels["items"]["href"]).startswith(f"/ogc/collections/{cid}/items")
        # Part 2: the CRS list starts with CRS84 and holds the storage CRS.
        assert collection["crs"][0] == CRS84
        assert collection["storageCrs"] == EPSG + "25833"
        assert {EPSG + "25833", EPSG + "25832"} <= set(collection["crs"])
        west, south, east, north = collection["extent"]["spatial"]["bbox"][0]
        assert 4 < west < east < 32, cid
        assert 57 < south < north < 72, cid
    one = await get_json(client, "/ogc/collections/venues")
    assert one["id"] == "venues"
    assert one["itemType"] == "feature"


async def test_items_page_and_paging_links(client, loaded_conn):
    total = loaded_conn.execute(
        sa.select(sa.func.count())
        .select_from(venue)
        .where(venue.c.archived_at.is_(None), venue.c.municipality_number == "0301")
    ).scalar_one()
    first = await client.get(
        "/ogc/collections/venues/items", params={"limit": 7, "municipality": "0301"}
    )
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/geo+json"
    assert first.headers["content-crs"] == f"<{CRS84}>"
    page1 = first.json()
    assert page1["type"] == "FeatureCollection"
    assert page1["numberMatched"] == total
    assert page1["numberReturned"] == 7
    assert len(page1["features"]) == 7
    assert "timeStamp" in page1
    rels = links(page1)
    assert "prev" not in rels
    assert {"self", "next", "collection"} <= set(rels)
    assert rels["next"]["type"] == "application/geo+json"
    query = parse_qs(urlsplit(rels["next"]["href"]).query)
    assert query["offset"] == ["7"]
    assert query["limit"] == ["7"]
    assert query["municipality"] == ["0301"]
    page2 = (await client.get(relative(rels["next"]["href"]))).json()
    assert {f["id"] for f in page1["features"]}.isdisjoint({f["id"] for f in page2["features"]})
    prev = links(page2)["prev"]
    assert parse_qs(urlsplit(prev["href"]).query)["offset"] == ["0"]
    back = (await client.get(relative(prev["href"]))).json()
    assert [f["id"] for f in back["features"]] == [f["id"] for f in page1["features"]]
    # Walking every page with next visits every matching venue once.
    seen: list[int] = []
    href: str | None = "/ogc/collections/venues/items?limit=200&municipality=0301"
    while href:
        body = (await client.get(href)).json()
        seen += [f["id"] for f in body["features"]]
        nxt = links(body).get("next")
        href = relative(nxt["href"]) if nxt else None
    assert len(seen) == len(set(seen)) == total
    # The last page has no next link, and offset past the end gives an empty page.
    empty = await get_json(
        client, "/ogc/collections/venues/items", offset=total + 5, municipality="0301"
    )
    assert empty["numberReturned"] == 0
    assert empty["features"] == []
    assert "next" not in links(empty)
    assert "prev" in links(empty)


async def test_features_are_geojson_with_links(client):
    body = await get_json(client, "/ogc/collections/activities/items", limit=3)
    for feature in body["features"]:
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]
        assert 4 < lon < 32
        assert 57 < lat < 72
        assert "contact_email" not in feature["properties"]  # private fields never leave
        rels = links(feature)
        single = await client.get(relative(rels["self"]["href"]))
        assert single.status_code == 200
        assert single.json()["id"] == feature["id"]
        assert single.json()["geometry"] == feature["geometry"]
        assert single.headers["content-crs"] == f"<{CRS84}>"


async def test_limit_is_capped(client):
    body = await get_json(client, "/ogc/collections/activities/items", limit=5000)
    assert body["numberReturned"] == 1000


async def test_bbox_filters(client, loaded_conn):
    bbox = (10.74, 59.90, 10.78, 59.93)
    body = await get_json(
        client, "/ogc/collections/venues/items", limit=1000, bbox=",".join(map(str, bbox))
    )
    area = box(*bbox)
    assert body["numberReturned"] > 5
    assert all(area.intersects(shape(f["geometry"])) for f in body["features"])
    x0, y0 = to_storage(bbox[1], bbox[0])
    x1, y1 = to_storage(bbox[3], bbox[2])
    inner = loaded_conn.execute(
        sa.select(sa.func.count())
        .select_from(venue)
        .where(
            venue.c.archived_at.is_(None),
            sa.func.ST_Intersects(
                venue.c.geom, sa.func.ST_Transform(sa.func.ST_MakeEnvelope(*bbox, 4326), 25833)
            ),
        )
    ).scalar_one()
    assert body["numberMatched"] == inner
    # The same box given in EPSG:25833 (bbox-crs) finds the same venues, near enough (the
    # box's edges are straight in one CRS and curved in the other: compare the inner ones).
    utm = await get_json(
        client,
        "/ogc/collections/venues/items",
        limit=1000,
        bbox=f"{min(x0, x1)},{min(y0, y1)},{max(x0, x1)},{max(y0, y1)}",
        **{"bbox-crs": EPSG + "25833"},
    )
    shrunk = box(bbox[0] + 0.002, bbox[1] + 0.001, bbox[2] - 0.002, bbox[3] - 0.001)
    inside = {f["id"] for f in body["features"] if shrunk.contains(shape(f["geometry"]))}
    assert inside <= {f["id"] for f in utm["features"]}
    # Polygons: municipalities meeting a box around Oslo sentrum.
    munis = await get_json(
        client, "/ogc/collections/municipalities/items", bbox="10.70,59.88,10.80,59.95"
    )
    assert [f["id"] for f in munis["features"]] == ["0301"]


async def test_crs_parameter_and_content_crs(client, loaded_conn):
    vid, x, y = loaded_conn.execute(
        sa.select(venue.c.id, sa.func.ST_X(venue.c.geom), sa.func.ST_Y(venue.c.geom))
        .order_by(venue.c.id)
        .limit(1)
    ).one()
    utm33 = await client.get(f"/ogc/collections/venues/items/{vid}", params={"crs": EPSG + "25833"})
    assert utm33.headers["content-crs"] == f"<{EPSG}25833>"
    gx, gy = utm33.json()["geometry"]["coordinates"]
    assert abs(gx - x) < 0.01
    assert abs(gy - y) < 0.01
    assert "crs" not in utm33.json()["geometry"]
    utm32 = (
        await client.get(f"/ogc/collections/venues/items/{vid}", params={"crs": EPSG + "25832"})
    ).json()
    ux, _uy = utm32["geometry"]["coordinates"]
    assert 100_000 < ux < 1_100_000
    assert abs(ux - x) > 1000
    crs84 = (await client.get(f"/ogc/collections/venues/items/{vid}")).json()
    lon, lat = crs84["geometry"]["coordinates"]
    # EPSG:4326 is latitude first (Part 2: the CRS's own axis order).
    epsg4326 = await client.get(
        f"/ogc/collections/venues/items/{vid}", params={"crs": EPSG + "4326"}
    )
    assert epsg4326.json()["geometry"]["coordinates"] == [lat, lon]
    assert Point(lon, lat).distance(Point(10.75, 59.91)) < 25  # in Norway, not swapped
    # A page in EPSG:25832 says so too.
    page = await client.get(
        "/ogc/collections/activities/items", params={"crs": EPSG + "25832", "limit": 2}
    )
    assert page.headers["content-crs"] == f"<{EPSG}25832>"
    # bbox-crs CURIE form.
    curie = await client.get(
        "/ogc/collections/venues/items", params={"crs": "[EPSG:25833]", "limit": 1}
    )
    assert curie.headers["content-crs"] == f"<{EPSG}25833>"


async def test_property_filters(client, loaded_conn):
    body = await get_json(
        client,
        "/ogc/collections/activities/items",
        limit=1000,
        category="LANGUAGE_CAFE",
        municipality="0301",
    )
    expected = loaded_conn.execute(
        sa.select(sa.func.count())
        .select_from(activity)
        .where(
            activity.c.archived_at.is_(None),
            activity.c.status == "ACTIVE",
            activity.c.category == "LANGUAGE_CAFE",
            activity.c.municipality_number == "0301",
        )
    ).scalar_one()
    assert body["numberMatched"] == expected > 0
    assert {f["properties"]["category"] for f in body["features"]} == {"LANGUAGE_CAFE"}
    areas = await get_json(client, "/ogc/collections/areas/items", kind="BYDEL", limit=100)
    bydeler = loaded_conn.execute(
        sa.select(sa.func.count())
        .select_from(statistical_area)
        .where(statistical_area.c.kind == "BYDEL")
    ).scalar_one()
    assert areas["numberMatched"] == areas["numberReturned"] == bydeler >= 15
    assert {f["properties"]["kind"] for f in areas["features"]} == {"BYDEL"}
    councils = await get_json(client, "/ogc/collections/councils/items", municipality="0301")
    assert councils["numberReturned"] >= 1
    assert {f["properties"]["municipality_number"] for f in councils["features"]} == {"0301"}
    vestland = await get_json(
        client, "/ogc/collections/municipalities/items", county="46", limit=100
    )
    assert vestland["numberMatched"] > 20
    assert all(f["id"].startswith("46") for f in vestland["features"])


async def test_single_items_of_each_kind(client):
    oslo = (await client.get("/ogc/collections/municipalities/items/0301")).json()
    assert oslo["properties"]["name"] == "Oslo"
    assert oslo["geometry"]["type"] == "MultiPolygon"
    groruddalen = (await client.get("/ogc/collections/initiatives/items/groruddalen")).json()
    assert groruddalen["properties"]["name"] == "Groruddalen"
    assert shape(groruddalen["geometry"]).contains(Point(10.892, 59.942))


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/ogc/collections/rivers", {}, 404, "collectionId"),
        ("/ogc/collections/rivers/items", {}, 404, "collectionId"),
        ("/ogc/collections/venues/items/99999999", {}, 404, "featureId"),
        ("/ogc/collections/venues/items/abc", {}, 404, "featureId"),
        ("/ogc/collections/municipalities/items/9999", {}, 404, "featureId"),
        ("/ogc/collections/venues/items", {"bbox": "1,2,3"}, 400, "bbox"),
        ("/ogc/collections/venues/items", {"bbox": "11,60,10,59"}, 400, "bbox"),
        ("/ogc/collections/venues/items", {"bbox": "a,b,c,d"}, 400, "bbox"),
        ("/ogc/collections/venues/items", {"limit": "0"}, 400, "limit"),
        ("/ogc/collections/venues/items", {"limit": "ten"}, 400, "limit"),
        ("/ogc/collections/venues/items", {"offset": "-1"}, 400, "offset"),
        ("/ogc/collections/venues/items", {"crs": "EPSG:9999"}, 400, "crs"),
        (
            "/ogc/collections/venues/items",
            {"bbox": "10,59,11,60", "bbox-crs": "x"},
            400,
            "bbox-crs",
        ),
        ("/ogc/collections/venues/items", {"bbox-crs": EPSG + "25833"}, 400, "bbox-crs"),
        ("/ogc/collections/venues/items", {"colour": "red"}, 400, "colour"),
        ("/ogc/collections/venues/items", {"category": "NOPE"}, 400, "category"),
        ("/ogc/collections/areas/items", {"category": "SPORTS"}, 400, "category"),
        ("/ogc/collections/venues/items", {"f": "xml"}, 400, "f"),
        ("/ogc/conformance", {"limit": "1"}, 400, "limit"),
    ],
)
async def test_errors(client, path, params, status, field):
    response = await client.get(path, params=params)
    assert response.status_code == status, response.text
    body = response.json()
    code = "NOT_FOUND" if status == 404 else "BAD_USER_INPUT"
    assert body["code"] == code
    assert body["description"]
    assert body["error"]["code"] == code
    assert body["error"]["field"] == field


# --- Part 3: queryables ---------------------------------------------------------------------


async def test_each_collection_has_queryables_as_json_schema(client):
    conformance = await get_json(client, "/ogc/conformance")
    assert {
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    } <= set(conformance["conformsTo"])
    api = await get_json(client, "/ogc/api")
    for cid in COLLECTIONS:
        described = await get_json(client, f"/ogc/collections/{cid}")
        rel = links(described)["http://www.opengis.net/def/rel/ogc/1.0/queryables"]
        assert rel["type"] == "application/schema+json"
        response = await client.get(relative(rel["href"]))
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/schema+json"
        schema = response.json()
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"].endswith(f"/ogc/collections/{cid}/queryables")
        assert schema["type"] == "object"
        assert schema["properties"]
        # Each queryable is a property of the features and a parameter of the collection's
        # items in the OpenAPI description.
        page = await get_json(client, f"/ogc/collections/{cid}/items", limit=5)
        some = page["features"][0]["properties"]
        assert set(schema["properties"]) <= set(some)
        names = {p["name"] for p in api["paths"][f"/collections/{cid}/items"]["get"]["parameters"]}
        assert set(schema["properties"]) <= names
    venues = (await client.get("/ogc/collections/venues/queryables")).json()["properties"]
    assert venues["venue_type"]["type"] == "string"
    assert "LIBRARY" in venues["venue_type"]["enum"]
    assert venues["step_free"]["type"] == "boolean"
    assert venues["capacity"]["type"] == "integer"


async def test_filtering_by_queryables(client, loaded_conn):
    body = await get_json(
        client,
        "/ogc/collections/venues/items",
        limit=1000,
        venue_type="LIBRARY",
        municipality_number="0301",
    )
    expected = loaded_conn.execute(
        sa.select(sa.func.count())
        .select_from(venue)
        .where(
            venue.c.archived_at.is_(None),
            venue.c.venue_type == "LIBRARY",
            venue.c.municipality_number == "0301",
        )
    ).scalar_one()
    assert body["numberMatched"] == body["numberReturned"] == expected > 0
    assert {f["properties"]["venue_type"] for f in body["features"]} == {"LIBRARY"}
    # The next link keeps the queryables.
    small = await get_json(client, "/ogc/collections/venues/items", limit=1, venue_type="LIBRARY")
    next_href = links(small)["next"]["href"]
    assert parse_qs(urlsplit(next_href).query)["venue_type"] == ["LIBRARY"]
    free = await get_json(client, "/ogc/collections/activities/items", free="false", limit=1000)
    expected_paid = loaded_conn.execute(
        sa.select(sa.func.count())
        .select_from(activity)
        .where(
            activity.c.archived_at.is_(None),
            activity.c.status == "ACTIVE",
            activity.c.free.is_(False),
        )
    ).scalar_one()
    assert free["numberMatched"] == expected_paid > 0
    assert {f["properties"]["free"] for f in free["features"]} == {False}
    bydeler = await get_json(client, "/ogc/collections/areas/items", kind="BYDEL", name="Stovner")
    assert [f["properties"]["code"] for f in bydeler["features"]] == ["030111"]


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({"venue_type": "CASTLE"}, "venue_type", "must be one of"),
        ({"step_free": "yes"}, "step_free", "true or false"),
        ({"capacity": "many"}, "capacity", "whole number"),
        ({"municipality_number": "301"}, "municipality_number", "must match"),
        ({"venue_type": ["LIBRARY", "SCHOOL"]}, "venue_type", "once"),
    ],
)
async def test_bad_queryable_values_are_refused(client, params, field, reason):
    response = await client.get("/ogc/collections/venues/items", params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "BAD_USER_INPUT"
    assert body["error"]["field"] == field
    assert reason in body["description"]


# --- ids ------------------------------------------------------------------------------------


async def test_directory_features_have_the_api_global_ids(client):
    body = await get_json(client, "/ogc/collections/activities/items", limit=5)
    for feature in body["features"]:
        type_name, key = base64.b64decode(feature["id"]).decode().split(":")
        assert type_name == "Activity"
        assert feature["properties"]["id"] == feature["id"]
        if feature["properties"].get("venue_id"):
            assert base64.b64decode(feature["properties"]["venue_id"]).startswith(b"Venue:")
        by_global = await client.get(relative(links(feature)["self"]["href"]))
        assert by_global.status_code == 200
        assert by_global.json()["id"] == feature["id"]
        by_number = await client.get(f"/ogc/collections/activities/items/{key}")
        assert by_number.json()["id"] == feature["id"]
    wrong_type = base64.b64encode(b"Venue:1").decode()
    response = await client.get(f"/ogc/collections/activities/items/{wrong_type}")
    assert response.status_code == 404


# --- HTML -----------------------------------------------------------------------------------

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/ogc", "The feature collections"),
        ("/ogc/conformance", "ogcapi-features-3/1.0/conf/queryables"),
        ("/ogc/collections", "Venues (lokaler)"),
        ("/ogc/collections/venues", "Filter by"),
        ("/ogc/collections/areas/items?kind=BYDEL&limit=20", "Stovner"),
        ("/ogc/collections/municipalities/items/0301", "Oslo"),
    ],
)
async def test_a_browser_gets_html_pages(client, path, text):
    response = await client.get(path, headers={"Accept": BROWSER})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "Accept" in response.headers["vary"]
    assert text in response.text
    assert 'rel="alternate" type="application/json"' in response.text
    # The same with f=html, whatever Accept says; and a tool's Accept still gets JSON.
    separator = "&" if "?" in path else "?"
    forced = await client.get(f"{path}{separator}f=html", headers={"Accept": "application/json"})
    assert forced.headers["content-type"].startswith("text/html")
    tool = await client.get(path, headers={"Accept": "application/geo+json, application/json"})
    assert "json" in tool.headers["content-type"]


async def test_html_items_page_has_a_filter_form_and_paging(client):
    response = await client.get(
        "/ogc/collections/venues/items", params={"f": "html", "limit": 2, "venue_type": "LIBRARY"}
    )
    page = response.text
    assert '<form method="get"' in page
    assert "<option selected>LIBRARY</option>" in page
    assert "next ›" in page
    assert "venue_type=LIBRARY" in page
    # A map of the page's features: scripts from the app itself (/vendor/, /static/) only.
    sources = re.findall(r'<script[^>]* src="([^"]+)"', page)
    assert sources == ["/vendor/maplibre-gl.js", "/static/ogc-map.js"]
    for source in sources:
        assert (await client.get(source)).status_code == 200
    found = re.search(r'<script type="application/json" id="ogc-features">(.*?)</script>', page)
    assert found
    shown = json.loads(found.group(1))
    assert len(shown["features"]) == 2
    assert shown["features"][0]["geometry"]["type"] == "Point"


async def test_html_escapes_what_it_shows(client):
    response = await client.get(
        "/ogc/collections/venues/items", params={"f": "html", "name": "<b>x</b>"}
    )
    assert response.status_code == 200
    assert "<b>x</b>" not in response.text
    assert "&lt;b&gt;x&lt;/b&gt;" in response.text


# --- exceptions -----------------------------------------------------------------------------


async def test_unknown_paths_and_methods_answer_ogc_exceptions(client):
    # A global id may hold "/", so this is looked up as one feature id, and is none.
    response = await client.get("/ogc/collections/venues/items/1/extra/bits")
    assert response.status_code == 404
    assert response.json()["error"]["field"] == "featureId"
    missing = await client.get("/ogc/nothing/here")
    assert missing.status_code == 404
    assert missing.json()["code"] == "NOT_FOUND"
    assert missing.json()["description"]
    post = await client.post("/ogc/collections/venues/items", json={})
    assert post.status_code == 405
    assert post.headers["allow"] == "GET, HEAD"
    assert post.json()["code"] == "METHOD_NOT_ALLOWED"
    page = await client.get("/ogc/collections/rivers", headers={"Accept": BROWSER})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "no collection" in page.text
