"""``tile_cell`` (migration 0003) on a real PostGIS: after the demo's loads, the generator, a
rebuild-sized statement, TRUNCATE, concurrent writers, the migration on existing rows and a
backup/restore, the table equals the cells counted from scratch."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from geo.backup import backup, restore
from geo.db import downgrade, drop_database, migrate, sync_engine
from geo.queries.tiles import AGGREGATE_BELOW_ZOOM, LAYERS
from geo.tables import TILE_CELL_LAYERS, TILE_CELL_ZOOMS, activity, venue
from geo.vocab import Role
from geo.writes import Actor
from geo.writes.venues import create_venue, set_venue_archived, update_venue
from loaders.generate import generate
from tests.geo.tile_cells_support import SHOWN, cell_of, mercator_rows, recounted, stored

ADMIN = Actor(key_id=None, label="test admin", role=Role.ADMIN)
#: REBUILD_ABOVE of migration 0003: a statement moving more rows rebuilds the layer.
REBUILD_ABOVE = 10_000


@pytest.fixture
def engine(fresh_demo_url: URL) -> Iterator[sa.Engine]:
    engine = sync_engine(fresh_demo_url, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def _check(engine: sa.Engine) -> dict[tuple[str, int, int, int], tuple[int, int]]:
    with engine.connect() as conn:
        want, got = recounted(conn), stored(conn)
    assert got == want
    return got


def test_the_demo_loads_leave_every_cell_counted(loaded_conn: sa.Connection) -> None:
    """The demo template was built by the loaders and the generator through the triggers."""
    got = stored(loaded_conn)
    assert got == recounted(loaded_conn)
    for layer, (table, _) in SHOWN.items():
        live = len(mercator_rows(loaded_conn, layer))
        assert live > 1000
        all_rows = loaded_conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
        for z in TILE_CELL_ZOOMS:
            cells = {k: v for k, v in got.items() if k[:2] == (layer, z)}
            # Every live row is counted once per zoom, in fewer cells at lower zooms.
            assert sum(count for count, _ in cells.values()) == live
            assert len(cells) < live
        assert live <= all_rows


def test_the_stored_zooms_are_the_ones_tiles_aggregate(loaded_conn: sa.Connection) -> None:
    """tile_cell holds exactly the zooms at which a point layer's tile is made of cells."""
    for layer in TILE_CELL_LAYERS:
        assert range(LAYERS[layer].min_zoom, AGGREGATE_BELOW_ZOOM) == TILE_CELL_ZOOMS
    assert {(layer, z) for layer, z, *_ in stored(loaded_conn)} == {
        (layer, z) for layer in TILE_CELL_LAYERS for z in TILE_CELL_ZOOMS
    }


def test_cells_nest_in_the_zoom_above(loaded_conn: sa.Connection) -> None:
    got = stored(loaded_conn)
    for (layer, z, x, y), (count, _) in got.items():
        if z > TILE_CELL_ZOOMS[0]:
            parent = got[(layer, z - 1, x // 2, y // 2)]
            assert parent[0] >= count


def test_writes_through_geo_writes_and_a_rollback(engine: sa.Engine) -> None:
    """Create, move (within and across cells), archive, restore, and a transaction that moved
    and archived venues but rolled back."""
    with engine.connect() as conn:
        first_id = conn.execute(
            sa.select(sa.func.min(venue.c.id)).where(venue.c.archived_at.is_(None))
        ).scalar_one()
    hall = {
        "name": "Hall",
        "venue_type": "SPORTS_HALL",
        "owner_type": "MUNICIPALITY",
        "lat": 59.95,
        "lon": 10.90,
    }
    with engine.begin() as conn:
        new_id = create_venue(conn, ADMIN, hall)
    _check(engine)
    with engine.begin() as conn:
        update_venue(conn, ADMIN, new_id, 1, {"lat": 59.9501, "lon": 10.9001})  # a few metres
        update_venue(conn, ADMIN, new_id, 2, {"lat": 60.10, "lon": 10.60})  # far
    _check(engine)
    with engine.begin() as conn:  # the lowest id of its cells leaves them, then comes back
        version = conn.execute(
            sa.select(venue.c.version).where(venue.c.id == first_id)
        ).scalar_one()
        set_venue_archived(conn, ADMIN, first_id, version, True)
    _check(engine)
    with engine.begin() as conn:
        set_venue_archived(conn, ADMIN, first_id, version + 1, False)
    before = _check(engine)

    def move_and_cancel_then_fail() -> None:
        with engine.begin() as conn:
            update_venue(conn, ADMIN, new_id, 3, {"lat": 59.91, "lon": 10.75})
            conn.execute(sa.update(activity).values(status="CANCELLED"))
            assert stored(conn) == recounted(conn)  # inside the transaction too
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError, match="roll back"):
        move_and_cancel_then_fail()
    assert _check(engine) == before


def test_a_delete_and_a_statement_past_the_rebuild_size(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        generate(conn, venues=REBUILD_ABOVE + 500, activities=0, seed=7)
    _check(engine)
    with engine.begin() as conn:  # archives every venue at once: the layer is rebuilt
        moved = conn.execute(
            sa.update(venue).values(archived_at=sa.func.now()).where(venue.c.archived_at.is_(None))
        ).rowcount
        assert moved > REBUILD_ABOVE
    got = _check(engine)
    assert not [key for key in got if key[0] == "venues"]
    with engine.begin() as conn:
        conn.execute(sa.update(venue).values(archived_at=None))
        deleted = conn.execute(
            sa.delete(activity).where(
                activity.c.id.in_(sa.select(activity.c.id).order_by(activity.c.id).limit(50))
            )
        )
        assert deleted.rowcount == 50
    _check(engine)


def test_truncate_empties_the_cells(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE venue, activity CASCADE")
    assert _check(engine) == {}


def test_concurrent_writers_in_the_same_cells(engine: sa.Engine) -> None:
    """Eight transactions at once, each its own connection, creating, moving and archiving
    venues in the same few cells: no count is lost (each locks its cells before recounting)."""
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            start.wait()
            place = {
                "name": f"c{n}",
                "venue_type": "LIBRARY",
                "owner_type": "MUNICIPALITY",
                "lat": 59.9139,
                "lon": 10.7522 + n * 0.0003,
            }
            with engine.begin() as conn:
                made = create_venue(conn, ADMIN, place)
            with engine.begin() as conn:
                update_venue(conn, ADMIN, made, 1, {"lat": 59.9140, "lon": 10.7522})
                other = create_venue(conn, ADMIN, place)
            with engine.begin() as conn:
                set_venue_archived(conn, ADMIN, other, 1, True)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    got = _check(engine)
    with engine.connect() as conn:
        mx, my = conn.execute(
            sa.select(
                sa.func.ST_X(sa.func.ST_Transform(venue.c.geom, 3857)),
                sa.func.ST_Y(sa.func.ST_Transform(venue.c.geom, 3857)),
            ).where(venue.c.name == "c0")
        ).first()
    assert got[("venues", 13, *cell_of(mx, my, 13))][0] >= 8


def test_the_migration_fills_the_cells_of_existing_rows(
    engine: sa.Engine, fresh_demo_url: URL
) -> None:
    downgrade(fresh_demo_url, "0002")
    with engine.connect() as conn:
        assert not sa.inspect(conn).has_table("tile_cell")
    migrate(fresh_demo_url)
    assert len(_check(engine)) > 1000


def test_a_restore_keeps_the_cells_and_their_triggers(
    engine: sa.Engine, fresh_demo_url: URL, tmp_path: Path
) -> None:
    """pg_restore creates the triggers after copying the data: the cells come from the dump,
    counted once, and writes to the restored database keep them."""
    dump = tmp_path / "cells.dump"
    backup(fresh_demo_url, dump)
    copy = fresh_demo_url.set(database=f"hverdag_test_cells_{uuid.uuid4().hex[:8]}")
    restore(dump, copy)
    restored = sync_engine(copy, poolclass=sa.pool.NullPool)
    try:
        assert _check(restored) == _check(engine)
        with restored.begin() as conn:
            create_venue(
                conn,
                ADMIN,
                {
                    "name": "after restore",
                    "venue_type": "LIBRARY",
                    "owner_type": "MUNICIPALITY",
                    "lat": 59.93,
                    "lon": 10.71,
                },
            )
        after = _check(restored)
        assert sum(
            count for (layer, z, *_), (count, _) in after.items() if (layer, z) == ("venues", 12)
        ) == 1 + sum(
            count
            for (layer, z, *_), (count, _) in _check(engine).items()
            if (layer, z) == ("venues", 12)
        )
    finally:
        restored.dispose()
        drop_database(copy)
