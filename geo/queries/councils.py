"""Immigrant councils (innvandrerråd and similar bodies)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from geo.queries.rows import to_dataclass
from geo.tables import immigrant_council


@dataclass(frozen=True)
class CouncilRow:
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
    source: str
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    version: int


def council_columns() -> list[sa.ColumnElement[object]]:
    return list(immigrant_council.c)


def councils_by_ids(conn: sa.Connection, ids: Iterable[int]) -> dict[int, CouncilRow]:
    rows = conn.execute(sa.select(*council_columns())
                        .where(immigrant_council.c.id.in_(list(ids))))
    return {row.id: to_dataclass(CouncilRow, row) for row in rows}
