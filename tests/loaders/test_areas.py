"""Oslo's districts, sub-districts and the population grid as areas; initiatives from them."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from geo.db import sync_engine
from geo.tables import area_initiative, statistical_area
from loaders.areas import load_areas
from loaders.initiatives import load_initiatives
from loaders.report import LoadError
from tests.conftest import DATA_DIR


@pytest.fixture
def engine(fresh_loaded_url: URL):
    """The real boundaries, without what these tests load themselves (the bundle has it)."""
    engine = sync_engine(fresh_loaded_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        for table in (area_initiative, statistical_area):
            conn.execute(table.delete())
    yield engine
    engine.dispose()


def _areas(conn: sa.Connection, kind: str) -> dict[str, sa.Row]:
    a = statistical_area.c
    return {
        r.code: r
        for r in conn.execute(
            sa.select(
                a.code,
                a.name,
                a.municipality_number,
                a.population,
                sa.func.ST_Area(a.geom).label("m2"),
                sa.func.ST_IsValid(a.geom).label("ok"),
            ).where(a.kind == kind)
        )
    }


def test_oslo_districts_and_sub_districts_load_with_codes(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        districts = load_areas(conn, DATA_DIR / "oslo-bydeler.geojson", kind="BYDEL")
        subs = load_areas(conn, DATA_DIR / "oslo-delbydeler.geojson", kind="DELBYDEL")
        bydel, delbydel = _areas(conn, "BYDEL"), _areas(conn, "DELBYDEL")
    assert districts.inserted == 16  # 15 districts and Sentrum
    assert subs.inserted == 97
    assert bydel["030112"].name == "Alna"
    assert bydel["030115"].name == "Søndre Nordstrand"
    assert all(r.municipality_number == "0301" and r.ok for r in bydel.values())
    assert all(code.startswith("0301") and len(code) == 8 for code in delbydel)
    # The sub-districts of Alna (12xx) cover about the district's area.
    alna_subs = sum(r.m2 for code, r in delbydel.items() if code[4:6] == "12")
    assert alna_subs == pytest.approx(bydel["030112"].m2, rel=0.02)


def test_population_grid_gml_in_25833_keeps_its_population(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        report = load_areas(conn, DATA_DIR / "oslo-befolkning-1km-2019.gml", kind="GRID_1KM")
        cells = _areas(conn, "GRID_1KM")
    assert report.inserted == 258
    assert sum(c.population for c in cells.values()) == 678_692
    assert all(c.m2 == pytest.approx(1_000_000, rel=1e-6) for c in cells.values())
    assert {c.municipality_number for c in cells.values()} >= {"0301"}


def test_reloading_areas_changes_nothing(engine: sa.Engine) -> None:
    path = DATA_DIR / "oslo-bydeler.geojson"
    with engine.begin() as conn:
        load_areas(conn, path, kind="BYDEL")
        stamps = conn.execute(sa.select(statistical_area.c.updated_at)).scalars().all()
    with engine.begin() as conn:
        again = load_areas(conn, path, kind="BYDEL")
        assert conn.execute(sa.select(statistical_area.c.updated_at)).scalars().all() == stamps
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 16)


def test_initiatives_are_the_union_of_their_districts(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        load_areas(conn, DATA_DIR / "oslo-bydeler.geojson", kind="BYDEL")
        report = load_initiatives(conn, DATA_DIR / "area-initiatives.json")
        bydel = _areas(conn, "BYDEL")
        rows = {
            r.slug: r
            for r in conn.execute(
                sa.select(
                    area_initiative.c.slug,
                    area_initiative.c.name,
                    sa.func.ST_Area(area_initiative.c.geom).label("m2"),
                )
            )
        }
    assert report.inserted == 3
    groruddalen = sum(bydel[c].m2 for c in ("030109", "030110", "030111", "030112"))
    assert rows["groruddalen"].m2 == pytest.approx(groruddalen, rel=1e-6)
    assert rows["sondre-nordstrand"].m2 == pytest.approx(bydel["030115"].m2, rel=1e-9)


def test_initiative_without_its_districts_loaded_is_refused(engine: sa.Engine) -> None:
    with pytest.raises(LoadError, match="districts not loaded") as caught, engine.begin() as conn:
        load_initiatives(conn, DATA_DIR / "area-initiatives.json")
    assert caught.value.record == "initiative 1 (groruddalen)"


def test_an_area_without_a_code_names_the_feature(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "grid.geojson"
    path.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", '
        '"properties": {"popTot": 5}, "geometry": {"type": "Polygon", '
        '"coordinates": [[[10.7, 59.9], [10.71, 59.9], [10.71, 59.91], '
        "[10.7, 59.9]]]}}]}",
        encoding="utf-8",
    )
    with pytest.raises(LoadError, match="no code") as caught, engine.begin() as conn:
        load_areas(conn, path, kind="GRID_1KM")
    assert caught.value.record == "feature 1"


def test_grunnkretser_in_25833_load_with_population_and_repairs(engine: sa.Engine) -> None:
    """Geonorge's grunnkrets population layout (EPSG:25833 here): code, name, population; the
    municipality comes from the code; a bow tie is repaired and named."""
    from tests.conftest import FIXTURES

    with engine.begin() as conn:
        report = load_areas(conn, FIXTURES / "grunnkretser-eksempel.geojson", kind="GRUNNKRETS")
        units = _areas(conn, "GRUNNKRETS")
    assert report.inserted == 3
    assert report.repaired == 1
    assert "03010103" in report.warnings[0]
    assert {c: u.population for c, u in units.items()} == {
        "03010101": 1234,
        "03010102": 567,
        "03010103": 89,
    }
    assert {u.municipality_number for u in units.values()} == {"0301"}
    assert units["03010101"].m2 == pytest.approx(1_000_000)
    assert all(u.ok for u in units.values())


OTHER_CITIES = Path(__file__).parents[1] / "fixtures" / "bydeler-andre-byer-eksempel.geojson"


def test_another_publishers_districts_are_refused_with_their_fields_and_the_option(engine):
    with engine.begin() as conn, pytest.raises(LoadError) as refused:
        load_areas(conn, OTHER_CITIES, kind="BYDEL")
    error = refused.value
    assert error.code == "MISSING_FIELD"
    assert error.field == "code"
    assert "bydelnr" in error.reason  # the file's own fields, listed
    assert "bydelnavn" in error.reason
    assert "--code-field" in error.reason  # and the way out
    with engine.connect() as conn:
        assert _areas(conn, "BYDEL") == {}


def test_another_publishers_districts_load_with_the_field_options(engine):
    fields = {"code": "bydelnr", "name": "bydelnavn", "population": "innbyggere"}
    with engine.begin() as conn:
        report = load_areas(conn, OTHER_CITIES, kind="BYDEL", fields=fields)
    assert report.inserted == 6
    with engine.connect() as conn:
        loaded = _areas(conn, "BYDEL")
    assert loaded["460191"].name == "Bergen vest (testdistrikt)"
    assert loaded["460191"].population == 150_000
    assert {r.municipality_number for r in loaded.values()} == {"4601", "5001", "1103"}
    assert {code[:4] for code in loaded} == {r.municipality_number for r in loaded.values()}


@pytest.mark.parametrize(
    ("fields", "code", "field", "said"),
    [
        ({"code": "nummer"}, "MISSING_FIELD", "code", "bydelnr"),
        ({"colour": "bydelnavn"}, "UNKNOWN_COLUMN", "colour", "--code-field"),
    ],
)
def test_field_options_that_do_not_fit_are_refused(engine, fields, code, field, said):
    with engine.begin() as conn, pytest.raises(LoadError) as refused:
        load_areas(conn, OTHER_CITIES, kind="BYDEL", fields=fields)
    assert refused.value.code == code
    assert refused.value.field == field
    assert said in refused.value.reason
