"""geo.writes on a real PostGIS: version-checked updates under real concurrency (threads, one
connection each), one audit row per write in the write's transaction, archive as a tombstone."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from geo.db import sync_engine
from geo.queries.changes import changes
from geo.tables import audit_log, venue
from geo.vocab import Role
from geo.writes import Actor, Conflict, Forbidden, Invalid
from geo.writes.venues import create_venue, set_venue_archived, update_venue

ADMIN = Actor(key_id=None, label="test admin", role=Role.ADMIN)
OSLO_EDITOR = Actor(
    key_id=None, label="test oslo", role=Role.MUNICIPALITY_EDITOR, municipality_number="0301"
)
HALL = {
    "name": "Hall",
    "venue_type": "SPORTS_HALL",
    "owner_type": "MUNICIPALITY",
    "lat": 59.95,
    "lon": 10.90,
}


@pytest.fixture
def engine(fresh_loaded_url):
    engine = sync_engine(fresh_loaded_url, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def _audits(engine, venue_id: int) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(audit_log.c.action)
                .where(audit_log.c.entity == "Venue", audit_log.c.entity_id == str(venue_id))
                .order_by(audit_log.c.id)
            ).scalars()
        )


def test_concurrent_updates_at_one_version_one_wins(engine):
    """Eight threads update the same venue from version 1 at once, each in its own
    transaction: exactly one commits; every other one gets Conflict naming version 2."""
    with engine.begin() as conn:
        venue_id = create_venue(conn, ADMIN, HALL)
    start = threading.Barrier(8)
    outcomes: dict[int, object] = {}

    def attempt(n: int) -> None:
        start.wait()
        try:
            with engine.begin() as conn:
                update_venue(conn, OSLO_EDITOR, venue_id, 1, {"capacity": 10 + n})
            outcomes[n] = "ok"
        except Conflict as error:
            outcomes[n] = error

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [n for n, o in outcomes.items() if o == "ok"]
    assert len(winners) == 1
    conflicts = [o for o in outcomes.values() if isinstance(o, Conflict)]
    assert len(conflicts) == 7
    assert {c.details["currentVersion"] for c in conflicts} == {2}
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(venue.c.capacity, venue.c.version).where(venue.c.id == venue_id)
        ).one()
    assert tuple(row) == (10 + winners[0], 2)
    assert _audits(engine, venue_id) == ["create", "update"]


def test_a_refused_write_leaves_no_trace(engine):
    with engine.begin() as conn:
        venue_id = create_venue(conn, ADMIN, HALL)
    for change, error in (({"lat": 60.39, "lon": 5.32}, Forbidden), ({"capacity": -1}, Invalid)):
        with pytest.raises(error), engine.begin() as conn:
            update_venue(conn, OSLO_EDITOR, venue_id, 1, change)
    with engine.connect() as conn:
        row = conn.execute(sa.select(venue).where(venue.c.id == venue_id)).one()
    assert (row.version, row.municipality_number, row.capacity) == (1, "0301", None)
    assert _audits(engine, venue_id) == ["create"]


def test_archive_is_a_tombstone_and_restore_brings_it_back(engine):
    with engine.begin() as conn:
        venue_id = create_venue(conn, ADMIN, HALL)
        since = conn.execute(sa.select(sa.func.now())).scalar_one() - timedelta(seconds=1)
    with engine.begin() as conn:
        set_venue_archived(conn, OSLO_EDITOR, venue_id, 1, True)
    with engine.connect() as conn:
        page, _ = changes(conn, since, first=100)
        (change,) = [c for c in page if c.entity == venue.name and c.id == venue_id]
        assert (change.archived, change.version) == (True, 2)
        assert (
            conn.execute(sa.select(sa.func.count()).where(venue.c.id == venue_id)).scalar_one() == 1
        )
    with engine.begin() as conn:
        set_venue_archived(conn, OSLO_EDITOR, venue_id, 2, False)
    assert _audits(engine, venue_id) == ["create", "archive", "restore"]
