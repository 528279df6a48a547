"""`changes(since:)`: every directory row created, updated or archived since a time, in order.

For apps that keep a local copy. Order is (updated_at, entity, id) and the cursor holds all
three, so a page boundary inside a burst of rows with the same timestamp loses nothing. Archived
rows come as tombstones (``archived`` true). A writer's transaction stamps ``updated_at`` when it
starts, so a row can commit a moment after rows stamped later: clients should ask again from a
little before their last ``updated_at`` (a minute is ample) and keep the highest ``version`` per
row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from geo.tables import DIRECTORY_TABLES


@dataclass(frozen=True, order=True)
class ChangeKey:
    updated_at: datetime
    entity: str
    id: int


@dataclass(frozen=True)
class Change:
    entity: str
    id: int
    updated_at: datetime
    archived: bool
    version: int

    @property
    def key(self) -> ChangeKey:
        return ChangeKey(self.updated_at, self.entity, self.id)


def _changed_rows(since: datetime) -> sa.Subquery:
    legs = [
        sa.select(sa.literal(table.name).label("entity"), table.c.id, table.c.updated_at,
                  table.c.archived_at.is_not(None).label("archived"), table.c.version)
        .where(table.c.updated_at >= since)
        for table in DIRECTORY_TABLES
    ]
    return sa.union_all(*legs).subquery("changed")


def changes(conn: sa.Connection, since: datetime, *, first: int,
            after: ChangeKey | None = None) -> tuple[list[Change], bool]:
    """The ``first`` changes at or after ``since`` that follow ``after``; and whether more exist."""
    changed = _changed_rows(since)
    order = (changed.c.updated_at, changed.c.entity, changed.c.id)
    stmt = sa.select(changed).order_by(*order).limit(first + 1)
    if after is not None:
        stmt = stmt.where(sa.tuple_(*order) > sa.tuple_(
            sa.literal(after.updated_at, sa.DateTime(timezone=True)),
            sa.literal(after.entity), sa.literal(after.id)))
    rows = [Change(r.entity, r.id, r.updated_at, r.archived, r.version)
            for r in conn.execute(stmt)]
    return rows[:first], len(rows) > first


def count_changes(conn: sa.Connection, since: datetime) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(_changed_rows(since)))
               .scalar_one())
