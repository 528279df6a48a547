"""The Alembic migrations create exactly the data model of geo/tables.py, and undo it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from geoalchemy2 import alembic_helpers
from sqlalchemy.engine import URL

from geo.db import (
    alembic_config,
    current_revision,
    downgrade,
    head_revision,
    migrate,
    sync_engine,
)
from geo.tables import metadata

POSTGIS_TABLES = {"spatial_ref_sys"}


def _tables(url: URL) -> set[str]:
    engine = sync_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names()) - POSTGIS_TABLES - {"alembic_version"}
    finally:
        engine.dispose()


def _include(obj, name, type_, reflected, compare_to) -> bool:
    if type_ == "table" and name in POSTGIS_TABLES:
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def test_upgrade_creates_every_table_and_matches_the_model(template_url: URL) -> None:
    assert _tables(template_url) == set(metadata.tables)
    engine = sync_engine(template_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            assert current_revision(conn) == head_revision()
            context = MigrationContext.configure(
                conn, opts={"include_object": _include, "compare_type": True}
            )
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def test_every_geometry_is_typmod_25833_with_a_gist_index(template_url: URL) -> None:
    engine = sync_engine(template_url, poolclass=sa.pool.NullPool)
    geometry_columns = sa.table(
        "geometry_columns",
        sa.column("f_table_name"),
        sa.column("f_geometry_column"),
        sa.column("srid"),
        sa.column("type"),
    )
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(geometry_columns)).all()
            inspector = sa.inspect(conn)
            gist_indexed = {
                (table, column)
                for table in metadata.tables
                for index in inspector.get_indexes(table)
                if index.get("dialect_options", {}).get("postgresql_using") == "gist"
                for column in index["column_names"]
            }
    finally:
        engine.dispose()
    expected = {
        (t.name, c.name) for t in metadata.tables.values() for c in t.columns if c.name == "geom"
    }
    assert {(r.f_table_name, r.f_geometry_column) for r in rows} == expected
    assert {r.srid for r in rows} == {25833}
    assert {r.type for r in rows} <= {"POINT", "MULTIPOLYGON"}
    assert expected <= gist_indexed


def test_downgrade_removes_everything_and_upgrade_restores_it(fresh_url: URL) -> None:
    downgrade(fresh_url, "base")
    assert _tables(fresh_url) == set()
    migrate(fresh_url)
    assert _tables(fresh_url) == set(metadata.tables)


def test_the_revisions_read_without_alembic_are_alembics(fresh_url: URL) -> None:
    """head_revision reads the migration files and current_revision the version table
    themselves (/readyz must not load Alembic); both agree with Alembic, at every step."""
    config = alembic_config(fresh_url)
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()
    engine = sync_engine(fresh_url, poolclass=sa.pool.NullPool)
    steps = [
        None,
        *[s.revision for s in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))],
    ]
    assert steps[-1] == head_revision()
    try:
        downgrade(fresh_url, "base")
        for step in steps:
            if step is not None:
                migrate(fresh_url, step)
            with engine.connect() as conn:
                assert current_revision(conn) == step
                assert MigrationContext.configure(conn).get_current_revision() == step
        with engine.begin() as conn:  # no version table at all: before Alembic ever ran
            sa.Table("alembic_version", sa.MetaData(), sa.Column("version_num", sa.String)).drop(
                conn
            )
            assert current_revision(conn) is None
    finally:
        engine.dispose()


def test_constraints_reject_bad_rows(fresh_engine: sa.Engine) -> None:
    """A vocabulary CHECK and the number format hold in the database itself, not only in code."""
    from geo.tables import municipality, venue

    bad_rows = [
        (
            municipality,
            {
                "number": "30A1",
                "name": "x",
                "source": "t",
                "geom": "SRID=25833;MULTIPOLYGON(((0 0,1 0,1 1,0 0)))",
            },
        ),
        (
            venue,
            {
                "name": "x",
                "owner_type": "ALIENS",
                "venue_type": "SCHOOL",
                "source": "t",
                "geom": "SRID=25833;POINT(0 0)",
            },
        ),
        (
            venue,
            {
                "name": "x",
                "owner_type": "STATE",
                "venue_type": "SCHOOL",
                "source": "t",
                "geom": "SRID=4326;POINT(0 0)",
            },
        ),
    ]
    for table, row in bad_rows:
        with fresh_engine.connect() as conn, pytest.raises(sa.exc.DBAPIError):
            conn.execute(table.insert().values(**row))


def test_0005_normalises_stored_language_tags(fresh_url: URL) -> None:
    """Rows written before 0005 (the demo's ``no``) become what the loaders write now; a tag
    that is no language stays as the publisher wrote it."""
    downgrade(fresh_url, "0005-1")
    engine = sync_engine(fresh_url, poolclass=sa.pool.NullPool)
    stored = {
        "a": ["no", "en", "nb"],
        "b": ["NO", "prs", "ar"],
        "c": ["xx", "nb-NO"],
        "d": [],
    }
    try:
        with engine.begin() as conn:
            for title, languages in stored.items():
                conn.execute(
                    sa.text(
                        "INSERT INTO activity (title, category, geom, source, languages) "
                        "VALUES (:t, 'SPORTS', 'SRID=25833;POINT(262000 6650000)', 'test', :l)"
                    ),
                    {"t": title, "l": languages},
                )
        migrate(fresh_url)
        with engine.connect() as conn:
            after = dict(conn.execute(sa.text("SELECT title, languages FROM activity")).all())
    finally:
        engine.dispose()
    assert after == {
        "a": ["nb", "en"],
        "b": ["nb", "fa-AF", "ar"],
        "c": ["xx", "nb"],
        "d": [],
    }
