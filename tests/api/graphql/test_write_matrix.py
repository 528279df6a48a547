"""Every role × every mutation × scope (own municipality or organisation, another one): the
expected outcome of each cell, and the database checked after each (the change and its one
audit row when allowed; nothing at all when refused)."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from api.guard.auth import PUBLIC
from geo.tables import activity, audit_log, immigrant_council, venue, venue_access_report
from geo.writes.activities import create_activity
from geo.writes.councils import create_council, set_council_archived
from geo.writes.venues import create_venue, set_venue_archived
from tests.api.writes_support import (
    BERGEN,
    OSLO,
    RED_CROSS,
    SAVE_THE_CHILDREN,
    As,
    admin_actor,
    org_id,
)

pytestmark = pytest.mark.anyio

ROLES = ("public", "oslo", "red_cross", "analyst", "admin")
SCOPES = ("own", "other")
VENUE_WRITES = ("createVenue", "updateVenue", "archiveVenue", "restoreVenue", "importVenues")
COUNCIL_WRITES = ("createCouncil", "updateCouncil", "archiveCouncil", "restoreCouncil")
ACTIVITY_WRITES = (
    "createActivity",
    "updateActivity",
    "archiveActivity",
    "restoreActivity",
    "reportVenueAccess",
)
MUTATIONS = VENUE_WRITES + COUNCIL_WRITES + ACTIVITY_WRITES


def expected(role: str, mutation: str, scope: str) -> str:
    """The outcome of one cell: OK or the error code."""
    if role == "public":
        return "UNAUTHENTICATED"
    if role == "admin":
        return "OK"
    if role == "analyst":
        return "FORBIDDEN"
    mine = (mutation in VENUE_WRITES + COUNCIL_WRITES) == (role == "oslo")
    return "OK" if mine and scope == "own" else "FORBIDDEN"


def gid(kind: str, key: int) -> str:
    return base64.b64encode(f"{kind}:{key}".encode()).decode()


@dataclass
class Cell:
    """What a cell runs and how to see its effect in the database."""

    query: str
    variables: dict[str, Any]
    effect: sa.Select[Any]  # one value: what the write changes
    before: Any
    after_ok: Any


def _place(scope: str) -> dict[str, float]:
    """For venues and councils: own is Oslo (the editor's), other is Bergen."""
    return OSLO if scope == "own" else BERGEN


def _setup(conn: sa.Connection, keys: Any, mutation: str, scope: str, tag: str) -> Cell:
    admin = admin_actor(keys)
    org = org_id(conn, RED_CROSS if scope == "own" else SAVE_THE_CHILDREN)
    place = _place(scope)
    municipality = "0301" if scope == "own" else "4601"
    if mutation == "createVenue":
        return Cell(
            "mutation ($p: LatLonInput!, $n: String!) { createVenue(input: {name: $n, "
            "venueType: LIBRARY, ownerType: MUNICIPALITY, location: $p}) { venue { id } } }",
            {"p": place, "n": tag},
            sa.select(sa.func.count()).where(venue.c.name == tag),
            0,
            1,
        )
    if mutation in {"updateVenue", "archiveVenue", "restoreVenue"}:
        vid = create_venue(
            conn,
            admin,
            {"name": tag, "venue_type": "LIBRARY", "owner_type": "MUNICIPALITY", **place},
        )
        if mutation == "restoreVenue":
            set_venue_archived(conn, admin, vid, 1, True)
        version = 2 if mutation == "restoreVenue" else 1
        body = {
            "updateVenue": f'updateVenue(id: "{gid("Venue", vid)}", version: 1, '
            "input: {capacity: 77}) { venue { id } }",
            "archiveVenue": f'archiveVenue(id: "{gid("Venue", vid)}", version: 1) '
            "{ venue { id } }",
            "restoreVenue": f'restoreVenue(id: "{gid("Venue", vid)}", version: 2) '
            "{ venue { id } }",
        }[mutation]
        return Cell(
            f"mutation {{ {body} }}",
            {},
            sa.select(venue.c.version).where(venue.c.id == vid),
            version,
            version + 1,
        )
    if mutation == "importVenues":
        content = (
            "external_id;name;owner_type;venue_type;lat;lon\n"
            f"{tag}-1;{tag} A;MUNICIPALITY;SCHOOL;{place['lat']};{place['lon']}\n"
            f"{tag}-2;{tag} B;MUNICIPALITY;LIBRARY;{place['lat']};{place['lon'] + 0.01}\n"
        )
        return Cell(
            "mutation ($c: String!, $s: String!) { importVenues(format: CSV, content: $c, "
            "source: $s) { report { inserted } } }",
            {"c": content, "s": tag},
            sa.select(sa.func.count()).where(venue.c.source == tag),
            0,
            2,
        )
    if mutation == "createCouncil":
        return Cell(
            "mutation ($m: String!, $n: String!) { createCouncil(input: {name: $n, kind: "
            "INNVANDRERRAD, level: MUNICIPALITY, status: ACTIVE, municipality: $m}) "
            "{ council { id } } }",
            {"m": municipality, "n": tag},
            sa.select(sa.func.count()).where(immigrant_council.c.name == tag),
            0,
            1,
        )
    if mutation in {"updateCouncil", "archiveCouncil", "restoreCouncil"}:
        cid = create_council(
            conn,
            admin,
            {
                "name": tag,
                "kind": "INNVANDRERRAD",
                "level": "MUNICIPALITY",
                "status": "ACTIVE",
                "municipality_number": municipality,
            },
        )
        if mutation == "restoreCouncil":
            set_council_archived(conn, admin, cid, 1, True)
        version = 2 if mutation == "restoreCouncil" else 1
        name = mutation.removesuffix("Council")
        extra = ", input: {members: 12}" if name == "update" else ""
        return Cell(
            f'mutation {{ {mutation}(id: "{gid("ImmigrantCouncil", cid)}", '
            f"version: {version}{extra}) {{ council {{ id }} }} }}",
            {},
            sa.select(immigrant_council.c.version).where(immigrant_council.c.id == cid),
            version,
            version + 1,
        )
    if mutation == "createActivity":
        return Cell(
            "mutation ($o: ID!, $t: String!, $p: LatLonInput!) { createActivity(input: "
            "{title: $t, category: LANGUAGE_CAFE, organiser: $o, location: $p}) "
            "{ activity { id } } }",
            {"o": gid("Organisation", org), "t": tag, "p": OSLO},
            sa.select(sa.func.count()).where(activity.c.title == tag),
            0,
            1,
        )
    if mutation in {"updateActivity", "archiveActivity", "restoreActivity"}:
        aid = create_activity(
            conn, admin, {"title": tag, "category": "SPORTS", "organisation_id": org, **OSLO}
        )
        version = 1
        if mutation == "restoreActivity":
            from geo.writes.activities import set_activity_archived

            set_activity_archived(conn, admin, aid, 1, True)
            version = 2
        extra = ", input: {minAge: 9}" if mutation == "updateActivity" else ""
        return Cell(
            f'mutation {{ {mutation}(id: "{gid("Activity", aid)}", '
            f"version: {version}{extra}) {{ activity {{ id }} }} }}",
            {},
            sa.select(activity.c.version).where(activity.c.id == aid),
            version,
            version + 1,
        )
    assert mutation == "reportVenueAccess"
    vid = create_venue(
        conn, admin, {"name": tag, "venue_type": "LIBRARY", "owner_type": "MUNICIPALITY", **OSLO}
    )
    org_arg = "" if scope == "own" else f', organisation: "{gid("Organisation", org)}"'
    return Cell(
        f'mutation ($n: String!) {{ reportVenueAccess(input: {{venue: "{gid("Venue", vid)}", '
        f"outcome: GRANTED, note: $n{org_arg}}}) {{ report {{ id }} }} }}",
        {"n": tag},
        sa.select(sa.func.count()).where(venue_access_report.c.note == tag),
        0,
        1,
    )


def _audit_rows(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one())


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("mutation", MUTATIONS)
async def test_cell(schema, write_engine, async_write_engine, keys, mutation, role, scope):
    tag = f"matrix {mutation} {role} {scope} {uuid.uuid4().hex[:6]}"
    with write_engine.begin() as conn:
        cell = _setup(conn, keys, mutation, scope, tag)
    with write_engine.connect() as conn:
        assert conn.execute(cell.effect).scalar_one() == cell.before
        audits = _audit_rows(conn)
    principal = PUBLIC if role == "public" else keys[role][1]
    result = await As(schema, async_write_engine, principal)(cell.query, cell.variables)
    outcome = expected(role, mutation, scope)
    with write_engine.connect() as conn:
        effect = conn.execute(cell.effect).scalar_one()
        audits_after = _audit_rows(conn)
    if outcome == "OK":
        assert result.errors is None, [e.formatted for e in result.errors]
        assert effect == cell.after_ok
        assert audits_after == audits + (2 if mutation == "importVenues" else 1)
    else:
        assert result.errors, result.data
        (error,) = result.errors
        assert error.formatted["extensions"]["code"] == outcome, error.formatted
        assert effect == cell.before
        assert audits_after == audits


def test_the_matrix_has_every_outcome():
    outcomes = {expected(r, m, s) for r in ROLES for m in MUTATIONS for s in SCOPES}
    assert outcomes == {"OK", "FORBIDDEN", "UNAUTHENTICATED"}
    assert {m for m in MUTATIONS if expected("oslo", m, "own") == "OK"} == set(
        VENUE_WRITES + COUNCIL_WRITES
    )
    assert {m for m in MUTATIONS if expected("red_cross", m, "own") == "OK"} == set(ACTIVITY_WRITES)
