"""Optimistic concurrency: a row changes only at the version its writer read."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from geo.writes import Conflict, NotFound


def current_version(conn: sa.Connection, table: sa.Table, entity: str, entity_id: int) -> int:
    found = conn.execute(sa.select(table.c.version).where(table.c.id == entity_id)).scalar()
    if found is None:
        raise NotFound(f"no {entity} with id {entity_id}")
    return int(found)


def check_version(
    conn: sa.Connection, table: sa.Table, entity: str, entity_id: int, version: int
) -> None:
    """CONFLICT now, before any work, when the caller's version is already stale."""
    current = current_version(conn, table, entity, entity_id)
    if current != version:
        raise Conflict(entity, entity_id, version, current)


def update_at_version(
    conn: sa.Connection,
    table: sa.Table,
    entity: str,
    entity_id: int,
    version: int,
    values: dict[str, Any],
) -> int:
    """Apply ``values`` if the row is still at ``version``; its new version, else CONFLICT.

    Two writers at the same version: PostgreSQL makes the second wait for the first's row lock,
    then re-checks its WHERE against the committed row, finds the version moved on and updates
    nothing; the rowcount tells us, and that writer gets CONFLICT.
    """
    found = conn.execute(
        sa.update(table)
        .where(table.c.id == entity_id, table.c.version == version)
        .values(**values, version=table.c.version + 1, updated_at=sa.func.now())
        .returning(table.c.version)
    ).scalar()
    if found is None:
        raise Conflict(entity, entity_id, version, current_version(conn, table, entity, entity_id))
    return int(found)
