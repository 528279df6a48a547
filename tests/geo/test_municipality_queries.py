"""geo.queries for municipalities, counties and where_am_i on small hand-made data: which year
each statistic comes from when columns are null in some years, and the county fallback."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from geo.crs import to_wgs84
from geo.queries.counties import counties, county_at
from geo.queries.location import where_am_i
from geo.queries.municipalities import (
    MunicipalityFilter,
    list_municipalities,
    municipalities_by_county,
    municipality_boundaries,
    municipality_by_number,
)
from geo.tables import county, municipality, municipality_statistics


def _square(x0: float, y0: float, size: float) -> sa.ColumnElement:
    x1, y1 = x0 + size, y0 + size
    wkt = f"MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))"
    return sa.func.ST_GeomFromText(wkt, 25833)


@pytest.fixture
def conn(fresh_engine):
    with fresh_engine.begin() as conn:
        conn.execute(
            sa.insert(county).values(
                number="03", name="Fylke", source="test", geom=_square(590_000, 6_640_000, 30_000)
            )
        )
        for number, name, x0, archived in (
            ("0301", "Østby", 590_000, False),
            ("0302", "100%_by", 600_000, False),
            ("0304", "Gammelby", 610_000, True),
            ("9901", "Utenfor", 700_000, False),
        ):
            conn.execute(
                sa.insert(municipality).values(
                    number=number,
                    name=name,
                    source="test",
                    geom=_square(x0, 6_640_000, 10_000),
                    archived_at=sa.func.now() if archived else None,
                )
            )
        conn.execute(
            sa.insert(municipality_statistics),
            [
                {
                    "municipality_number": "0301",
                    "year": 2019,
                    "population": 100,
                    "immigrants": 10,
                    "refugees": 3,
                    "source": "test",
                },
                {
                    "municipality_number": "0301",
                    "year": 2020,
                    "population": None,
                    "immigrants": 12,
                    "refugees": None,
                    "source": "test",
                },
                {
                    "municipality_number": "0301",
                    "year": 2021,
                    "population": 120,
                    "immigrants": None,
                    "refugees": None,
                    "source": "test",
                },
                {
                    "municipality_number": "0301",
                    "year": 2022,
                    "population": None,
                    "immigrants": None,
                    "refugees": None,
                    "source": "test",
                },
            ],
        )
        yield conn


def test_each_statistic_from_its_latest_year(conn):
    found = municipality_by_number(conn, "0301")
    assert found is not None
    assert (found.population, found.population_year) == (120, 2021)
    assert (found.immigrant_population, found.statistics_year) == (12, 2020)
    assert found.refugees is None  # the immigrant year's figure, even when null
    assert found.immigrant_share == pytest.approx(12 / 120)
    assert found.area_km2 == pytest.approx(100.0)
    assert (found.centroid.lat, found.centroid.lon) == pytest.approx(to_wgs84(595_000, 6_645_000))
    assert found.county is not None
    assert (found.county.number, found.county.name) == ("03", "Fylke")


def test_missing_statistics_and_county(conn):
    empty = municipality_by_number(conn, "0302")
    assert empty is not None
    assert empty.population is None
    assert empty.immigrant_share is None
    assert empty.statistics_year is None
    outside = municipality_by_number(conn, "9901")
    assert outside is not None
    assert outside.county is None
    assert outside.county_number == "99"
    assert municipality_by_number(conn, "0304") is None  # archived
    assert municipality_by_number(conn, "0999") is None


def test_where_am_i(conn):
    inside = where_am_i(conn, 595_000, 6_645_000)
    assert inside.municipality is not None
    assert inside.municipality.number == "0301"
    assert inside.county is not None
    assert inside.county.number == "03"
    # In the county but in no (live) municipality: the archived one does not count.
    gap = where_am_i(conn, 615_000, 6_645_000)
    assert gap.municipality is None
    assert gap.county is not None
    assert gap.county.number == "03"
    # In a municipality whose county is not loaded.
    lone = where_am_i(conn, 705_000, 6_645_000)
    assert lone.municipality is not None
    assert lone.municipality.number == "9901"
    assert lone.county is None
    # On the border of 0301 and 0302 both cover the point: the lower number wins.
    border = where_am_i(conn, 600_000, 6_645_000)
    assert border.municipality is not None
    assert border.municipality.number == "0301"
    assert county_at(conn, 0, 0) is None


def test_lists(conn):
    assert [c.number for c in counties(conn)] == ["03"]
    by_county = municipalities_by_county(conn, ["03", "99", "42"])
    assert {k: [m.number for m in v] for k, v in by_county.items()} == {
        "03": ["0301", "0302"],
        "99": ["9901"],
        "42": [],
    }
    page = list_municipalities(conn, MunicipalityFilter(), first=2)
    assert [m.number for m in page.items] == ["0301", "0302"]
    assert (page.total_count, page.has_next_page, page.has_previous_page) == (3, True, False)
    rest = list_municipalities(conn, MunicipalityFilter(), first=2, after_key="0302")
    assert [m.number for m in rest.items] == ["9901"]
    assert (rest.has_next_page, rest.has_previous_page) == (False, True)
    # LIKE wildcards are literal; case folds beyond ASCII.
    assert [
        m.number
        for m in list_municipalities(conn, MunicipalityFilter(name_contains="%_"), first=10).items
    ] == ["0302"]
    assert [
        m.number
        for m in list_municipalities(conn, MunicipalityFilter(name_contains="ØST"), first=10).items
    ] == ["0301"]
    with pytest.raises(ValueError, match="first"):
        list_municipalities(conn, None, first=-1)


def test_boundaries(conn):
    shapes = municipality_boundaries(conn, ["0301", "0999"])
    assert list(shapes) == ["0301"]
    ring = shapes["0301"]["coordinates"][0][0]
    lat, lon = to_wgs84(590_000, 6_640_000)
    assert ring[0] == pytest.approx([lon, lat], abs=1e-6)
    with pytest.raises(ValueError, match="simplify"):
        municipality_boundaries(conn, ["0301"], simplify_m=-1)
