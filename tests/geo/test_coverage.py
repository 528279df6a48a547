"""`coverage` against an independent reference computed in Python with shapely: SSB's real 1 km
grid of Oslo read straight from the GML (pyogrio), Oslo's boundary and districts from their
GeoJSON files, and activities placed at seeded random points in Oslo."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from pyogrio.raw import read
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Point, box, mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import URL

import geo.queries.coverage as coverage_module
from geo.coverage_notes import CoverageNote
from geo.db import sync_engine
from geo.filters import DirectoryFilter
from geo.given_areas import (
    MAX_VERTICES,
    AreaInputError,
    area_from_bbox,
    area_from_geojson,
)
from geo.labels import label_set, note_text
from geo.queries.coverage import (
    GapKey,
    InitiativeArea,
    MunicipalityArea,
    Target,
    TargetKind,
    UnknownArea,
    coverage,
    coverage_by_municipality,
    coverage_gaps,
    coverage_summary,
)
from geo.tables import activity, statistical_area, venue, venue_availability
from loaders.synthetic.grids import even_split, split_1km_grid, ssb_code
from tests.conftest import DATA_DIR

TO_UTM = Transformer.from_crs(4326, 25833, always_xy=True)
CAFES = Target(TargetKind.ACTIVITY, DirectoryFilter(categories=("LANGUAGE_CAFE",)))
GRORUDDALEN = ("Alna", "Bjerke", "Grorud", "Stovner")
OSLO_TOTAL = 678_692


@dataclass(frozen=True)
class Cell:
    code: str
    population: int
    polygon: BaseGeometry

    @property
    def inside(self) -> Point:
        return self.polygon.representative_point()


@cache
def grid() -> tuple[Cell, ...]:
    """The 258 cells of SSB's Oslo grid, read from the GML without any project code."""
    _, _, geometries, values = read(
        DATA_DIR / "oslo-befolkning-1km-2019.gml",
        layer="BefolkningPåRuter1km",
        columns=["ssbid1000M", "popTot"],
    )
    cells = [
        Cell(str(code), int(pop), shapely.from_wkb(wkb))
        for wkb, code, pop in zip(geometries, values[0], values[1], strict=True)
    ]
    assert len(cells) == 258
    assert sum(c.population for c in cells) == OSLO_TOTAL
    return tuple(cells)


def _features(name: str) -> list[dict[str, Any]]:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))["features"]


def _to_utm(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, lambda xy: np.column_stack(TO_UTM.transform(xy[:, 0], xy[:, 1])))


@cache
def oslo_lon_lat() -> dict[str, Any]:
    (feature,) = [
        f
        for f in _features("kommuner-2020.geojson")
        if int(f["properties"]["kommunenummer"]) == 301
    ]
    return feature["geometry"]


@cache
def oslo() -> BaseGeometry:
    return shapely.make_valid(_to_utm(shape(oslo_lon_lat())))


@cache
def groruddalen() -> list[BaseGeometry]:
    return [
        shapely.make_valid(_to_utm(shape(f["geometry"])))
        for f in _features("oslo-bydeler.geojson")
        if f["properties"]["bnavn"] in GRORUDDALEN
    ]


def _in(area: BaseGeometry | list[BaseGeometry]) -> list[Cell]:
    areas = area if isinstance(area, list) else [area]
    return [c for c in grid() if any(a.intersects(c.inside) for a in areas)]


def _random_points(rng: random.Random, n: int) -> list[tuple[float, float]]:
    """``n`` points uniformly in Oslo's land, in EPSG:25833."""
    area = oslo()
    min_x, min_y, max_x, max_y = area.bounds
    points: list[tuple[float, float]] = []
    while len(points) < n:
        x, y = rng.uniform(min_x, max_x), rng.uniform(min_y, max_y)
        if area.contains(Point(x, y)):
            points.append((round(x, 3), round(y, 3)))
    return points


def _point(x: float, y: float) -> Any:
    return sa.func.ST_SetSRID(sa.func.ST_MakePoint(x, y), 25833)


@dataclass(frozen=True)
class Placed:
    engine: sa.Engine
    cafes: list[tuple[float, float]]


@pytest.fixture(scope="module")
def placed(loaded_template_url: URL, server: Any) -> Iterator[Placed]:
    """The real data without generated rows, plus 50 language cafés at seeded random points in
    Oslo, 20 sports activities and 3 archived or cancelled cafés that must not count."""
    from tests.conftest import _clone

    url = _clone(server, loaded_template_url, "coverage")
    engine = sync_engine(url, poolclass=sa.pool.NullPool)
    rng = random.Random(20261126)
    cafes = _random_points(rng, 50)
    others = _random_points(rng, 23)
    with engine.begin() as conn:
        for i, (x, y) in enumerate(cafes):
            conn.execute(
                activity.insert().values(
                    title=f"språkkafé {i}",
                    category="LANGUAGE_CAFE",
                    geom=_point(x, y),
                    source="test",
                )
            )
        for i, (x, y) in enumerate(others[:20]):
            conn.execute(
                activity.insert().values(
                    title=f"fotball {i}", category="SPORTS", geom=_point(x, y), source="test"
                )
            )
        for i, (x, y) in enumerate(others[20:]):
            conn.execute(
                activity.insert().values(
                    title=f"nedlagt {i}",
                    category="LANGUAGE_CAFE",
                    geom=_point(x, y),
                    source="test",
                    **({"status": "CANCELLED"} if i else {"archived_at": sa.func.now()}),
                )
            )
    yield Placed(engine, cafes)
    engine.dispose()
    from geo.db import drop_database

    drop_database(url)


def _reference(
    cells: list[Cell], points: list[tuple[float, float]], within: float
) -> tuple[int, int, list[tuple[str, int, float]]]:
    """(population, covered population, gaps as (code, population, nearest distance)) by the
    rule: covered when a point lies within ``within`` of the cell's polygon."""
    targets = [Point(p) for p in points]
    population = covered = 0
    gaps = []
    for cell in cells:
        nearest = min(cell.polygon.distance(t) for t in targets)
        population += cell.population
        if nearest <= within:
            covered += cell.population
        elif cell.population > 0:
            gaps.append((cell.code, cell.population, nearest))
    gaps.sort(key=lambda g: (-g[1], g[0]))
    return population, covered, gaps


def _all_gaps(
    conn: sa.Connection, area: Any, target: Target, within: float, page: int
) -> list[tuple[str, int, float]]:
    found: list[tuple[str, int, float]] = []
    after: GapKey | None = None
    while True:
        gaps, more = coverage_gaps(conn, area, target, within, "GRID_1KM", first=page, after=after)
        found += [(g.code, g.population, g.nearest_distance_m) for g in gaps]
        if not more:
            return found
        after = gaps[-1].key


@pytest.fixture(params=["per unit", "from the targets"])
def strategy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of finding covered units must give the same answer."""
    monkeypatch.setattr(
        coverage_module, "TARGETS_PER_UNIT", 10**6 if request.param == "from the targets" else 0
    )
    return str(request.param)


@pytest.mark.parametrize("within", [500.0, 1000.0, 2000.0])
def test_coverage_matches_the_shapely_reference(
    placed: Placed, strategy: str, within: float
) -> None:
    cells = _in(oslo())
    population, covered, gaps = _reference(cells, placed.cafes, within)
    assert 0 < covered < population  # the reach leaves gaps and covers something
    with placed.engine.connect() as conn:
        report = coverage(conn, MunicipalityArea("0301"), CAFES, within, "GRID_1KM", first=100)
        found = _all_gaps(conn, MunicipalityArea("0301"), CAFES, within, page=7)
    summary = report.summary
    assert (summary.unit_count, summary.population, summary.covered_population) == (
        len(cells),
        population,
        covered,
    )
    assert summary.gap_count == len(gaps)
    assert summary.covered_share == pytest.approx(covered / population)
    assert [(g.code, g.population) for g in report.gaps] == [(c, p) for c, p, _ in gaps][:100]
    assert [(c, p) for c, p, _ in found] == [(c, p) for c, p, _ in gaps]
    for (_, _, got), (_, _, expected) in zip(found, gaps, strict=True):
        assert got == pytest.approx(expected, abs=1.0)
        assert got > within


def test_a_target_inside_a_unit_covers_it(placed: Placed) -> None:
    """Distance is measured to the unit's polygon: a café inside a cell covers it at any reach,
    even where the cell's centre is farther away than the reach."""
    x, y = placed.cafes[0]
    (cell,) = [c for c in grid() if c.polygon.covers(Point(x, y))]
    with placed.engine.connect() as conn:
        gaps = _all_gaps(conn, MunicipalityArea("0301"), CAFES, 1.0, page=100)
    assert cell.code not in {code for code, _, _ in gaps}
    assert Point(x, y).distance(cell.polygon.centroid) > 1.0


def test_targets_outside_the_area_cover_units_inside_it(placed: Placed) -> None:
    """Groruddalen's coverage counts cafés in the rest of Oslo: the same cells are covered as
    in Oslo's own report."""
    with placed.engine.connect() as conn:
        inside = {
            g.code
            for g in coverage(
                conn, InitiativeArea(slug="groruddalen"), CAFES, 1000, "GRID_1KM", first=100
            ).gaps
        }
        whole = {c for c, _, _ in _all_gaps(conn, MunicipalityArea("0301"), CAFES, 1000, 100)}
    cells = {c.code for c in _in(groruddalen())}
    assert inside == whole & cells


def test_the_filter_picks_the_targets(placed: Placed) -> None:
    """Only active, unarchived activities of the asked categories count."""
    sports = Target(TargetKind.ACTIVITY, DirectoryFilter(categories=("SPORTS",)))
    both = Target(TargetKind.ACTIVITY, DirectoryFilter(categories=("SPORTS", "LANGUAGE_CAFE")))
    with placed.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                sa.func.ST_X(activity.c.geom), sa.func.ST_Y(activity.c.geom), activity.c.category
            ).where(
                activity.c.source == "test",
                activity.c.status == "ACTIVE",
                activity.c.archived_at.is_(None),
            )
        ).all()
        got_sports = coverage_summary(conn, MunicipalityArea("0301"), sports, 1000, "GRID_1KM")
        got_both = coverage_summary(conn, MunicipalityArea("0301"), both, 1000, "GRID_1KM")
    cells = _in(oslo())
    sport_points = [(x, y) for x, y, c in rows if c == "SPORTS"]
    assert len(sport_points) == 20
    assert got_sports.covered_population == _reference(cells, sport_points, 1000)[1]
    assert got_both.covered_population == _reference(cells, [(x, y) for x, y, _ in rows], 1000)[1]
    assert len(rows) == 70  # the archived and the cancelled café are not among them


def test_area_variants_agree(placed: Placed) -> None:
    """Oslo as a municipality, as a GeoJSON polygon of its boundary and as a box around the grid:
    the totals the reference gives for each."""
    west, south = 10.3, 59.75
    east, north = 11.1, 60.2
    with placed.engine.connect() as conn:
        by_number = coverage_summary(conn, MunicipalityArea("0301"), CAFES, 1000, "GRID_1KM")
        by_polygon = coverage_summary(
            conn, area_from_geojson(oslo_lon_lat()), CAFES, 1000, "GRID_1KM"
        )
        by_box = coverage_summary(
            conn, area_from_bbox([west, south, east, north]), CAFES, 1000, "GRID_1KM"
        )
    in_oslo = _in(oslo())
    assert by_number.population == by_polygon.population == sum(c.population for c in in_oslo)
    assert (by_number.unit_count, by_number.covered_population) == (
        by_polygon.unit_count,
        by_polygon.covered_population,
    )
    assert by_number.area_name == "Oslo"
    assert by_polygon.area_name is None
    assert by_polygon.notes == by_number.notes  # nothing repaired or clipped
    box_area = _to_utm(shapely.segmentize(box(west, south, east, north), 0.01))
    assert (by_box.unit_count, by_box.population) == (len(_in(box_area)), OSLO_TOTAL)
    assert by_box.population > by_number.population  # cells whose centre is outside Oslo


def test_groruddalen_is_the_cells_in_its_four_districts(placed: Placed) -> None:
    cells = _in(groruddalen())
    with placed.engine.connect() as conn:
        report = coverage_summary(conn, InitiativeArea(slug="groruddalen"), CAFES, 1000, "GRID_1KM")
        initiative_id = conn.execute(
            sa.text("SELECT id FROM area_initiative WHERE slug = 'groruddalen'")
        ).scalar_one()
        by_id = coverage_summary(conn, InitiativeArea(id=initiative_id), CAFES, 1000, "GRID_1KM")
    assert report.area_name == "Groruddalen"
    assert (report.unit_count, report.population) == (len(cells), sum(c.population for c in cells))
    assert report.covered_population == _reference(cells, placed.cafes, 1000)[1]
    assert by_id == report


def test_unknown_areas(placed: Placed) -> None:
    with placed.engine.connect() as conn:
        with pytest.raises(UnknownArea, match="no area initiative 'nowhere'"):
            coverage_summary(conn, InitiativeArea(slug="nowhere"), CAFES, 1000, "GRID_1KM")
        with pytest.raises(UnknownArea, match="municipality 9999 is not loaded"):
            coverage_summary(conn, MunicipalityArea("9999"), CAFES, 1000, "GRID_1KM")


def test_a_unit_kind_with_no_data_is_an_empty_report(placed: Placed) -> None:
    with placed.engine.connect() as conn:
        report = coverage(conn, MunicipalityArea("0301"), CAFES, 1000, "GRUNNKRETS")
    summary = report.summary
    assert (summary.unit_count, summary.population, summary.covered_population) == (0, 0, 0)
    assert summary.covered_share is None
    assert report.gaps == []
    (note,) = summary.notes
    assert note.english == (
        "No GRUNNKRETS units are loaded in this area; units of GRID_1KM, DELBYDEL, BYDEL are."
    )
    assert note.code is CoverageNote.NO_UNITS_OF_KIND
    assert note.values == {
        "unitKind": "GRUNNKRETS",
        "otherKinds": ("GRID_1KM", "DELBYDEL", "BYDEL"),
    }


def test_units_without_population_figures_say_so(placed: Placed) -> None:
    """Oslo's districts carry no population: they count as 0 and the report says so."""
    districts = [
        shapely.make_valid(_to_utm(shape(f["geometry"]))) for f in _features("oslo-bydeler.geojson")
    ]
    inside = [d for d in districts if oslo().intersects(d.representative_point())]
    with placed.engine.connect() as conn:
        summary = coverage_summary(conn, MunicipalityArea("0301"), CAFES, 1000, "BYDEL")
    assert summary.unit_count == len(inside)
    assert summary.population == 0
    assert summary.covered_share is None
    assert summary.immigrant_population is None
    (figures, immigrants) = summary.notes
    assert (
        figures.english
        == f"{len(inside)} of {len(inside)} units have no population figure and count as 0."
    )
    assert figures.code is CoverageNote.NO_POPULATION_FIGURE
    assert figures.values == {"missing": len(inside), "units": len(inside)}
    assert immigrants.code is CoverageNote.IMMIGRANTS_UNKNOWN


def test_immigrant_figures_of_some_units_only_say_how_many(placed: Placed) -> None:
    """Three of Groruddalen's cells with an immigrant figure, the rest without: no total, and
    the note counts both."""
    cells = _in(groruddalen())
    known = sorted(c.code for c in cells)[:3]
    with placed.engine.connect() as conn, conn.begin() as transaction:
        updated = conn.execute(
            statistical_area.update()
            .where(statistical_area.c.kind == "GRID_1KM", statistical_area.c.code.in_(known))
            .values(immigrant_population=10)
        )
        assert updated.rowcount == 3
        summary = coverage_summary(
            conn, InitiativeArea(slug="groruddalen"), CAFES, 1000, "GRID_1KM"
        )
        transaction.rollback()
    assert summary.immigrant_population is None
    (note,) = summary.notes
    assert note.code is CoverageNote.IMMIGRANTS_PARTLY_KNOWN
    assert note.values == {"known": 3, "units": len(cells)}
    assert note.english == (
        f"Immigrant population is known for 3 of {len(cells)} units only, so no total is given."
    )
    assert note_text(note, label_set("nb")) == (
        f"Antall innvandrere er kjent for bare 3 av {len(cells)} enheter, så ingen sum oppgis."
    )


def test_venues_available_evenings_or_weekends(placed: Placed) -> None:
    """Venue targets: only free venues with an evening or weekend window count."""
    x, y = placed.cafes[0]
    far_x, far_y = placed.cafes[1]
    with placed.engine.connect() as conn:  # rolled back when it closes

        def add(px: float, py: float, price: str, windows: list[tuple[int, str, str]]) -> None:
            venue_id = conn.execute(
                venue.insert()
                .values(
                    name="rom",
                    owner_type="MUNICIPALITY",
                    venue_type="SCHOOL",
                    price_model=price,
                    geom=_point(px, py),
                    source="test-venue",
                )
                .returning(venue.c.id)
            ).scalar_one()
            for weekday, starts, ends in windows:
                conn.execute(
                    venue_availability.insert().values(
                        venue_id=venue_id, weekday=weekday, starts=starts, ends=ends
                    )
                )

        add(x, y, "FREE", [(2, "17:00", "21:00")])  # Tuesday evening
        add(far_x, far_y, "FREE", [(2, "09:00", "15:00")])  # Tuesday daytime only
        add(far_x + 5, far_y, "MARKET", [(6, "10:00", "14:00")])  # Saturday, but not free
        target = Target(
            TargetKind.VENUE,
            DirectoryFilter(free_only=True, evening_or_weekend=True, owner_types=("MUNICIPALITY",)),
        )
        summary = coverage_summary(conn, MunicipalityArea("0301"), target, 1000, "GRID_1KM")
    assert summary.covered_population == _reference(_in(oslo()), [(x, y)], 1000)[1]


def test_every_municipality_at_once_agrees_with_one_at_a_time(placed: Placed) -> None:
    with placed.engine.connect() as conn:
        national = coverage_by_municipality(conn, CAFES, 2000, "GRID_1KM")
        one = coverage_summary(conn, MunicipalityArea("0301"), CAFES, 2000, "GRID_1KM")
    by_number = {m.number: m for m in national}
    # Units belong to the municipality their row names (the loader's interior-point join).
    oslo_row = by_number["0301"]
    assert oslo_row.name == "Oslo"
    assert (oslo_row.unit_count, oslo_row.population, oslo_row.covered_population) == (
        one.unit_count,
        one.population,
        one.covered_population,
    )
    assert sum(m.population for m in national) <= OSLO_TOTAL


# --- areas drawn by the caller -----------------------------------------------------------------

BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[10.8, 59.9], [10.9, 60.0], [10.9, 59.9], [10.8, 60.0], [10.8, 59.9]]],
}


def test_a_self_intersecting_polygon_is_repaired_and_noted() -> None:
    area = area_from_geojson(BOWTIE)
    assert area.geom is not None
    assert area.geom.is_valid
    assert len(area.geom.geoms) == 2  # the two triangles of the bow tie
    (note,) = area.notes
    assert "Self-intersection at lon 10.85, lat 59.95" in note.english
    assert "repaired" in note.english
    assert note.code is CoverageNote.AREA_REPAIRED
    assert note.values == {"problem": "Self-intersection", "lon": 10.85, "lat": 59.95}
    assert {note} == set(area_from_geojson(BOWTIE).notes)  # hashable, equal by value


def _circle(vertices: int) -> dict[str, Any]:
    angles = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    ring = [[10.75 + 0.1 * np.cos(a), 59.9 + 0.05 * np.sin(a)] for a in angles]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (_circle(20_000), f"more than {MAX_VERTICES:,} vertices"),
        ({"type": "Point", "coordinates": [10.7, 59.9]}, "Polygon or MultiPolygon is expected"),
        (
            {"type": "Polygon", "coordinates": [[[10.7, 59.9], [10.8, 59.9], [10.8, 60.0]]]},
            "needs at least 4",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [[[10.7, 59.9], [10.8, 59.9], [10.8, 60.0], [10.7, 60.0]]],
            },
            "is not closed",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [[[59.9, 190.7], [59.9, 10.8], [60.0, 10.8], [59.9, 190.7]]],
            },
            "lat must be within",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [[[10.7, 59.9], [10.8, "x"], [10.8, 60.0], [10.7, 59.9]]],
            },
            "lat must be a number",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [[[10.7, 59.9], [10.8, 59.9], [10.9, 59.9], [10.7, 59.9]]],
            },
            "nothing areal",
        ),
        ({"type": "Polygon"}, "no coordinates"),
        ("POLYGON((0 0, 1 0, 1 1, 0 0))", "GeoJSON Polygon or MultiPolygon object"),
    ],
)
def test_bad_polygons_are_refused_with_the_reason(value: Any, reason: str) -> None:
    with pytest.raises(AreaInputError, match=reason):
        area_from_geojson(value)


def test_a_feature_and_a_multipolygon_are_accepted() -> None:
    square = box(10.7, 59.9, 10.8, 60.0)
    feature = {"type": "Feature", "properties": {}, "geometry": mapping(square)}
    multi = json.loads(shapely.to_geojson(MultiPolygon([square])))
    assert area_from_geojson(feature).geom.equals(area_from_geojson(multi).geom)


def test_areas_far_from_norway_are_clipped_or_empty() -> None:
    world = area_from_bbox([-180, -90, 180, 90])
    assert world.geom is not None
    (clipped,) = world.notes
    assert "clipped" in clipped.english
    assert clipped.code is CoverageNote.AREA_CLIPPED
    assert clipped.values == {"minLon": -20, "maxLon": 45, "minLat": 50, "maxLat": 85}
    assert area_from_bbox([100, -40, 120, -20]).geom is None


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ([11.0, 59.8, 10.5, 60.1], r"minLon \(11\) must be less than maxLon \(10.5\)"),
        ([10.5, 60.1, 11.0, 59.8], "minLat"),
        ([10.5, 59.8, 11.0], "four numbers"),
        ([10.5, 59.8, 181, 60.1], "maxLon must be within"),
        ([10.5, float("nan"), 11, 60.1], "minLat must be within"),
    ],
)
def test_bad_boxes_are_refused(values: list[float], reason: str) -> None:
    with pytest.raises(AreaInputError, match=reason):
        area_from_bbox(values)


def test_an_empty_area_is_an_empty_report(placed: Placed) -> None:
    with placed.engine.connect() as conn:
        summary = coverage_summary(
            conn, area_from_bbox([100, -40, 120, -20]), CAFES, 1000, "GRID_1KM"
        )
    assert summary.unit_count == 0
    assert [note.code for note in summary.notes] == [
        CoverageNote.AREA_CLIPPED,
        CoverageNote.NO_UNITS_OUTSIDE_REGION,
    ]
    assert "outside the region around Norway" in summary.notes[-1].english


# --- the 250 m split ---------------------------------------------------------------------------


def test_even_split_keeps_the_total_and_spreads_the_rest() -> None:
    assert even_split(35, 16) == [3, 2, 2, 2, 2, 3, 2, 2, 2, 2, 3, 2, 2, 2, 2, 2]
    assert even_split(5, 16).count(1) == 5
    assert sum(even_split(9165, 16)) == 9165
    assert ssb_code(256000, 6672000) == "22560006672000"


def test_250m_cells_split_the_real_grid(fresh_loaded_url: URL) -> None:
    engine = sync_engine(fresh_loaded_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            report = split_1km_grid(conn)
            again = split_1km_grid(conn)
            a = statistical_area.c
            rows = conn.execute(
                sa.select(a.code, a.population, sa.func.ST_Area(a.geom)).where(
                    a.kind == "GRID_250M"
                )
            ).all()
            cafes = Target(TargetKind.ACTIVITY, DirectoryFilter())
            fine = coverage_summary(
                conn, InitiativeArea(slug="groruddalen"), cafes, 1000, "GRID_250M"
            )
    finally:
        engine.dispose()
    assert report.inserted == 258 * 16
    assert again.unchanged == 258 * 16
    assert sum(r.population for r in rows) == OSLO_TOTAL
    assert {round(r[2]) for r in rows} == {62_500}
    first = grid()[0]
    x, y = first.polygon.bounds[:2]
    corners = {ssb_code(x + 250 * i, y + 250 * j) for i in range(4) for j in range(4)}
    assert sum(r.population for r in rows if r.code in corners) == first.population
    # Groruddalen on 250 m cells: the sub-cells whose centre lies in its districts.
    centres = [
        Point(x + 125, y + 125)
        for x, y in ((int(r.code[:7]) - 2_000_000, int(r.code[7:])) for r in rows)
    ]
    expected = sum(
        r.population
        for r, c in zip(rows, centres, strict=True)
        if any(d.intersects(c) for d in groruddalen())
    )
    assert fine.population == expected
    assert fine.unit_count > 16 * len(_in(groruddalen())) * 0.8
