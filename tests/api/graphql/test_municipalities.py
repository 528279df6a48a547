"""municipality, municipalities (pages, filters) and node, against the bundled real data."""

from __future__ import annotations

import base64
import json

import pytest
import shapely
import sqlalchemy as sa
from shapely.geometry import shape

from geo.tables import municipality_statistics as stats
from tests.api.conftest import bad_input
from tests.conftest import DATA_DIR

pytestmark = pytest.mark.anyio

FIELDS = """id number name population populationYear immigrantPopulation immigrantShare
            refugeePopulation statisticsYear areaKm2 centroid { lat lon } county { number name }"""


def _file_municipalities() -> dict[str, str]:
    features = json.loads((DATA_DIR / "kommuner-2020.geojson").read_text())["features"]
    return {f"{f['properties']['kommunenummer']:04d}": f["properties"]["navn"] for f in features}


def _latest(conn: sa.Connection, number: str, column: sa.Column) -> tuple[int, int]:
    row = conn.execute(
        sa.select(stats.c.year, column)
        .where(stats.c.municipality_number == number, column.is_not(None))
        .order_by(stats.c.year.desc())
        .limit(1)
    ).one()
    return row[0], row[1]


async def test_oslo(gql, loaded_conn):
    data = await gql.data(f'{{ municipality(number: "0301") {{ {FIELDS} }} }}')
    oslo = data["municipality"]
    pop_year, population = _latest(loaded_conn, "0301", stats.c.population)
    imm_year, immigrants = _latest(loaded_conn, "0301", stats.c.immigrants)
    _, refugees = _latest(loaded_conn, "0301", stats.c.refugees)
    assert oslo["number"] == "0301"
    assert oslo["name"] == "Oslo"
    assert oslo["id"] == base64.b64encode(b"Municipality:0301").decode()
    assert oslo["county"] == {"number": "03", "name": "Oslo"}
    # The published figures: 717,710 residents on 1 January 2024; immigrants up to 2021.
    assert (oslo["population"], oslo["populationYear"]) == (population, pop_year) == (717_710, 2024)
    assert (oslo["immigrantPopulation"], oslo["statisticsYear"]) == (immigrants, imm_year)
    assert imm_year == 2021
    assert oslo["refugeePopulation"] == refugees
    assert oslo["immigrantShare"] == pytest.approx(immigrants / population)
    assert oslo["areaKm2"] == pytest.approx(454, abs=2)
    assert 59.9 < oslo["centroid"]["lat"] < 60.05
    assert 10.6 < oslo["centroid"]["lon"] < 10.9


async def test_unknown_number_is_null_malformed_is_bad_input(gql):
    data = await gql.data('{ municipality(number: "9999") { name } }')
    assert data == {"municipality": None}
    for number in ("abc", "12345", "301", "", "03 1"):
        result = await gql(
            "query ($n: String!) { municipality(number: $n) { name } }", {"n": number}
        )
        error = bad_input(result)
        assert error["extensions"]["field"] == "number"
        assert result.data == {"municipality": None}


def _vertices(geometry: dict) -> int:
    return sum(len(ring) for polygon in geometry["coordinates"] for ring in polygon)


async def test_boundary_is_rfc7946_geojson(gql):
    data = await gql.data("""{ municipality(number: "0301") {
        full: boundary  simplified: boundary(simplifyMeters: 100)
        coarse: boundary(simplifyMeters: 2000)  zero: boundary(simplifyMeters: 0) } }""")
    full, simplified = data["municipality"]["full"], data["municipality"]["simplified"]
    assert full["type"] == simplified["type"] == "MultiPolygon"
    assert "crs" not in full
    for polygon in full["coordinates"]:
        for ring in polygon:
            assert ring[0] == ring[-1]
            for lon, lat in ring:  # lon/lat order, around Oslo
                assert 10.3 < lon < 11.0
                assert 59.7 < lat < 60.2
    geometry = shape(full)
    assert geometry.is_valid
    # RFC 7946: exterior rings counter-clockwise, holes clockwise.
    assert all(p.exterior.is_ccw and not any(i.is_ccw for i in p.interiors) for p in geometry.geoms)
    assert shape(simplified).is_valid
    assert _vertices(simplified) < _vertices(full)
    coarse = data["municipality"]["coarse"]
    assert shape(coarse).is_valid
    assert _vertices(coarse) < _vertices(full) / 2
    assert data["municipality"]["zero"] == full
    # The simplified outline keeps the area within 1 %.
    assert shape(simplified).area == pytest.approx(geometry.area, rel=0.01)


@pytest.mark.parametrize("tolerance", [-5, 10_001, 1e308])
async def test_simplify_out_of_range(gql, tolerance):
    result = await gql(
        """query ($t: Float) {
        municipality(number: "0301") { boundary(simplifyMeters: $t) } }""",
        {"t": tolerance},
    )
    error = bad_input(result)
    assert error["extensions"]["field"] == "simplifyMeters"
    assert error["path"] == ["municipality", "boundary"]


PAGE = """query ($first: Int, $after: String, $filter: MunicipalityFilter) {
  municipalities(first: $first, after: $after, filter: $filter) {
    totalCount
    edges { cursor node { number name immigrantPopulation county { number } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


async def test_walk_every_page(gql):
    seen: list[str] = []
    immigrants = 0
    after = None
    pages = 0
    while True:
        page = (await gql.data(PAGE, {"first": 50, "after": after}))["municipalities"]
        pages += 1
        assert page["totalCount"] == 356
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        seen += [edge["node"]["number"] for edge in page["edges"]]
        immigrants += sum(edge["node"]["immigrantPopulation"] or 0 for edge in page["edges"])
        assert all(
            edge["node"]["county"]["number"] == edge["node"]["number"][:2] for edge in page["edges"]
        )
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert pages == 8
    assert seen == sorted(_file_municipalities())
    assert len(seen) == len(set(seen)) == 356
    # data/README.md: the 356 municipalities' 2021 figures sum to 800,106 immigrants.
    assert immigrants == 800_106
    past_the_end = (await gql.data(PAGE, {"first": 50, "after": after}))["municipalities"]
    assert past_the_end["edges"] == []
    assert past_the_end["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "startCursor": None,
        "endCursor": None,
    }


async def test_default_and_empty_pages(gql):
    default = (await gql.data(PAGE, {}))["municipalities"]
    assert len(default["edges"]) == 20
    assert default["pageInfo"]["hasNextPage"]
    assert default["pageInfo"]["hasPreviousPage"] is False
    empty = (await gql.data(PAGE, {"first": 0}))["municipalities"]
    assert empty["edges"] == []
    assert empty["totalCount"] == 356
    assert empty["pageInfo"]["hasNextPage"] is True
    hundred = (await gql.data(PAGE, {"first": 100}))["municipalities"]
    assert len(hundred["edges"]) == 100


@pytest.mark.parametrize("fragment", ["bø", "BØ", "Ås", "ås", "sand", "%", "_"])
async def test_name_contains(gql, fragment):
    expected = sorted(
        number
        for number, name in _file_municipalities().items()
        if fragment.lower() in name.lower()
    )
    page = (await gql.data(PAGE, {"first": 100, "filter": {"nameContains": fragment}}))[
        "municipalities"
    ]
    assert [edge["node"]["number"] for edge in page["edges"]] == expected
    assert page["totalCount"] == len(expected)
    if fragment.lower() == "ås":
        assert {"Ås", "Åsnes", "Åseral"} <= {edge["node"]["name"] for edge in page["edges"]}
    if fragment.lower() == "bø":
        assert {"Bø", "Bømlo"} <= {edge["node"]["name"] for edge in page["edges"]}


async def test_county_filter_pages(gql):
    expected = sorted(n for n in _file_municipalities() if n.startswith("54"))
    first = (await gql.data(PAGE, {"first": 30, "filter": {"county": "54"}}))["municipalities"]
    assert first["totalCount"] == len(expected) == 39
    assert first["pageInfo"]["hasNextPage"] is True
    rest = (
        await gql.data(
            PAGE, {"first": 30, "filter": {"county": "54"}, "after": first["pageInfo"]["endCursor"]}
        )
    )["municipalities"]
    assert rest["pageInfo"]["hasNextPage"] is False
    assert rest["pageInfo"]["hasPreviousPage"] is True
    assert [e["node"]["number"] for e in first["edges"] + rest["edges"]] == expected
    both = (await gql.data(PAGE, {"filter": {"county": "03", "nameContains": "os"}}))[
        "municipalities"
    ]
    assert [e["node"]["name"] for e in both["edges"]] == ["Oslo"]
    none = (await gql.data(PAGE, {"filter": {"county": "99"}}))["municipalities"]
    assert none["totalCount"] == 0
    assert none["edges"] == []


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"first": 1000}, "first"),
        ({"first": 101}, "first"),
        ({"first": -1}, "first"),
        ({"after": "garbage"}, "after"),
        ({"after": "!!!not base64!!!"}, "after"),
        ({"after": base64.b64encode(b"cursor:v1:municipalities:abcd").decode()}, "after"),
        ({"after": base64.b64encode(b"Municipality:0301").decode()}, "after"),
        ({"filter": {"county": "3"}}, "filter.county"),
        ({"filter": {"nameContains": "x" * 101}}, "filter.nameContains"),
    ],
)
async def test_bad_page_arguments(gql, variables, field):
    error = bad_input(await gql(PAGE, variables))
    assert error["extensions"]["field"] == field


async def test_node(gql):
    oslo_id = base64.b64encode(b"Municipality:0301").decode()
    county_id = base64.b64encode(b"County:46").decode()
    data = await gql.data(
        """query ($a: ID!, $b: ID!, $c: ID!) {
        a: node(id: $a) { __typename id ... on Municipality { name } }
        b: node(id: $b) { __typename id ... on County { name } }
        c: node(id: $c) { id } }""",
        {"a": oslo_id, "b": county_id, "c": base64.b64encode(b"Municipality:9999").decode()},
    )
    assert data["a"] == {"__typename": "Municipality", "id": oslo_id, "name": "Oslo"}
    assert data["b"] == {"__typename": "County", "id": county_id, "name": "Vestland"}
    assert data["c"] is None


@pytest.mark.parametrize(
    "global_id",
    [
        "garbage",
        "",
        base64.b64encode(b"no colon").decode(),
        base64.b64encode(b"Spaceship:1").decode(),
        base64.b64encode(b"Municipality:abc").decode(),
        base64.b64encode(b"County:0301").decode(),
    ],
)
async def test_bad_node_ids(gql, global_id):
    error = bad_input(await gql("query ($id: ID!) { node(id: $id) { id } }", {"id": global_id}))
    assert error["extensions"]["field"] == "id"


def test_shapely_agrees_the_bundled_polygons_are_what_the_readme_says():
    features = json.loads((DATA_DIR / "kommuner-2020.geojson").read_text())["features"]
    assert len(features) == 356
    assert sum(not shapely.is_valid(shape(f["geometry"])) for f in features) == 22
