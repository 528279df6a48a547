"""``hverdag load hsds``: a small package loads; a package that is not HSDS, or is damaged, or
holds a bad record, is refused whole with the record named. The round trip of the demo's package
is tests/api/http/test_hsds_round_trip.py."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from geo.tables import activity, activity_schedule, organisation, venue
from loaders.hsds import load_hsds
from loaders.report import LoadError

# --- bad packages -------------------------------------------------------------------------------

ORG = "11111111-1111-4111-8111-111111111111"
PLACE = "22222222-2222-4222-8222-222222222222"
SERVICE = "33333333-3333-4333-8333-333333333333"


def _package(tmp_path: Path, tables: dict[str, list[dict[str, str]]], name: str = "p.zip") -> Path:
    """A small HSDS package of ``tables`` (resource name -> rows), zipped."""
    path = tmp_path / name
    resources = []
    with zipfile.ZipFile(path, "w") as z:
        for resource, rows in tables.items():
            member = f"{resource}s.csv"
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
            z.writestr(member, buffer.getvalue())
            resources.append({"name": resource, "path": member})
        z.writestr("datapackage.json", json.dumps({"resources": resources}))
    return path


def _good() -> dict[str, list[dict[str, str]]]:
    return {
        "organization": [{"id": ORG, "name": "Språkvenner", "description": ""}],
        "location": [
            {
                "id": PLACE,
                "location_type": "physical",
                "name": "Tøyen bibliotek",
                "latitude": "59.9149",
                "longitude": "10.7745",
            }
        ],
        "service": [
            {
                "id": SERVICE,
                "organization_id": ORG,
                "name": "Språkkafé",
                "status": "active",
                "fees_description": "Gratis (free)",
            }
        ],
        "service_at_location": [{"id": "x", "service_id": SERVICE, "location_id": PLACE}],
        "schedule": [
            {
                "id": "s",
                "service_id": SERVICE,
                "freq": "WEEKLY",
                "interval": "1",
                "byday": "TU",
                "opens_at": "18:00",
                "closes_at": "20:00",
                "valid_from": "2026-08-15",
                "valid_to": "",
            }
        ],
    }


def _count(conn: sa.Connection) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count()).select_from(activity).where(activity.c.source == "p.zip")
        ).scalar_one()
    )


def test_a_small_package_loads_its_venue_activity_and_weekly_session(scratch_conn, tmp_path):
    report = load_hsds(scratch_conn, _package(tmp_path, _good()))
    assert report.inserted == 3  # the organisation, the venue, the activity
    row = scratch_conn.execute(
        sa.select(activity.c.title, activity.c.venue_id, activity.c.free, organisation.c.name)
        .join(organisation, organisation.c.id == activity.c.organisation_id)
        .where(activity.c.source == "p.zip")
    ).one()
    assert row.title == "Språkkafé"
    assert row.venue_id is not None
    assert row.free
    assert row.name == "Språkvenner"
    session = scratch_conn.execute(
        sa.select(activity_schedule.c.weekday, activity_schedule.c.valid_from).where(
            activity_schedule.c.activity_id
            == sa.select(activity.c.id).where(activity.c.source == "p.zip").scalar_subquery()
        )
    ).one()
    assert session.weekday == 2
    assert str(session.valid_from) == "2026-08-15"


def _refused(conn: sa.Connection, path: Path) -> LoadError:
    with pytest.raises(LoadError) as caught:
        load_hsds(conn, path)
    assert _count(conn) == 0
    return caught.value


def test_a_file_that_is_not_hsds_is_refused(scratch_conn, tmp_path):
    csv_file = tmp_path / "p.zip"
    csv_file.write_text("id,name\n1,x\n")
    assert _refused(scratch_conn, csv_file).code == "NOT_HSDS"
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("readme.txt", "hello")
    error = _refused(scratch_conn, other)
    assert error.code == "NOT_HSDS"
    assert "datapackage.json" in error.reason
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("datapackage.json", json.dumps({"resources": [{"name": "x", "path": "x.csv"}]}))
    assert "neither services nor organizations" in _refused(scratch_conn, other).reason


def test_a_truncated_zip_or_descriptor_or_table_is_refused(scratch_conn, tmp_path):
    whole = _package(tmp_path, _good()).read_bytes()
    cut = tmp_path / "p.zip"
    cut.write_bytes(whole[: len(whole) // 2])
    assert "truncated zip" in _refused(scratch_conn, cut).reason
    with zipfile.ZipFile(cut, "w") as z:
        z.writestr("datapackage.json", '{"resources": [{"name": "service", "pa')
    assert _refused(scratch_conn, cut).code == "BAD_FORMAT"
    tables = _good()
    path = _package(tmp_path, tables)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["services.csv"] = members["services.csv"].rstrip()[:-20]
    members["services.csv"] += b"\r\n" + members["services.csv"].splitlines()[-1][:30]
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    error = _refused(scratch_conn, path)
    assert error.code == "BAD_FORMAT"
    assert "services.csv row" in error.reason


@pytest.mark.parametrize(
    ("table", "change", "field", "reason"),
    [
        ("service", {"name": ""}, "title", "required"),
        ("service", {"status": "open"}, "status", "not one of"),
        ("service", {"fees_description": "50 kr"}, "fees_description", "NOK"),
        ("schedule", {"freq": "MONTHLY"}, "schedule", "only weekly"),
        ("schedule", {"valid_from": "1970-01-01"}, "schedule", "1970"),
        ("location", {"latitude": "51.5", "longitude": "-0.12"}, "lat", "outside"),
    ],
)
def test_a_bad_record_is_named_and_nothing_is_written(
    scratch_conn, tmp_path, table, change, field, reason
):
    tables = _good()
    tables[table][0] |= change
    error = _refused(scratch_conn, _package(tmp_path, tables))
    assert error.field == field, str(error)
    assert reason in str(error)
    assert "row 2" in (error.record or ""), str(error)  # the header is row 1
    assert (
        scratch_conn.execute(
            sa.select(sa.func.count())
            .select_from(organisation)
            .where(organisation.c.source == "p.zip")
        ).scalar()
        == 0
    )


def test_a_zip_bomb_is_refused_before_it_is_read(scratch_conn, tmp_path, monkeypatch):
    import loaders.hsds

    monkeypatch.setattr(loaders.hsds, "MAX_PACKAGE_BYTES", 100)
    assert _refused(scratch_conn, _package(tmp_path, _good())).code == "TOO_LARGE"


def test_an_organisation_the_directory_holds_by_number_is_referred_to_not_made_twice(
    scratch_conn, tmp_path
):
    held = scratch_conn.execute(
        sa.insert(organisation)
        .values(
            name="Tøyen frivilligsentral",
            organisation_number="974760673",
            source="brreg",
            external_id="974760673",
        )
        .returning(organisation.c.id)
    ).scalar_one()
    tables = _good()
    tables["organization_identifier"] = [
        {
            "id": "n",
            "organization_id": ORG,
            "identifier_scheme": "NO-BRC",
            "identifier_type": "organisasjonsnummer",
            "identifier": "974760673",
        }
    ]
    report = load_hsds(scratch_conn, _package(tmp_path, tables))
    assert report.inserted == 2  # the venue and the activity
    organiser = scratch_conn.execute(
        sa.select(activity.c.organisation_id).where(activity.c.source == "p.zip")
    ).scalar_one()
    assert organiser == held
    assert (
        scratch_conn.execute(
            sa.select(sa.func.count())
            .select_from(organisation)
            .where(organisation.c.source == "p.zip")
        ).scalar()
        == 0
    )
    again = load_hsds(scratch_conn, _package(tmp_path, tables))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)


def test_a_service_at_two_locations_is_at_its_first_physical_one_with_a_warning(
    scratch_conn, tmp_path
):
    tables = _good()
    second = {**tables["location"][0], "id": "44444444-4444-4444-8444-444444444444", "name": "B"}
    virtual = {**second, "id": "55555555-5555-4555-8555-555555555555", "location_type": "virtual"}
    tables["location"] = [virtual, *tables["location"], second]
    tables["service_at_location"] = [
        {"id": f"x{n}", "service_id": SERVICE, "location_id": loc["id"]}
        for n, loc in enumerate(tables["location"])
    ]
    report = load_hsds(scratch_conn, _package(tmp_path, tables))
    assert any("1 services are at several locations" in w for w in report.warnings)
    assert any("1 locations that are not physical" in w for w in report.warnings)
    at = scratch_conn.execute(
        sa.select(venue.c.name)
        .join(activity, activity.c.venue_id == venue.c.id)
        .where(activity.c.source == "p.zip")
    ).scalar_one()
    assert at == "Tøyen bibliotek"
