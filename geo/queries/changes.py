"""`changes(since:)`: every directory row created, updated or archived since a time, in order.

For apps that keep a local copy. Order is (updated_at, entity, id) and the cursor holds all
three, so a page boundary inside a burst of rows with the same timestamp loses nothing. Archived
rows come as tombstones (``archived`` true). A writer's transaction stamps ``updated_at`` when it
starts, so a row can commit a moment after rows stamped later: clients should ask again from a
little before their last ``updated_at`` (a minute is ample) and keep the highest ``version`` per
row.
"""

from __future__ import annotations

import heapq
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
        sa.select(
            sa.literal(table.name).label("entity"),
            table.c.id,
            table.c.updated_at,
            table.c.archived_at.is_not(None).label("archived"),
            table.c.version,
        ).where(table.c.updated_at >= since)
        for table in DIRECTORY_TABLES
    ]
    return sa.union_all(*legs).subquery("changed")


def _after(table: sa.Table, after: ChangeKey | None) -> list[sa.ColumnElement[bool]]:
    """Rows of ``table`` after the cursor in (updated_at, entity, id) order; the entity is the
    table's name, a constant per table, so each table needs only its (updated_at, id) index."""
    if after is None:
        return []
    stamp = sa.literal(after.updated_at, sa.DateTime(timezone=True))
    if table.name > after.entity:
        return [table.c.updated_at >= stamp]
    if table.name < after.entity:
        return [table.c.updated_at > stamp]
    return [sa.tuple_(table.c.updated_at, table.c.id) > sa.tuple_(stamp, sa.literal(after.id))]


def changes(
    conn: sa.Connection, since: datetime, *, first: int, after: ChangeKey | None = None
) -> tuple[list[Change], bool]:
    """The ``first`` changes at or after ``since`` that follow ``after``; and whether more exist.

    Each table gives its next ``first + 1`` rows from its (updated_at, id) index; the sorted
    streams are merged here, so a page costs the same however many rows changed in all."""
    streams = []
    for table in DIRECTORY_TABLES:
        stmt = (
            sa.select(
                table.c.id,
                table.c.updated_at,
                table.c.archived_at.is_not(None).label("archived"),
                table.c.version,
            )
            .where(table.c.updated_at >= since, *_after(table, after))
            .order_by(table.c.updated_at, table.c.id)
            .limit(first + 1)
        )
        streams.append(
            [
                Change(table.name, r.id, r.updated_at, r.archived, r.version)
                for r in conn.execute(stmt)
            ]
        )
    rows = list(heapq.merge(*streams, key=lambda change: change.key))[: first + 1]
    return rows[:first], len(rows) > first


def count_changes(conn: sa.Connection, since: datetime) -> int:
    return int(
        conn.execute(sa.select(sa.func.count()).select_from(_changed_rows(since))).scalar_one()
    )
