"""Venues from the documented CSV, from GeoJSON/GeoPackage in any CRS, and from Geonorge's school
and kindergarten points; idempotent reloads; every refusal names its record and field."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import numpy as np
import pyogrio.raw
import pytest
import shapely
import sqlalchemy as sa
from pyproj import Transformer
from sqlalchemy.engine import URL

from geo.db import sync_engine
from geo.tables import organisation, venue, venue_availability
from loaders.report import LoadError
from loaders.venues import load_venues
from tests.conftest import FIXTURES
from tests.loaders._directory import (
    VENUES_CSV,
    VERIFICATION,
    edited,
    load_fixture_organisations,
    read_rows,
    rows_of,
    snapshot,
    write_rows,
)

SCHOOLS = FIXTURES / "geonorge-skoler.geojson"
KINDERGARTENS = FIXTURES / "geonorge-barnehager.geojson"


@pytest.fixture
def engine(fresh_loaded_url: URL):
    engine = sync_engine(fresh_loaded_url, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def _venues(conn: sa.Connection) -> dict[str, sa.Row]:
    lon_lat = sa.func.ST_AsText(sa.func.ST_Transform(venue.c.geom, 4326)).label("wgs84")
    return {r.external_id: r for r in conn.execute(sa.select(venue, lon_lat))}


def _windows(conn: sa.Connection, venue_id: int) -> list[tuple[int, time, time]]:
    w = venue_availability.c
    return [
        tuple(r)
        for r in conn.execute(
            sa.select(w.weekday, w.starts, w.ends)
            .where(w.venue_id == venue_id)
            .order_by(w.weekday, w.starts)
        )
    ]


def test_csv_venues_load_with_derived_municipality_windows_and_owner(
    scratch_conn: sa.Connection,
) -> None:
    load_fixture_organisations(scratch_conn)
    report = load_venues(scratch_conn, VENUES_CSV)
    rows = _venues(scratch_conn)
    assert (report.inserted, report.updated, report.unchanged) == (3, 0, 0)
    grorud, toyen, bergen = (
        rows["v-grorud-bibliotek"],
        rows["v-toyen-frivillighetshus"],
        rows["v-bergen-aula"],
    )
    assert {r.source for r in rows.values()} == {"test-fixtures"}  # the file's source column
    assert (grorud.municipality_number, bergen.municipality_number) == ("0301", "4601")
    lon, lat = shapely.from_wkt(grorud.wgs84).coords[0]  # the CSV has decimal commas
    assert (lat, lon) == (pytest.approx(59.9614, abs=1e-9), pytest.approx(10.8806, abs=1e-9))
    assert (grorud.price_model, grorud.step_free, grorud.capacity) == ("FREE", True, 30)
    assert grorud.accessibility == ["TELESLYNGE", "HC_TOALETT"]
    assert grorud.suitable_categories == ["LANGUAGE_CAFE", "HOMEWORK_HELP"]
    assert grorud.last_verified == date(2026, 1, 15)
    assert _windows(scratch_conn, grorud.id) == [(1, time(17), time(21)), (4, time(17), time(21))]
    assert _windows(scratch_conn, toyen.id) == [(6, time(10), time(16))]  # "lør"
    owner = scratch_conn.execute(
        sa.select(organisation.c.organisation_number).where(
            organisation.c.id == toyen.owner_organisation_id
        )
    ).one()
    assert owner.organisation_number == "123456785"
    assert bergen.price_model is None  # empty is unknown, not MARKET
    assert bergen.step_free is None


def test_reloading_the_same_file_changes_nothing(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        load_fixture_organisations(conn)
        load_venues(conn, VENUES_CSV)
    with engine.connect() as conn:
        before = snapshot(conn)
    with engine.begin() as conn:
        again = load_venues(conn, VENUES_CSV)
    with engine.connect() as conn:
        assert snapshot(conn) == before  # ids, versions, updated_at, windows
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)


def test_changed_windows_are_replaced_for_that_venue_only(
    engine: sa.Engine, tmp_path: Path
) -> None:
    with engine.begin() as conn:
        load_fixture_organisations(conn)
        load_venues(conn, VENUES_CSV)
    with engine.connect() as conn:
        before = {r.external_id: r for r in conn.execute(sa.select(venue))}
        windows_before = rows_of(conn, venue_availability)
    path = edited(VENUES_CSV, tmp_path / "venues.csv", 2, availability="WED 18:00-21:00")
    with engine.begin() as conn:
        report = load_venues(conn, path)
    with engine.connect() as conn:
        after = {r.external_id: r for r in conn.execute(sa.select(venue))}
        windows_after = rows_of(conn, venue_availability)
        bergen_windows = _windows(conn, after["v-bergen-aula"].id)
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 2)
    assert bergen_windows == [(3, time(18), time(21))]
    assert after["v-bergen-aula"].version == 2
    assert after["v-bergen-aula"].updated_at > before["v-bergen-aula"].updated_at
    for unchanged in ("v-grorud-bibliotek", "v-toyen-frivillighetshus"):
        # The same content and version; only re-verified by the load (not a change).
        kept = [c.name for c in venue.c if c.name not in VERIFICATION]
        assert [after[unchanged]._mapping[c] for c in kept] == [
            before[unchanged]._mapping[c] for c in kept
        ]
        assert after[unchanged].last_verified_at > before[unchanged].last_verified_at
    bergen_id = after["v-bergen-aula"].id
    assert [w for w in windows_after if w[1] != bergen_id] == [
        w for w in windows_before if w[1] != bergen_id
    ]


def test_geonorge_schools_become_school_venues(scratch_conn: sa.Connection) -> None:
    report = load_venues(scratch_conn, SCHOOLS)
    rows = _venues(scratch_conn)
    again = load_venues(scratch_conn, SCHOOLS)
    assert (report.inserted, report.skipped) == (5, 1)  # Våland vgs is not in operation
    assert again.unchanged == 5
    assert "986810714" not in rows
    assert any("Våland" in w for w in report.warnings)
    assert {r.source for r in rows.values()} == {"geonorge-skoler"}
    assert {r.venue_type for r in rows.values()} == {"SCHOOL"}
    assert {r.price_model for r in rows.values()} == {None}  # the source does not say
    asane = rows["974557479"]
    assert (asane.name, asane.owner_type, asane.municipality_number) == (
        "Åsane vidaregåande skule",
        "COUNTY",
        "4601",
    )
    assert (asane.address, asane.postal_code, asane.contact_email) == (
        "Åsane Senter 52",
        "5116",
        "post.aav@vlfk.no",
    )
    assert asane.description == "Videregående skole, 11.–13. trinn, 800 elever."
    assert rows["971816317"].owner_type == "PRIVATE"
    assert rows["971816317"].municipality_number == "0301"
    primary = rows["123456807"]
    assert (primary.owner_type, primary.description) == (
        "MUNICIPALITY",
        "Barneskole, 1.–7. trinn, 312 elever.",
    )
    flat = rows["123456815"]  # flattened field names, as in Geonorge's PostGIS export
    assert (flat.address, flat.owner_type) == ("Eksempelbakken 2", "MUNICIPALITY")
    assert flat.description.startswith("Barne- og ungdomsskole, 1.–10. trinn")
    assert rows["123456823"].owner_type == "PRIVATE"


def test_geonorge_kindergartens_become_other_venues(scratch_conn: sa.Connection) -> None:
    report = load_venues(scratch_conn, KINDERGARTENS)
    rows = _venues(scratch_conn)
    assert report.inserted == 2
    assert {r.source for r in rows.values()} == {"geonorge-barnehager"}
    assert {r.venue_type for r in rows.values()} == {"OTHER"}
    assert rows["123456831"].description == "Barnehage, 54 barn, 1–5 år."
    assert (rows["123456831"].owner_type, rows["123456858"].owner_type) == (
        "MUNICIPALITY",
        "PRIVATE",
    )
    assert (rows["123456831"].municipality_number, rows["123456858"].municipality_number) == (
        "0301",
        "4601",
    )


def _gpkg(path: Path, records: list[dict[str, str]], crs: int) -> Path:
    """The CSV's records as a GeoPackage with their points in ``crs``."""
    to_crs = Transformer.from_crs(4326, crs, always_xy=True)
    points = [
        shapely.Point(
            to_crs.transform(float(r["lon"].replace(",", ".")), float(r["lat"].replace(",", ".")))
        )
        for r in records
    ]
    names = [k for k in records[0] if k not in ("lat", "lon")]
    fields = [np.array([r[k] for r in records], dtype=object) for k in names]
    pyogrio.raw.write(
        path,
        np.array(shapely.to_wkb(points), dtype=object),
        fields,
        fields=names,
        geometry_type="Point",
        crs=f"EPSG:{crs}",
        driver="GPKG",
    )
    return path


def test_a_geopackage_in_another_crs_gives_the_same_points(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    load_fixture_organisations(scratch_conn)
    records = read_rows(VENUES_CSV)
    for record in records:
        record["source"] = "gpkg"
    load_venues(scratch_conn, _gpkg(tmp_path / "venues.gpkg", records, 25832))
    load_venues(scratch_conn, VENUES_CSV)
    distance = sa.func.ST_Distance(
        venue.c.geom,
        sa.func.lag(venue.c.geom).over(partition_by=venue.c.external_id, order_by=venue.c.source),
    )
    found = scratch_conn.execute(
        sa.select(venue.c.external_id, venue.c.municipality_number, distance.label("d"))
    ).all()
    gaps = [r.d for r in found if r.d is not None]
    assert len(gaps) == 3
    assert max(gaps) < 0.001  # metres: the same point through EPSG:25832


def _refused(conn: sa.Connection, path: Path) -> LoadError:
    before = snapshot(conn)
    with pytest.raises(LoadError) as caught:
        load_venues(conn, path)
    assert snapshot(conn) == before  # nothing written
    return caught.value


@pytest.mark.parametrize(
    ("cells", "field", "reason"),
    [
        ({"venue_type": "CASTLE"}, "venue_type", "SCHOOL, LIBRARY, CULTURE_HOUSE"),
        ({"owner_type": ""}, "owner_type", "MUNICIPALITY, COUNTY"),
        ({"price_model": "CHEAP"}, "price_model", "FREE, REDUCED, MARKET"),
        ({"suitable_categories": "SPORTS|DANCING"}, "suitable_categories", "LANGUAGE_CAFE"),
        ({"availability": "XYZ 10:00-12:00"}, "availability", "man tir ons tor fre lør søn"),
        ({"availability": "MON 21:00-17:00"}, "availability", "ends before it starts"),
        ({"availability": "MON 17:00-25:00"}, "availability", "out of range"),
        ({"availability": "MON"}, "availability", "like MON 17:00-21:00"),
        ({"owner_organisation_number": "123456789"}, "owner_organisation_number", "mod-11"),
        ({"lat": "95", "lon": "10"}, "lat", "outside [-90, 90]"),
        ({"lat": "", "lon": ""}, "lat", "needs its point"),
        ({"lon": ""}, "lon", "is required with lat"),
        ({"booking_url": "ftp://example.org/x"}, "booking_url", "http(s)"),
        ({"booking_url": "www.example.org"}, "booking_url", "http(s)"),
        ({"contact_email": "booking.example.org"}, "contact_email", "e-mail"),
        ({"description": "x" * 10_000}, "description", "longer than"),
        ({"name": "y" * 10_000}, "name", "longer than"),
        ({"capacity": "-5"}, "capacity", "at least 1"),
        ({"step_free": "kanskje"}, "step_free", "ja/nei"),
        ({"last_verified": "15.01.2026"}, "last_verified", "YYYY-MM-DD"),
        ({"postal_code": "12345"}, "postal_code", "four-digit"),
        ({"external_id": ""}, "external_id", "required"),
    ],
)
def test_a_bad_field_names_line_field_and_reason(
    scratch_conn: sa.Connection, tmp_path: Path, cells: dict[str, str], field: str, reason: str
) -> None:
    load_fixture_organisations(scratch_conn)
    error = _refused(scratch_conn, edited(VENUES_CSV, tmp_path / "v.csv", 1, **cells))
    assert (error.record, error.field, error.code) == ("line 3", field, "INVALID_RECORD")
    assert reason in error.reason


@pytest.mark.parametrize(
    ("lat", "lon"), [("58.0", "3.0"), ("59.3293", "18.0686"), ("10.7522", "59.9139")]
)
def test_a_point_outside_every_municipality_is_refused(
    scratch_conn: sa.Connection, tmp_path: Path, lat: str, lon: str
) -> None:
    """At sea, in Stockholm, lat and lon swapped."""
    load_fixture_organisations(scratch_conn)
    error = _refused(scratch_conn, edited(VENUES_CSV, tmp_path / "v.csv", 2, lat=lat, lon=lon))
    assert (error.record, error.field, error.code) == ("line 4", "lat", "OUTSIDE_MUNICIPALITIES")


def test_an_owner_not_in_the_directory_is_refused(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    error = _refused(scratch_conn, VENUES_CSV)  # the organisations are not loaded
    assert (error.record, error.field, error.code) == (
        "line 3",
        "owner_organisation_number",
        "UNKNOWN_ORGANISATION",
    )
    assert "123456785" in error.reason


def test_the_first_bad_row_is_reported_whatever_made_it_bad(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    """Line 3 names an unknown owner (a database check), line 4 has a bad field: line 3."""
    path = edited(VENUES_CSV, tmp_path / "v.csv", 2, venue_type="CASTLE")
    error = _refused(scratch_conn, path)
    assert (error.record, error.code) == ("line 3", "UNKNOWN_ORGANISATION")


def test_a_repeated_external_id_names_both_lines(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    load_fixture_organisations(scratch_conn)
    path = edited(VENUES_CSV, tmp_path / "v.csv", 2, external_id="v-grorud-bibliotek")
    error = _refused(scratch_conn, path)
    assert (error.record, error.field, error.code) == ("line 4", "external_id", "DUPLICATE")
    assert "line 2" in error.reason
    assert "line 4" in error.reason


def test_a_missing_column_is_refused_before_any_row(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    rows = read_rows(VENUES_CSV)
    for row in rows:
        del row["venue_type"]
    error = _refused(scratch_conn, write_rows(tmp_path / "v.csv", rows))
    assert error.code == "BAD_HEADER"
    assert "venue_type" in error.reason


def test_a_vector_feature_that_is_not_a_point_names_the_feature(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    text = SCHOOLS.read_text(encoding="utf-8").replace(
        '"Point", "coordinates": [261006.92, 6649637.15]',
        '"LineString", "coordinates": [[261006.92, 6649637.15], [261100, 6649700]]',
    )
    path = tmp_path / "skoler.geojson"
    path.write_text(text, encoding="utf-8")
    error = _refused(scratch_conn, path)
    assert (error.record, error.field) == (
        "feature 2 (Wang videregående Skole/ Wang Toppidrett)",
        "geometry",
    )
    assert "LineString" in error.reason


def test_a_bad_organisation_number_in_a_geonorge_file_names_the_feature(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "skoler.geojson"
    path.write_text(
        SCHOOLS.read_text(encoding="utf-8").replace("123456807", "123456789"), encoding="utf-8"
    )
    error = _refused(scratch_conn, path)
    assert (error.record, error.field) == (
        "feature 4 (Eksempelhaugen skole)",
        "organisasjonsnummer",
    )


def test_a_file_that_is_not_csv_is_refused_with_a_reason(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("just one line of prose\n", encoding="utf-8")
    error = _refused(scratch_conn, path)
    assert error.code == "BAD_HEADER"
    assert "is this a CSV file" in error.reason


def test_a_file_with_its_own_column_names_loads_with_the_field_options(engine, tmp_path):
    """Another publisher's names (id, navn, eiertype, type): refused with the file's own fields
    and the options to name them; loaded with the options as the documented file is."""
    renames = {"external_id": "id", "name": "navn", "owner_type": "eiertype", "venue_type": "type"}
    rows = [{renames.get(k, k): value for k, value in row.items()} for row in read_rows(VENUES_CSV)]
    theirs = write_rows(tmp_path / "lokaler.csv", rows)
    with engine.begin() as conn:
        load_fixture_organisations(conn)
    with engine.begin() as conn, pytest.raises(LoadError) as refused:
        load_venues(conn, theirs)
    reason = refused.value.reason
    assert refused.value.code == "BAD_HEADER"
    assert "eiertype" in reason
    assert "navn" in reason
    assert "--code-field FIELD" in reason
    assert "--field owner_type=FIELD" in reason
    fields = {"code": "id", "name": "navn", "owner_type": "eiertype", "venue_type": "type"}
    with engine.begin() as conn:
        report = load_venues(conn, theirs, fields=fields)
    assert report.inserted == len(rows)
    with engine.connect() as conn:
        names = set(conn.execute(sa.select(venue.c.name)).scalars())
    assert {row["navn"] for row in rows} <= names
