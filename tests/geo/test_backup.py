"""Backup and restore (docs/operations.md): pg_dump of a loaded database, pg_restore into a new
one, and the two compared table by table: row counts and a checksum of every row's text."""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import URL

from geo.backup import BackupError, backup, restore
from geo.cluster import pg_binary
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


@pytest.fixture
def world_readable_umask() -> Iterator[None]:
    """The usual umask (022), under which a file made without care is readable by all."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("world_readable_umask")
def test_a_dump_is_readable_by_its_owner_alone_from_its_creation(
    loaded_url: URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real pg_dump runs behind a wrapper that notes the mode of the file it is told to
    write before it writes a byte: 0600 already, not only once the dump is done."""
    seen = tmp_path / "mode-when-pg_dump-started"
    wrapper = tmp_path / "pg_dump"
    wrapper.write_text(
        "#!/bin/sh\n"
        'for arg in "$@"; do case "$arg" in --file=*) target="${arg#--file=}";; esac; done\n'
        f'stat -c %a "$target" > {seen} 2>/dev/null || echo absent > {seen}\n'
        f'exec {pg_binary("pg_dump")} "$@"\n'
    )
    wrapper.chmod(0o700)
    monkeypatch.setattr(
        "geo.backup.pg_binary", lambda tool: wrapper if tool == "pg_dump" else pg_binary(tool)
    )
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    dump = dumps / "hverdag.dump"
    dump.write_bytes(b"an earlier dump")
    dump.chmod(0o644)

    backup(loaded_url, dump)
    assert seen.read_text().strip() == "600"
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert dump.read_bytes().startswith(b"PGDMP")
    assert [p.name for p in dumps.iterdir()] == ["hverdag.dump"]  # no partial file left

    # A dump that fails leaves the earlier one whole, and nothing beside it.
    with pytest.raises(BackupError, match="pg_dump failed"):
        backup(loaded_url.set(database="hverdag_no_such_database"), dump)
    assert dump.read_bytes().startswith(b"PGDMP")
    assert [p.name for p in dumps.iterdir()] == ["hverdag.dump"]


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
