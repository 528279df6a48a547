"""Organisations (volunteer organisations, clubs, faith communities, public bodies)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from geo.queries.rows import Lifecycle, to_dataclass
from geo.tables import organisation


@dataclass(frozen=True)
class OrganisationRow(Lifecycle):
    id: int
    name: str
    organisation_number: str | None
    kind: str
    in_voluntary_register: bool
    municipality_number: str | None
    website: str | None
    description: str | None
    address: str | None
    postal_code: str | None
    postal_place: str | None
    registry_status: str | None


def organisations_by_ids(conn: sa.Connection, ids: Iterable[int]) -> dict[int, OrganisationRow]:
    rows = conn.execute(sa.select(organisation).where(organisation.c.id.in_(list(ids))))
    return {row.id: to_dataclass(OrganisationRow, row) for row in rows}
