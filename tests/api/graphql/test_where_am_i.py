"""whereAmI at real places across Norway, at sea, abroad, and in a repaired invalid polygon."""

from __future__ import annotations

import json

import pytest
import shapely
from shapely.geometry import Point, shape

from tests.conftest import DATA_DIR

pytestmark = pytest.mark.anyio

QUERY = """
query ($lat: Float!, $lon: Float!) {
  whereAmI(at: {lat: $lat, lon: $lon}) {
    at { lat lon }
    municipality { number name county { number } }
    county { number name }
  }
}
"""


@pytest.mark.parametrize(
    ("place", "lat", "lon", "municipality", "county"),
    [
        ("Oslo, Stortinget", 59.9139, 10.7522, ("0301", "Oslo"), ("03", "Oslo")),
        ("Furuset (the contract's example)", 59.9420, 10.8920, ("0301", "Oslo"), ("03", "Oslo")),
        ("Bergen, Bryggen", 60.3975, 5.3245, ("4601", "Bergen"), ("46", "Vestland")),
        ("Trondheim, Nidarosdomen", 63.4269, 10.3969, ("5001", "Trondheim"), ("50", "Trøndelag")),
        ("Tromsø (2020 number)", 69.6492, 18.9553, ("5401", "Tromsø"), ("54", "Troms og Finnmark")),
        ("Kautokeino", 69.0125, 23.0412, ("5430", "Kautokeino"), ("54", "Troms og Finnmark")),
    ],
)
async def test_where_am_i_in_norway(gql, place, lat, lon, municipality, county):
    data = await gql.data(QUERY, {"lat": lat, "lon": lon})
    found = data["whereAmI"]
    assert found["at"] == {"lat": lat, "lon": lon}
    assert (found["municipality"]["number"], found["municipality"]["name"]) == municipality
    assert (found["county"]["number"], found["county"]["name"]) == county
    assert found["municipality"]["county"]["number"] == county[0]


def _features(name: str) -> list[dict]:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))["features"]


@pytest.mark.parametrize(
    ("place", "lat", "lon"),
    [
        ("Longyearbyen, Svalbard", 78.2232, 15.6469),
        ("North Sea", 58.0, 3.0),
        ("Stockholm", 59.3293, 18.0686),
    ],
)
async def test_nothing_outside_the_municipalities(gql, place, lat, lon):
    # What the data says: neither file has a feature covering these points (Svalbard is no
    # municipality or county in the 2020 files).
    point = Point(lon, lat)
    for name in ("kommuner-2020.geojson", "fylker-2020.geojson"):
        assert not any(
            shapely.make_valid(shape(f["geometry"])).covers(point) for f in _features(name)
        )
    data = await gql.data(QUERY, {"lat": lat, "lon": lon})
    assert data["whereAmI"]["municipality"] is None
    assert data["whereAmI"]["county"] is None


async def test_point_inside_a_polygon_published_invalid(gql):
    # 22 municipalities are published with self-intersecting polygons. Ålesund's has an
    # invalid part; a point inside that part's area must still find Ålesund after the repair.
    (alesund,) = [
        f for f in _features("kommuner-2020.geojson") if f["properties"]["kommunenummer"] == 1507
    ]
    raw = shape(alesund["geometry"])
    assert not raw.is_valid
    (invalid_part,) = [p for p in raw.geoms if not p.is_valid]
    point = shapely.make_valid(invalid_part, method="structure").representative_point()
    assert invalid_part.buffer(0).covers(point)
    data = await gql.data(QUERY, {"lat": point.y, "lon": point.x})
    assert data["whereAmI"]["municipality"]["number"] == "1507"
    assert data["whereAmI"]["municipality"]["name"] == "Ålesund"
    assert data["whereAmI"]["county"]["number"] == "15"


async def test_where_am_i_statistics_of_the_contract(gql):
    data = await gql.data("""{ whereAmI(at: {lat: 59.9420, lon: 10.8920}) {
        municipality { number name population immigrantShare } county { number name } } }""")
    municipality = data["whereAmI"]["municipality"]
    assert municipality["population"] > 700_000
    assert 0.2 < municipality["immigrantShare"] < 0.3


DISTRICTS_QUERY = """
query ($lat: Float!, $lon: Float!) {
  whereAmI(at: {lat: $lat, lon: $lon}) { municipality { number } district { code name kind } }
}
"""


async def test_districts_of_other_cities_loaded_with_field_options(
    fresh_demo_url, monkeypatch, capsys
):
    """`hverdag load areas` with another publisher's field names (bydelnr, bydelnavn), then
    whereAmI names the district in Bergen, Trondheim and Stavanger as it does in Oslo."""
    from api.app import create_app
    from api.cli import main
    from geo.settings import load_settings
    from tests.api.conftest import http_client

    url = fresh_demo_url.render_as_string(hide_password=False)
    monkeypatch.setenv("HVERDAG_DATABASE_URL", url)
    fixture = DATA_DIR.parent / "tests" / "fixtures" / "bydeler-andre-byer-eksempel.geojson"
    refused = main(["load", "areas", str(fixture), "--kind", "BYDEL"])
    assert refused != 0
    assert "--code-field" in capsys.readouterr().err
    loaded = main(
        [
            "load", "areas", str(fixture), "--kind", "BYDEL",
            "--code-field", "bydelnr", "--name-field", "bydelnavn",
            "--population-field", "innbyggere",
        ]
    )  # fmt: skip
    assert loaded == 0
    app = create_app(load_settings(database_url=url))
    places = [
        (60.3975, 5.3100, "4601", "460191", "Bergen vest (testdistrikt)"),
        (60.3900, 5.3600, "4601", "460192", "Bergen øst (testdistrikt)"),
        (63.4269, 10.3800, "5001", "500191", "Trondheim vest (testdistrikt)"),
        (58.9690, 5.7450, "1103", "110392", "Stavanger øst (testdistrikt)"),
        (59.9420, 10.8920, "0301", "030112", "Alna"),  # Oslo's, from the bundled data
    ]
    async with http_client(app) as client:
        for lat, lon, municipality, code, name in places:
            answer = await client.post(
                "/graphql", json={"query": DISTRICTS_QUERY, "variables": {"lat": lat, "lon": lon}}
            )
            found = answer.json()["data"]["whereAmI"]
            assert found["municipality"]["number"] == municipality
            assert found["district"] == {"code": code, "name": name, "kind": "BYDEL"}
