"""Alembic environment: online migrations only, against the URL the caller configured."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from geoalchemy2 import alembic_helpers

from geo.tables import metadata

config = context.config


def _include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # PostGIS's own tables (spatial_ref_sys, topology) are not ours to manage.
    if type_ == "table" and name in {"spatial_ref_sys", "layer", "topology"}:
        return False
    included: bool = alembic_helpers.include_object(obj, name, type_, reflected, compare_to)
    return included


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("no sqlalchemy.url: migrate through geo.db.migrate")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=metadata,
                include_object=_include_object,
                process_revision_directives=alembic_helpers.writer,
                render_item=alembic_helpers.render_item,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


run_migrations_online()
