"""The directory over GraphQL on the demo data: activities and venues (by name and near a
point), changes(since:) with tombstones, node(id:), area initiatives, a municipality's lists,
relations both ways, whereAmI's districts, and a fixed number of statements for nested lists."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from api.app import create_app
from geo.db import sync_engine
from geo.settings import load_settings
from geo.tables import DIRECTORY_TABLES, activity, area_initiative, organisation, venue
from tests.api.conftest import bad_input, http_client
from tests.api.directory_checks import db_id, global_id, global_key, plane_distance, walk

pytestmark = pytest.mark.anyio

OSLO = (59.91, 10.75)

LIST = """query ($first: Int, $after: String, $filter: DirectoryFilterInput, $near: NearInput) {
  FIELD(first: $first, after: $after, filter: $filter, near: $near) {
    totalCount
    edges { cursor distanceMeters node { id NAME location { lat lon } } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}"""
ACTIVITIES = LIST.replace("FIELD", "activities").replace("NAME", "title")
VENUES = LIST.replace("FIELD", "venues").replace("NAME", "name")


def _active_activities(conn: sa.Connection, *conditions: sa.ColumnElement[bool]) -> list[int]:
    a = activity.c
    return list(
        conn.execute(
            sa.select(a.id)
            .where(a.archived_at.is_(None), a.status == "ACTIVE", *conditions)
            .order_by(a.title, a.id)
        ).scalars()
    )


def _venues(conn: sa.Connection, *conditions: sa.ColumnElement[bool]) -> list[int]:
    v = venue.c
    return list(
        conn.execute(
            sa.select(v.id).where(v.archived_at.is_(None), *conditions).order_by(v.name, v.id)
        ).scalars()
    )


# --- activities and venues ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            ACTIVITIES,
            lambda conn: _active_activities(conn, activity.c.municipality_number == "0301"),
        ),
        (VENUES, lambda conn: _venues(conn, venue.c.municipality_number == "0301")),
    ],
    ids=["activities", "venues"],
)
async def test_by_name_without_near(gql, loaded_conn, query, expected):
    field = "activities" if query is ACTIVITIES else "venues"
    name = "title" if query is ACTIVITIES else "name"
    edges, pages = await walk(gql, query, {"filter": {"municipality": "0301"}}, field, 100)
    ids = [db_id(e["node"]["id"]) for e in edges]
    # The database's own order by name (its collation), then id: no row skipped or repeated.
    assert ids == expected(loaded_conn)
    assert len(pages) > 5
    assert all(e["distanceMeters"] is None for e in edges)
    names = [e["node"][name] for e in edges]
    assert len(set(names)) < len(names), "no equal names to cut through"
    total = await gql.data(query, {"first": 0, "filter": {"municipality": "0301"}})
    assert total[field]["totalCount"] == len(edges)


@pytest.mark.parametrize("field", ["activities", "venues"])
@pytest.mark.parametrize(("at", "radius"), [(OSLO, 700), ((60.3712, 5.3420), 5000)])
async def test_near_is_nearest_first(gql, field, at, radius):
    query = ACTIVITIES if field == "activities" else VENUES
    variables = {"near": {"at": {"lat": at[0], "lon": at[1]}, "radiusMeters": radius}}
    edges, _ = await walk(gql, query, variables, field, 20)
    assert edges
    keys = [(e["distanceMeters"], db_id(e["node"]["id"])) for e in edges]
    assert len({k[1] for k in keys}) == len(keys)
    assert [k[0] for k in keys] == sorted(k[0] for k in keys)
    assert keys[-1][0] <= radius
    for edge in edges:
        assert global_key(edge["node"]["id"])[0] == (
            "Activity" if field == "activities" else "Venue"
        )
        assert edge["distanceMeters"] == pytest.approx(
            plane_distance(*at, edge["node"]["location"]), abs=0.1
        )
    big = (await gql.data(query, {**variables, "first": 100}))[field]
    assert big["totalCount"] == len(edges)
    if len(edges) < 100:
        assert [db_id(e["node"]["id"]) for e in big["edges"]] == [k[1] for k in keys]


async def test_filter_and_near_together(gql):
    variables = {
        "first": 100,
        "filter": {"categories": ["LANGUAGE_CAFE"], "freeOnly": True},
        "near": {"at": {"lat": OSLO[0], "lon": OSLO[1]}, "radiusMeters": 3000},
    }
    data = await gql.data(
        """query ($first: Int, $filter: DirectoryFilterInput,
        $near: NearInput) { activities(first: $first, filter: $filter, near: $near) {
        totalCount edges { distanceMeters node { category cost { free } } } } }""",
        variables,
    )
    edges = data["activities"]["edges"]
    assert edges
    assert {(e["node"]["category"], e["node"]["cost"]["free"]) for e in edges} == {
        ("LANGUAGE_CAFE", True)
    }


async def test_a_by_name_cursor_is_not_a_near_cursor(gql):
    page = await gql.data(ACTIVITIES, {"first": 1})
    cursor = page["activities"]["pageInfo"]["endCursor"]
    error = bad_input(
        await gql(ACTIVITIES, {"after": cursor, "near": {"at": {"lat": OSLO[0], "lon": OSLO[1]}}})
    )
    assert error["extensions"]["field"] == "after"
    bad_input(await gql(VENUES, {"after": cursor}))


# --- changes ------------------------------------------------------------------------------------

CHANGES = """query ($since: DateTime!, $first: Int, $after: String) {
  changes(since: $since, first: $first, after: $after) {
    totalCount
    edges { cursor node { __typename id updatedAt archived version } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}"""


async def test_changes_walk_every_row_once_in_order(gql, loaded_conn):
    since = "2020-01-01T00:00:00Z"
    edges, pages = await walk(gql, CHANGES, {"since": since}, "changes", 100, limit=1000)
    total = (await gql.data(CHANGES, {"since": since, "first": 0}))["changes"]["totalCount"]
    assert total == len(edges)
    in_tables = sum(
        loaded_conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
        for t in DIRECTORY_TABLES
    )
    assert total == in_tables > 12_000
    keys = [(e["node"]["__typename"], e["node"]["id"]) for e in edges]
    assert len(set(keys)) == len(keys)
    stamps = [datetime.fromisoformat(e["node"]["updatedAt"]) for e in edges]
    assert stamps == sorted(stamps)
    assert {k[0] for k in keys} == {
        "Activity",
        "Venue",
        "Organisation",
        "ImmigrantCouncil",
        "AreaInitiative",
    }
    assert not any(e["node"]["archived"] for e in edges)
    assert len(pages) == -(-total // 100)


async def test_changes_since_needs_a_time_zone(gql):
    error = bad_input(await gql(CHANGES, {"since": "2026-11-01T00:00:00", "first": 5}))
    assert error["extensions"]["field"] == "since"
    bad_input(await gql(CHANGES, {"since": "yesterday", "first": 5}))


async def test_changes_page_takes_one_statement_per_kind(gql, count_statements):
    # A page: one indexed statement per directory table (merged in Python), one more, then
    # each kind's rows in one statement: constant, whatever the page size.
    for first in (10, 100):
        count_statements.statements.clear()
        data = await gql.data(CHANGES, {"since": "2020-01-01T00:00:00Z", "first": first})
        assert len(data["changes"]["edges"]) == first
        kinds = {e["node"]["__typename"] for e in data["changes"]["edges"]}
        expected = len(DIRECTORY_TABLES) + 1 + len(kinds)
        assert len(count_statements.statements) == expected, count_statements.statements


async def test_archived_rows_come_back_as_tombstones(fresh_demo_url):
    engine = sync_engine(fresh_demo_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            archived = {}
            for table, external_id in (
                (activity, "rode-kors-norsktrening-oslo"),
                (venue, "ny-krohnborgsenteret"),
            ):
                row = conn.execute(
                    sa.update(table)
                    .where(table.c.external_id == external_id)
                    .values(
                        archived_at=sa.func.clock_timestamp(),
                        updated_at=sa.func.clock_timestamp(),
                        version=table.c.version + 1,
                    )
                    .returning(table.c.id, table.c.updated_at, table.c.version)
                ).one()
                archived[table.name] = row
    finally:
        engine.dispose()
    since = min(r.updated_at for r in archived.values())
    settings = load_settings(database_url=fresh_demo_url.render_as_string(hide_password=False))
    async with http_client(create_app(settings)) as client:

        async def post(query, variables=None):
            response = await client.post("/graphql", json={"query": query, "variables": variables})
            assert response.status_code == 200
            body = response.json()
            assert "errors" not in body, body
            return body["data"]

        data = await post(CHANGES, {"since": since.isoformat(), "first": 10})
        nodes = [e["node"] for e in data["changes"]["edges"]]
        assert data["changes"]["totalCount"] == 2
        assert [(n["__typename"], db_id(n["id"]), n["archived"], n["version"]) for n in nodes] == [
            ("Activity", archived["activity"].id, True, archived["activity"].version),
            ("Venue", archived["venue"].id, True, archived["venue"].version),
        ]
        # The same moment written in another time zone: the same two.
        elsewhere = since.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
        assert (await post(CHANGES, {"since": elsewhere, "first": 10}))["changes"] == data[
            "changes"
        ]
        # Gone from the lists, still reachable by id as a tombstone.
        rode_kors = global_id("Activity", archived["activity"].id)
        near = await post("""{ nearby(at: {lat: 59.9139, lon: 10.7522}, radiusMeters: 1,
            kinds: [ACTIVITY, VENUE]) { edges { node { ... on Activity { id } } } } }""")
        assert rode_kors not in {e["node"].get("id") for e in near["nearby"]["edges"]}
        node = await post(
            "query ($id: ID!) { node(id: $id) { ... on Activity { archived } } }", {"id": rode_kors}
        )
        assert node == {"node": {"archived": True}}
        bergen = await post("""{ municipality(number: "4601") {
            venues(first: 100) { edges { node { name } } } } }""")
        names = {e["node"]["name"] for e in bergen["municipality"]["venues"]["edges"]}
        assert "Ny-Krohnborgsenteret" not in names


# --- node, area initiatives ---------------------------------------------------------------------


async def test_node_round_trips_every_type(gql):
    found = await gql.data("""{
      activities(first: 1) { edges { node { id title organiser { id name } venue { id } } } }
      venues(first: 1) { edges { node { id name } } }
      municipality(number: "0301") { councils { id name } }
      areaInitiatives { id name } }""")
    ids = {
        "Activity": found["activities"]["edges"][0]["node"]["id"],
        "Venue": found["venues"]["edges"][0]["node"]["id"],
        "ImmigrantCouncil": found["municipality"]["councils"][0]["id"],
        "AreaInitiative": found["areaInitiatives"][0]["id"],
    }
    organiser = await gql.data("""{ nearby(at: {lat: 59.9139, lon: 10.7522}, radiusMeters: 1,
        kinds: [ACTIVITY]) { edges { node { ... on Activity { organiser { id } } } } } }""")
    ids["Organisation"] = organiser["nearby"]["edges"][0]["node"]["organiser"]["id"]
    query = """query ($id: ID!) { node(id: $id) { __typename id
        ... on DirectoryEntry { updatedAt archived version } } }"""
    for type_name, node_id in ids.items():
        assert global_key(node_id)[0] == type_name
        node = (await gql.data(query, {"id": node_id}))["node"]
        assert (node["__typename"], node["id"]) == (type_name, node_id)
        assert node["archived"] is False
        assert node["version"] >= 1
        # A well-formed id of nothing is null.
        assert (await gql.data(query, {"id": global_id(type_name, 999_999_999)})) == {"node": None}


async def test_area_initiatives(gql, loaded_conn):
    data = await gql.data("""{ areaInitiatives { id slug name municipality { number } } }""")
    initiatives = data["areaInitiatives"]
    assert [i["name"] for i in initiatives] == [
        "Groruddalen",
        "Oslo indre øst",
        "Søndre Nordstrand",
    ]
    assert (
        len(initiatives)
        == loaded_conn.execute(sa.select(sa.func.count()).select_from(area_initiative)).scalar_one()
    )
    assert {i["municipality"]["number"] for i in initiatives} == {"0301"}
    groruddalen = next(i for i in initiatives if i["slug"] == "groruddalen")
    one = """query ($id: ID!) { areaInitiative(id: $id) { id slug name
        boundary(simplifyMeters: 50) } }"""
    by_slug = (await gql.data(one, {"id": "groruddalen"}))["areaInitiative"]
    by_id = (await gql.data(one, {"id": groruddalen["id"]}))["areaInitiative"]
    assert by_slug == by_id
    assert (by_slug["id"], by_slug["name"]) == (groruddalen["id"], "Groruddalen")
    assert by_slug["boundary"]["type"] in {"Polygon", "MultiPolygon"}
    assert (await gql.data(one, {"id": "nowhere"})) == {"areaInitiative": None}
    assert (await gql.data(one, {"id": global_id("AreaInitiative", 999)})) == {
        "areaInitiative": None
    }
    bad_input(await gql(one, {"id": global_id("Municipality", "0301")}))


# --- a municipality's lists, relations ----------------------------------------------------------


async def test_oslo_lists_its_venues_activities_and_council(gql, loaded_conn):
    data = await gql.data("""{ municipality(number: "0301") {
        venues(first: 3) { totalCount edges { node { id } } pageInfo { hasNextPage } }
        activities(first: 3) { totalCount edges { node { id } } pageInfo { hasNextPage } }
        councils { name status } } }""")
    oslo = data["municipality"]
    venues = _venues(loaded_conn, venue.c.municipality_number == "0301")
    activities = _active_activities(loaded_conn, activity.c.municipality_number == "0301")
    assert oslo["venues"]["totalCount"] == len(venues)
    assert [db_id(e["node"]["id"]) for e in oslo["venues"]["edges"]] == venues[:3]
    assert oslo["activities"]["totalCount"] == len(activities)
    assert [db_id(e["node"]["id"]) for e in oslo["activities"]["edges"]] == activities[:3]
    assert oslo["venues"]["pageInfo"]["hasNextPage"] is True
    assert oslo["councils"] == [{"name": "Rådet for innvandrerorganisasjoner", "status": "ACTIVE"}]


async def test_a_municipality_s_venues_page_on(gql, loaded_conn):
    # The first page loads in a batch; later pages by cursor: together, every venue once.
    query = """query ($first: Int, $after: String) { municipality(number: "4601") {
        venues(first: $first, after: $after) { edges { cursor node { id } }
        pageInfo { hasNextPage hasPreviousPage endCursor } } } }"""
    ids: list[int] = []
    after = None
    while True:
        page = (await gql.data(query, {"first": 40, "after": after}))["municipality"]["venues"]
        ids += [db_id(e["node"]["id"]) for e in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert ids == _venues(loaded_conn, venue.c.municipality_number == "4601")
    assert len(ids) > 80


def _id_of(conn: sa.Connection, table: sa.Table, external_id: str) -> int:
    return conn.execute(
        sa.select(table.c.id).where(table.c.external_id == external_id)
    ).scalar_one()


ACTIVITY = """query ($id: ID!) { node(id: $id) { ... on Activity { title
    organiser { name organisationNumber kind }
    venue { id name activities { id title } owner { name } municipality { number } }
    municipality { number } } } }"""


async def test_an_activity_s_organiser_and_venue(gql, loaded_conn):
    rode_kors = _id_of(loaded_conn, activity, "rode-kors-norsktrening-oslo")
    node = (await gql.data(ACTIVITY, {"id": global_id("Activity", rode_kors)}))["node"]
    assert node["title"] == "Norsktrening (Røde Kors)"
    assert node["organiser"] == {
        "name": "Norges Røde Kors",
        "organisationNumber": "864139442",
        "kind": "HUMANITARIAN",
    }
    assert node["venue"] is None
    assert node["municipality"] == {"number": "0301"}
    krohnborg = _id_of(loaded_conn, activity, "ny-krohnborg-fritid")
    node = (await gql.data(ACTIVITY, {"id": global_id("Activity", krohnborg)}))["node"]
    assert node["organiser"]["name"] == "Ny-Krohnborgsenteret"
    assert node["venue"]["name"] == "Ny-Krohnborgsenteret"
    assert node["venue"]["municipality"] == node["municipality"] == {"number": "4601"}
    # Both ways: the venue's activities include the activity that names it.
    assert global_id("Activity", krohnborg) in {a["id"] for a in node["venue"]["activities"]}


async def test_a_venue_s_activities_are_those_that_name_it(gql, loaded_conn):
    a = activity.c
    for external_id in ("cafe-vintage-sandefjord", "ny-krohnborgsenteret"):
        venue_id = _id_of(loaded_conn, venue, external_id)
        expected = _active_activities(loaded_conn, a.venue_id == venue_id)
        assert expected
        data = await gql.data(
            """query ($id: ID!) { node(id: $id) { ... on Venue { name
            activities { id venue { id } } } } }""",
            {"id": global_id("Venue", venue_id)},
        )
        activities = data["node"]["activities"]
        assert [db_id(x["id"]) for x in activities] == expected
        assert {x["venue"]["id"] for x in activities} == {global_id("Venue", venue_id)}
    org = loaded_conn.execute(
        sa.select(organisation.c.name).where(organisation.c.external_id == "cafe-vintage")
    ).scalar_one()
    assert org == "Cafe Vintage"


# --- whereAmI's districts -----------------------------------------------------------------------

WHERE = """query ($lat: Float!, $lon: Float!) { whereAmI(at: {lat: $lat, lon: $lon}) {
    municipality { number } district { code name kind } subDistrict { code name kind }
    areaInitiatives { slug name } } }"""


async def test_where_am_i_at_furuset(gql):
    found = (await gql.data(WHERE, {"lat": 59.9420, "lon": 10.8920}))["whereAmI"]
    assert found["municipality"] == {"number": "0301"}
    assert found["district"] == {"code": "030112", "name": "Alna", "kind": "BYDEL"}
    assert found["subDistrict"]["kind"] == "DELBYDEL"
    assert found["subDistrict"]["code"].startswith("030112")
    assert found["subDistrict"]["name"] == "Furuset"
    assert found["areaInitiatives"] == [{"slug": "groruddalen", "name": "Groruddalen"}]


async def test_where_am_i_in_bergen_has_no_district(gql):
    found = (await gql.data(WHERE, {"lat": 60.3975, "lon": 5.3245}))["whereAmI"]
    assert found == {
        "municipality": {"number": "4601"},
        "district": None,
        "subDistrict": None,
        "areaInitiatives": [],
    }


# --- statements ---------------------------------------------------------------------------------

NESTED = """{ municipalities(first: OUTER) { edges { node {
    venues(first: INNER) { totalCount edges { node { name availability { weekday } } } }
    councils { name } } } } }"""


@pytest.mark.parametrize(("outer", "inner"), [(5, 5), (20, 5), (50, 5), (20, 20), (10, 50)])
async def test_municipalities_with_venues_take_five_statements(gql, count_statements, outer, inner):
    data = await gql.data(NESTED.replace("OUTER", str(outer)).replace("INNER", str(inner)))
    nodes = [e["node"] for e in data["municipalities"]["edges"]]
    assert len(nodes) == outer
    assert sum(len(n["venues"]["edges"]) for n in nodes) > outer
    assert any(n["councils"] for n in nodes)
    # The page and its count; every municipality's first venues; their availability;
    # the councils.
    assert len(count_statements.statements) == 5, count_statements.statements
