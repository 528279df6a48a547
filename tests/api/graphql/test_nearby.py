"""`nearby` over GraphQL on the demo data: pages, order, counts, kinds, every filter, the
Norwegian text search, councils, bad input, and a fixed number of statements per request."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import pytest
import sqlalchemy as sa

from geo.tables import county, immigrant_council, municipality
from tests.api.conftest import bad_input
from tests.api.directory_checks import (
    KIND_RANK,
    NODE_FIELDS,
    db_id,
    matches,
    plain,
    plane_distance,
    walk,
)

pytestmark = pytest.mark.anyio

PAGE = """query ($lat: Float!, $lon: Float!, $radius: Float!, $first: Int, $after: String,
                 $kinds: [PlaceKind!], $filter: DirectoryFilterInput) {
  nearby(at: {lat: $lat, lon: $lon}, radiusMeters: $radius, first: $first, after: $after,
         kinds: $kinds, filter: $filter) {
    totalCount
    edges { cursor distanceMeters node {
      __typename
      ... on Activity { id location { lat lon } }
      ... on Venue { id location { lat lon } }
      ... on ImmigrantCouncil { id }
    } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}"""

DETAILED = PAGE.replace(
    """__typename
      ... on Activity { id location { lat lon } }
      ... on Venue { id location { lat lon } }
      ... on ImmigrantCouncil { id }""",
    NODE_FIELDS,
)

OSLO_CENTRE = (59.9139, 10.7522)  # Stortinget; the Røde Kors activity's point, in Oslo's council
OSLO = (59.91, 10.75)
FURUSET = (59.9420, 10.8920)
KROHNBORG = (60.3712, 5.3420)  # Ny-Krohnborgsenteret, Bergen: a venue with its activity
KAUTOKEINO = (69.0125, 23.0412)

WALKS = [
    (OSLO_CENTRE, 600),
    (OSLO_CENTRE, 1200),
    (FURUSET, 6000),
    (KROHNBORG, 4000),
    (KAUTOKEINO, 50_000),
]


def _key(edge: dict) -> tuple[str, int]:
    return edge["node"]["__typename"], db_id(edge["node"]["id"])


def _check_order(edges: list[dict], at: tuple[float, float], radius: float) -> None:
    distances = [e["distanceMeters"] for e in edges]
    assert distances == sorted(distances)
    assert all(0 <= d <= radius for d in distances)
    for before, after in pairwise(edges):
        same_place = before["distanceMeters"] == after["distanceMeters"] == 0 or (
            before["node"].get("location") is not None
            and before["node"].get("location") == after["node"].get("location")
        )
        if same_place:  # an exact tie: by kind (activity, venue, council), then by id
            rank = (KIND_RANK[before["node"]["__typename"]], db_id(before["node"]["id"]))
            assert rank < (KIND_RANK[after["node"]["__typename"]], db_id(after["node"]["id"]))
    for edge in edges:  # the distance is the plane distance to the row's point
        if (location := edge["node"].get("location")) is not None:
            assert edge["distanceMeters"] == pytest.approx(plane_distance(*at, location), abs=0.1)


@pytest.mark.parametrize(("at", "radius"), WALKS)
@pytest.mark.parametrize("size", [7, 20])
async def test_pages_walk_every_place_once_nearest_first(gql, at, radius, size):
    variables = {"lat": at[0], "lon": at[1], "radius": radius}
    edges, pages = await walk(gql, PAGE, variables, "nearby", size)
    keys = [_key(e) for e in edges]
    assert len(set(keys)) == len(keys), "a place on two pages"
    _check_order(edges, at, radius)
    total = (await gql.data(PAGE, {**variables, "first": 0}))["nearby"]["totalCount"]
    assert total == len(edges) > 0
    if total < 100:
        big = (await gql.data(PAGE, {**variables, "first": 100}))["nearby"]
        assert [_key(e) for e in big["edges"]] == keys
        assert big["pageInfo"]["hasNextPage"] is False
    else:
        assert len(pages) > 100 // size


async def test_ties_at_the_same_point_keep_their_order_across_pages(gql):
    # Around Oslo's centre, activities share their venue's point: many exact ties. Pages of one
    # cut through them; the walk must still equal one page of all.
    variables = {"lat": OSLO_CENTRE[0], "lon": OSLO_CENTRE[1], "radius": 800}
    edges, _ = await walk(gql, PAGE, variables, "nearby", 1)
    locations = [e["node"].get("location") for e in edges if e["node"].get("location")]
    assert len(locations) - len({(p["lat"], p["lon"]) for p in locations}) >= 3, "few ties"
    big = await gql.data(PAGE, {**variables, "first": 100})
    assert [_key(e) for e in edges] == [_key(e) for e in big["nearby"]["edges"]]


@pytest.mark.parametrize(
    "kinds", [["ACTIVITY"], ["VENUE"], ["COUNCIL"], ["ACTIVITY", "COUNCIL"], ["VENUE", "VENUE"]]
)
async def test_kinds(gql, kinds):
    variables = {"lat": OSLO_CENTRE[0], "lon": OSLO_CENTRE[1], "radius": 600, "first": 100}
    everything = (await gql.data(PAGE, variables))["nearby"]["edges"]
    some = (await gql.data(PAGE, {**variables, "kinds": kinds}))["nearby"]
    wanted = {
        {"ACTIVITY": "Activity", "VENUE": "Venue", "COUNCIL": "ImmigrantCouncil"}[k] for k in kinds
    }
    assert some["edges"]
    assert [_key(e) for e in some["edges"]] == [
        _key(e) for e in everything if e["node"]["__typename"] in wanted
    ]
    assert some["totalCount"] == len(some["edges"])


# --- each filter alone ------------------------------------------------------------------------

TUESDAY_IN_TERM = "2026-09-08"  # the generated schedules' autumn term: 2026-08-17 to 12-18
TUESDAY_IN_SUMMER = "2026-07-07"  # between the terms

FILTERS = [
    {"categories": ["HOMEWORK_HELP", "SPORTS"]},
    {"categories": ["LANGUAGE_CAFE"]},
    {"targetGroups": ["YOUTH", "WOMEN"]},
    {"age": 10},
    {"age": 0},
    {"languages": ["ar"]},
    {"languages": ["so", "ti"]},
    {"freeOnly": True},
    {"leisureCardAccepted": True},
    {"openAt": {"weekday": "TUESDAY", "time": "18:00", "on": TUESDAY_IN_TERM}},
    {"openAt": {"weekday": "TUESDAY", "time": "18:00", "on": TUESDAY_IN_SUMMER}},
    {"during": {"weekday": "SATURDAY", "from": "10:00", "to": "12:00", "on": TUESDAY_IN_TERM}},
    {"ownerTypes": ["MUNICIPALITY"]},
    {"priceModels": ["FREE", "REDUCED"]},
    {"stepFree": True},
    {"stepFree": False},
    {"municipality": "0301"},
]


async def test_each_filter_alone_returns_exactly_the_matching_places(gql):
    """Every filter but text, checked in Python against the rows the API returns: the
    filtered answer must be exactly the unfiltered answer's rows that match."""
    variables = {"lat": OSLO[0], "lon": OSLO[1], "radius": 1000}
    everything, _ = await walk(gql, DETAILED, variables, "nearby", 50)
    kinds = {e["node"]["__typename"] for e in everything}
    assert kinds == {"Activity", "Venue", "ImmigrantCouncil"}
    for filt in FILTERS:
        found, _ = await walk(gql, DETAILED, {**variables, "filter": filt}, "nearby", 50)
        expected = [_key(e) for e in everything if matches(e["node"], filt)]
        assert [_key(e) for e in found] == expected, filt
        assert found, filt
        if "municipality" not in filt:  # all of it lies in Oslo
            assert len(found) < len(everything), filt
        assert all(matches(e["node"], filt) for e in found), filt


async def test_filters_together(gql):
    filt = {
        "categories": ["HOMEWORK_HELP", "LANGUAGE_CAFE"],
        "age": 12,
        "freeOnly": True,
        "openAt": {"weekday": "MONDAY", "time": "18:00", "on": TUESDAY_IN_TERM},
    }
    variables = {"lat": OSLO[0], "lon": OSLO[1], "radius": 3000, "first": 100}
    found = (await gql.data(DETAILED, {**variables, "filter": filt}))["nearby"]["edges"]
    assert found
    assert all(matches(e["node"], filt) for e in found)


# --- text ---------------------------------------------------------------------------------------

TEXT = """query ($text: String!) {
  nearby(at: {lat: 59.91, lon: 10.75}, radiusMeters: 3000, first: 100, filter: {text: $text}) {
    totalCount
    edges { node { __typename ... on Activity { id title description }
                   ... on Venue { id name description } ... on ImmigrantCouncil { id name } } }
  }
}"""


async def _texts(gql, text: str) -> tuple[int, list[dict]]:
    data = (await gql.data(TEXT, {"text": text}))["nearby"]
    return data["totalCount"], [e["node"] for e in data["edges"]]


def _document(node: dict) -> str:
    return plain(f"{node.get('title') or node.get('name')} {node.get('description') or ''}")


async def test_text_finds_homework_help_however_it_is_typed(gql):
    total, exact = await _texts(gql, "leksehjelp")
    assert total > 0
    assert all("leksehjelp" in _document(n) for n in exact)
    ids = {n["id"] for n in exact}
    for typed in ("LEKSEHJELP", "lekshjelp"):
        assert {n["id"] for n in (await _texts(gql, typed))[1]} == ids, typed
    prefix_total, prefix = await _texts(gql, "lekse")
    assert prefix_total >= total
    assert ids <= {n["id"] for n in prefix}
    assert all("lekse" in _document(n) for n in prefix)


async def test_text_finds_language_cafes_typed_without_accents(gql):
    total, accented = await _texts(gql, "språkkafé")
    assert total > 0
    assert all("sprakkafe" in _document(n) for n in accented)
    for typed in ("sprakkafe", "SPRÅKKAFE"):
        assert {n["id"] for n in (await _texts(gql, typed))[1]} == {n["id"] for n in accented}, (
            typed
        )


async def test_text_that_matches_nothing(gql):
    assert await _texts(gql, "xylofonorkester") == (0, [])
    # Only whitespace is no filter at all.
    everything = (await gql.data(PAGE, {"lat": 59.91, "lon": 10.75, "radius": 3000, "first": 0}))[
        "nearby"
    ]["totalCount"]
    assert (await _texts(gql, "   "))[0] == everything


# --- councils ---------------------------------------------------------------------------------

COUNCILS = """query ($lat: Float!, $lon: Float!, $filter: DirectoryFilterInput) {
  nearby(at: {lat: $lat, lon: $lon}, radiusMeters: 20000, first: 100, filter: $filter) {
    edges { distanceMeters node { __typename ... on ImmigrantCouncil { id name } } }
  }
}"""


async def test_oslo_council_is_at_distance_zero_inside_oslo(gql):
    edges = (await gql.data(COUNCILS, {"lat": OSLO[0], "lon": OSLO[1]}))["nearby"]["edges"]
    assert edges[0]["node"]["__typename"] == "ImmigrantCouncil"  # before all at 0.0 m or more
    edges = (
        await gql.data(
            COUNCILS.replace("first: 100", "first: 100, kinds: [COUNCIL]"),
            {"lat": OSLO[0], "lon": OSLO[1]},
        )
    )["nearby"]["edges"]
    first = edges[0]
    assert first["distanceMeters"] == 0
    assert first["node"] == {
        "__typename": "ImmigrantCouncil",
        "id": first["node"]["id"],
        "name": "Rådet for innvandrerorganisasjoner",
    }
    # Viken's county council serves the counties around Oslo: not 0 from inside Oslo.
    viken = [e for e in edges if e["node"].get("name") == "Viken flerkulturelle råd"]
    assert viken
    assert viken[0]["distanceMeters"] > 0


@pytest.mark.parametrize(
    "filt",
    [
        {"age": 10},
        {"age": 0},
        {"languages": ["ar"]},
        {"targetGroups": ["CHILDREN"]},
        {"freeOnly": True},
        {"stepFree": False},
        {"leisureCardAccepted": True},
        {"categories": ["LANGUAGE_CAFE"]},
    ],
)
async def test_councils_are_left_out_by_filters_they_have_no_attribute_for(gql, filt):
    edges = (await gql.data(COUNCILS, {"lat": OSLO[0], "lon": OSLO[1], "filter": filt}))["nearby"][
        "edges"
    ]
    assert edges
    assert {e["node"]["__typename"] for e in edges} <= {"Activity", "Venue"}


@pytest.mark.parametrize("filt", [{"municipality": "0301"}, {"text": "innvandrerorganisasjoner"}])
async def test_councils_stay_with_text_and_municipality(gql, filt):
    edges = (await gql.data(COUNCILS, {"lat": OSLO[0], "lon": OSLO[1], "filter": filt}))["nearby"][
        "edges"
    ]
    assert "Rådet for innvandrerorganisasjoner" in {e["node"].get("name") for e in edges}


async def test_every_active_council_is_found_inside_the_area_it_serves(gql, loaded_conn):
    """From a point inside the municipality it serves, or its county for a county council or a
    body with no municipality, each active council is at distance 0."""
    c = immigrant_council.c
    inside = sa.func.ST_Transform(
        sa.func.ST_PointOnSurface(sa.func.coalesce(municipality.c.geom, county.c.geom)), 4326
    )
    rows = loaded_conn.execute(
        sa.select(
            c.id, c.name, sa.func.ST_Y(inside).label("lat"), sa.func.ST_X(inside).label("lon")
        )
        .select_from(
            immigrant_council.outerjoin(
                municipality,
                sa.and_(municipality.c.number == c.municipality_number, c.level != "COUNTY"),
            ).outerjoin(county, county.c.number == c.county_number)
        )
        .where(c.status == "ACTIVE", c.archived_at.is_(None))
    ).all()
    assert len(rows) >= 10
    query = """query ($lat: Float!, $lon: Float!) { nearby(at: {lat: $lat, lon: $lon},
        radiusMeters: 1, first: 100, kinds: [COUNCIL]) {
        edges { distanceMeters node { ... on ImmigrantCouncil { id name } } } } }"""
    for row in rows:
        edges = (await gql.data(query, {"lat": row.lat, "lon": row.lon}))["nearby"]["edges"]
        found = {db_id(e["node"]["id"]): e["distanceMeters"] for e in edges}
        assert found.get(row.id) == 0, row.name


# --- bad input ----------------------------------------------------------------------------------

BAD = """query ($radius: Float, $first: Int, $after: String, $filter: DirectoryFilterInput) {
  nearby(at: {lat: 59.91, lon: 10.75}, radiusMeters: $radius, first: $first, after: $after,
         filter: $filter) { totalCount edges { cursor } } }"""


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"radius": 0}, "radiusMeters"),
        ({"radius": -5}, "radiusMeters"),
        ({"radius": 100_001}, "radiusMeters"),
        ({"first": 101}, "first"),
        ({"first": -1}, "first"),
        ({"filter": {"age": -1}}, "filter.age"),
        ({"filter": {"age": 121}}, "filter.age"),
        ({"filter": {"languages": ["xx1"]}}, "filter.languages"),
        ({"filter": {"text": "leksehjelp" * 1000}}, "filter.text"),  # 10,000 characters
        ({"filter": {"municipality": "301"}}, "filter.municipality"),
        (
            {"filter": {"during": {"weekday": "MONDAY", "from": "18:00", "to": "17:00"}}},
            "filter.during.to",
        ),
        ({"after": "garbage"}, "after"),
        ({"after": ""}, "after"),
        ({"filter": {"openAt": {"weekday": "TUESDAY", "time": "25:00"}}}, None),
        ({"filter": {"openAt": {"weekday": "TUESDAY", "time": "18:61"}}}, None),
        ({"filter": {"openAt": {"weekday": "FUNDAY", "time": "18:00"}}}, None),
        ({"filter": {"openAt": {"weekday": 8, "time": "18:00"}}}, None),
        ({"filter": {"categories": ["FOO"]}}, None),
        ({"radius": "far"}, None),
    ],
    ids=lambda v: str(v)[:40],
)
async def test_bad_input_over_http(client, variables, field):
    response = await client.post("/graphql", json={"query": BAD, "variables": variables})
    assert response.status_code == 200
    error = bad_input(response.json())
    if field is not None:
        assert error["extensions"]["field"] == field


@pytest.mark.parametrize(
    "document",
    [
        "{ nearby(at: {lat: 59.91, lon: 10.75}, kinds: [SPACESHIP]) { totalCount } }",
        "{ nearby(at: {lat: 59.91, lon: 10.75}, filter: {categories: [FOO]}) { totalCount } }",
        "{ nearby(at: {lat: 59.91, lon: 10.75}, "
        'filter: {openAt: {weekday: TUESDAY, time: "25:00"}})'
        " { totalCount } }",
        "{ nearby(at: {lat: 59.91, lon: 10.75}, "
        'filter: {openAt: {weekday: TUESDAY, time: "18:61"}})'
        " { totalCount } }",
        '{ nearby(at: {lat: 59.91, lon: 10.75}, filter: {openAt: {weekday: 8, time: "18:00"}})'
        " { totalCount } }",
        "{ nearby(at: {lat: 91, lon: 10.75}) { totalCount } }",
    ],
    ids=["kind", "category", "hour", "minute", "weekday", "latitude"],
)
async def test_bad_literals_over_http(client, document):
    response = await client.post("/graphql", json={"query": document})
    assert response.status_code == 200
    body = response.json()
    bad_input(body)
    assert body.get("data") is None


async def test_a_cursor_of_another_list_is_bad_input(gql):
    others = await gql.data("""{
        activities(first: 1) { pageInfo { endCursor } }
        near: activities(first: 1, near: {at: {lat: 59.91, lon: 10.75}}) { pageInfo { endCursor } }
        venues(first: 1, near: {at: {lat: 59.91, lon: 10.75}}) { pageInfo { endCursor } }
        changes(since: "2020-01-01T00:00:00Z", first: 1) { pageInfo { endCursor } }
        municipalities(first: 1) { pageInfo { endCursor } } }""")
    for name, page in others.items():
        cursor = page["pageInfo"]["endCursor"]
        assert cursor, name
        error = bad_input(await gql(BAD, {"after": cursor}))
        assert error["extensions"]["field"] == "after", name
    # And a nearby cursor is no cursor of the lists by distance of one kind.
    mine = await gql.data(PAGE, {"lat": 59.91, "lon": 10.75, "radius": 500, "first": 1})
    cursor = mine["nearby"]["pageInfo"]["endCursor"]
    bad_input(
        await gql(
            """query ($after: String) { activities(after: $after,
        near: {at: {lat: 59.91, lon: 10.75}}) { totalCount } }""",
            {"after": cursor},
        )
    )


# --- statements -----------------------------------------------------------------------------------

DEEP = """query ($lat: Float!, $lon: Float!, $first: Int) {
  nearby(at: {lat: $lat, lon: $lon}, first: $first) { edges { node {
    ... on Activity { schedule { weekday } organiser { name }
                      venue { name availability { weekday } } municipality { name } }
    ... on Venue { availability { weekday } activities { title } } } } } }"""


@pytest.mark.parametrize("at", [KROHNBORG, OSLO_CENTRE])
async def test_nested_fields_take_a_fixed_number_of_statements(gql, count_statements, at):
    counts = []
    for first in (5, 50):
        count_statements.statements.clear()
        data = await gql.data(DEEP, {"lat": at[0], "lon": at[1], "first": first})
        nodes = [e["node"] for e in data["nearby"]["edges"]]
        assert len(nodes) == first
        # Every nested loader has work on both pages: an activity with an organiser and a
        # venue, and a venue.
        assert any(n.get("organiser") for n in nodes[:5])
        assert any(n.get("venue") for n in nodes[:5])
        assert any("activities" in n for n in nodes[:5])
        counts.append(len(count_statements.statements))
    # The three kinds' nearest rows; schedules, organisers, venues, municipalities,
    # availability and the venues' activities: one statement per loader and nesting level (a
    # venue's availability asked at two depths is two batches), however long the page.
    assert counts[0] == counts[1], count_statements.statements
    assert 9 <= counts[0] <= 10, count_statements.statements


def test_dates_used_here_are_tuesdays():
    assert date.fromisoformat(TUESDAY_IN_TERM).isoweekday() == 2
    assert date.fromisoformat(TUESDAY_IN_SUMMER).isoweekday() == 2
