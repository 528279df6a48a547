"""Reporting access to a venue: an organisation says whether it got in, and how it suited.
The fields are checked by the loader's own code (:mod:`geo.records.access_reports`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from geo import validation as v
from geo.records import Fields
from geo.records.access_reports import report_fields
from geo.tables import organisation, venue, venue_access_report
from geo.writes import Actor, Invalid, scope
from geo.writes.audit import record_change

ENTITY = "VenueAccessReport"
API_SOURCE = "api"
OSLO = ZoneInfo("Europe/Oslo")


def report_record(conn: sa.Connection, report_id: int) -> dict[str, Any]:
    row = conn.execute(
        sa.select(venue_access_report).where(venue_access_report.c.id == report_id)
    ).one()
    return dict(row._mapping)


def report_venue_access(conn: sa.Connection, actor: Actor, venue_id: int, record: Fields) -> int:
    """A new report on ``venue_id`` by the actor's organisation (an admin names one, or none)."""
    today = datetime.now(OSLO).date()
    try:
        values = report_fields(record, latest=today, default_date=today)
    except v.FieldError as error:
        raise Invalid(error.field, error.reason) from None
    given = record.get("organisation_id")
    organisation_id = given if given is not None else actor.organisation_id
    scope.organisation_row(actor, organisation_id, "access reports")
    found = conn.execute(sa.select(venue.c.archived_at).where(venue.c.id == venue_id)).first()
    if found is None or found.archived_at is not None:
        raise Invalid(
            "venue",
            f"no venue with id {venue_id}" + (" (it is archived)" if found is not None else ""),
        )
    if (
        organisation_id is not None
        and conn.execute(
            sa.select(organisation.c.id).where(organisation.c.id == organisation_id)
        ).first()
        is None
    ):
        raise Invalid("organisation", f"no organisation with id {organisation_id}")
    report_id = int(
        conn.execute(
            sa.insert(venue_access_report)
            .values(**values, venue_id=venue_id, organisation_id=organisation_id, source=API_SOURCE)
            .returning(venue_access_report.c.id)
        ).scalar_one()
    )
    record_change(conn, actor, ENTITY, report_id, "create", None, report_record(conn, report_id))
    return report_id
