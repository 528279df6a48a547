"""Immigrant councils (innvandrerråd and similar bodies)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from geo.queries.rows import Lifecycle, grouped, to_dataclass
from geo.tables import immigrant_council


@dataclass(frozen=True)
class CouncilRow(Lifecycle):
    id: int
    name: str
    kind: str
    level: str
    municipality_number: str | None
    county_number: str | None
    status: str
    established: int | None
    members: int | None
    website: str | None
    note: str | None
    last_verified_at: datetime
    verified_by: str | None


def council_columns() -> list[sa.ColumnElement[object]]:
    return list(immigrant_council.c)


def councils_by_ids(conn: sa.Connection, ids: Iterable[int]) -> dict[int, CouncilRow]:
    rows = conn.execute(sa.select(*council_columns()).where(immigrant_council.c.id.in_(list(ids))))
    return {row.id: to_dataclass(CouncilRow, row) for row in rows}


def councils_by_municipality(
    conn: sa.Connection, numbers: Iterable[str]
) -> dict[str, list[CouncilRow]]:
    """Every council (active or disbanded, not archived) of each municipality, by name."""
    return grouped(
        conn,
        sa.select(*council_columns())
        .where(
            immigrant_council.c.municipality_number.in_(list(numbers)),
            immigrant_council.c.archived_at.is_(None),
        )
        .order_by(immigrant_council.c.municipality_number, immigrant_council.c.name),
        CouncilRow,
        "municipality_number",
    )
