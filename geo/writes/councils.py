"""Writing immigrant councils: create, update, archive and restore, by the municipality they
serve. A county council is an admin's to write, whatever its municipality; a council's county
is its municipality's. The fields are checked by the loader's own code
(:mod:`geo.records.councils`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from geo import validation as v
from geo.records import Fields
from geo.records.councils import council_fields
from geo.tables import UNAUDITED_COLUMNS, county, immigrant_council, municipality
from geo.writes import Actor, Invalid, NotFound, WriteError, scope
from geo.writes.audit import record_change
from geo.writes.versions import check_version, update_at_version

ENTITY = "ImmigrantCouncil"
API_SOURCE = "api"


def council_record(conn: sa.Connection, council_id: int) -> dict[str, Any]:
    """A council as a record by its columns, with id, version and stamps."""
    row = conn.execute(
        sa.select(*(c for c in immigrant_council.c if c.name not in UNAUDITED_COLUMNS)).where(
            immigrant_council.c.id == council_id
        )
    ).first()
    if row is None:
        raise NotFound(f"no council with id {council_id}")
    return dict(row._mapping)


def _check(conn: sa.Connection, record: Fields) -> dict[str, Any]:
    try:
        values = council_fields(record)
    except v.FieldError as error:
        raise Invalid(error.field, error.reason) from None
    number, county_no = values["municipality_number"], values["county_number"]
    if (
        number
        and conn.execute(
            sa.select(municipality.c.number).where(municipality.c.number == number)
        ).first()
        is None
    ):
        raise Invalid("municipality_number", f"municipality {number} is not loaded")
    if (
        county_no
        and conn.execute(sa.select(county.c.number).where(county.c.number == county_no)).first()
        is None
    ):
        raise Invalid("county_number", f"county {county_no} is not loaded")
    return values


def create_council(conn: sa.Connection, actor: Actor, record: Fields) -> int:
    values = _check(conn, record)
    scope.council_row(actor, values["level"], values["municipality_number"])
    council_id = int(
        conn.execute(
            sa.insert(immigrant_council)
            .values(**values, source=API_SOURCE)
            .returning(immigrant_council.c.id)
        ).scalar_one()
    )
    record_change(conn, actor, ENTITY, council_id, "create", None, council_record(conn, council_id))
    return council_id


def update_council(
    conn: sa.Connection, actor: Actor, council_id: int, version: int, changes: Mapping[str, Any]
) -> int:
    before = council_record(conn, council_id)
    scope.council_row(actor, before["level"], before["municipality_number"])
    check_version(conn, immigrant_council, ENTITY, council_id, version)
    if before["archived_at"] is not None:
        raise WriteError(
            f"council {council_id} is archived: restore it before changing it", reason="archived"
        )
    merged = {**before, **changes}
    if changes.get("municipality_number") and "county_number" not in changes:
        merged["county_number"] = None  # it follows the new municipality
    values = _check(conn, merged)
    scope.council_row(actor, values["level"], values["municipality_number"])
    update_at_version(conn, immigrant_council, ENTITY, council_id, version, values)
    record_change(
        conn, actor, ENTITY, council_id, "update", before, council_record(conn, council_id)
    )
    return council_id


def set_council_archived(
    conn: sa.Connection, actor: Actor, council_id: int, version: int, archived: bool
) -> int:
    before = council_record(conn, council_id)
    scope.council_row(actor, before["level"], before["municipality_number"])
    check_version(conn, immigrant_council, ENTITY, council_id, version)
    if (before["archived_at"] is not None) == archived:
        raise WriteError(
            f"council {council_id} is {'already' if archived else 'not'} archived",
            reason="archived" if archived else "not archived",
        )
    update_at_version(
        conn,
        immigrant_council,
        ENTITY,
        council_id,
        version,
        {"archived_at": sa.func.now() if archived else None},
    )
    record_change(
        conn,
        actor,
        ENTITY,
        council_id,
        "archive" if archived else "restore",
        before,
        council_record(conn, council_id),
    )
    return council_id
