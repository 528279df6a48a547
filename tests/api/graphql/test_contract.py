"""The contract runs: every query in docs/api-examples.graphql whose root fields exist today
answers the demo data without errors, and with data that makes sense."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from graphql import OperationDefinitionNode, OperationType, parse, value_from_ast_untyped

from geo.settings import PROJECT_ROOT
from geo.tables import activity, immigrant_council, venue
from tests.api.directory_checks import NODE_FIELDS, db_id, global_key, matches, plane_distance

pytestmark = pytest.mark.anyio

CONTRACT = PROJECT_ROOT / "docs" / "api-examples.graphql"

#: Operations whose root fields come with later issues. Adding one of those fields to the
#: schema fails test_exactly_these_operations_wait until it leaves this list.
LATER: set[str] = set()
#: Writes: they run on a writable clone with the key their comment names (test_contract_writes).
MUTATIONS = {"MapAFreeRoom", "FixIt", "ReportAccess"}


def _operations() -> dict[str, tuple[str, OperationDefinitionNode]]:
    text = CONTRACT.read_text(encoding="utf-8")
    operations = {}
    for definition in parse(text).definitions:
        assert isinstance(definition, OperationDefinitionNode)
        assert definition.name is not None
        assert definition.loc is not None
        source = text[definition.loc.start : definition.loc.end]
        operations[definition.name.value] = (source, definition)
    return operations


OPERATIONS = _operations()


def _runs_today(schema: Any, operation: OperationDefinitionNode) -> bool:
    root = {
        OperationType.QUERY: schema._schema.query_type,
        OperationType.MUTATION: schema._schema.mutation_type,
    }.get(operation.operation)
    if root is None:
        return False
    fields = root.fields
    return all(selection.name.value in fields for selection in operation.selection_set.selections)


def test_the_contract_file_has_every_operation():
    assert set(OPERATIONS) == {
        "WhereAmI",
        "NearMe",
        "NearMeInMyLanguage",
        "Activities",
        "Sync",
        "MyMunicipality",
        "MapAFreeRoom",
        "FixIt",
        "VenueAccess",
        "CouncilCoverage",
        "Gaps",
        "ReportAccess",
    }
    assert CONTRACT.read_text(encoding="utf-8").startswith("# How the users will call hverdag")


def test_exactly_these_operations_wait(schema):
    waiting = {name for name, (_, op) in OPERATIONS.items() if not _runs_today(schema, op)}
    assert waiting == LATER


async def _run(gql, name: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    source, _ = OPERATIONS[name]
    return await gql.data(source, variables)


def _argument(name: str, field: str, argument: str) -> Any:
    """A literal argument of a root field of a contract operation, as plain Python."""
    _, operation = OPERATIONS[name]
    (selection,) = [s for s in operation.selection_set.selections if s.name.value == field]
    (value,) = [a.value for a in selection.arguments if a.name.value == argument]
    return value_from_ast_untyped(value)


def test_the_writes_are_the_mutations():
    assert {
        name for name, (_, op) in OPERATIONS.items() if op.operation is OperationType.MUTATION
    } == MUTATIONS


@pytest.mark.parametrize("name", sorted(set(OPERATIONS) - LATER - MUTATIONS))
async def test_operation_answers_without_errors(gql, name):
    data = await _run(gql, name)
    assert data
    assert all(value is not None for value in data.values()), data


async def test_where_am_i(gql):
    found = (await _run(gql, "WhereAmI"))["whereAmI"]
    assert found["municipality"]["number"] == "0301"
    assert found["municipality"]["name"] == "Oslo"
    assert found["municipality"]["population"] > 700_000
    assert 0.2 < found["municipality"]["immigrantShare"] < 0.3
    assert found["county"] == {"number": "03", "name": "Oslo"}
    assert found["district"] == {"code": "030112", "name": "Alna"}
    assert [i["name"] for i in found["areaInitiatives"]] == ["Groruddalen"]
    assert global_key(found["areaInitiatives"][0]["id"])[0] == "AreaInitiative"


NEAR_ME_DETAILS = f"query ($id: ID!) {{ node(id: $id) {{ {NODE_FIELDS} }} }}"


async def _near_me_pages(gql) -> tuple[int, list[dict[str, Any]]]:
    edges: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await _run(gql, "NearMe", {"after": after}))["nearby"]
        edges += page["edges"]
        if not page["pageInfo"]["hasNextPage"]:
            return page["totalCount"], edges
        after = page["pageInfo"]["endCursor"]


async def test_near_me_answers_only_what_it_asks_for(gql):
    """Every place NearMe returns is an activity or venue within 3 km, nearest first, that
    meets every condition of its filter (checked on the row's own fields)."""
    at = _argument("NearMe", "nearby", "at")
    radius = _argument("NearMe", "nearby", "radiusMeters")
    filt = _argument("NearMe", "nearby", "filter")
    total, edges = await _near_me_pages(gql)
    assert edges  # the demo data has free homework help in Arabic at Tøyen on Tuesdays
    assert total == len(edges)
    distances = [e["distanceMeters"] for e in edges]
    assert distances == sorted(distances)
    assert all(0 <= d <= radius for d in distances)
    today = datetime.now(ZoneInfo("Europe/Oslo")).date()
    for edge in edges:
        node = edge["node"]
        assert node["__typename"] in {"Activity", "Venue"}
        details = (await gql.data(NEAR_ME_DETAILS, {"id": node["id"]}))["node"]
        assert matches(details, filt, today=today), details
        assert edge["distanceMeters"] == pytest.approx(
            plane_distance(at["lat"], at["lon"], details["location"]), abs=0.1
        )


ONE_FILTER = """query ($at: LatLonInput!, $radius: Float!, $kinds: [PlaceKind!],
                      $filter: DirectoryFilterInput) {
  nearby(at: $at, radiusMeters: $radius, kinds: $kinds, filter: $filter, first: 0) {
    totalCount } }"""


async def test_near_me_each_condition_alone_finds_places(gql):
    """NearMe's conditions together find few places, but each alone must find places there,
    and so must all but the time, or all but the text."""
    variables = {
        "at": _argument("NearMe", "nearby", "at"),
        "radius": _argument("NearMe", "nearby", "radiusMeters"),
        "kinds": _argument("NearMe", "nearby", "kinds"),
    }
    filt = _argument("NearMe", "nearby", "filter")
    counts = {}
    for name, value in filt.items():
        data = await gql.data(ONE_FILTER, {**variables, "filter": {name: value}})
        counts[name] = data["nearby"]["totalCount"]
    assert all(counts.values()), counts
    for left_out in ("openAt", "text"):  # (all but languages depends on today's date)
        rest = {k: v for k, v in filt.items() if k != left_out}
        data = await gql.data(ONE_FILTER, {**variables, "filter": rest})
        assert data["nearby"]["totalCount"] > 0, left_out


async def test_activities(gql, loaded_conn):
    page = (await _run(gql, "Activities"))["activities"]
    near = _argument("Activities", "activities", "near")
    at, radius = near["at"], near["radiusMeters"]
    edges = page["edges"]
    assert edges
    assert page["totalCount"] >= len(edges)
    assert page["pageInfo"]["hasNextPage"] is (page["totalCount"] > len(edges))
    distances = [e["distanceMeters"] for e in edges]
    assert distances == sorted(distances)
    assert distances[-1] <= radius
    for edge in edges:
        assert edge["distanceMeters"] == pytest.approx(
            plane_distance(at["lat"], at["lon"], edge["node"]["location"]), abs=0.1
        )
    a = activity.c
    rows = loaded_conn.execute(
        sa.select(a.category, a.municipality_number, a.status).where(
            a.id.in_([db_id(e["node"]["id"]) for e in edges])
        )
    ).all()
    assert len(rows) == len(edges)
    assert {tuple(r) for r in rows} == {("NORWEGIAN_PRACTICE", "0301", "ACTIVE")}
    point = sa.func.ST_Transform(
        sa.func.ST_SetSRID(sa.func.ST_MakePoint(at["lon"], at["lat"]), 4326), 25833
    )
    expected = loaded_conn.execute(
        sa.select(sa.func.count()).where(
            a.category == "NORWEGIAN_PRACTICE",
            a.municipality_number == "0301",
            a.status == "ACTIVE",
            a.archived_at.is_(None),
            sa.func.ST_DWithin(a.geom, point, radius),
        )
    ).scalar_one()
    assert page["totalCount"] == expected


async def test_sync(gql):
    since = datetime.fromisoformat(_argument("Sync", "changes", "since"))
    page = (await _run(gql, "Sync"))["changes"]
    nodes = [e["node"] for e in page["edges"]]
    assert len(nodes) == 100
    assert page["pageInfo"]["hasNextPage"] is True
    assert len({n["id"] for n in nodes}) == len(nodes)
    stamps = [datetime.fromisoformat(n["updatedAt"]) for n in nodes]
    assert all(stamp >= since for stamp in stamps)
    assert stamps == sorted(stamps)
    for node in nodes:
        assert global_key(node["id"])[0] == node["__typename"]
        assert node["__typename"] in {
            "Activity",
            "Venue",
            "Organisation",
            "ImmigrantCouncil",
            "AreaInitiative",
        }
        assert node["archived"] is False


async def test_my_municipality(gql, loaded_conn):
    oslo = (await _run(gql, "MyMunicipality"))["municipality"]
    assert (oslo["number"], oslo["name"]) == ("0301", "Oslo")
    assert oslo["boundary"]["type"] == "MultiPolygon"
    assert oslo["immigrantShare"] == pytest.approx(oslo["immigrantPopulation"] / oslo["population"])
    v = venue.c
    in_oslo = dict(
        loaded_conn.execute(
            sa.select(v.id, v.municipality_number).where(
                v.municipality_number == "0301", v.archived_at.is_(None)
            )
        ).all()
    )
    venues = oslo["venues"]
    assert venues["totalCount"] == len(in_oslo) > 100
    assert len(venues["edges"]) == 100
    assert {db_id(e["node"]["id"]) for e in venues["edges"]} <= set(in_oslo)
    for edge in venues["edges"]:
        for window in edge["node"]["availability"]:
            assert window["from"] < window["to"]
    councils = {c["name"]: c for c in oslo["councils"]}
    council = councils["Rådet for innvandrerorganisasjoner"]
    assert (council["kind"], council["status"]) == ("INNVANDRERRAD", "ACTIVE")


async def test_venue_access(gql):
    groups = (await _run(gql, "VenueAccess"))["venueAccess"]
    keys = [g["key"] for g in groups]
    assert keys == sorted(keys)
    assert len(keys) == 11
    by_key = {g["key"]: g for g in groups}
    assert by_key["03"]["name"] == "Oslo"
    assert by_key["03"]["venues"] > 0
    for group in groups:
        assert group["freeVenues"] + group["reducedVenues"] <= group["venues"]
        assert group["eveningOrWeekendVenues"] <= group["venues"]
        assert group["stateOwned"] <= group["venues"]
        if group["reports"]:
            assert 0 <= group["grantedShare"] <= 1
            assert 1 <= group["meanSuitability"] <= 5


async def test_council_coverage(gql, loaded_conn):
    data = await _run(gql, "CouncilCoverage")
    groups = {g["key"]: g for g in data["councilCoverage"]}
    oslo = groups["03"]
    assert (oslo["municipalities"], oslo["withCouncil"], oslo["share"]) == (1, 1, 1.0)
    c = immigrant_council.c
    with_council = set(
        loaded_conn.execute(
            sa.select(c.municipality_number).where(
                c.status == "ACTIVE",
                c.archived_at.is_(None),
                c.municipality_number.is_not(None),
                c.level != "COUNTY",
            )
        ).scalars()
    )
    assert sum(g["withCouncil"] for g in groups.values()) == len(with_council)
    assert sum(g["municipalities"] for g in groups.values()) == 356
    listed = data["municipalities"]
    numbers = {e["node"]["number"] for e in listed["edges"]}
    assert listed["totalCount"] >= len(numbers) > 0
    assert not numbers & with_council
    assert all(e["node"]["immigrantShare"] >= 0.1 for e in listed["edges"])


async def test_near_me_in_my_language(gql):
    """Dari → Persian → English → the original: each text says which it is."""
    data = await _run(gql, "NearMeInMyLanguage")
    nodes = [edge["node"] for edge in data["nearby"]["edges"]]
    assert nodes
    assert all("ar" in node["languages"] for node in nodes)
    seen = set()
    for node in nodes:
        title = node["titleText"]
        assert node["title"] == title["text"]
        assert title["language"] in {"fa-AF", "fa", "en", "nb"}
        assert title["original"] == (title["language"] == "nb")
        assert title["rightToLeft"] == (title["language"] in {"fa-AF", "fa"})
        if not title["original"]:
            assert title["machineTranslated"]  # the demo's are generated examples
            assert title["outdated"] is False
        seen.add(title["language"])
    assert seen - {"nb"}, "some of them come translated"
    labels = data["vocabularies"]
    assert (labels["language"], labels["rightToLeft"]) == ("fa-AF", True)
    assert len(labels["vocabularies"][0]["values"]) == 18
