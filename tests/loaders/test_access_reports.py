"""Venue-access reports from CSV (``hverdag load access-reports``), and the demo's generated
reports: references resolved, every refusal line-numbered with nothing written, reloads
idempotent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from geo.db import sync_engine
from geo.tables import organisation, venue, venue_access_report
from loaders.access_reports import load_access_reports, today
from loaders.bundle import DEMO_ACCESS_REPORTS, DEMO_SEED
from loaders.report import LoadError
from loaders.synthetic.access_reports import generate_access_reports
from loaders.venues import load_venues
from tests.conftest import FIXTURES
from tests.loaders._directory import (
    VENUES_CSV,
    edited,
    load_fixture_organisations,
    read_rows,
    rows_of,
    write_rows,
)

REPORTS_CSV = FIXTURES / "access-reports.csv"


@pytest.fixture
def conn(scratch_conn: sa.Connection) -> sa.Connection:
    """The bundled data with the fixture organisations and venues (rolled back afterwards)."""
    load_fixture_organisations(scratch_conn)
    load_venues(scratch_conn, VENUES_CSV)
    return scratch_conn


def _ids(conn: sa.Connection, table: sa.Table, external: str) -> int:
    return conn.execute(sa.select(table.c.id).where(table.c.external_id == external)).scalar_one()


def _reports(conn: sa.Connection) -> dict[str, sa.Row]:
    return {r.external_id: r for r in conn.execute(sa.select(venue_access_report))}


def test_the_documented_csv_loads(conn: sa.Connection) -> None:
    report = load_access_reports(conn, REPORTS_CSV)
    assert (report.what, report.inserted, report.updated, report.unchanged) == (
        "access reports",
        3,
        0,
        0,
    )
    assert report.warnings == []
    rows = _reports(conn)
    granted, refused, expensive = rows["r-1"], rows["r-2"], rows["r-3"]
    assert {r.source for r in rows.values()} == {"kud-test"}
    assert granted.venue_id == _ids(conn, venue, "v-grorud-bibliotek")
    assert granted.organisation_id == _ids(conn, organisation, "eksempel-sprakkafe")
    assert (granted.outcome, granted.suitability, granted.barriers) == ("GRANTED", 5, [])
    assert granted.reported_on == date(2025, 9, 2)
    # "source:external_id" in venue_external_id; the organiser by its number; upper-cased.
    assert refused.venue_id == _ids(conn, venue, "v-toyen-frivillighetshus")
    assert (
        refused.organisation_id
        == conn.execute(
            sa.select(organisation.c.id).where(organisation.c.organisation_number == "123456866")
        ).scalar_one()
    )
    assert (refused.outcome, refused.barriers) == ("REFUSED", ["OPENING_HOURS", "RULES"])
    assert (expensive.organisation_id, expensive.barriers, expensive.note) == (
        None,
        ["PRICE"],
        None,
    )


def test_reloading_changes_nothing_and_an_edit_updates_one_row(
    conn: sa.Connection, tmp_path: Path
) -> None:
    load_access_reports(conn, REPORTS_CSV)
    before = rows_of(conn, venue_access_report)
    again = load_access_reports(conn, REPORTS_CSV)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert rows_of(conn, venue_access_report) == before
    changed = edited(REPORTS_CSV, tmp_path / "reports.csv", 2, outcome="GRANTED", barriers="")
    edit = load_access_reports(conn, changed)
    assert (edit.inserted, edit.updated, edit.unchanged) == (0, 1, 2)
    row = _reports(conn)["r-3"]
    assert (row.outcome, row.barriers, row.version) == ("GRANTED", [], 2)


def test_venue_by_its_directory_id_and_source_override(conn: sa.Connection, tmp_path: Path) -> None:
    venue_id = _ids(conn, venue, "v-bergen-aula")
    path = write_rows(
        tmp_path / "by-id.csv",
        [
            {
                "external_id": "x-1",
                "venue_id": str(venue_id),
                "outcome": "UNSUITABLE",
                "suitability": "1",
                "barriers": "size|accessibility",
                "reported_on": "2025-01-31",
            }
        ],
    )
    report = load_access_reports(conn, path, source="imdi-2025")
    assert report.inserted == 1
    row = _reports(conn)["x-1"]
    assert (row.source, row.venue_id, row.barriers) == (
        "imdi-2025",
        venue_id,
        ["SIZE", "ACCESSIBILITY"],
    )


@pytest.mark.parametrize(
    ("line", "cells", "code", "field", "reason"),
    [
        (
            4,
            {"venue_external_id": "v-finnes-ikke"},
            "UNKNOWN_VENUE",
            "venue_external_id",
            "no venue 'test-fixtures:v-finnes-ikke'",
        ),
        (2, {"outcome": "MAYBE"}, "INVALID_RECORD", "outcome", "is not one of GRANTED"),
        (4, {"suitability": "6"}, "INVALID_RECORD", "suitability", "at most 5"),
        (3, {"barriers": "PRICE|NOISE"}, "INVALID_RECORD", "barriers", "'NOISE' is not one of"),
        (
            2,
            {"reported_on": (date.today() + timedelta(days=3)).isoformat()},
            "INVALID_RECORD",
            "reported_on",
            "in the future",
        ),
        (3, {"reported_on": "15.10.2025"}, "INVALID_RECORD", "reported_on", "not a date"),
        (4, {"external_id": "r-1"}, "DUPLICATE", "external_id", "appears on line 2 and on line 4"),
        (
            3,
            {"organisation_number": "123456780"},
            "INVALID_RECORD",
            "organisation_number",
            "mod-11",
        ),
        (
            2,
            {"organisation_external_id": "test-fixtures:ukjent"},
            "UNKNOWN_ORGANISATION",
            "organisation_external_id",
            "no organisation",
        ),
        (2, {"venue_id": "1"}, "INVALID_RECORD", "venue_id", "not both"),
    ],
)
def test_a_bad_record_is_refused_by_line_and_nothing_is_written(
    conn: sa.Connection,
    tmp_path: Path,
    line: int,
    cells: dict[str, str],
    code: str,
    field: str,
    reason: str,
) -> None:
    rows = read_rows(REPORTS_CSV)
    for row in rows:
        row.setdefault("venue_id", "")
    rows[line - 2].update(cells)
    path = write_rows(tmp_path / "bad.csv", rows)
    before = rows_of(conn, venue_access_report)
    with pytest.raises(LoadError) as caught:
        load_access_reports(conn, path)
    error = caught.value
    assert (error.code, error.record, error.field) == (code, f"line {line}", field), str(error)
    assert reason in error.reason, str(error)
    assert rows_of(conn, venue_access_report) == before == []


def test_a_file_without_a_venue_column_is_refused(conn: sa.Connection, tmp_path: Path) -> None:
    path = write_rows(
        tmp_path / "no-venue.csv",
        [{"external_id": "a", "outcome": "GRANTED", "reported_on": "2025-01-01"}],
    )
    with pytest.raises(LoadError) as caught:
        load_access_reports(conn, path)
    assert caught.value.code == "BAD_HEADER"


def test_a_report_on_an_archived_venue_loads_with_a_warning(conn: sa.Connection) -> None:
    conn.execute(
        sa.update(venue)
        .values(archived_at=sa.func.now())
        .where(venue.c.external_id == "v-bergen-aula")
    )
    report = load_access_reports(conn, REPORTS_CSV)
    assert report.inserted == 3
    assert len(report.warnings) == 1, report.warnings
    assert "line 4" in report.warnings[0], report.warnings


def test_today_is_oslo() -> None:
    assert abs((today() - date.today()).days) <= 1


# --- generated reports --------------------------------------------------------------------------


@pytest.fixture
def demo(fresh_demo_url: URL) -> Iterator[sa.Connection]:
    engine = sync_engine(fresh_demo_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        yield conn
    engine.dispose()


def test_generated_reports_are_idempotent(demo: sa.Connection) -> None:
    r = venue_access_report.c
    count = sa.select(sa.func.count()).where(r.source == "generated")
    assert demo.execute(count).scalar_one() == DEMO_ACCESS_REPORTS
    before = rows_of(demo, venue_access_report)
    again = generate_access_reports(demo, reports=DEMO_ACCESS_REPORTS, seed=DEMO_SEED)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, DEMO_ACCESS_REPORTS)
    assert rows_of(demo, venue_access_report) == before
    other = generate_access_reports(demo, reports=10, seed=99)  # no venues for that seed
    assert other.total == 0
    assert other.warnings


def test_generated_reports_are_consistent(loaded_conn: sa.Connection) -> None:
    r, v = venue_access_report.c, venue.c
    rows = loaded_conn.execute(
        sa.select(
            r.outcome,
            r.suitability,
            r.barriers,
            r.reported_on,
            r.external_id,
            v.source.label("venue_source"),
        )
        .select_from(venue_access_report.join(venue, v.id == r.venue_id))
        .where(r.source == "generated")
    ).all()
    assert len(rows) == DEMO_ACCESS_REPORTS
    assert {row.venue_source for row in rows} == {"generated"}
    assert {row.external_id for row in rows} == {
        f"gen-{DEMO_SEED}-report-{n}" for n in range(DEMO_ACCESS_REPORTS)
    }
    assert max(row.reported_on for row in rows) <= today()
    outcomes = {row.outcome for row in rows}
    assert outcomes == {"GRANTED", "REFUSED", "NO_RESPONSE", "TOO_EXPENSIVE", "UNSUITABLE"}
    for row in rows:
        if row.outcome == "TOO_EXPENSIVE":
            assert "PRICE" in row.barriers
        elif row.outcome == "NO_RESPONSE":
            assert "NO_RESPONSE" in row.barriers
        elif row.outcome == "UNSUITABLE":
            assert row.barriers
            assert set(row.barriers) <= {"SIZE", "EQUIPMENT", "ACCESSIBILITY", "LOCATION"}
            assert row.suitability is None or row.suitability <= 3
        elif row.outcome == "REFUSED":
            assert row.barriers
    granted = [row.suitability for row in rows if row.outcome == "GRANTED" and row.suitability]
    unsuitable = [
        row.suitability for row in rows if row.outcome == "UNSUITABLE" and row.suitability
    ]
    assert sum(granted) / len(granted) > sum(unsuitable) / len(unsuitable) + 1.5
