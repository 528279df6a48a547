"""A refused file names every bad record and every bad field of each, up to 100 with a count
of the rest, the earliest record first; nothing is written (issue 18, item 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from loaders.boundaries import load_municipalities
from loaders.councils import load_councils
from loaders.report import LoadErrors
from loaders.venues import load_venues
from tests.conftest import DATA_DIR
from tests.loaders._directory import VENUES_CSV, read_rows, snapshot, write_rows
from tests.loaders._support import refused

BAD_TYPE = {"venue_type": "CASTLE"}


def _refused_venues(conn: sa.Connection, path: Path) -> LoadErrors:
    before = snapshot(conn)
    with pytest.raises(LoadErrors) as caught:
        load_venues(conn, path)
    assert snapshot(conn) == before  # nothing written
    return caught.value


def _venue_rows(count: int, **cells: str) -> list[dict[str, str]]:
    template = read_rows(VENUES_CSV)[2]  # Bergen, no owner to resolve
    return [{**template, "external_id": f"many-{n}", **cells} for n in range(count)]


def test_150_bad_rows_name_100_and_count_50_more(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    path = write_rows(tmp_path / "v.csv", _venue_rows(150, **BAD_TYPE))
    error = _refused_venues(scratch_conn, path)
    assert (error.count, len(error.errors), error.more) == (150, 100, 50)
    assert [e.record for e in error.errors] == [f"line {n}" for n in range(2, 102)]
    assert {(e.field, e.code) for e in error.errors} == {("venue_type", "INVALID_RECORD")}
    text = str(error)
    assert text.startswith("150 problems; nothing was loaded:")
    assert text.endswith("… and 50 more")
    assert "line 101" in text
    assert "line 102" not in text


def test_every_bad_field_of_a_row_and_every_bad_row(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    rows = _venue_rows(4)
    rows[1].update(name="", venue_type="CASTLE", capacity="-3", contact_email="nobody")
    rows[3].update(lat="95", lon="10")
    error = _refused_venues(scratch_conn, write_rows(tmp_path / "v.csv", rows))
    assert [(e.record, e.field) for e in error.errors] == [
        ("line 3", "name"),
        ("line 3", "venue_type"),
        ("line 3", "capacity"),
        ("line 3", "contact_email"),
        ("line 5", "lat"),
    ]
    assert (error.record, error.field) == ("line 3", "name")  # reads as its first
    assert error.more == 0


def test_database_checks_and_field_checks_are_listed_in_file_order(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    """Line 3's owner is unknown (a database check), line 4 has a bad field, line 5 a point at
    sea: all three, in file order."""
    rows = read_rows(VENUES_CSV)  # line 3 names an owner that is not loaded
    rows[2].update(venue_type="CASTLE")
    extra = {**rows[2], "external_id": "at-sea", "venue_type": "SCHOOL"}
    extra.update(lat="58.5", lon="3.0")
    error = _refused_venues(scratch_conn, write_rows(tmp_path / "v.csv", [*rows, extra]))
    found = [(e.record, e.code) for e in error.errors]
    assert found[:3] == [
        ("line 3", "UNKNOWN_ORGANISATION"),
        ("line 4", "INVALID_RECORD"),
        (f"line {len(rows) + 2}", "OUTSIDE_MUNICIPALITIES"),
    ]


def test_a_boundary_file_names_every_bad_feature(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    square = {
        "type": "Polygon",
        "coordinates": [[[11.3, 59.1], [11.4, 59.1], [11.4, 59.2], [11.3, 59.2], [11.3, 59.1]]],
    }
    features = [
        {"type": "Feature", "properties": {"kommunenummer": n, "navn": name}, "geometry": square}
        for n, name in ((3001, "Halden"), (None, "Uten nummer"), (12345, ""), (3001, "Igjen"))
    ]
    path = tmp_path / "kommuner.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    error = refused(scratch_conn, lambda: load_municipalities(scratch_conn, path), "MISSING_NUMBER")
    assert isinstance(error, LoadErrors)
    assert [(e.record, e.code) for e in error.errors] == [
        ("feature 2 (Uten nummer)", "MISSING_NUMBER"),
        ("feature 3", "BAD_NUMBER"),
        ("feature 3", "MISSING_NAME"),
        ("feature 4 (3001 Igjen)", "DUPLICATE_NUMBER"),
    ]


def test_a_council_file_names_every_bad_line(scratch_conn: sa.Connection, tmp_path: Path) -> None:
    header = (DATA_DIR / "innvandrerrad.csv").read_text(encoding="utf-8").splitlines()[0]
    lines = [
        "Ett;INNVANDRERRAD;MUNICIPALITY;9999;;99;ACTIVE;;;;",  # an unknown municipality
        "To;PARLIAMENT;MUNICIPALITY;0301;;03;ACTIVE;;-3;;",  # two bad fields
        "Tre;INNVANDRERRAD;MUNICIPALITY;0301;;03;ACTIVE;;;;",
    ]
    path = tmp_path / "councils.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    with pytest.raises(LoadErrors) as caught:
        load_councils(scratch_conn, path)
    assert [(e.record, e.field, e.code) for e in caught.value.errors] == [
        ("line 2", "kommunenummer", "UNKNOWN_MUNICIPALITY"),
        ("line 3", "kind", "INVALID_RECORD"),
        ("line 3", "members", "INVALID_RECORD"),
    ]
