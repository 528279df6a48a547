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


# --- notes as codes, in the reader's language ---------------------------------------------------

NOTES = """
query ($area: CoverageAreaInput!, $kind: AreaKind!, $lang: [String!]) {
  coverage(area: $area, target: {categories: [LANGUAGE_CAFE]}, withinMeters: 1000,
           unitKind: $kind, lang: $lang) {
    unitCount notes
    noteDetails { code values text language rightToLeft }
  }
}
"""
LABELS = """
query ($lang: [String!]) {
  vocabularies(lang: $lang, names: ["CoverageNote", "AreaKind"]) {
    language listSeparator
    vocabularies { name values { value label } }
  }
}
"""
BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[10.75, 59.9], [10.95, 60.0], [10.95, 59.9], [10.75, 60.0], [10.75, 59.9]]],
}
#: Every note the demo data can give: (area, unit kind, the codes in order).
NOTE_CASES = [
    ({"polygon": BOWTIE}, "GRID_1KM", ["AREA_REPAIRED", "IMMIGRANTS_UNKNOWN"]),
    ({"bbox": [10.6, 49.0, 10.9, 60.0]}, "GRID_1KM", ["AREA_CLIPPED", "IMMIGRANTS_UNKNOWN"]),
    ({"bbox": [100, -40, 120, -20]}, "GRID_1KM", ["AREA_CLIPPED", "NO_UNITS_OUTSIDE_REGION"]),
    ({"areaInitiative": "groruddalen"}, "GRID_250M", ["NO_UNITS_OF_KIND"]),
    ({"bbox": [0.0, 66.0, 1.0, 67.0]}, "GRID_1KM", ["NO_UNITS_OF_ANY_KIND"]),
    (OSLO, "BYDEL", ["NO_POPULATION_FIGURE", "IMMIGRANTS_UNKNOWN"]),
]
RIGHT_TO_LEFT = {"nb": False, "en": False, "ar": True}


def _filled(template: str, values: dict[str, Any], kinds: dict[str, str], separator: str) -> str:
    """What an app makes of a template with `vocabularies`' labels: the test's own filling."""

    def shown(name: str, value: Any) -> str:
        if isinstance(value, list):
            return separator.join(shown(name, v) for v in value)
        if name in ("unitKind", "otherKinds"):
            return kinds[value]
        return f"{value:.6g}" if isinstance(value, float) else str(value)

    for name, value in values.items():
        template = template.replace("{" + name + "}", shown(name, value))
    return template


@pytest.mark.parametrize(
    ("area", "kind", "codes"), NOTE_CASES, ids=["-".join(case[2]) for case in NOTE_CASES]
)
@pytest.mark.parametrize("lang", ["nb", "en", "ar"])
async def test_each_note_has_its_code_values_and_text_in_the_readers_language(
    gql, area, kind, codes, lang
):
    report = (await gql.data(NOTES, {"area": area, "kind": kind, "lang": [lang]}))["coverage"]
    details = report["noteDetails"]
    assert [d["code"] for d in details] == codes
    assert len(report["notes"]) == len(details)  # the English sentences, one per note
    labels = (await gql.data(LABELS, {"lang": [lang]}))["vocabularies"]
    assert labels["language"] == lang
    by_name = {
        v["name"]: {x["value"]: x["label"] for x in v["values"]} for v in labels["vocabularies"]
    }
    separator = labels["listSeparator"]
    assert separator == ("، " if lang == "ar" else ", ")
    for detail in details:
        assert (detail["language"], detail["rightToLeft"]) == (lang, RIGHT_TO_LEFT[lang])
        template = by_name["CoverageNote"][detail["code"]]
        assert detail["text"] == _filled(template, detail["values"], by_name["AreaKind"], separator)
        assert "{" not in detail["text"], detail["text"]
        for value in detail["values"].values():
            if isinstance(value, int):
                assert str(value) in detail["text"]


async def test_note_values_and_texts(gql):
    """The values are the figures of the answer, and the texts read as the labels say."""
    bydel = (await gql.data(NOTES, {"area": OSLO, "kind": "BYDEL", "lang": ["nb"]}))["coverage"]
    missing = bydel["noteDetails"][0]
    units = bydel["unitCount"]
    assert units > 0
    assert missing["values"] == {"missing": units, "units": units}
    assert missing["text"] == f"{units} av {units} enheter har ikke folketall og telles som 0."
    assert (
        bydel["notes"][0] == f"{units} of {units} units have no population figure and count as 0."
    )

    bowtie = await gql.data(NOTES, {"area": {"polygon": BOWTIE}, "kind": "GRID_1KM"})
    repaired = bowtie["coverage"]["noteDetails"][0]
    assert repaired["values"] == {"problem": "Self-intersection", "lon": 10.85, "lat": 59.95}
    assert repaired["language"] == "nb"  # no lang, no Accept-Language: the source
    assert repaired["text"].startswith(
        "Polygonet var ugyldig (Self-intersection ved lengdegrad 10.85, breddegrad 59.95)"
    )

    texts = {}
    for lang in ("nb", "en", "ar"):
        variables = {"area": {"areaInitiative": "groruddalen"}, "kind": "GRID_250M", "lang": [lang]}
        report = (await gql.data(NOTES, variables))["coverage"]
        assert report["notes"] == [
            "No GRID_250M units are loaded in this area; units of GRID_1KM, DELBYDEL, BYDEL are."
        ]
        (detail,) = report["noteDetails"]
        assert detail["values"] == {
            "unitKind": "GRID_250M",
            "otherKinds": ["GRID_1KM", "DELBYDEL", "BYDEL"],
        }
        texts[lang] = detail["text"]
    assert texts == {
        "nb": "Ingen enheter av typen Befolkningsrute 250 × 250 m er lastet inn i dette området; "
        "det er enheter av typen Befolkningsrute 1 × 1 km, Delbydel, Bydel.",
        "en": "No units of the kind Population grid cell 250 × 250 m are loaded in this area; "
        "units of the kind Population grid cell 1 × 1 km, Sub-district (delbydel), "
        "City district (bydel) are.",
        "ar": "لا توجد وحدات من نوع مربع سكاني 250 × 250 م محمّلة في هذه المنطقة؛ توجد وحدات من "
        "نوع مربع سكاني 1 × 1 كم، حي فرعي (delbydel)، حي (bydel).",
    }


async def test_note_texts_follow_accept_language_and_a_bad_lang_is_refused(client, gql):
    query = (
        '{ coverage(area: {areaInitiative: "groruddalen"}, target: {}, withinMeters: 1000, '
        "unitKind: GRID_250M) { noteDetails { code language rightToLeft text } } }"
    )
    response = await client.post(
        "/graphql", json={"query": query}, headers={"Accept-Language": "ar-EG,ar;q=0.9,en;q=0.5"}
    )
    assert response.status_code == 200
    (detail,) = response.json()["data"]["coverage"]["noteDetails"]
    assert (detail["code"], detail["language"], detail["rightToLeft"]) == (
        "NO_UNITS_OF_KIND",
        "ar",
        True,
    )
    assert detail["text"].startswith("لا توجد وحدات من نوع")
    dari = await gql.data(
        query.replace("unitKind: GRID_250M", 'unitKind: GRID_250M, lang: ["prs"]')
    )
    assert dari["coverage"]["noteDetails"][0]["language"] == "fa-AF"
    refused = bad_input(
        await gql(query.replace("unitKind: GRID_250M", 'unitKind: GRID_250M, lang: ["xx"]'))
    )
    assert refused["extensions"]["field"] == "lang"


async def test_each_report_of_an_operation_speaks_its_own_lang(gql):
    """Two reports asked in two languages in one operation: each in its own, whichever root
    resolves last."""
    report = (
        '(area: {areaInitiative: "groruddalen"}, target: {}, withinMeters: 1000, '
        "unitKind: GRID_250M, lang: [LANG]) { noteDetails { language text } }"
    )
    query = (
        "{ arabic: coverage"
        + report.replace("LANG", '"ar"')
        + " english: coverage"
        + report.replace("LANG", '"en"')
        + " }"
    )
    data = await gql.data(query)
    assert data["arabic"]["noteDetails"][0]["language"] == "ar"
    assert data["english"]["noteDetails"][0]["language"] == "en"
    assert data["arabic"]["noteDetails"][0]["text"] != data["english"]["noteDetails"][0]["text"]
