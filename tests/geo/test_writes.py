"""geo.writes on a real PostGIS: version-checked updates under real concurrency (threads, one
connection each), one audit row per write in the write's transaction, archive as a tombstone."""

from __future__ import annotations

import threading
from datetime import timedelta
from itertools import pairwise

import pytest
import sqlalchemy as sa

from geo.db import sync_engine
from geo.queries.changes import changes
from geo.tables import audit_log, venue
from geo.vocab import Role
from geo.writes import Actor, Conflict, Forbidden, Invalid
from geo.writes.venues import (
    ImportResult,
    create_venue,
    import_venues,
    set_venue_archived,
    update_venue,
)

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


# --- imports under real concurrency (issue 20, item 9) ------------------------------------------

EDITOR_IMPORT_SOURCE = "api-import:0301"


class _Row(dict):
    """A file's row as import_venues takes it: its fields and its label."""

    def __init__(self, line: int, **fields: object) -> None:
        super().__init__(**fields)
        self.label = f"line {line}"


def _file(rows: int, capacity: int = 10, prefix: str = "c") -> list[_Row]:
    return [
        _Row(
            n + 2,
            external_id=f"{prefix}{n:03d}",
            name=f"Rom {prefix}{n}",
            owner_type="MUNICIPALITY",
            venue_type="MEETING_ROOM",
            lat=59.91 + n / 10_000,
            lon=10.75,
            capacity=capacity,
            availability=["MON 17:00-21:00"],
        )
        for n in range(rows)
    ]


def _at_once(engine, files: list[list[_Row]]) -> list[object]:
    """Each file imported by its own thread, on its own connection, all let go at once."""
    start = threading.Barrier(len(files))
    outcomes: list[object] = [None] * len(files)

    def attempt(n: int) -> None:
        start.wait()
        try:
            with engine.begin() as conn:
                outcomes[n] = import_venues(conn, OSLO_EDITOR, files[n], EDITOR_IMPORT_SOURCE)
        except Exception as error:  # reported, not swallowed: the test asserts on it
            outcomes[n] = error

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(len(files))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _import_audits(engine) -> list[sa.Row]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(audit_log.c.entity_id, audit_log.c.action, audit_log.c.before)
                .select_from(
                    audit_log.join(
                        venue, venue.c.id == sa.cast(audit_log.c.entity_id, sa.BigInteger)
                    )
                )
                .where(audit_log.c.entity == "Venue", venue.c.source == EDITOR_IMPORT_SOURCE)
                .order_by(audit_log.c.id)
            )
        )


def test_sixteen_imports_of_the_same_new_rows_at_once_leave_one_create_per_venue(engine):
    """The issue's run: 16 imports of the same 50 new rows at once. Every venue is created
    once, by one import; every other import finds them there, equal, and reports them
    unchanged; the audit log has one `create` per venue and nothing else."""
    outcomes = _at_once(engine, [_file(50) for _ in range(16)])
    results = [o for o in outcomes if isinstance(o, ImportResult)]
    assert len(results) == 16, [o for o in outcomes if not isinstance(o, ImportResult)]
    assert sum(r.inserted for r in results) == 50
    assert sum(r.updated for r in results) == 0
    assert sum(r.unchanged for r in results) == 15 * 50
    audits = _import_audits(engine)
    assert [a.action for a in audits] == ["create"] * 50
    assert len({a.entity_id for a in audits}) == 50
    assert all(a.before is None for a in audits)


def test_two_imports_of_one_new_row_at_once_audit_a_create_and_an_import(engine):
    """The same new external id with two capacities at once: one import creates it, the other
    then changes it, and the audit says so: a `create` without `before`, and an `import`
    whose `before` is the row the first one made."""
    outcomes = _at_once(
        engine, [_file(1, capacity=11, prefix="d"), _file(1, capacity=22, prefix="d")]
    )
    assert all(isinstance(o, ImportResult) for o in outcomes), outcomes
    reports = {(o.inserted, o.updated, o.unchanged) for o in outcomes}  # type: ignore[union-attr]
    assert reports == {(1, 0, 0), (0, 1, 0)}
    first = 11 if outcomes[0].inserted else 22  # type: ignore[union-attr]
    second = 33 - first
    audits = _import_audits(engine)
    assert [a.action for a in audits] == ["create", "import"]
    assert audits[0].before is None
    assert (audits[1].before["capacity"], audits[1].before["version"]) == (first, 1)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(venue.c.capacity, venue.c.version).where(
                venue.c.source == EDITOR_IMPORT_SOURCE, venue.c.external_id == "d000"
            )
        ).one()
    assert tuple(row) == (second, 2)


def test_imports_crossing_each_other_keep_every_venues_audit_chain_whole(engine):
    """Eight imports at once of the same 30 keys, half of them in reverse order, with three
    capacities between them: no deadlock, the reports add up to the audit rows (a `create`
    per venue, an `import` per change), and each venue's audit rows form one chain: each
    `before` is the `after` of the row before it, so no change is described twice or from a
    row that was not there."""
    files = []
    for n in range(8):
        rows = _file(30, capacity=10 + n % 3, prefix="x")
        files.append(rows[::-1] if n % 2 else rows)
    outcomes = _at_once(engine, files)
    results = [o for o in outcomes if isinstance(o, ImportResult)]
    assert len(results) == 8, [o for o in outcomes if not isinstance(o, ImportResult)]
    with engine.connect() as conn:
        audits = conn.execute(
            sa.select(
                audit_log.c.entity_id, audit_log.c.action, audit_log.c.before, audit_log.c.after
            )
            .where(
                audit_log.c.entity == "Venue", audit_log.c.after["external_id"].astext.like("x%")
            )
            .order_by(audit_log.c.id)
        ).all()
    chains: dict[str, list[sa.Row]] = {}
    for audit in audits:
        chains.setdefault(audit.entity_id, []).append(audit)
    assert len(chains) == 30
    assert sum(r.inserted for r in results) == 30
    assert sum(r.updated for r in results) == len(audits) - 30
    for chain in chains.values():
        assert [a.action for a in chain] == ["create"] + ["import"] * (len(chain) - 1)
        assert chain[0].before is None
        for previous, audit in pairwise(chain):
            assert audit.before == previous.after
            assert audit.after["version"] == previous.after["version"] + 1
