"""`coverage` over GraphQL on the demo data: the contract's Gaps operation, the answer's shape,
pages of gaps, and every kind of bad input as a clear error (never a 500)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from graphql import OperationDefinitionNode, parse
from shapely.geometry import Point, shape

from geo.filters import DirectoryFilter
from geo.queries.coverage import MunicipalityArea, Target, TargetKind, coverage_summary
from geo.settings import PROJECT_ROOT
from geo.tables import statistical_area
from tests.api.conftest import bad_input

pytestmark = pytest.mark.anyio

CONTRACT = PROJECT_ROOT / "docs" / "api-examples.graphql"

REPORT = """
query ($area: CoverageAreaInput!, $target: CoverageTargetInput!, $within: Float!,
       $kind: AreaKind!, $first: Int! = 20, $after: String) {
  coverage(area: $area, target: $target, withinMeters: $within, unitKind: $kind) {
    areaName unitKind withinMeters unitCount coveredUnitCount population coveredPopulation
    uncoveredPopulation coveredShare gapCount immigrantPopulation coveredImmigrantPopulation
    populationYears rule notes
    gaps(first: $first, after: $after) {
      code name municipalityNumber population immigrantPopulation nearestDistanceMeters
      geometry cursor
    }
  }
}
"""
LANGUAGE = {"categories": ["LANGUAGE_CAFE", "NORWEGIAN_PRACTICE"]}
OSLO = {"municipality": "0301"}


def _gaps_operation() -> str:
    text = CONTRACT.read_text(encoding="utf-8")
    for definition in parse(text).definitions:
        assert isinstance(definition, OperationDefinitionNode)
        if definition.name and definition.name.value == "Gaps":
            assert definition.loc is not None
            return text[definition.loc.start : definition.loc.end]
    raise AssertionError("the contract has no Gaps operation")


async def _report(gql, **variables: Any) -> dict[str, Any]:
    defaults = {"area": OSLO, "target": LANGUAGE, "within": 1000.0, "kind": "GRID_1KM"}
    return (await gql.data(REPORT, {**defaults, **variables}))["coverage"]


async def test_the_contract_gaps_operation_on_the_demo_data(gql):
    """No 250 m cells are bundled: the contract's operation answers an empty report that says
    so; the same question on 1 km cells has answers."""
    source = _gaps_operation()
    report = (await gql.data(source))["coverage"]
    assert report["population"] == report["coveredPopulation"] == 0
    assert report["coveredShare"] is None
    assert report["gaps"] == []
    assert report["rule"].startswith("A unit is in the area when its interior point")
    on_1km = await gql.data(source.replace("unitKind: GRID_250M", "unitKind: GRID_1KM"))
    found = on_1km["coverage"]
    assert found["population"] > 100_000
    assert 0 < found["coveredShare"] <= 1


async def test_the_empty_report_names_the_kinds_that_are_there(gql):
    report = await _report(gql, area={"areaInitiative": "groruddalen"}, kind="GRID_250M")
    assert report["unitCount"] == 0
    assert report["notes"] == [
        "No GRID_250M units are loaded in this area; units of GRID_1KM, DELBYDEL, BYDEL are."
    ]
    grunnkrets = await _report(gql, kind="GRUNNKRETS")
    assert grunnkrets["unitCount"] == 0
    assert "No GRUNNKRETS units are loaded in this area" in grunnkrets["notes"][0]


async def test_the_report_agrees_with_the_geo_function(gql, loaded_conn):
    report = await _report(gql, first=100)
    target = Target(
        TargetKind.ACTIVITY, DirectoryFilter(categories=("LANGUAGE_CAFE", "NORWEGIAN_PRACTICE"))
    )
    summary = coverage_summary(loaded_conn, MunicipalityArea("0301"), target, 1000, "GRID_1KM")
    assert report["areaName"] == "Oslo"
    assert (report["unitKind"], report["withinMeters"]) == ("GRID_1KM", 1000.0)
    assert (
        report["unitCount"],
        report["population"],
        report["coveredPopulation"],
        report["gapCount"],
    ) == (summary.unit_count, summary.population, summary.covered_population, summary.gap_count)
    assert report["uncoveredPopulation"] == report["population"] - report["coveredPopulation"]
    assert report["coveredShare"] == pytest.approx(summary.covered_share)
    assert report["immigrantPopulation"] is None  # SSB's 1 km grid has no immigrant figures
    assert any("Immigrant population is not known" in n for n in report["notes"])
    assert report["populationYears"] == [2019]
    gaps = report["gaps"]
    assert len(gaps) == min(100, report["gapCount"])
    assert [(-g["population"], g["code"]) for g in gaps] == sorted(
        (-g["population"], g["code"]) for g in gaps
    )
    for gap in gaps:
        assert gap["population"] > 0
        assert gap["immigrantPopulation"] is None
        assert gap["nearestDistanceMeters"] > 1000
        assert gap["municipalityNumber"] == "0301"
        geometry = gap["geometry"]
        assert geometry["type"] == "MultiPolygon"
        polygon = shape(geometry)
        assert polygon.is_valid
        assert (
            polygon.exterior.is_ccw
            if polygon.geom_type == "Polygon"
            else all(p.exterior.is_ccw for p in polygon.geoms)
        )
        assert 10.4 < polygon.centroid.x < 11.0
        assert 59.7 < polygon.centroid.y < 60.2


async def test_gaps_page_with_their_cursors(gql):
    whole = (await _report(gql, first=100))["gaps"]
    assert len(whole) > 12
    pages: list[dict[str, Any]] = []
    after = None
    while len(pages) < len(whole):
        page = (await _report(gql, first=5, after=after))["gaps"]
        assert page
        pages += page
        after = page[-1]["cursor"]
    assert [g["code"] for g in pages] == [g["code"] for g in whole]
    assert (await _report(gql, first=0))["gaps"] == []


async def test_area_selectors(gql, loaded_conn):
    """An initiative by slug and by global id; Oslo by number, by its boundary as a polygon,
    and a box around it."""
    by_slug = await _report(gql, area={"areaInitiative": "groruddalen"}, first=0)
    initiative = await gql.data('{ areaInitiative(id: "groruddalen") { id } }')
    by_id = await _report(gql, area={"areaInitiative": initiative["areaInitiative"]["id"]}, first=0)
    assert by_slug == by_id
    assert by_slug["areaName"] == "Groruddalen"
    boundary = (await gql.data('{ municipality(number: "0301") { boundary } }'))["municipality"][
        "boundary"
    ]
    by_number = await _report(gql, first=0)
    by_polygon = await _report(gql, area={"polygon": boundary}, first=0)
    assert (by_polygon["unitCount"], by_polygon["population"]) == (
        by_number["unitCount"],
        by_number["population"],
    )
    by_box = await _report(gql, area={"bbox": [10.3, 59.75, 11.1, 60.2]}, first=0)
    assert by_box["population"] == 678_692  # every cell of the bundled grid
    assert by_box["areaName"] is None


async def test_venue_targets(gql):
    report = await _report(
        gql,
        target={"ownerTypes": ["MUNICIPALITY"], "freeOnly": True, "eveningOrWeekend": True},
        first=3,
    )
    assert 0 < report["coveredPopulation"] <= report["population"]
    explicit = await _report(
        gql,
        target={
            "kind": "VENUE",
            "ownerTypes": ["MUNICIPALITY"],
            "freeOnly": True,
            "eveningOrWeekend": True,
        },
        first=3,
    )
    assert explicit == report
    every_venue = await _report(gql, target={"kind": "VENUE"}, first=0)
    assert every_venue["coveredPopulation"] >= report["coveredPopulation"]


async def test_a_self_intersecting_polygon_is_repaired_and_noted(gql):
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[10.75, 59.9], [10.95, 60.0], [10.95, 59.9], [10.75, 60.0], [10.75, 59.9]]
        ],
    }
    report = await _report(gql, area={"polygon": bowtie})
    assert any(
        "Self-intersection at lon 10.85, lat 59.95" in n and "repaired" in n
        for n in report["notes"]
    )
    assert report["unitCount"] > 0
    wings = [
        shape({"type": "Polygon", "coordinates": [ring]})
        for ring in (
            [[10.75, 59.9], [10.85, 59.95], [10.75, 60.0], [10.75, 59.9]],
            [[10.95, 59.9], [10.95, 60.0], [10.85, 59.95], [10.95, 59.9]],
        )
    ]
    for gap in report["gaps"]:
        centre = shape(gap["geometry"]).centroid
        assert any(w.buffer(0.01).contains(Point(centre.x, centre.y)) for w in wings)


def _circle(vertices: int) -> dict[str, Any]:
    angles = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    ring = [[10.75 + 0.1 * float(np.cos(a)), 59.9 + 0.05 * float(np.sin(a))] for a in angles]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


@pytest.mark.parametrize(
    ("variables", "field", "reason"),
    [
        ({"area": {"polygon": _circle(20_000)}}, "area.polygon", "more than 10,000 vertices"),
        ({"within": 0.0}, "withinMeters", "withinMeters must be within (0, 50000]"),
        ({"within": -1.0}, "withinMeters", "withinMeters must be within (0, 50000]"),
        ({"within": 50_001.0}, "withinMeters", "got 50001.0"),
        (
            {"area": {"bbox": [11.0, 59.8, 10.5, 60.1]}},
            "area.bbox",
            "bbox minLon (11) must be less than maxLon (10.5)",
        ),
        ({"area": {"bbox": [10.5, 59.8, 11.0]}}, "area.bbox", "four numbers"),
        (
            {"area": {"polygon": {"type": "Point", "coordinates": [10.7, 59.9]}}},
            "area.polygon",
            "a GeoJSON Polygon or MultiPolygon is expected",
        ),
        ({"area": {"municipality": "oslo"}}, "area.municipality", "four digits"),
        ({"area": {"areaInitiative": "Not a slug!"}}, "id", "not a global id"),
        (
            {"target": {"languages": ["ar"], "ownerTypes": ["STATE"]}},
            "target",
            "ask about one kind",
        ),
        (
            {"target": {"kind": "VENUE", "languages": ["ar"]}},
            "target.languages",
            "do not apply to venue targets",
        ),
        ({"target": {"languages": ["arabic"]}}, "target.languages", ""),
        ({"first": 101}, "gaps.first", "first must be within [0, 100]"),
        ({"after": "bm90IGEgY3Vyc29y"}, "after", "not a cursor of this list"),
    ],
)
async def test_bad_input_is_refused_with_the_reason(gql, variables, field, reason):
    defaults = {"area": OSLO, "target": LANGUAGE, "within": 1000.0, "kind": "GRID_1KM"}
    error = bad_input(await gql(REPORT, {**defaults, **variables}))
    assert error["extensions"]["field"] == field
    assert reason in error["message"]


@pytest.mark.parametrize(
    ("area", "reason"),
    [
        ({"municipality": "0301", "areaInitiative": "groruddalen"}, "must specify exactly one key"),
        ({}, "must specify exactly one key"),
        ({"polygon": None}, "'polygon' must be non-null"),
    ],
)
async def test_exactly_one_area_selector(gql, area, reason):
    defaults = {"target": LANGUAGE, "within": 1000.0, "kind": "GRID_1KM"}
    error = bad_input(await gql(REPORT, {**defaults, "area": area}))
    assert reason in error["message"]


async def test_exactly_one_area_selector_in_the_document(gql):
    query = """{ coverage(area: {municipality: "0301", bbox: [10, 59, 11, 60]},
                          target: {}, withinMeters: 1000, unitKind: GRID_1KM) { population } }"""
    error = bad_input(await gql(query))
    assert "exactly one key" in error["message"]


@pytest.mark.parametrize(
    ("area", "field", "message"),
    [
        ({"areaInitiative": "nowhere"}, "area.areaInitiative", "no area initiative 'nowhere'"),
        (
            {"areaInitiative": "QXJlYUluaXRpYXRpdmU6OTk5OQ=="},
            "area.areaInitiative",
            "no area initiative with id 9999",
        ),
        ({"municipality": "9999"}, "area.municipality", "municipality 9999 is not loaded"),
    ],
)
async def test_unknown_areas_are_not_found(gql, area, field, message):
    defaults = {"target": LANGUAGE, "within": 1000.0, "kind": "GRID_1KM"}
    result = await gql(REPORT, {**defaults, "area": area})
    (error,) = [e.formatted for e in result.errors]
    assert error["extensions"] == {"code": "NOT_FOUND", "field": field}
    assert error["message"] == message
    assert result.data is None


async def test_many_reports_in_one_operation_are_too_complex(gql):
    fields = " ".join(
        f'r{i}: coverage(area: {{municipality: "0301"}}, target: {{}}, withinMeters: 1000, '
        f"unitKind: GRID_1KM) {{ population gaps(first: 100) {{ code geometry }} }}"
        for i in range(10)
    )
    result = await gql(f"{{ {fields} }}")
    (error,) = [e.formatted for e in result.errors]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    # Each report weighs 1,000 + its page of 100 gaps with their geometries (1 + 1 + 10 each).
    assert error["extensions"]["estimate"] == 10 * (1000 + 1 + 100 * 12)


async def test_over_http(client):
    response = await client.post("/graphql", json={"query": _gaps_operation()})
    assert response.status_code == 200
    assert response.json()["data"]["coverage"]["gaps"] == []


def _guide_example(name: str) -> str:
    text = (PROJECT_ROOT / "docs" / "guide-analysts.md").read_text(encoding="utf-8")
    start = text.index(f"query {name} ")
    return text[start : text.index("```", start)]


async def test_the_analysts_guide_shows_real_gaps_named_by_district(gql, loaded_conn):
    """The guide's example finds gaps on the demo data, each named by the bydel and delbydel
    holding its interior point (checked here with PostGIS directly), as the guide's text says."""
    report = (await gql.data(_guide_example("MentoringGaps")))["coverage"]
    assert report["gapCount"] == 21
    largest = report["gaps"][0]
    assert largest["population"] == 5899
    assert round(largest["nearestDistanceMeters"]) == 2754
    for gap in report["gaps"]:
        d, u = statistical_area.alias("d"), statistical_area.alias("u")
        holders = dict(
            loaded_conn.execute(
                sa.select(d.c.kind, d.c.name)
                .select_from(
                    u.join(d, sa.func.ST_Intersects(d.c.geom, sa.func.ST_PointOnSurface(u.c.geom)))
                )
                .where(
                    u.c.kind == "GRID_1KM",
                    u.c.code == gap["code"],
                    d.c.kind.in_(("BYDEL", "DELBYDEL")),
                )
            ).all()
        )
        assert gap["district"] == holders["BYDEL"]
        assert gap["subDistrict"] == holders["DELBYDEL"]
    assert {gap["district"] for gap in report["gaps"]} <= {"Alna", "Bjerke", "Grorud", "Stovner"}
