"""The contract's mutations (docs/api-examples.graphql) run as written, each with the key its
comment names, on a writable clone of the demo data; the database is checked after each."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from geo.tables import venue, venue_access_report
from geo.writes.venues import update_venue
from tests.api.directory_checks import db_id
from tests.api.graphql.test_contract import OPERATIONS, _argument
from tests.api.writes_support import As, admin_actor

pytestmark = pytest.mark.anyio


def _source(name: str) -> str:
    return OPERATIONS[name][0]


def _venue_one(write_engine) -> sa.Row:
    with write_engine.connect() as conn:
        return conn.execute(sa.select(venue).where(venue.c.id == 1)).one()


async def test_map_a_free_room(schema, write_engine, async_write_engine, keys):
    """As the comment says: a municipality editor's key for 0301."""
    data = await As(schema, async_write_engine, keys["oslo"][1]).data(_source("MapAFreeRoom"))
    created = data["createVenue"]["venue"]
    assert created["version"] == 1
    assert created["municipality"] == {"number": "0301"}
    given = _argument("MapAFreeRoom", "createVenue", "input")
    with write_engine.connect() as conn:
        row = conn.execute(sa.select(venue).where(venue.c.id == db_id(created["id"]))).one()
    assert (row.name, row.capacity, row.price_model, row.step_free, row.booking_url) == (
        given["name"],
        given["capacity"],
        given["priceModel"],
        given["stepFree"],
        given["bookingUrl"],
    )
    # A Bergen editor may not map a room in Furuset.
    error = await As(schema, async_write_engine, keys["bergen"][1]).error(_source("MapAFreeRoom"))
    assert error["extensions"]["code"] == "FORBIDDEN"


async def test_fix_it(schema, write_engine, async_write_engine, keys):
    """FixIt sends version 3 for venue 1: a CONFLICT that names the current version while the
    venue is at another, and the change once the venue is at version 3."""
    before = _venue_one(write_engine)
    assert before.version != 3
    editor_key = keys["admin"][1]
    error = await As(schema, async_write_engine, editor_key).error(_source("FixIt"))
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["currentVersion"] == before.version
    assert _venue_one(write_engine).version == before.version
    assert _venue_one(write_engine).capacity == before.capacity
    with write_engine.begin() as conn:
        for version in range(before.version, 3):
            update_venue(conn, admin_actor(keys), 1, version, {"price_note": f"v{version}"})
    data = await As(schema, async_write_engine, editor_key).data(_source("FixIt"))
    assert data["updateVenue"]["venue"]["capacity"] == 40
    assert data["updateVenue"]["venue"]["version"] == 4
    assert (_venue_one(write_engine).capacity, _venue_one(write_engine).version) == (40, 4)


async def test_report_access(schema, write_engine, async_write_engine, keys):
    """As the comment says: an organisation editor's key."""
    data = await As(schema, async_write_engine, keys["red_cross"][1]).data(_source("ReportAccess"))
    report_id = db_id(data["reportVenueAccess"]["report"]["id"])
    with write_engine.connect() as conn:
        row = conn.execute(
            sa.select(venue_access_report).where(venue_access_report.c.id == report_id)
        ).one()
    assert (row.venue_id, row.outcome, row.suitability, row.note) == (
        1,
        "REFUSED",
        2,
        "Only weekday mornings",
    )
    assert sorted(row.barriers) == ["OPENING_HOURS", "PRICE"]
    assert row.organisation_id == keys["red_cross"][1].organisation_id
