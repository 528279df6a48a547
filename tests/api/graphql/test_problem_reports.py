"""Problem reports from anyone (issue 17, item 2): no key needed, the sender's address not
stored, the owner sees the report and another municipality's editor does not, a bucket per
address answered with 429 and Retry-After, bad input refused with nothing stored, and resolving
"confirmed closed" archiving the entry in the same transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from api.app import create_app
from geo.settings import Settings
from geo.tables import audit_log, problem_report, venue
from geo.writes.venues import create_venue
from tests.api.conftest import http_client
from tests.api.graphql.test_writes import gid
from tests.api.writes_support import BERGEN, OSLO, As, admin_actor

pytestmark = pytest.mark.anyio

REPORT = """mutation ($entry: ID!, $kind: ProblemKind!, $message: String!, $contact: String) {
  reportProblem(entry: $entry, kind: $kind, message: $message, contact: $contact) {
    id received } }"""
QUEUE = """query ($status: ProblemStatus) { problemReports(status: $status) {
  nodes { id entryId entryName kind message contact status outcome } } }"""
RESOLVE = """mutation ($id: ID!, $outcome: ProblemOutcome!, $archive: Boolean!) {
  resolveProblemReport(id: $id, outcome: $outcome, note: "checked", archiveEntry: $archive) {
    report { status outcome resolutionNote resolvedBy } } }"""
FLAG = """query ($id: ID!) { node(id: $id) { ... on Venue { hasOpenProblemReport archived } } }"""


@pytest.fixture
async def write_client(api_settings: Settings, write_url: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the module's writable database, with the default problem-report bucket (ten
    at once) and a fixed salt."""
    settings = api_settings.model_copy(
        update={
            "database_url": write_url.render_as_string(hide_password=False),
            "report_salt": "test salt",
        }
    )
    async with http_client(create_app(settings)) as client:
        yield client


def _venue(write_engine: sa.Engine, keys: Any, name: str, place: dict[str, float]) -> int:
    with write_engine.begin() as conn:
        return create_venue(
            conn,
            admin_actor(keys),
            {"name": name, "venue_type": "LIBRARY", "owner_type": "MUNICIPALITY", **place},
        )


def _reports(write_engine: sa.Engine) -> list[sa.Row[Any]]:
    with write_engine.connect() as conn:
        return conn.execute(sa.select(problem_report).order_by(problem_report.c.id)).all()


async def _post(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    return await client.post("/graphql", json={"query": query, "variables": variables})


async def test_anyone_reports_and_only_the_owner_sees_it(
    write_client, schema, write_engine, async_write_engine, keys
):
    venue_id = _venue(write_engine, keys, "report target", OSLO)
    before = len(_reports(write_engine))
    response = await _post(
        write_client,
        REPORT,
        {
            "entry": gid("Venue", venue_id),
            "kind": "ROOM_NOT_AVAILABLE",
            "message": "The room is locked on Tuesdays now.",
            "contact": "ola@example.no",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["reportProblem"]["received"] is True
    rows = _reports(write_engine)
    assert len(rows) == before + 1
    stored = rows[-1]
    # No address anywhere in the row: only a 32-byte salted hash stands for the sender.
    assert len(stored.reporter_hash) == 32
    assert not any("127.0.0.1" in str(value) for value in stored._mapping.values())

    oslo = await As(schema, async_write_engine, keys["oslo"][1]).data(QUEUE, {})
    mine = [n for n in oslo["problemReports"]["nodes"] if n["entryId"] == gid("Venue", venue_id)]
    assert mine == [
        {
            "id": mine[0]["id"],
            "entryId": gid("Venue", venue_id),
            "entryName": "report target",
            "kind": "ROOM_NOT_AVAILABLE",
            "message": "The room is locked on Tuesdays now.",
            "contact": "ola@example.no",
            "status": "OPEN",
            "outcome": None,
        }
    ]
    for other in ("bergen", "red_cross"):
        theirs = await As(schema, async_write_engine, keys[other][1]).data(QUEUE, {})
        assert gid("Venue", venue_id) not in {
            n["entryId"] for n in theirs["problemReports"]["nodes"]
        }
    analyst = await As(schema, async_write_engine, keys["analyst"][1]).data(QUEUE, {})
    assert mine[0]["id"] in {n["id"] for n in analyst["problemReports"]["nodes"]}
    public = await As(schema, async_write_engine).error(QUEUE, {})
    assert public["extensions"]["code"] == "UNAUTHENTICATED"

    flag = await As(schema, async_write_engine).data(FLAG, {"id": gid("Venue", venue_id)})
    assert flag["node"]["hasOpenProblemReport"] is True


async def test_bad_reports_are_refused_and_nothing_is_stored(write_client, write_engine, keys):
    venue_id = _venue(write_engine, keys, "bad reports", OSLO)
    before = len(_reports(write_engine))
    cases = [
        ({"entry": gid("Venue", venue_id), "message": "x" * 100_000}, "message"),
        ({"entry": gid("Venue", venue_id), "message": "   "}, "message"),
        ({"entry": gid("Venue", venue_id), "message": "ok", "contact": "c" * 201}, "contact"),
        ({"entry": gid("Venue", 987654321), "message": "no such venue"}, "entry"),
        ({"entry": gid("Municipality", 301), "message": "not an entry"}, "entry"),
    ]
    for variables, field in cases:
        response = await _post(write_client, REPORT, {"kind": "OTHER", **variables})
        body = response.json()
        assert body.get("data") is None or body["data"]["reportProblem"] is None, body
        (error,) = body["errors"]
        assert error["extensions"]["code"] in {"BAD_USER_INPUT", "NOT_FOUND"}, error
        assert error["extensions"].get("field") == field, error
    assert len(_reports(write_engine)) == before


async def test_a_sender_gets_429_with_retry_after_once_its_bucket_is_empty(
    write_client, write_engine, keys
):
    """Ten reports at once (the bucket), the eleventh refused with 429 and Retry-After and
    not stored. The bucket is the sender's own: a GraphQL read still answers."""
    venue_id = _venue(write_engine, keys, "flooded", BERGEN)
    variables = {"entry": gid("Venue", venue_id), "kind": "OTHER", "message": "again"}
    statuses = [(await _post(write_client, REPORT, variables)).status_code for _ in range(10)]
    stored = len(_reports(write_engine))
    refused = await _post(write_client, REPORT, variables)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert len(_reports(write_engine)) == stored
    assert statuses == [200] * 10  # a new app: a full bucket
    read = await _post(
        write_client, "{ whereAmI(at: {lat: 59.91, lon: 10.75}) { municipality { number } } }", {}
    )
    assert read.status_code == 200


async def test_resolving_confirmed_closed_archives_the_entry_in_the_same_write(
    schema, write_engine, async_write_engine, keys
):
    venue_id = _venue(write_engine, keys, "closed for good", OSLO)
    with write_engine.begin() as conn:
        report_id = conn.execute(
            sa.insert(problem_report)
            .values(
                entry_kind="VENUE",
                entry_id=venue_id,
                kind="NO_LONGER_RUNS",
                message="demolished",
                reporter_hash=b"\x01" * 32,
            )
            .returning(problem_report.c.id)
        ).scalar_one()
    report = gid("ProblemReport", report_id)
    bergen = await As(schema, async_write_engine, keys["bergen"][1]).error(
        RESOLVE, {"id": report, "outcome": "CONFIRMED_CLOSED", "archive": True}
    )
    assert bergen["extensions"]["code"] == "FORBIDDEN"
    wrong = await As(schema, async_write_engine, keys["oslo"][1]).error(
        RESOLVE, {"id": report, "outcome": "FIXED", "archive": True}
    )
    assert wrong["extensions"]["code"] == "BAD_USER_INPUT"
    with write_engine.connect() as conn:
        assert (
            conn.execute(sa.select(venue.c.archived_at).where(venue.c.id == venue_id)).scalar_one()
            is None
        )

    oslo = As(schema, async_write_engine, keys["oslo"][1])
    done = await oslo.data(RESOLVE, {"id": report, "outcome": "CONFIRMED_CLOSED", "archive": True})
    assert done["resolveProblemReport"]["report"] == {
        "status": "RESOLVED",
        "outcome": "CONFIRMED_CLOSED",
        "resolutionNote": "checked",
        "resolvedBy": "test oslo",
    }
    flag = await As(schema, async_write_engine).data(FLAG, {"id": gid("Venue", venue_id)})
    assert flag["node"] == {"hasOpenProblemReport": False, "archived": True}
    with write_engine.connect() as conn:
        actions = conn.execute(
            sa.select(audit_log.c.entity, audit_log.c.action).where(
                audit_log.c.entity.in_(["Venue", "ProblemReport"]),
                audit_log.c.entity_id.in_([str(venue_id), str(report_id)]),
            )
        ).all()
    assert ("Venue", "archive") in actions
    assert ("ProblemReport", "resolve") in actions
    again = await oslo.error(RESOLVE, {"id": report, "outcome": "FIXED", "archive": False})
    assert again["extensions"]["code"] == "BAD_USER_INPUT"
