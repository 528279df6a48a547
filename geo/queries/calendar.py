"""Activities with what their calendars need: schedule lines, cancelled dates, venue, organiser
and their municipality's school holidays (geo.sessions expands them). For the iCalendar
endpoints, the public pages and the ScheduledSession feed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from geo.crs import STORAGE_SRID
from geo.filters import DirectoryFilter, activity_conditions
from geo.queries.rows import point_xy
from geo.sessions import HolidaySpan, WeeklySession
from geo.tables import (
    activity,
    activity_exception,
    activity_schedule,
    county,
    municipality,
    organisation,
    school_holiday,
    venue,
)

#: Most activities one calendar feed holds (a filter matching more gets the nearest or first).
MAX_FEED_ACTIVITIES = 500


@dataclass(frozen=True)
class Near:
    """Within ``meters`` of a point in storage coordinates (EPSG:25833)."""

    x: float
    y: float
    meters: float


@dataclass
class CalendarActivity:
    id: int
    title: str
    description: str | None
    category: str
    languages: list[str]
    target_groups: list[str]
    min_age: int | None
    max_age: int | None
    free: bool
    cost_nok: Decimal | None
    registration_required: bool
    registration_url: str | None
    url: str | None
    status: str
    archived_at: datetime | None
    municipality_number: str | None
    pauses_in_school_holidays: bool
    updated_at: datetime
    created_at: datetime
    version: int
    x: float
    y: float
    venue_id: int | None
    venue_name: str | None
    address: str | None
    postal_code: str | None
    postal_place: str | None
    organisation_id: int | None
    organisation_name: str | None
    organisation_number: str | None
    organisation_url: str | None
    municipality_name: str | None
    region: str | None
    sessions: list[WeeklySession] = field(default_factory=list)
    cancelled: list[date] = field(default_factory=list)
    school_holidays: list[HolidaySpan] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.archived_at is None and self.status == "ACTIVE"


def _columns() -> list[Any]:
    return [
        activity.c.id,
        activity.c.title,
        activity.c.description,
        activity.c.category,
        activity.c.languages,
        activity.c.target_groups,
        activity.c.min_age,
        activity.c.max_age,
        activity.c.free,
        activity.c.cost_nok,
        activity.c.registration_required,
        activity.c.registration_url,
        activity.c.url,
        activity.c.status,
        activity.c.archived_at,
        activity.c.municipality_number,
        activity.c.pauses_in_school_holidays,
        activity.c.updated_at,
        activity.c.created_at,
        activity.c.version,
        *point_xy(activity.c.geom),
        activity.c.venue_id,
        venue.c.name.label("venue_name"),
        venue.c.address,
        venue.c.postal_code,
        venue.c.postal_place,
        activity.c.organisation_id,
        organisation.c.name.label("organisation_name"),
        organisation.c.organisation_number,
        organisation.c.website.label("organisation_url"),
        municipality.c.name.label("municipality_name"),
        county.c.name.label("region"),
    ]


def _select() -> sa.Select[Any]:
    joined = (
        activity.outerjoin(venue, venue.c.id == activity.c.venue_id)
        .outerjoin(organisation, organisation.c.id == activity.c.organisation_id)
        .outerjoin(municipality, municipality.c.number == activity.c.municipality_number)
        .outerjoin(county, county.c.number == municipality.c.county_number)
    )
    return sa.select(*_columns()).select_from(joined)


def _filled(conn: sa.Connection, rows: Sequence[sa.Row[Any]]) -> list[CalendarActivity]:
    found = [CalendarActivity(**row._mapping) for row in rows]
    ids = [a.id for a in found]
    if not ids:
        return []
    sessions: dict[int, list[WeeklySession]] = defaultdict(list)
    for r in conn.execute(
        sa.select(
            activity_schedule.c.activity_id,
            activity_schedule.c.weekday,
            activity_schedule.c.starts,
            activity_schedule.c.ends,
            activity_schedule.c.valid_from,
            activity_schedule.c.valid_to,
        )
        .where(activity_schedule.c.activity_id.in_(ids))
        .order_by(
            activity_schedule.c.activity_id,
            activity_schedule.c.weekday,
            activity_schedule.c.starts,
            activity_schedule.c.valid_from,
        )
    ):
        sessions[r.activity_id].append(
            WeeklySession(r.weekday, r.starts, r.ends, r.valid_from, r.valid_to)
        )
    cancelled: dict[int, list[date]] = defaultdict(list)
    for c in conn.execute(
        sa.select(activity_exception.c.activity_id, activity_exception.c.on_date)
        .where(activity_exception.c.activity_id.in_(ids), activity_exception.c.cancelled.is_(True))
        .order_by(activity_exception.c.activity_id, activity_exception.c.on_date)
    ):
        cancelled[c.activity_id].append(c.on_date)
    numbers = {a.municipality_number for a in found if a.municipality_number}
    holidays = school_holidays(conn, numbers)
    for a in found:
        a.sessions = sessions[a.id]
        a.cancelled = cancelled[a.id]
        a.school_holidays = holidays.get(a.municipality_number or "", [])
    return found


def school_holidays(conn: sa.Connection, numbers: set[str]) -> dict[str, list[HolidaySpan]]:
    """Each municipality's school holidays, in order."""
    spans: dict[str, list[HolidaySpan]] = defaultdict(list)
    if numbers:
        for r in conn.execute(
            sa.select(
                school_holiday.c.municipality_number,
                school_holiday.c.first_day,
                school_holiday.c.last_day,
                school_holiday.c.name,
            )
            .where(school_holiday.c.municipality_number.in_(sorted(numbers)))
            .order_by(school_holiday.c.municipality_number, school_holiday.c.first_day)
        ):
            spans[r.municipality_number].append(HolidaySpan(r.first_day, r.last_day, r.name))
    return spans


def calendar_activity(conn: sa.Connection, activity_id: int) -> CalendarActivity | None:
    """One activity, archived or not (its page says so), or None when there is no such id."""
    rows = conn.execute(_select().where(activity.c.id == activity_id)).all()
    found = _filled(conn, rows)
    return found[0] if found else None


def calendar_activities(
    conn: sa.Connection,
    filt: DirectoryFilter,
    near: Near | None = None,
    limit: int = MAX_FEED_ACTIVITIES,
) -> list[CalendarActivity]:
    """The live activities ``filt`` matches (within ``near`` when given), nearest first, else
    by id; at most ``limit``."""
    stmt = _select().where(*activity_conditions(filt))
    if near is not None:
        point = sa.func.ST_SetSRID(sa.func.ST_MakePoint(near.x, near.y), STORAGE_SRID)
        stmt = stmt.where(sa.func.ST_DWithin(activity.c.geom, point, near.meters)).order_by(
            activity.c.geom.op("<->")(point), activity.c.id
        )
    else:
        stmt = stmt.order_by(activity.c.id)
    return _filled(conn, conn.execute(stmt.limit(limit)).all())


def calendars_by_ids(conn: sa.Connection, ids: Sequence[int]) -> dict[int, CalendarActivity]:
    """:func:`calendar_activities_by_ids` by id (GraphQL's batched ``nextSessions``)."""
    return {a.id: a for a in calendar_activities_by_ids(conn, ids)}


def live_scheduled_ids(conn: sa.Connection) -> list[int]:
    """The ids of the live activities that have a schedule, in order."""
    return list(
        conn.execute(
            sa.select(activity.c.id)
            .where(
                *activity_conditions(DirectoryFilter()),
                sa.exists().where(activity_schedule.c.activity_id == activity.c.id),
            )
            .order_by(activity.c.id)
        ).scalars()
    )


def calendar_activities_by_ids(conn: sa.Connection, ids: Sequence[int]) -> list[CalendarActivity]:
    """These activities (live or not), by id."""
    if not ids:
        return []
    rows = conn.execute(_select().where(activity.c.id.in_(list(ids))).order_by(activity.c.id))
    return _filled(conn, rows.all())
