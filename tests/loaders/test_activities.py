"""Activities at venues or at their own points, with schedules and exceptions; organisations from
CSV; the demo directory of the strategy's organisations and initiatives."""

from __future__ import annotations

import csv
import json
from datetime import date, time
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from geo.db import sync_engine
from geo.tables import activity, activity_exception, activity_schedule, organisation, venue
from loaders.activities import load_activities
from loaders.demo import DEMO_SOURCE, load_demo_directory
from loaders.organisations import load_organisations
from loaders.report import LoadError
from loaders.venues import load_venues
from tests.conftest import DATA_DIR
from tests.loaders._directory import (
    ACTIVITIES_CSV,
    ORGANISATIONS_CSV,
    VENUES_CSV,
    edited,
    load_fixture_organisations,
    read_rows,
    rows_of,
    snapshot,
    write_rows,
)

REAL_NUMBERS = {
    "864139442": "Norges Røde Kors",
    "941296459": "Redd Barna",
    "871033552": "Norsk Folkehjelp",
}


@pytest.fixture
def engine(fresh_loaded_url: URL):
    engine = sync_engine(fresh_loaded_url, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def _setup(conn: sa.Connection) -> None:
    load_fixture_organisations(conn)
    load_venues(conn, VENUES_CSV)


def _activities(conn: sa.Connection) -> dict[str, sa.Row]:
    return {r.external_id: r for r in conn.execute(sa.select(activity))}


def _schedule(conn: sa.Connection, activity_id: int) -> list[tuple]:
    s = activity_schedule.c
    return [
        tuple(r)
        for r in conn.execute(
            sa.select(s.weekday, s.starts, s.ends, s.valid_from, s.valid_to)
            .where(s.activity_id == activity_id)
            .order_by(s.weekday)
        )
    ]


def _exceptions(conn: sa.Connection, activity_id: int) -> list[date]:
    e = activity_exception.c
    return list(
        conn.execute(
            sa.select(e.on_date).where(e.activity_id == activity_id).order_by(e.on_date)
        ).scalars()
    )


def test_activities_load_at_venues_and_at_their_own_points(scratch_conn: sa.Connection) -> None:
    _setup(scratch_conn)
    report = load_activities(scratch_conn, ACTIVITIES_CSV)
    rows = _activities(scratch_conn)
    venues = {r.external_id: r for r in scratch_conn.execute(sa.select(venue))}
    orgs = {r.id: r for r in scratch_conn.execute(sa.select(organisation))}
    assert (report.inserted, report.updated, report.unchanged) == (3, 0, 0)
    cafe, homework, walk = (
        rows["a-sprakkafe-grorud"],
        rows["a-leksehjelp-toyen"],
        rows["a-tur-floyen"],
    )
    # At a venue: its id and exactly its point (same bytes), municipality from the point.
    assert cafe.venue_id == venues["v-grorud-bibliotek"].id
    same = scratch_conn.execute(
        sa.select(sa.func.ST_AsEWKB(activity.c.geom) == sa.func.ST_AsEWKB(venue.c.geom))
        .select_from(activity.join(venue, venue.c.id == activity.c.venue_id))
        .where(activity.c.id == cafe.id)
    ).scalar()
    assert same is True
    assert cafe.municipality_number == "0301"
    assert orgs[cafe.organisation_id].organisation_number == "123456785"
    assert (cafe.languages, cafe.target_groups, cafe.free) == (
        ["nb", "ar", "so"],  # "no" in the file: Bokmål, written nb
        ["ADULTS", "NEWLY_ARRIVED"],
        True,
    )
    assert _schedule(scratch_conn, cafe.id) == [
        (2, time(18), time(20), date(2026, 8, 15), date(2026, 12, 20)),
        (4, time(17), time(19), None, None),
    ]
    assert _exceptions(scratch_conn, cafe.id) == [date(2026, 10, 6), date(2026, 12, 17)]
    # "source:external_id" for the venue; the organiser by external id (it has no number).
    assert homework.venue_id == venues["v-toyen-frivillighetshus"].id
    assert orgs[homework.organisation_id].external_id == "eksempel-sprakkafe"
    assert (homework.free, homework.cost_nok, homework.leisure_card_accepted) == (
        False,
        Decimal("50.00"),
        True,
    )
    assert (homework.min_age, homework.max_age, homework.registration_required) == (6, 12, True)
    assert _schedule(scratch_conn, homework.id) == [(1, time(16), time(18), None, None)]  # man
    # Its own point, in Bergen; the organiser by number (from organisations.csv).
    assert (walk.venue_id, walk.municipality_number) == (None, "4601")
    assert orgs[walk.organisation_id].organisation_number == "123456866"
    assert (walk.status, walk.free, walk.cost_nok) == ("ACTIVE", True, None)


def test_reloading_the_same_file_changes_nothing(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        _setup(conn)
        load_activities(conn, ACTIVITIES_CSV)
    with engine.connect() as conn:
        before = snapshot(conn)
    with engine.begin() as conn:
        again = load_activities(conn, ACTIVITIES_CSV)
    with engine.connect() as conn:
        assert snapshot(conn) == before  # ids, versions, updated_at, schedules, exceptions
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)


@pytest.mark.parametrize(
    "cells",
    [
        {"schedule": "TUE 18:00-20:30 2026-08-15..2026-12-20|THU 17:00-19:00"},
        {"exceptions": "2026-10-06"},
    ],
)
def test_a_changed_schedule_or_exception_list_replaces_that_activitys_only(
    engine: sa.Engine, tmp_path: Path, cells: dict[str, str]
) -> None:
    with engine.begin() as conn:
        _setup(conn)
        load_activities(conn, ACTIVITIES_CSV)
    with engine.connect() as conn:
        before = snapshot(conn)
    with engine.begin() as conn:
        report = load_activities(conn, edited(ACTIVITIES_CSV, tmp_path / "a.csv", 0, **cells))
    with engine.connect() as conn:
        after = snapshot(conn)
        rows = _activities(conn)
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 2)
    assert rows["a-sprakkafe-grorud"].version == 2
    assert {rows["a-leksehjelp-toyen"].version, rows["a-tur-floyen"].version} == {1}
    changed_id = rows["a-sprakkafe-grorud"].id
    for table in ("activity_schedule", "activity_exception"):
        assert [r for r in after[table] if r[1] != changed_id] == [
            r for r in before[table] if r[1] != changed_id
        ]
    assert after["venue"] == before["venue"]


def _refused(conn: sa.Connection, path: Path) -> LoadError:
    before = snapshot(conn)
    with pytest.raises(LoadError) as caught:
        load_activities(conn, path)
    assert snapshot(conn) == before  # nothing written
    return caught.value


@pytest.mark.parametrize(
    ("cells", "field", "reason"),
    [
        ({"category": "KNITTING"}, "category", "LANGUAGE_CAFE, NORWEGIAN_PRACTICE"),
        ({"target_groups": "CHILDREN|TEENS"}, "target_groups", "YOUTH"),
        ({"status": "DONE"}, "status", "ACTIVE, PAUSED"),
        ({"schedule": "FUN 16:00-18:00"}, "schedule", "MON TUE WED"),
        ({"schedule": "man 18:00-16:00"}, "schedule", "ends before it starts"),
        ({"schedule": "man 16:00-18:60"}, "schedule", "out of range"),
        ({"schedule": "man 16:00-18:00 2026-12-20..2026-08-15"}, "schedule", "ends before"),
        ({"exceptions": "2026-02-30"}, "exceptions", "YYYY-MM-DD"),
        ({"min_age": "130"}, "min_age", "at most 120"),
        ({"min_age": "-1"}, "min_age", "at least 0"),
        ({"min_age": "13", "max_age": "12"}, "max_age", "below min_age"),
        ({"cost_nok": "-1"}, "cost_nok", "between 0"),
        ({"free": "nei", "cost_nok": ""}, "cost_nok", "required when free is false"),
        ({"free": "ja", "cost_nok": "50"}, "cost_nok", "free is true"),
        ({"languages": "norsk"}, "languages", "BCP 47"),
        ({"registration_url": "javascript:alert(1)"}, "registration_url", "http(s)"),
        ({"url": "www.example.org"}, "url", "http(s)"),
        (
            {"organisation_number": "123456789", "organisation_external_id": ""},
            "organisation_number",
            "mod-11",
        ),
        ({"description": "z" * 10_000}, "description", "longer than"),
        ({"title": ""}, "title", "required"),
        ({"venue_external_id": ""}, "venue_external_id", "needs a venue_external_id or its own"),
    ],
)
def test_a_bad_field_names_line_field_and_reason(
    scratch_conn: sa.Connection, tmp_path: Path, cells: dict[str, str], field: str, reason: str
) -> None:
    _setup(scratch_conn)
    error = _refused(scratch_conn, edited(ACTIVITIES_CSV, tmp_path / "a.csv", 1, **cells))
    assert (error.record, error.field, error.code) == ("line 3", field, "INVALID_RECORD")
    assert reason in error.reason


@pytest.mark.parametrize(
    ("cells", "field", "code"),
    [
        ({"organisation_number": "123456874"}, "organisation_number", "UNKNOWN_ORGANISATION"),
        (
            {"organisation_external_id": "nobody"},
            "organisation_external_id",
            "UNKNOWN_ORGANISATION",
        ),
        ({"venue_external_id": "v-nowhere"}, "venue_external_id", "UNKNOWN_VENUE"),
        (
            {"venue_external_id": "other-source:v-toyen-frivillighetshus"},
            "venue_external_id",
            "UNKNOWN_VENUE",
        ),
        ({"venue_external_id": "", "lat": "58.0", "lon": "3.0"}, "lat", "OUTSIDE_MUNICIPALITIES"),
    ],
)
def test_a_reference_or_point_that_does_not_resolve_is_refused(
    scratch_conn: sa.Connection, tmp_path: Path, cells: dict[str, str], field: str, code: str
) -> None:
    _setup(scratch_conn)
    error = _refused(scratch_conn, edited(ACTIVITIES_CSV, tmp_path / "a.csv", 1, **cells))
    assert (error.record, error.field, error.code) == ("line 3", field, code)


def test_a_repeated_external_id_names_both_lines(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    _setup(scratch_conn)
    path = edited(ACTIVITIES_CSV, tmp_path / "a.csv", 2, external_id="a-sprakkafe-grorud")
    error = _refused(scratch_conn, path)
    assert (error.record, error.field, error.code) == ("line 4", "external_id", "DUPLICATE")
    assert "line 2" in error.reason


def _geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}},
                "features": features,
            }
        ),
        encoding="utf-8",
    )
    return path


def test_geojson_activities_in_any_crs_with_and_without_a_venue(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    _setup(scratch_conn)
    base = {"category": "SPORTS", "source": "test-fixtures", "schedule": "fre 17:00-19:00"}
    path = _geojson(
        tmp_path / "a.geojson",
        [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [597150, 6643300]},
                "properties": {**base, "external_id": "g-1", "title": "Eksempel fotball"},
            },
            {
                "type": "Feature",
                "geometry": None,
                "properties": {
                    **base,
                    "external_id": "g-2",
                    "title": "Eksempel innebandy",
                    "venue_external_id": "v-bergen-aula",
                },
            },
        ],
    )
    report = load_activities(scratch_conn, path)
    rows = _activities(scratch_conn)
    assert report.inserted == 2
    assert rows["g-1"].municipality_number == "0301"  # EPSG:25832 easting/northing in Oslo
    assert rows["g-2"].municipality_number == "4601"
    assert _schedule(scratch_conn, rows["g-1"].id) == [(5, time(17), time(19), None, None)]


def test_a_geojson_feature_that_is_not_a_point_names_it(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    _setup(scratch_conn)
    path = _geojson(
        tmp_path / "a.geojson",
        [
            {
                "type": "Feature",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[597150, 6643300], [597250, 6643300], [597250, 6643400], [597150, 6643300]]
                    ],
                },
                "properties": {"external_id": "g-1", "title": "Eksempel", "category": "SPORTS"},
            }
        ],
    )
    error = _refused(scratch_conn, path)
    assert (error.record, error.field) == ("feature 1 (Eksempel)", "geometry")


# --- organisations from CSV ---------------------------------------------------------------------


def test_organisations_csv_loads_with_and_without_numbers(scratch_conn: sa.Connection) -> None:
    report = load_organisations(scratch_conn, ORGANISATIONS_CSV)
    again = load_organisations(scratch_conn, ORGANISATIONS_CSV)
    rows = {r.external_id: r for r in scratch_conn.execute(sa.select(organisation))}
    assert (report.inserted, again.unchanged) == (2, 2)
    cafe = rows["eksempel-sprakkafe"]
    assert (cafe.organisation_number, cafe.kind, cafe.municipality_number, cafe.source) == (
        None,
        "IMMIGRANT_ORGANISATION",
        "0301",
        "test-fixtures",
    )
    assert rows["eksempel-idrettslag"].organisation_number == "123456866"


@pytest.mark.parametrize(
    ("cells", "field", "code"),
    [
        ({"organisation_number": "123456789"}, "organisation_number", "INVALID_RECORD"),
        ({"organisation_number": "", "external_id": ""}, "external_id", "INVALID_RECORD"),
        ({"kind": "CLUB"}, "kind", "INVALID_RECORD"),
        ({"website": "example.org"}, "website", "INVALID_RECORD"),
        ({"external_id": "eksempel-sprakkafe"}, "external_id", "DUPLICATE"),
    ],
)
def test_a_bad_organisation_row_names_its_line(
    scratch_conn: sa.Connection, tmp_path: Path, cells: dict[str, str], field: str, code: str
) -> None:
    path = edited(ORGANISATIONS_CSV, tmp_path / "o.csv", 1, **cells)
    with pytest.raises(LoadError) as caught:
        load_organisations(scratch_conn, path)
    assert (caught.value.record, caught.value.field, caught.value.code) == ("line 3", field, code)
    assert rows_of(scratch_conn, organisation) == []


def test_an_organisation_number_already_loaded_from_brreg_is_refused(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    load_fixture_organisations(scratch_conn)
    rows = read_rows(ORGANISATIONS_CSV)
    rows[1]["organisation_number"] = "123456785"  # EKSEMPEL FRIVILLIGSENTRAL, source brreg
    with pytest.raises(LoadError) as caught:
        load_organisations(scratch_conn, write_rows(tmp_path / "o.csv", rows))
    assert (caught.value.record, caught.value.code) == ("line 3", "DUPLICATE")
    assert "brreg:123456785" in caught.value.reason


# --- the demo directory -------------------------------------------------------------------------


def _data_rows(name: str) -> int:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as f:
        return sum(1 for _ in csv.DictReader(f, delimiter=";"))


def test_demo_directory_loads_the_strategys_organisations_and_initiatives(
    scratch_conn: sa.Connection,
) -> None:
    reports = load_demo_directory(scratch_conn, DATA_DIR)
    again = load_demo_directory(scratch_conn, DATA_DIR)
    orgs = {r.id: r for r in scratch_conn.execute(sa.select(organisation))}
    acts = list(scratch_conn.execute(sa.select(activity)))
    venues = list(scratch_conn.execute(sa.select(venue)))
    assert [r.inserted for r in reports] == [
        _data_rows(f"demo-{kind}.csv") for kind in ("organisations", "venues", "activities")
    ]
    assert [r.warnings for r in reports] == [[], [], []]
    assert [(r.inserted, r.updated) for r in again] == [(0, 0)] * 3
    assert {o.source for o in orgs.values()} | {a.source for a in acts} == {DEMO_SOURCE}
    numbered = {o.organisation_number: o.name for o in orgs.values() if o.organisation_number}
    assert numbered == REAL_NUMBERS  # only numbers known for certain
    # Approximate points still fall in the organiser's municipality (2020 numbering).
    assert all(a.municipality_number == orgs[a.organisation_id].municipality_number for a in acts)
    assert all("omtrentlig" in v.description for v in venues)
    assert all("omtrentlig" in a.description for a in acts if a.venue_id is None)
    scheduled = {r.activity_id for r in scratch_conn.execute(sa.select(activity_schedule))}
    assert all("eksemp" in a.description.lower() for a in acts if a.id in scheduled)
    titles = " ".join(a.title for a in acts)
    for name in (
        "Norsktrening",
        "En god nabo",
        "En fase",
        "Folkevenn",
        "Sisters in Business",
        "Cafe Vintage",
        "Ny-Krohnborgsenteret",
        "Herøy frivilligsentral",
        "Halden frivilligsentral",
        "Stavanger Turistforening",
        "Haugerud IF",
        "Tøyen Unlimited",
    ):
        assert name in titles
