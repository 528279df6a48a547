"""Lists ordered by name (then id), keyset-paginated: activities and venues without a point."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from geo.queries.rows import to_dataclass

T = TypeVar("T")


@dataclass(frozen=True, order=True)
class NameKey:
    """A row's position in a by-name list: what a cursor holds."""

    name: str
    id: int


def page_by_name(
    conn: sa.Connection,
    row_type: type[T],
    table: sa.Table,
    name: ColumnElement[str],
    columns: Sequence[ColumnElement[Any]],
    conditions: Sequence[ColumnElement[bool]],
    *,
    first: int,
    after: NameKey | None,
) -> tuple[list[T], bool]:
    """The ``first`` rows after ``after`` in (name, id) order; and whether more follow."""
    stmt = sa.select(*columns).where(*conditions).order_by(name, table.c.id).limit(first + 1)
    if after is not None:
        stmt = stmt.where(
            sa.tuple_(name, table.c.id) > sa.tuple_(sa.literal(after.name), sa.literal(after.id))
        )
    rows = [to_dataclass(row_type, row) for row in conn.execute(stmt)]
    return rows[:first], len(rows) > first


def count_where(
    conn: sa.Connection, table: sa.Table, conditions: Sequence[ColumnElement[bool]]
) -> int:
    return int(
        conn.execute(sa.select(sa.func.count()).select_from(table).where(*conditions)).scalar_one()
    )


@dataclass(frozen=True)
class GroupPage(Generic[T]):
    rows: list[T]
    has_next: bool
    total: int


def first_rows_per_group(
    conn: sa.Connection,
    row_type: type[T],
    table: sa.Table,
    group: ColumnElement[Any],
    groups: Sequence[Any],
    order: Sequence[ColumnElement[Any]],
    columns: Sequence[ColumnElement[Any]],
    conditions: Sequence[ColumnElement[bool]],
    *,
    first: int,
) -> dict[Any, GroupPage[T]]:
    """The first page of each group in one statement (row_number and count over the group):
    a list of municipalities with their venues costs one query, not one per municipality."""
    ranked = (
        sa.select(
            *columns,
            group.label("group_key"),
            sa.func.row_number().over(partition_by=group, order_by=order).label("rank"),
            sa.func.count().over(partition_by=group).label("group_total"),
        )
        .where(group.in_(list(groups)), *conditions)
        .subquery("ranked")
    )
    rows = conn.execute(
        sa.select(ranked)
        .where(ranked.c.rank <= first + 1)
        .order_by(ranked.c.group_key, ranked.c.rank)
    )
    found: dict[Any, list[Any]] = {}
    totals: dict[Any, int] = {}
    for row in rows:
        found.setdefault(row.group_key, []).append(to_dataclass(row_type, row))
        totals[row.group_key] = row.group_total
    return {
        key: GroupPage(
            found.get(key, [])[:first], len(found.get(key, [])) > first, totals.get(key, 0)
        )
        for key in groups
    }
