"""Backup and restore (docs/operations.md): pg_dump of a loaded database, pg_restore into a new
one, and the two compared table by table: row counts and a checksum of every row's text."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import URL

from geo.backup import BackupError, backup, restore
from geo.db import current_revision, database_exists, drop_database, sync_engine
from geo.tables import metadata, venue


@pytest.fixture
def new_database(loaded_url: URL) -> Iterator[URL]:
    url = loaded_url.set(database=f"hverdag_test_restore_{uuid.uuid4().hex[:8]}")
    yield url
    drop_database(url)


def fingerprint(url: URL) -> dict[str, tuple[int, str | None]]:
    """Per table: rows, and the md5 of all rows' text in order (geometries as hex EWKB)."""
    engine = sync_engine(url, poolclass=sa.pool.NullPool)
    found = {}
    try:
        with engine.connect() as conn:
            for table in [*metadata.sorted_tables, sa.table("alembic_version")]:
                row_text = sa.cast(sa.literal_column(f'"{table.name}"'), sa.Text)
                count, digest = conn.execute(
                    sa.select(
                        sa.func.count(),
                        sa.func.md5(
                            sa.func.string_agg(
                                row_text, aggregate_order_by(sa.literal("|"), row_text)
                            )
                        ),
                    ).select_from(sa.table(table.name))
                ).one()
                found[table.name] = (count, digest)
    finally:
        engine.dispose()
    return found


def test_a_restored_dump_equals_the_original(
    loaded_url: URL, new_database: URL, tmp_path: Path
) -> None:
    dump = tmp_path / "hverdag.dump"
    backup(loaded_url, dump)
    assert dump.read_bytes().startswith(b"PGDMP")  # pg_dump's custom format
    restore(dump, new_database)
    original, restored = fingerprint(loaded_url), fingerprint(new_database)
    assert restored == original
    assert original["activity"][0] > 1000, "the loaded database should hold the demo data"
    engine = sync_engine(new_database, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            assert current_revision(conn) is not None
            # PostGIS works in the restored database, indexes included.
            oslo = sa.func.ST_Transform(
                sa.func.ST_SetSRID(sa.func.ST_MakePoint(10.75, 59.91), 4326), 25833
            )
            near = conn.execute(
                sa.select(sa.func.count())
                .select_from(venue)
                .where(sa.func.ST_DWithin(venue.c.geom, oslo, 2000))
            ).scalar_one()
    finally:
        engine.dispose()
    assert near > 0


def test_a_failed_restore_leaves_no_database(
    loaded_url: URL, new_database: URL, tmp_path: Path
) -> None:
    dump = tmp_path / "whole.dump"
    backup(loaded_url, dump)
    broken = tmp_path / "broken.dump"
    content = dump.read_bytes()
    broken.write_bytes(content[: len(content) // 2])  # cut off halfway through the data
    with pytest.raises(BackupError, match="pg_restore failed"):
        restore(broken, new_database)
    assert not database_exists(new_database)


def test_restore_never_overwrites_a_database(loaded_url: URL, tmp_path: Path) -> None:
    dump = tmp_path / "any.dump"
    dump.write_bytes(b"PGDMP")
    with pytest.raises(BackupError, match="exists"):
        restore(dump, loaded_url)
    assert database_exists(loaded_url)
