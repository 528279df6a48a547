"""GET /export/{activities,venues,councils}.{csv,geojson}: formats, filters shared with GraphQL,
errors, private fields, and streaming in constant memory."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import csv
import ctypes
import gc
import io
import json
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import time as clock
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from shapely import wkt
from shapely.geometry import Point, shape
from starlette.applications import Starlette

from api.app import create_app
from geo.db import sync_engine
from geo.filters import DirectoryFilter
from geo.queries.coverage import (
    MunicipalityArea,
    Target,
    TargetKind,
    coverage_gaps,
    coverage_summary,
)
from geo.queries.export import ExportKind, columns, coverage_statement, statement_columns
from geo.settings import PROJECT_ROOT, load_settings
from geo.tables import activity, activity_schedule, immigrant_council, venue
from geo.vocab import ActivityStatus, CouncilStatus
from tests.api.conftest import http_client

pytestmark = pytest.mark.anyio

PRIVATE = ("contact_name", "contact_email", "contact_phone")


def read_csv(content: bytes) -> list[dict[str, str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "no UTF-8 byte-order mark"
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))


async def export(client: Any, path: str, **params: str) -> Any:
    response = await client.get(f"/export/{path}", params=params)
    assert response.status_code == 200, response.text
    return response


def gid(type_name: str, key: int) -> str:
    from api.checks import encode_global_id

    return str(encode_global_id(type_name, str(key)))


def _key(global_id: str) -> str:
    return base64.b64decode(global_id).decode().split(":", 1)[1]


def active_activity_ids(conn: sa.Connection, *conditions: Any) -> set[str]:
    a = activity.c
    rows = conn.execute(
        sa.select(a.id).where(
            a.archived_at.is_(None), a.status == ActivityStatus.ACTIVE.value, *conditions
        )
    )
    return {gid("Activity", row.id) for row in rows}


# --- formats -----------------------------------------------------------------------------------


async def test_csv_has_bom_header_and_the_sql_rows(client, loaded_conn):
    response = await export(client, "activities.csv", category="LANGUAGE_CAFE", municipality="0301")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="hverdag-activities.csv"'
    )
    rows = read_csv(response.content)
    assert list(rows[0])[:4] == ["id", "title", "description", "category"]
    assert list(rows[0])[-2:] == ["lon", "lat"]
    expected = active_activity_ids(
        loaded_conn,
        activity.c.category == "LANGUAGE_CAFE",
        activity.c.municipality_number == "0301",
    )
    assert len(rows) == len(expected) > 50
    assert {row["id"] for row in rows} == expected
    assert all(
        row["category"] == "LANGUAGE_CAFE" and row["municipality_name"] == "Oslo" for row in rows
    )
    ids = [int(_key(row["id"])) for row in rows]
    assert ids == sorted(ids), "ordered by id"
    for row in rows:
        assert 10.4 < float(row["lon"]) < 11.0
        assert 59.8 < float(row["lat"]) < 60.2


async def test_head_answers_the_headers_without_running_the_export(client):
    response = await client.head("/export/venues.geojson?municipality=0301")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    assert response.headers["content-disposition"].endswith('"hverdag-venues.geojson"')
    assert response.content == b""
    assert (await client.head("/export/venues.geojson?age=-1")).status_code == 400


async def test_every_activity_over_http_equals_a_sql_count(client, loaded_conn):
    rows = read_csv((await export(client, "activities.csv")).content)
    expected = active_activity_ids(loaded_conn)
    assert len(expected) > 7000
    assert len(rows) == len(expected)
    assert {row["id"] for row in rows} == expected
    collection = (await export(client, "activities.geojson")).json()
    assert len(collection["features"]) == len(expected)


async def test_schedule_lists_and_blanks_in_csv(client, loaded_conn):
    rows = read_csv((await export(client, "activities.csv", municipality="0301")).content)
    with_schedule = [row for row in rows if row["schedule"]]
    assert with_schedule
    for row in with_schedule:
        for session in row["schedule"].split("; "):
            day, hours = session.split(" ", 2)[:2]
            assert day in ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"), session
            start, end = hours.split("-")
            assert clock.fromisoformat(start) < clock.fromisoformat(end), session
    sample = next(row for row in rows if "|" in row["target_groups"])
    found = loaded_conn.execute(
        sa.select(activity.c.target_groups).where(activity.c.id == int(_key(sample["id"])))
    ).scalar_one()
    assert sample["target_groups"].split("|") == found
    assert {row["free"] for row in rows} <= {"true", "false"}


async def test_geojson_is_an_rfc7946_feature_collection(client, loaded_conn):
    response = await export(client, "activities.geojson", municipality="0301")
    assert response.headers["content-type"] == "application/geo+json"
    assert response.headers["content-disposition"] == (
        'attachment; filename="hverdag-activities.geojson"'
    )
    collection = json.loads(response.content)
    assert collection["type"] == "FeatureCollection"
    assert "crs" not in collection
    features = collection["features"]
    assert len(features) == len(
        active_activity_ids(loaded_conn, activity.c.municipality_number == "0301")
    )
    for feature in features:
        assert feature["type"] == "Feature"
        assert feature["id"] == feature["properties"]["id"]
        assert feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]
        assert 10.4 < lon < 11.0, "lon first (RFC 7946), Oslo"
        assert 59.8 < lat < 60.2
        assert "lon" not in feature["properties"]
    properties = features[0]["properties"]
    assert isinstance(properties["languages"], list)
    assert isinstance(properties["free"], bool)
    assert properties["updated_at"].endswith("Z")


async def test_venues_in_both_formats_agree(client, loaded_conn):
    csv_rows = read_csv((await export(client, "venues.csv", municipality="4601")).content)
    features = (await export(client, "venues.geojson", municipality="4601")).json()["features"]
    expected = {
        gid("Venue", row.id)
        for row in loaded_conn.execute(
            sa.select(venue.c.id).where(
                venue.c.archived_at.is_(None), venue.c.municipality_number == "4601"
            )
        )
    }
    assert {row["id"] for row in csv_rows} == {f["id"] for f in features} == expected
    by_id = {f["id"]: f for f in features}
    for row in csv_rows:
        lon, lat = by_id[row["id"]]["geometry"]["coordinates"]
        assert (float(row["lon"]), float(row["lat"])) == (lon, lat)
        assert 5.0 < lon < 5.8, "Bergen"
        assert 60.2 < lat < 60.6
        windows = by_id[row["id"]]["properties"]["availability"]
        assert row["availability"] == (windows or "")


async def test_councils_have_their_municipality_or_county_point(client, loaded_conn):
    features = (await export(client, "councils.geojson")).json()["features"]
    c = immigrant_council.c
    expected = loaded_conn.execute(
        sa.select(sa.func.count()).where(
            c.archived_at.is_(None), c.status == CouncilStatus.ACTIVE.value
        )
    ).scalar_one()
    assert len(features) == expected > 5
    oslo = next(f for f in features if f["properties"]["municipality_number"] == "0301")
    assert oslo["properties"]["point_of"] == "municipality"
    assert oslo["properties"]["county_name"] == "Oslo"
    lon, lat = oslo["geometry"]["coordinates"]
    where = await client.post(
        "/graphql",
        json={
            "query": f"{{ whereAmI(at: {{lat: {lat}, lon: {lon}}}) "
            f"{{ municipality {{ number }} }} }}"
        },
    )
    assert where.json()["data"]["whereAmI"]["municipality"]["number"] == "0301", (
        "the point lies inside the municipality"
    )
    assert {f["properties"]["point_of"] for f in features} <= {"municipality", "county", None}
    county_level = [f for f in features if f["properties"]["level"] == "COUNTY"]
    assert all(f["properties"]["point_of"] == "county" for f in county_level)
    rows = read_csv((await export(client, "councils.csv")).content)
    assert [row["id"] for row in rows] == [f["id"] for f in features]


async def test_excel_flavour_semicolons_and_decimal_commas(client):
    plain = read_csv((await export(client, "venues.csv", municipality="0301")).content)
    response = await export(
        client, "venues.csv", municipality="0301", sep="semicolon", decimal="comma"
    )
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("id;name;description;")
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))
    assert [row["id"] for row in rows] == [row["id"] for row in plain]
    assert all(r["lon"] == p["lon"].replace(".", ",") for r, p in zip(rows, plain, strict=True))
    assert all("," in row["lat"] for row in rows)


# --- filters: the same as GraphQL's ------------------------------------------------------------

LIST = """query ($filter: DirectoryFilterInput, $after: String) {
  %s(filter: $filter, first: 100, after: $after) {
    edges { node { id } } pageInfo { hasNextPage endCursor } } }"""


async def graphql_ids(gql, kind: str, filt: dict[str, Any]) -> set[str]:
    ids: set[str] = set()
    after = None
    while True:
        page = (await gql.data(LIST % kind, {"filter": filt, "after": after}))[kind]
        ids |= {edge["node"]["id"] for edge in page["edges"]}
        if not page["pageInfo"]["hasNextPage"]:
            return ids
        after = page["pageInfo"]["endCursor"]


SAME_FILTERS = [
    (
        "activities",
        {"category": "LANGUAGE_CAFE", "municipality": "0301"},
        {"categories": ["LANGUAGE_CAFE"], "municipality": "0301"},
    ),
    (
        "activities",
        {"language": "ar,so", "freeOnly": "true", "municipality": "4601"},
        {"languages": ["ar", "so"], "freeOnly": True, "municipality": "4601"},
    ),
    (
        "activities",
        {"targetGroup": ["YOUTH", "CHILDREN"], "age": "14", "municipality": "0301"},
        {"targetGroups": ["YOUTH", "CHILDREN"], "age": 14, "municipality": "0301"},
    ),
    (
        "activities",
        {"weekday": "TUE", "time": "18:30", "on": "2025-03-04", "municipality": "0301"},
        {
            "openAt": {"weekday": "TUESDAY", "time": "18:30", "on": "2025-03-04"},
            "municipality": "0301",
        },
    ),
    (
        "activities",
        {"text": "leksehjelp", "municipality": "0301"},
        {"text": "leksehjelp", "municipality": "0301"},
    ),
    (
        "venues",
        {
            "ownerType": "MUNICIPALITY,COUNTY",
            "municipality": "0301",
            "weekday": "SAT",
            "from": "10:00",
            "to": "12:00",
        },
        {
            "ownerTypes": ["MUNICIPALITY", "COUNTY"],
            "municipality": "0301",
            "during": {"weekday": "SATURDAY", "from": "10:00", "to": "12:00"},
        },
    ),
    (
        "venues",
        {
            "category": "LANGUAGE_CAFE",
            "priceModel": "FREE",
            "stepFree": "true",
            "municipality": "4601",
        },
        {
            "categories": ["LANGUAGE_CAFE"],
            "priceModels": ["FREE"],
            "stepFree": True,
            "municipality": "4601",
        },
    ),
]


@pytest.mark.parametrize(("kind", "params", "graphql_filter"), SAME_FILTERS)
async def test_filters_match_the_graphql_list(client, gql, kind, params, graphql_filter):
    expected = await graphql_ids(gql, kind, graphql_filter)
    assert expected, f"the filter should match something: {graphql_filter}"
    rows = read_csv(
        (await client.get(f"/export/{kind}.csv?{urlencode(params, doseq=True)}")).content
    )
    assert {row["id"] for row in rows} == expected
    assert len(rows) == len(expected)
    features = (await client.get(f"/export/{kind}.geojson?{urlencode(params, doseq=True)}")).json()[
        "features"
    ]
    assert {f["id"] for f in features} == expected


async def test_councils_take_text_and_municipality_and_drop_out_otherwise(client):
    rows = read_csv((await export(client, "councils.csv", municipality="0301")).content)
    assert rows
    assert {row["municipality_number"] for row in rows} == {"0301"}
    assert read_csv((await export(client, "councils.csv", freeOnly="true")).content) == []


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("age=200", "age"),
        ("age=twelve", "age"),
        ("language=arabic", "language"),
        ("category=KNITTING", "category"),
        ("targetGroup=ALIENS", "targetGroup"),
        ("ownerType=me", "ownerType"),
        ("priceModel=cheap", "priceModel"),
        ("freeOnly=maybe", "freeOnly"),
        ("stepFree=yes", "stepFree"),
        ("municipality=301", "municipality"),
        ("municipality=0301&municipality=4601", "municipality"),
        ("text=" + "x" * 201, "text"),
        ("weekday=FUNDAY&time=18:00", "weekday"),
        ("weekday=MON&time=25:00", "time"),
        ("time=18:00", "weekday"),
        ("weekday=MON", "time"),
        ("weekday=MON&from=18:00", "to"),
        ("weekday=MON&from=19:00&to=18:00", "to"),
        ("weekday=MON&time=18:00&from=17:00&to=19:00", "time"),
        ("weekday=MON&time=18:00&on=tomorrow", "on"),
        ("sep=tab", "sep"),
        ("sep=comma&decimal=comma", "decimal"),
        ("catgory=SPORTS", "catgory"),
        ("language=" + ",".join(f"a{c}" for c in "bcdefghijklmnopqrstuvw"), "language"),
    ],
)
async def test_bad_parameters_are_400_with_the_field(client, query, field):
    response = await client.get(f"/export/activities.csv?{query}")
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "BAD_USER_INPUT"
    assert error["field"] == field, error
    assert error["reason"]


async def test_csv_options_on_geojson_are_400(client):
    response = await client.get("/export/venues.geojson?sep=semicolon")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "sep"


@pytest.mark.parametrize(
    "path", ["foo.csv", "activities.xlsx", "activities", "venues/x.csv", "coverage.kml", ".csv"]
)
async def test_unknown_exports_are_404_json(client, path):
    response = await client.get(f"/export/{path}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert response.json()["error"]["reason"]


async def test_a_database_outage_is_503_json(api_settings, loaded_url):
    missing = loaded_url.set(database="hverdag_no_such_database")
    settings = api_settings.model_copy(
        update={"database_url": missing.render_as_string(hide_password=False)}
    )
    async with http_client(create_app(settings)) as client:
        response = await client.get("/export/venues.csv")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "UNAVAILABLE"
    assert response.json()["error"]["requestId"]


# --- coverage ----------------------------------------------------------------------------------

COVERAGE = {
    "municipality": "0301",
    "withinMeters": "1000",
    "unitKind": "GRID_1KM",
    "category": "LANGUAGE_CAFE,NORWEGIAN_PRACTICE",
}


async def test_coverage_units_follow_the_coverage_rule(client, loaded_conn):
    target = Target(
        TargetKind.ACTIVITY, DirectoryFilter(categories=("LANGUAGE_CAFE", "NORWEGIAN_PRACTICE"))
    )
    summary = coverage_summary(loaded_conn, MunicipalityArea("0301"), target, 1000.0, "GRID_1KM")
    gaps, _ = coverage_gaps(
        loaded_conn, MunicipalityArea("0301"), target, 1000.0, "GRID_1KM", first=100
    )
    features = (await export(client, "coverage.geojson", **COVERAGE)).json()["features"]
    units = [f["properties"] for f in features]
    assert len(units) == summary.unit_count > 100
    assert sum(u["covered"] for u in units) == summary.covered_unit_count
    assert sum(u["population"] or 0 for u in units) == summary.population
    assert sum(u["population"] or 0 for u in units if u["covered"]) == summary.covered_population
    uncovered = {u["code"]: u for u in units if not u["covered"] and (u["population"] or 0) > 0}
    assert len(uncovered) == summary.gap_count
    for gap in gaps:
        assert uncovered[gap.code]["nearest_distance_m"] == pytest.approx(
            gap.nearest_distance_m, abs=0.05
        )
    assert all(u["nearest_distance_m"] <= 1000 for u in units if u["covered"])
    assert [u["code"] for u in units] == sorted(u["code"] for u in units)
    for feature in features:
        assert feature["id"] == feature["properties"]["code"]
        polygon = shape(feature["geometry"])
        assert polygon.geom_type in ("Polygon", "MultiPolygon")
        assert polygon.is_valid
        assert 10.3 < polygon.centroid.x < 11.0, "lon first, Oslo"
        assert 59.7 < polygon.centroid.y < 60.2
        assert all(part.exterior.is_ccw for part in getattr(polygon, "geoms", [polygon])), (
            "RFC 7946: exterior rings counter-clockwise"
        )
        assert {"lon", "lat", "wkt", "geometry"}.isdisjoint(feature["properties"])
    rows = read_csv((await export(client, "coverage.csv", **COVERAGE)).content)
    assert [row["code"] for row in rows] == [u["code"] for u in units]
    assert list(rows[0])[-3:] == ["lon", "lat", "wkt"]
    for row, feature in zip(rows, features, strict=True):
        polygon = wkt.loads(row["wkt"])
        assert polygon.equals_exact(shape(feature["geometry"]), 1e-7)
        assert polygon.contains(Point(float(row["lon"]), float(row["lat"]))), (
            "lon/lat is a point inside the unit"
        )
        assert row["covered"] == ("true" if feature["properties"]["covered"] else "false")


async def test_coverage_of_an_initiative_or_a_box_and_of_venues(client):
    rows = read_csv(
        (
            await export(
                client,
                "coverage.csv",
                areaInitiative="groruddalen",
                withinMeters="500",
                unitKind="GRID_1KM",
                target="VENUE",
                eveningOrWeekend="true",
            )
        ).content
    )
    assert rows
    assert {row["municipality_number"] for row in rows} == {"0301"}
    boxed = read_csv(
        (
            await export(
                client,
                "coverage.csv",
                bbox="10.70,59.90,10.80,59.95",
                withinMeters="300",
                unitKind="grid_1km",
            )
        ).content
    )
    assert 10 < len(boxed) < 60
    empty = read_csv(
        (
            await export(
                client,
                "coverage.csv",
                municipality="0301",
                withinMeters="500",
                unitKind="GRID_250M",
            )
        ).content
    )
    assert empty == [], "no 250 m cells are bundled: a header and no rows"


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("withinMeters=500&unitKind=GRID_1KM", 400, "area"),
        ("municipality=0301&bbox=10,59,11,60&withinMeters=500&unitKind=GRID_1KM", 400, "area"),
        ("municipality=0301&unitKind=GRID_1KM", 400, "withinMeters"),
        ("municipality=0301&withinMeters=0&unitKind=GRID_1KM", 400, "withinMeters"),
        ("municipality=0301&withinMeters=far&unitKind=GRID_1KM", 400, "withinMeters"),
        ("municipality=0301&withinMeters=nan&unitKind=GRID_1KM", 400, "withinMeters"),
        ("municipality=0301&withinMeters=500", 400, "unitKind"),
        ("municipality=0301&withinMeters=500&unitKind=HEXAGON", 400, "unitKind"),
        ("municipality=301&withinMeters=500&unitKind=GRID_1KM", 400, "municipality"),
        ("bbox=10,59,11&withinMeters=500&unitKind=GRID_1KM", 400, "bbox"),
        ("bbox=11,59,10,60&withinMeters=500&unitKind=GRID_1KM", 400, "bbox"),
        ("areaInitiative=a%20b&withinMeters=500&unitKind=GRID_1KM", 400, "areaInitiative"),
        ("municipality=0301&withinMeters=500&unitKind=GRID_1KM&target=PEOPLE", 400, "target"),
        (
            "municipality=0301&withinMeters=500&unitKind=GRID_1KM&language=ar&ownerType=STATE",
            400,
            "target",
        ),
        (
            "municipality=0301&withinMeters=500&unitKind=GRID_1KM&target=ACTIVITY&ownerType=STATE",
            400,
            "ownerType",
        ),
        ("municipality=0301&withinMeters=500&unitKind=GRID_1KM&language=klingon", 400, "language"),
        ("municipality=0301&withinMeters=500&unitKind=GRID_1KM&age=3", 400, "age"),
        ("municipality=9999&withinMeters=500&unitKind=GRID_1KM", 404, "municipality"),
        ("areaInitiative=nowhere&withinMeters=500&unitKind=GRID_1KM", 404, "areaInitiative"),
    ],
)
async def test_bad_coverage_parameters(client, query, status, field):
    response = await client.get(f"/export/coverage.geojson?{query}")
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == ("BAD_USER_INPUT" if status == 400 else "NOT_FOUND")
    assert error["field"] == field, error
    assert error["reason"]


# --- the docs ----------------------------------------------------------------------------------

DOCS = (PROJECT_ROOT / "docs" / "exports.md").read_text(encoding="utf-8")


def test_the_docs_list_every_column(loaded_conn):
    text = " ".join(DOCS.split())
    for kind in ExportKind:
        assert f"**{kind}**" in text
        assert ", ".join(columns(kind)) in text, f"docs/exports.md lists {kind}' columns"
    coverage = statement_columns(
        coverage_statement(
            loaded_conn, MunicipalityArea("0301"), Target(TargetKind.ACTIVITY), 500.0, "GRID_1KM"
        )
    )
    in_csv = [c.name for c in coverage if c.name != "geometry"]
    assert f"**coverage**: {', '.join(in_csv)}." in text


async def test_every_example_in_the_docs_answers(client):
    block = re.search(r"<!-- examples:start -->(.*?)<!-- examples:end -->", DOCS, re.S)
    assert block, "docs/exports.md lost its example markers"
    paths = re.findall(r"http://127\.0\.0\.1:8000(/export/[^'\s]+)", block.group(1))
    assert len(paths) >= 5
    for path in paths:
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text)
        found = (
            len(read_csv(response.content)) if ".csv" in path else len(response.json()["features"])
        )
        assert found, f"{path} should find something"


# --- private data ------------------------------------------------------------------------------


async def test_no_private_contact_fields_in_any_export(fresh_demo_url):
    engine = sync_engine(fresh_demo_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            for table in (activity, venue):
                conn.execute(
                    sa.update(table).values(
                        contact_name="Kari Privatperson",
                        contact_email="kari@privat.example",
                        contact_phone="+47 99 88 77 66",
                    )
                )
            first = conn.execute(
                sa.select(sa.func.min(activity.c.id)).where(
                    activity.c.status == ActivityStatus.ACTIVE.value
                )
            ).scalar_one()
            conn.execute(
                sa.update(activity)
                .where(activity.c.id == first)
                .values(title='=HYPERLINK("http://evil.example","klikk")')
            )
    finally:
        engine.dispose()
    settings = load_settings(database_url=fresh_demo_url.render_as_string(hide_password=False))
    async with http_client(create_app(settings)) as client:
        for kind in ("activities", "venues", "councils"):
            for fmt in ("csv", "geojson"):
                body = (await export(client, f"{kind}.{fmt}")).content
                assert body.count(b"\n") > 5
                for secret in (b"Kari", b"privat.example", b"99 88 77 66", b"contact_"):
                    assert secret not in body, (kind, fmt, secret)
        rows = read_csv((await export(client, "activities.csv")).content)
        evil = next(row for row in rows if row["id"] == gid("Activity", first))
        assert evil["title"] == '\'=HYPERLINK("http://evil.example","klikk")', (
            "a formula is shown as text in a spreadsheet"
        )
        features = (await export(client, "activities.geojson")).json()["features"]
        assert next(f for f in features if f["id"] == evil["id"])["properties"]["title"].startswith(
            "=HYPERLINK"
        ), "GeoJSON keeps the value as it is"


# --- streaming ---------------------------------------------------------------------------------


class Download:
    """Drives the ASGI app directly (httpx's ASGITransport buffers the whole body), counting
    the body's bytes and lines without keeping them."""

    def __init__(self, on_first_chunk: Callable[[], Any] | None = None, keep: bool = False) -> None:
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.size = 0
        self.lines = 0
        self.chunks = 0
        self.first_at: float | None = None
        self.done_at: float | None = None
        self.on_first_chunk = on_first_chunk
        self.first_chunk_result: Any = None
        self.body = bytearray() if keep else None
        self.block = asyncio.Event()
        self.blocking = False

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode(): v.decode() for k, v in message["headers"]}
            return
        chunk = message.get("body", b"")
        if chunk:
            self.chunks += 1
            self.size += len(chunk)
            self.lines += chunk.count(b"\n")
            if self.body is not None:
                self.body += chunk
            if self.first_at is None:
                self.first_at = time.perf_counter()
                if self.on_first_chunk is not None:
                    self.first_chunk_result = self.on_first_chunk()
                if self.blocking:
                    await self.block.wait()
        if not message.get("more_body", False):
            self.done_at = time.perf_counter()


def scope_for(path: str, state: dict[str, Any], spec_version: str = "2.4") -> dict[str, Any]:
    target, _, query = path.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": spec_version},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": target,
        "raw_path": target.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"hverdag.test")],
        "client": ("127.0.0.1", 50000),
        "server": ("hverdag.test", 80),
        "state": dict(state),
    }


@asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[dict[str, Any]]:
    async with app.router.lifespan_context(app) as state:
        yield dict(state or {})


async def get(
    app: Starlette,
    state: dict[str, Any],
    path: str,
    download: Download,
    disconnect: asyncio.Event | None = None,
) -> Download:
    async def receive() -> dict[str, Any]:
        if disconnect is None:
            await asyncio.Event().wait()  # spec 2.4: never asked while streaming
        else:
            await disconnect.wait()
        return {"type": "http.disconnect"}

    await app(scope_for(path, state, "2.3" if disconnect else "2.4"), receive, download.send)
    return download


def _rss() -> int:
    with open("/proc/self/statm") as statm:  # noqa: PTH123
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _release_free_memory() -> None:
    """Collect garbage and hand free heap back to the OS (glibc), so the resident set is close
    to what is live and growth shows up as growth."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class PeakRss:
    """Samples the process's resident set every few milliseconds in a thread."""

    def __init__(self) -> None:
        _release_free_memory()
        self.start = _rss()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss())
            self._stop.wait(0.002)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def growth(self) -> int:
        return self.peak - self.start


BULK = "bulk-export-test"
COPIES = 25
COPIED = (
    "title",
    "description",
    "category",
    "organisation_id",
    "venue_id",
    "geom",
    "municipality_number",
    "target_groups",
    "min_age",
    "max_age",
    "languages",
    "free",
    "cost_nok",
    "leisure_card_accepted",
    "registration_required",
    "registration_url",
    "status",
    "url",
)


def multiply_activities(conn: sa.Connection, copies: int) -> int:
    """``copies`` more of every activity (INSERT … SELECT with generate_series), each with a
    weekly session; returns the number of active activities. The activity table's secondary
    indexes go first (the export reads by primary key): they would make the set-up, not the
    export, take most of the test's time."""
    for index in activity.indexes:
        index.drop(conn)
    a = activity.c
    n = sa.func.generate_series(1, copies).table_valued("n").render_derived()
    conn.execute(
        sa.insert(activity).from_select(
            [*COPIED, "source", "external_id"],
            sa.select(
                *(a[name] for name in COPIED), sa.literal(BULK), sa.func.concat(a.id, "-", n.c.n)
            ).select_from(activity.join(n, sa.true())),
        )
    )
    conn.execute(
        sa.insert(activity_schedule).from_select(
            ["activity_id", "weekday", "starts", "ends"],
            sa.select(
                a.id, a.id % 7 + 1, sa.literal(clock(17, 0)), sa.literal(clock(19, 30))
            ).where(a.source == BULK),
        )
    )
    conn.exec_driver_sql("ANALYZE activity, activity_schedule")
    return conn.execute(
        sa.select(sa.func.count()).where(
            a.archived_at.is_(None), a.status == ActivityStatus.ACTIVE.value
        )
    ).scalar_one()


async def test_200k_activities_stream_in_constant_memory(fresh_demo_url):
    begun = time.perf_counter()
    engine = sync_engine(fresh_demo_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            total = multiply_activities(conn, COPIES)
        prepared = time.perf_counter()
        assert total > 190_000

        def export_cursor_is_open() -> list[tuple[str, str]]:
            """The export's backend, seen from another session while the first bytes arrive:
            idle in its transaction with the cursor open, more rows still to fetch."""
            with engine.connect() as other:
                return [
                    tuple(row)
                    for row in other.execute(
                        sa.text(
                            "SELECT state, left(query, 40) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                            "AND backend_type = 'client backend'"
                        )
                    )
                ]

        settings = load_settings(database_url=fresh_demo_url.render_as_string(hide_password=False))
        app = create_app(settings)
        async with running(app) as state:
            warm = await get(app, state, "/export/activities.csv?municipality=0301", Download())
            assert warm.status == 200
            download = Download(on_first_chunk=export_cursor_is_open)
            with PeakRss() as rss:
                started = time.perf_counter()
                await get(app, state, "/export/activities.csv", download)
    finally:
        engine.dispose()
    mib = 1024 * 1024
    first_byte_s = (download.first_at or started) - started
    total_s = (download.done_at or started) - started
    print(
        f"\n{total} activities, {download.size / mib:.0f} MiB of CSV in {total_s:.1f} s; "
        f"first bytes after {first_byte_s * 1000:.0f} ms; peak RSS growth "
        f"{rss.growth / mib:.1f} MiB; set-up {prepared - begun:.1f} s"
    )
    assert download.status == 200
    assert download.lines == total + 1, "a header and every row"
    assert download.chunks >= total // 1000, "one chunk per batch of 1000 rows"
    sessions = download.first_chunk_result
    assert any(
        state == "idle in transaction" and query.startswith(("FETCH", "DECLARE"))
        for state, query in sessions
    ), sessions
    assert download.first_at is not None
    assert download.done_at is not None
    assert download.size > 50 * mib
    assert rss.growth < 50 * mib
    assert rss.growth < download.size / 4


async def test_a_client_that_leaves_frees_the_connection_and_the_cap_holds(api_settings):
    settings = api_settings.model_copy(update={"pool_size": 2})  # one export at a time
    app = create_app(settings)
    async with running(app) as state:
        engine = state["engine"]
        slow = Download()
        slow.blocking = True  # the client stops reading after the first chunk
        gone = asyncio.Event()
        first = asyncio.create_task(get(app, state, "/export/activities.csv", slow, gone))
        while slow.first_at is None:
            await asyncio.sleep(0.01)
        busy = await get(app, state, "/export/venues.csv", Download(keep=True))
        assert busy.status == 503
        assert busy.headers["retry-after"]
        assert json.loads(bytes(busy.body))["error"]["code"] == "UNAVAILABLE"
        gone.set()
        await asyncio.wait_for(first, 5)
        assert slow.done_at is None, "the stream stopped when the client left"
        assert engine.sync_engine.pool.checkedout() == 0, "the connection went back"
        again = await get(app, state, "/export/councils.csv", Download())
        assert again.status == 200
