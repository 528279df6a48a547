"""Counties (fylker): lookups by number, by point, and the full list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geo.queries.points import storage_point
from geo.tables import county


@dataclass(frozen=True, slots=True)
class CountyRow:
    number: str
    name: str


def _select() -> sa.Select[tuple[str, str]]:
    return (
        sa.select(county.c.number, county.c.name)
        .where(county.c.archived_at.is_(None))
        .order_by(county.c.number)
    )


def counties(conn: Connection) -> list[CountyRow]:
    """Every county, ordered by number."""
    return [CountyRow(number=r.number, name=r.name) for r in conn.execute(_select())]


def counties_by_number(conn: Connection, numbers: Sequence[str]) -> dict[str, CountyRow]:
    """The counties among ``numbers`` that exist; unknown numbers are left out."""
    if not numbers:
        return {}
    rows = conn.execute(_select().where(county.c.number.in_(sorted(set(numbers)))))
    return {r.number: CountyRow(number=r.number, name=r.name) for r in rows}


def county_by_number(conn: Connection, number: str) -> CountyRow | None:
    return counties_by_number(conn, [number]).get(number)


def county_at(conn: Connection, x: float, y: float) -> CountyRow | None:
    """The county whose boundary covers the point (EPSG:25833), or None at sea or abroad.

    The predicate is on the bare indexed column, so the GiST index answers it.
    """
    row = conn.execute(county_at_statement(storage_point(x, y))).first()
    return None if row is None else CountyRow(number=row.number, name=row.name)


def county_at_statement(point: sa.ColumnElement[object]) -> sa.Select[tuple[str, str]]:
    """:func:`county_at`'s statement for a point expression in EPSG:25833."""
    return _select().where(sa.func.ST_Covers(county.c.geom, point)).limit(1)
