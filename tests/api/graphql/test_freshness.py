"""Verified, not just updated (issue 17, item 1): `lastVerifiedAt`, `stale` on the date a request
is judged on (tests pass the date, never wait), `verifyEntries` one at a time and in bulk
within the key's scope, all or nothing, loads that verify what they re-import, `freshOnly`, and
the export's `stale` column."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from api.graphql.context import Context
from api.guard.auth import PUBLIC, Principal
from geo.tables import audit_log, venue
from geo.writes.venues import create_venue
from loaders.venues import load_venues
from tests.api.graphql.test_writes import gid
from tests.api.writes_support import BERGEN, OSLO, admin_actor
from tests.loaders._directory import VENUES_CSV, load_fixture_organisations

pytestmark = pytest.mark.anyio

VERIFIED = datetime(2026, 3, 1, 15, tzinfo=UTC)
NODE = """query ($id: ID!) { node(id: $id) {
  ... on Venue { stale lastVerifiedAt verifiedBy version updatedAt } } }"""
VERIFY = """mutation ($entries: [EntryConfirmationInput!]!) {
  verifyEntries(entries: $entries) {
    entries { ... on Venue { id stale lastVerifiedAt verifiedBy version } } } }"""


async def _run(
    schema: Any,
    engine: Any,
    query: str,
    variables: dict[str, Any],
    principal: Principal = PUBLIC,
    as_of: datetime | None = None,
) -> Any:
    return await schema.execute(
        query,
        variable_values=variables,
        context_value=Context(engine=engine, principal=principal, as_of=as_of),
    )


def _venue(write_engine: sa.Engine, keys: Any, name: str, place: dict[str, float]) -> int:
    with write_engine.begin() as conn:
        venue_id = create_venue(
            conn,
            admin_actor(keys),
            {"name": name, "venue_type": "LIBRARY", "owner_type": "MUNICIPALITY", **place},
        )
        conn.execute(
            sa.update(venue).where(venue.c.id == venue_id).values(last_verified_at=VERIFIED)
        )
    return venue_id


def _verified(write_engine: sa.Engine, venue_id: int) -> sa.Row[Any]:
    with write_engine.connect() as conn:
        return conn.execute(
            sa.select(
                venue.c.last_verified_at, venue.c.verified_by, venue.c.version, venue.c.updated_at
            ).where(venue.c.id == venue_id)
        ).one()


async def test_staleness_moves_with_the_date_the_request_is_judged_on(
    schema, write_engine, async_write_engine, keys
):
    """Verified on 1 March: fresh 180 days on, stale from the day after that line (by the UTC
    day), whatever the clock of the machine says."""
    venue_id = _venue(write_engine, keys, "freshness clock", OSLO)
    variables = {"id": gid("Venue", venue_id)}
    answers = {}
    for days in (0, 100, 180, 181, 400):
        result = await _run(
            schema, async_write_engine, NODE, variables, as_of=VERIFIED + timedelta(days=days)
        )
        assert result.errors is None, result.errors
        answers[days] = result.data["node"]["stale"]
    assert answers == {0: False, 100: False, 180: False, 181: True, 400: True}
    assert result.data["node"]["lastVerifiedAt"] == VERIFIED.isoformat()


async def test_verifying_resets_staleness_without_changing_the_entry(
    schema, write_engine, async_write_engine, keys
):
    venue_id = _venue(write_engine, keys, "freshness verify", OSLO)
    before = _verified(write_engine, venue_id)
    as_of = VERIFIED + timedelta(days=365)  # stale on this date …
    variables = {"id": gid("Venue", venue_id)}
    assert (await _run(schema, async_write_engine, NODE, variables, as_of=as_of)).data["node"][
        "stale"
    ]
    result = await _run(
        schema,
        async_write_engine,
        VERIFY,
        {"entries": [{"id": gid("Venue", venue_id), "version": before.version}]},
        principal=keys["oslo"][1],
    )
    assert result.errors is None, result.errors
    (entry,) = result.data["verifyEntries"]["entries"]
    assert entry["verifiedBy"] == "MUNICIPALITY_EDITOR 0301"  # no key label: it may name someone
    after = _verified(write_engine, venue_id)
    assert after.last_verified_at > before.last_verified_at
    # … and fresh once verified now, judged a year on from the old verification.
    answer = await _run(schema, async_write_engine, NODE, variables, as_of=after.last_verified_at)
    assert answer.data["node"]["stale"] is False
    assert (after.version, after.updated_at) == (before.version, before.updated_at)
    with write_engine.connect() as conn:
        actions = conn.execute(
            sa.select(audit_log.c.action, audit_log.c.actor).where(
                audit_log.c.entity == "Venue", audit_log.c.entity_id == str(venue_id)
            )
        ).all()
    assert [(a.action, a.actor) for a in actions] == [
        ("create", "test admin"),
        ("verify", "test oslo"),
    ]


async def test_a_batch_verifies_all_or_nothing(schema, write_engine, async_write_engine, keys):
    """Oslo's editor with one Oslo venue and one Bergen venue in the batch: FORBIDDEN, and the
    Oslo venue is not verified either; a stale version is a CONFLICT; an id of another type a
    BAD_USER_INPUT naming its place in the list."""
    oslo, bergen = (
        _venue(write_engine, keys, "batch oslo", OSLO),
        _venue(write_engine, keys, "batch bergen", BERGEN),
    )
    entries = [{"id": gid("Venue", oslo)}, {"id": gid("Venue", bergen)}]
    result = await _run(
        schema, async_write_engine, VERIFY, {"entries": entries}, principal=keys["oslo"][1]
    )
    assert result.errors[0].extensions["code"] == "FORBIDDEN"
    assert _verified(write_engine, oslo).last_verified_at == VERIFIED

    stale_version = [{"id": gid("Venue", oslo), "version": 99}]
    result = await _run(
        schema, async_write_engine, VERIFY, {"entries": stale_version}, principal=keys["oslo"][1]
    )
    assert result.errors[0].extensions["code"] == "CONFLICT"
    assert result.errors[0].extensions["currentVersion"] == 1

    wrong_type = [{"id": gid("Venue", oslo)}, {"id": gid("Municipality", 301)}]
    result = await _run(
        schema, async_write_engine, VERIFY, {"entries": wrong_type}, principal=keys["admin"][1]
    )
    assert result.errors[0].extensions["code"] == "BAD_USER_INPUT"
    assert result.errors[0].extensions["field"] == "entries.1.id"
    assert _verified(write_engine, oslo).last_verified_at == VERIFIED

    unknown = [{"id": gid("Venue", 987654321)}]
    result = await _run(
        schema, async_write_engine, VERIFY, {"entries": unknown}, principal=keys["admin"][1]
    )
    assert result.errors[0].extensions["code"] == "NOT_FOUND"

    both = await _run(
        schema, async_write_engine, VERIFY, {"entries": entries}, principal=keys["admin"][1]
    )
    assert both.errors is None, both.errors
    assert {e["verifiedBy"] for e in both.data["verifyEntries"]["entries"]} == {"ADMIN"}


async def test_the_public_cannot_verify(schema, write_engine, async_write_engine, keys):
    venue_id = _venue(write_engine, keys, "public verify", OSLO)
    result = await _run(
        schema, async_write_engine, VERIFY, {"entries": [{"id": gid("Venue", venue_id)}]}
    )
    assert result.errors[0].extensions["code"] == "UNAUTHENTICATED"
    assert _verified(write_engine, venue_id).last_verified_at == VERIFIED


async def test_fresh_only_leaves_out_stale_entries_and_ties_put_them_last(
    schema, write_engine, async_write_engine, keys
):
    """Two venues on one point, one verified long before the other: nearby lists the fresh one
    first; with freshOnly, only it."""
    spot = {"lat": 59.95, "lon": 10.79}
    old, new = (
        _venue(write_engine, keys, "tie old", spot),
        _venue(write_engine, keys, "tie new", spot),
    )
    with write_engine.begin() as conn:
        conn.execute(
            sa.update(venue)
            .where(venue.c.id == old)
            .values(last_verified_at=VERIFIED - timedelta(days=365))
        )
    query = """query ($fresh: Boolean) {
      nearby(at: {lat: 59.95, lon: 10.79}, radiusMeters: 1, kinds: [VENUE],
             filter: {freshOnly: $fresh}) { edges { node { ... on Venue { id stale } } } } }"""
    as_of = VERIFIED + timedelta(days=30)
    everything = await _run(schema, async_write_engine, query, {"fresh": None}, as_of=as_of)
    assert [e["node"] for e in everything.data["nearby"]["edges"]] == [
        {"id": gid("Venue", new), "stale": False},
        {"id": gid("Venue", old), "stale": True},
    ]
    fresh = await _run(schema, async_write_engine, query, {"fresh": True}, as_of=as_of)
    assert [e["node"]["id"] for e in fresh.data["nearby"]["edges"]] == [gid("Venue", new)]


def test_a_load_verifies_the_rows_it_re_imports(write_engine):
    """Re-loading a file whose rows are unchanged: their content and version stay, but they
    are verified now, by the file's source."""
    with write_engine.begin() as conn:
        load_fixture_organisations(conn)
        load_venues(conn, VENUES_CSV)
        conn.execute(
            sa.update(venue)
            .where(venue.c.source == "test-fixtures")
            .values(last_verified_at=VERIFIED, verified_by="someone")
        )
    with write_engine.begin() as conn:
        again = load_venues(conn, VENUES_CSV)
        now = conn.execute(sa.select(sa.func.now())).scalar_one()
    assert again.unchanged == 3
    with write_engine.connect() as conn:
        rows = conn.execute(
            sa.select(venue.c.last_verified_at, venue.c.verified_by, venue.c.version).where(
                venue.c.source == "test-fixtures"
            )
        ).all()
    assert {(r.last_verified_at, r.verified_by, r.version) for r in rows} == {
        (now, "test-fixtures", 1)
    }


async def test_the_csv_export_says_which_rows_are_stale(client: httpx.AsyncClient):
    """The demo's rows were verified when they were loaded: fresh today; every row has the
    columns."""
    response = await client.get("/export/venues.csv", params={"municipality": "0301"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows
    assert {"last_verified_at", "verified_by", "stale"} <= set(rows[0])
    assert {r["stale"] for r in rows} == {"false"}
