"""Data quality per owner: each group's entries, how many are verified within the window, stale,
with open problem reports, and missing key fields, so a municipality sees its own backlog and
the ministry the whole picture.

An entry is a live one: an activity not archived and ACTIVE, a venue not archived, a council
not archived and ACTIVE. Missing fields, where the kind has them: an activity without a weekly
session (schedule), a venue without an availability window; no way to reach it (an activity
without contact e-mail, phone or web page; a venue without contact e-mail, phone or booking
page; a council without a website); an activity without a language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from geo.freshness import stale_column
from geo.tables import (
    activity,
    activity_schedule,
    county,
    immigrant_council,
    municipality,
    organisation,
    problem_report,
    venue,
    venue_availability,
)
from geo.vocab import ActivityStatus, CouncilStatus, EntryKind, ProblemStatus


class DataQualityGroupBy(StrEnum):
    MUNICIPALITY = "MUNICIPALITY"
    COUNTY = "COUNTY"
    ORGANISATION = "ORGANISATION"


@dataclass(frozen=True)
class QualityRow:
    #: The municipality or county number, or the organisation's id (as text); None: entries
    #: with no such owner (an activity no organisation runs).
    key: str | None
    name: str | None
    entries: int
    activities: int
    venues: int
    councils: int
    stale: int
    open_problem_reports: int
    missing_schedule: int
    missing_contact: int
    missing_languages: int

    @property
    def verified(self) -> int:
        """Entries verified within the window (not stale)."""
        return self.entries - self.stale


def _none(column: ColumnElement[Any]) -> ColumnElement[bool]:
    return column.is_(None)


def _open_reports(kind: EntryKind, row_id: ColumnElement[int]) -> ColumnElement[int]:
    return (
        sa.select(sa.func.count())
        .where(
            problem_report.c.entry_kind == kind.value,
            problem_report.c.entry_id == row_id,
            problem_report.c.status == ProblemStatus.OPEN,
        )
        .scalar_subquery()
    )


def _entries(line: datetime) -> sa.Subquery:
    """One row per live entry: its owners, staleness, open reports and missing fields (null
    where the kind has no such field)."""
    cut = sa.literal(line, sa.DateTime(timezone=True))
    no_bool = sa.null().cast(sa.Boolean)
    activities = sa.select(
        sa.literal(EntryKind.ACTIVITY.value).label("kind"),
        activity.c.municipality_number.label("municipality"),
        sa.func.left(activity.c.municipality_number, 2).label("county"),
        activity.c.organisation_id.label("organisation"),
        stale_column(activity, cut).label("stale"),
        _open_reports(EntryKind.ACTIVITY, activity.c.id).label("open_reports"),
        (~sa.exists().where(activity_schedule.c.activity_id == activity.c.id)).label("no_schedule"),
        sa.and_(
            _none(activity.c.contact_email), _none(activity.c.contact_phone), _none(activity.c.url)
        ).label("no_contact"),
        (sa.func.cardinality(activity.c.languages) == 0).label("no_languages"),
    ).where(activity.c.archived_at.is_(None), activity.c.status == ActivityStatus.ACTIVE.value)
    venues = sa.select(
        sa.literal(EntryKind.VENUE.value),
        venue.c.municipality_number,
        sa.func.left(venue.c.municipality_number, 2),
        venue.c.owner_organisation_id,
        stale_column(venue, cut),
        _open_reports(EntryKind.VENUE, venue.c.id),
        ~sa.exists().where(venue_availability.c.venue_id == venue.c.id),
        sa.and_(
            _none(venue.c.contact_email), _none(venue.c.contact_phone), _none(venue.c.booking_url)
        ),
        no_bool,
    ).where(venue.c.archived_at.is_(None))
    councils = sa.select(
        sa.literal(EntryKind.COUNCIL.value),
        immigrant_council.c.municipality_number,
        sa.func.coalesce(
            immigrant_council.c.county_number,
            sa.func.left(immigrant_council.c.municipality_number, 2),
        ),
        sa.null().cast(sa.BigInteger),
        stale_column(immigrant_council, cut),
        _open_reports(EntryKind.COUNCIL, immigrant_council.c.id),
        no_bool,
        _none(immigrant_council.c.website),
        no_bool,
    ).where(
        immigrant_council.c.archived_at.is_(None),
        immigrant_council.c.status == CouncilStatus.ACTIVE.value,
    )
    return sa.union_all(activities, venues, councils).subquery("entry")


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return sa.func.count().filter(condition)


def data_quality(
    conn: sa.Connection, group: DataQualityGroupBy, line: datetime, only: str | None = None
) -> list[QualityRow]:
    """The figures of every group (``only``: of that group key alone), by key; staleness
    judged by ``line`` (geo.freshness.stale_before)."""
    e = _entries(line)
    key: ColumnElement[Any]
    names: sa.Table
    name_key: ColumnElement[Any]
    if group is DataQualityGroupBy.MUNICIPALITY:
        key, names, name_key = e.c.municipality, municipality, municipality.c.number
    elif group is DataQualityGroupBy.COUNTY:
        key, names, name_key = e.c.county, county, county.c.number
    else:
        key = sa.cast(e.c.organisation, sa.Text)
        names, name_key = organisation, sa.cast(organisation.c.id, sa.Text)
    grouped = (
        sa.select(
            key.label("key"),
            sa.func.count().label("entries"),
            _count_if(e.c.kind == EntryKind.ACTIVITY.value).label("activities"),
            _count_if(e.c.kind == EntryKind.VENUE.value).label("venues"),
            _count_if(e.c.kind == EntryKind.COUNCIL.value).label("councils"),
            _count_if(e.c.stale).label("stale"),
            sa.func.coalesce(sa.func.sum(e.c.open_reports), 0).label("open_problem_reports"),
            _count_if(e.c.no_schedule).label("missing_schedule"),
            _count_if(e.c.no_contact).label("missing_contact"),
            _count_if(e.c.no_languages).label("missing_languages"),
        )
        .where(*([] if only is None else [key == only]))
        .group_by(key)
        .subquery("grouped")
    )
    stmt = (
        sa.select(grouped, names.c.name)
        .select_from(grouped.outerjoin(names, name_key == grouped.c.key))
        .order_by(grouped.c.key.nulls_last())
    )
    rows = []
    for row in conn.execute(stmt):
        counts = {k: int(v) for k, v in row._mapping.items() if k not in ("key", "name")}
        rows.append(QualityRow(key=row.key, name=row.name, **counts))
    return rows
