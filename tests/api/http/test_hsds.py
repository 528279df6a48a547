"""GET /export/hsds/…: the directory as Open Referral HSDS 3.0, checked against the spec's
required fields and types, the database's counts, its own references, and stable ids."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from typing import Any

import frictionless
import pytest
import sqlalchemy as sa
from jsonschema import Draft202012Validator, FormatChecker

from api.app import create_app
from geo.queries.hsds import NAMESPACE, RESOURCES
from geo.settings import load_settings
from geo.tables import activity, activity_schedule, organisation, venue, venue_availability
from tests.api.conftest import http_client

pytestmark = pytest.mark.anyio

# HSDS 3.0's own requirements, written out from its schema files (schema/*.json: "required",
# and "tabular_required" for the tabular package), not from our code: the test checks the code
# against the spec.
UUID = {"type": "string", "format": "uuid"}
TEXT = {"type": "string"}
DATE = {"type": "string", "format": "date"}
HHMM = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}
NUMBER = {"type": "number"}
HSDS: dict[str, dict[str, Any]] = {
    "organizations": {
        "required": ["id", "name", "description"],
        "properties": {"id": UUID, "name": TEXT, "description": TEXT, "website": TEXT},
    },
    "organization_identifiers": {
        "required": ["id", "identifier_type", "identifier", "organization_id"],
        "properties": {
            "id": UUID,
            "organization_id": UUID,
            "identifier_type": TEXT,
            "identifier": {"type": "string", "pattern": "^[0-9]{9}$"},
        },
    },
    "services": {
        "required": ["id", "name", "status", "organization_id"],
        "properties": {
            "id": UUID,
            "organization_id": UUID,
            "name": TEXT,
            "description": TEXT,
            "url": TEXT,
            "status": {"enum": ["active", "inactive", "defunct", "temporarily closed"]},
            "minimum_age": NUMBER,
            "maximum_age": NUMBER,
        },
    },
    "locations": {
        "required": ["id", "location_type"],
        "properties": {
            "id": UUID,
            "organization_id": UUID,
            "location_type": {"enum": ["physical", "postal", "virtual"]},
            "name": TEXT,
            "latitude": {"type": "number", "minimum": 57, "maximum": 72},
            "longitude": {"type": "number", "minimum": 4, "maximum": 32},
        },
    },
    "addresses": {
        "required": [
            "id",
            "address_1",
            "city",
            "state_province",
            "postal_code",
            "country",
            "address_type",
        ],
        "properties": {
            "id": UUID,
            "location_id": UUID,
            "address_1": TEXT,
            "city": TEXT,
            "state_province": TEXT,
            "postal_code": TEXT,
            "country": {"const": "NO"},
            "address_type": {"enum": ["physical", "postal", "virtual"]},
        },
    },
    "service_at_location": {
        "required": ["id", "service_id", "location_id"],
        "properties": {"id": UUID, "service_id": UUID, "location_id": UUID},
    },
    "schedules": {
        "required": ["id"],
        "properties": {
            "id": UUID,
            "service_id": UUID,
            "location_id": UUID,
            "service_at_location_id": UUID,
            "valid_from": DATE,
            "valid_to": DATE,
            "freq": {"enum": ["WEEKLY", "MONTHLY"]},
            "interval": NUMBER,
            "byday": {
                "type": "string",
                "pattern": "^(MO|TU|WE|TH|FR|SA|SU)(,(MO|TU|WE|TH|FR|SA|SU))*$",
            },
            "opens_at": HHMM,
            "closes_at": HHMM,
        },
    },
    "languages": {
        "required": ["id"],
        "properties": {
            "id": UUID,
            "service_id": UUID,
            "code": {"type": "string", "pattern": "^[a-z]{2,3}$"},
        },
    },
}


def validator(table: str) -> Draft202012Validator:
    schema = {"type": "object", **HSDS[table]}
    return Draft202012Validator(schema, format_checker=FormatChecker())


async def records(client: Any, table: str) -> list[dict[str, Any]]:
    response = await client.get(f"/export/hsds/{table}.json")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def tables(api_settings: Any) -> dict[str, list[dict[str, Any]]]:
    """Every table as JSON, fetched once for the module's read-only checks."""
    async with http_client(create_app(api_settings)) as client:
        return {table: await records(client, table) for table in RESOURCES}


# --- structure ----------------------------------------------------------------------------------


@pytest.mark.parametrize("table", list(HSDS))
async def test_every_record_has_the_fields_and_types_hsds_requires(tables, table):
    assert set(HSDS) == set(RESOURCES)
    rows = tables[table]
    assert rows, f"{table} is empty in the demo data"
    check = validator(table)
    problems = [(row["id"], error.message) for row in rows for error in check.iter_errors(row)]
    assert problems == [], problems[:5]
    assert len({row["id"] for row in rows}) == len(rows), f"{table}: ids are not unique"


async def test_the_validator_catches_what_hsds_forbids():
    # The checks above can fail: a service without a status, a bad uuid, a bad time.
    assert list(
        validator("services").iter_errors(
            {"id": str(uuid.uuid4()), "name": "x", "organization_id": str(uuid.uuid4())}
        )
    )
    assert list(
        validator("services").iter_errors(
            {"id": "42", "name": "x", "status": "active", "organization_id": str(uuid.uuid4())}
        )
    )
    assert list(validator("schedules").iter_errors({"id": str(uuid.uuid4()), "opens_at": "18.00"}))


async def test_references_point_at_exported_rows(tables):
    ids = {table: {row["id"] for row in rows} for table, rows in tables.items()}
    for table, rows in tables.items():
        resource = RESOURCES[table]
        for column, target in resource.references:
            target_ids = ids[f"{RESOURCES_BY_NAME[target]}"]
            dangling = [row for row in rows if column in row and row[column] not in target_ids]
            assert dangling == [], f"{table}.{column}: {dangling[:3]}"


RESOURCES_BY_NAME = {resource.name: stem for stem, resource in RESOURCES.items()}


# --- counts against the database ----------------------------------------------------------------


async def test_counts_equal_the_database(tables, loaded_conn):
    a, v, s, w, o = (activity.c, venue.c, activity_schedule.c, venue_availability.c, organisation.c)

    def count(*where: Any, table: Any) -> int:
        return loaded_conn.execute(
            sa.select(sa.func.count()).select_from(table).where(*where)
        ).scalar_one()

    live_activities = count(a.archived_at.is_(None), table=activity)
    without_organiser = count(a.archived_at.is_(None), a.organisation_id.is_(None), table=activity)
    held_at = venue.alias("held_at")
    own_places = count(
        a.archived_at.is_(None),
        held_at.c.id.is_(None),
        table=activity.outerjoin(
            held_at, sa.and_(held_at.c.id == a.venue_id, held_at.c.archived_at.is_(None))
        ),
    )
    live_venues = count(v.archived_at.is_(None), table=venue)
    sessions = count(
        a.archived_at.is_(None), table=activity_schedule.join(activity, a.id == s.activity_id)
    )
    windows = count(
        v.archived_at.is_(None), table=venue_availability.join(venue, v.id == w.venue_id)
    )
    organisations = count(o.archived_at.is_(None), table=organisation)
    languages = loaded_conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(sa.func.cardinality(a.languages)), 0)).where(
            a.archived_at.is_(None)
        )
    ).scalar_one()

    assert len(tables["services"]) == live_activities
    assert len(tables["service_at_location"]) == live_activities
    assert len(tables["locations"]) == live_venues + own_places
    assert len(tables["schedules"]) == sessions + windows
    assert len(tables["organizations"]) == organisations + (1 if without_organiser else 0)
    assert len(tables["languages"]) == languages
    assert len(tables["addresses"]) == count(
        v.archived_at.is_(None), v.address.isnot(None), table=venue
    )
    # Every weekly session of an activity is a schedule of that activity at its location.
    by_service = sum(1 for row in tables["schedules"] if "service_at_location_id" in row)
    assert by_service == sessions


async def test_a_schedule_says_what_the_database_says(tables, loaded_conn):
    s, a = activity_schedule.c, activity.c
    row = loaded_conn.execute(
        sa.select(s.id, s.activity_id, s.weekday, s.starts, s.ends)
        .select_from(activity_schedule.join(activity, a.id == s.activity_id))
        .where(a.archived_at.is_(None))
        .order_by(s.id)
        .limit(1)
    ).one()
    exported = {r["id"]: r for r in tables["schedules"]}[
        str(uuid.uuid5(NAMESPACE, f"hverdag/activity-schedule/{row.id}"))
    ]
    service = uuid.uuid5(NAMESPACE, f"hverdag/activity/{row.activity_id}")
    assert exported["service_id"] == str(service)
    assert exported["byday"] == ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[row.weekday - 1]
    assert exported["opens_at"] == row.starts.strftime("%H:%M")
    assert exported["closes_at"] == row.ends.strftime("%H:%M")
    assert exported["freq"] == "WEEKLY"


# --- ids ----------------------------------------------------------------------------------------


async def test_ids_are_uuid5s_of_our_ids_and_stable(tables, client, loaded_conn):
    # The namespace is part of the contract: changing it would change every id consumers hold.
    assert uuid.UUID("5d3b0f0e-6a59-4c4e-9d0a-7f1e2c1b8a42") == NAMESPACE
    first_activity = loaded_conn.execute(
        sa.select(sa.func.min(activity.c.id)).where(activity.c.archived_at.is_(None))
    ).scalar_one()
    expected = str(uuid.uuid5(NAMESPACE, f"hverdag/activity/{first_activity}"))
    assert expected in {row["id"] for row in tables["services"]}
    again = await records(client, "services")
    assert [row["id"] for row in again] == [row["id"] for row in tables["services"]]


# --- the package --------------------------------------------------------------------------------


async def test_the_zip_is_the_tabular_package(tables, client):
    response = await client.get("/export/hsds/datapackage.zip")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    package = zipfile.ZipFile(io.BytesIO(response.content))
    assert package.testzip() is None
    descriptor = json.loads(package.read("datapackage.json"))
    assert descriptor["profile"] == "tabular-data-package"
    assert {r["path"] for r in descriptor["resources"]} | {"datapackage.json"} == set(
        package.namelist()
    )
    for resource in descriptor["resources"]:
        text = package.read(resource["path"]).decode("utf-8")
        assert not text.startswith("\ufeff")
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        header = next(csv.reader(io.StringIO(text)))
        assert header == [f["name"] for f in resource["schema"]["fields"]]
        stem = resource["path"].removesuffix(".csv")
        assert [row["id"] for row in rows] == [row["id"] for row in tables[stem]]
        for field in resource["schema"]["fields"]:
            if field["type"] == "time":
                assert field["format"] == "%H:%M"
            if field.get("constraints", {}).get("required"):
                assert field["name"] in HSDS[stem]["required"], (stem, field["name"])
    standalone = await client.get("/export/hsds/datapackage.json")
    assert standalone.json() == descriptor


async def test_the_package_is_valid_by_frictionless(client, tmp_path):
    """The whole package as a data portal's validator sees it: each CSV against its Table
    Schema (types, formats, required cells), primary keys unique, foreign keys resolved."""
    response = await client.get("/export/hsds/datapackage.zip")
    assert response.status_code == 200
    zipfile.ZipFile(io.BytesIO(response.content)).extractall(tmp_path)
    report = frictionless.Package(str(tmp_path / "datapackage.json")).validate()
    errors = [
        (task.name, error.type, error.message) for task in report.tasks for error in task.errors
    ]
    errors += [(None, error.type, error.message) for error in report.errors]
    assert errors == [], errors[:10]
    assert report.valid
    assert {task.name for task in report.tasks} == {r.name for r in RESOURCES.values()}
    assert all(task.stats["rows"] > 0 for task in report.tasks)


async def test_csv_of_one_table_matches_its_json(tables, client):
    response = await client.get("/export/hsds/locations.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text, newline="")))
    assert len(rows) == len(tables["locations"])
    first = tables["locations"][0]
    assert rows[0]["id"] == first["id"]
    assert float(rows[0]["latitude"]) == first["latitude"]


async def test_head_answers_without_running_the_export(client):
    response = await client.head("/export/hsds/datapackage.zip")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert 'filename="hverdag-hsds-datapackage.zip"' in response.headers["content-disposition"]
    assert response.content == b""


async def test_unknown_table_and_parameters_are_refused(client):
    missing = await client.get("/export/hsds/activities.csv")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND"
    assert "services.{csv|json}" in missing.json()["error"]["reason"]
    wrong_format = await client.get("/export/hsds/services.geojson")
    assert wrong_format.status_code == 404
    extra = await client.get("/export/hsds/services.csv", params={"municipality": "0301"})
    assert extra.status_code == 400
    assert extra.json()["error"] == {
        "code": "BAD_USER_INPUT",
        "field": "municipality",
        "reason": "unknown parameter 'municipality': the HSDS exports take only lang",
    }


async def test_private_contact_details_never_leave(fresh_demo_url):
    secrets = {
        "email": "privat.person@example.no",
        "phone": "+47 912 34 567",
        "name": "Kari Privatperson",
    }
    engine = sa.create_engine(fresh_demo_url)
    try:
        with engine.begin() as conn:
            for table in (activity, venue):
                first = conn.execute(sa.select(sa.func.min(table.c.id))).scalar_one()
                conn.execute(
                    table.update()
                    .where(table.c.id == first)
                    .values(
                        contact_email=secrets["email"],
                        contact_phone=secrets["phone"],
                        contact_name=secrets["name"],
                    )
                )
    finally:
        engine.dispose()
    settings = load_settings(database_url=fresh_demo_url.render_as_string(hide_password=False))
    async with http_client(create_app(settings)) as client:
        package = (await client.get("/export/hsds/datapackage.zip")).content
        texts = [
            zipfile.ZipFile(io.BytesIO(package)).read(name).decode()
            for name in zipfile.ZipFile(io.BytesIO(package)).namelist()
        ]
        texts += [(await client.get(f"/export/hsds/{t}.json")).text for t in RESOURCES]
    for text in texts:
        for secret in secrets.values():
            assert secret not in text


async def test_services_and_locations_in_the_readers_language(client):
    plain = (await client.get("/export/hsds/services.json")).json()
    asked = await client.get("/export/hsds/services.json", params={"lang": "uk,en"})
    assert asked.status_code == 200
    translated = asked.json()
    assert [s["id"] for s in translated] == [s["id"] for s in plain]
    names = {s["id"]: s["name"] for s in plain}
    changed = [s for s in translated if s["name"] != names[s["id"]]]
    assert changed, "the demo's services have Ukrainian or English names"
    assert all(s["name"].endswith(": " + names[s["id"]]) for s in changed)
    bad = await client.get("/export/hsds/locations.csv", params={"lang": "xx"})
    assert bad.status_code == 400
    assert bad.json()["error"]["field"] == "lang"
