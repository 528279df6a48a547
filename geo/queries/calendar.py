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
    a, v, o = activity.c, venue.c, organisation.c
    return [
        a.id,
        a.title,
        a.description,
        a.category,
        a.languages,
        a.target_groups,
        a.min_age,
        a.max_age,
        a.free,
        a.cost_nok,
        a.registration_required,
        a.registration_url,
        a.url,
        a.status,
        a.archived_at,
        a.municipality_number,
        a.pauses_in_school_holidays,
        a.updated_at,
        a.created_at,
        a.version,
        *point_xy(a.geom),
        a.venue_id,
        v.name.label("venue_name"),
        v.address,
        v.postal_code,
        v.postal_place,
        a.organisation_id,
        o.name.label("organisation_name"),
        o.organisation_number,
        o.website.label("organisation_url"),
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
    s, e = activity_schedule.c, activity_exception.c
    sessions: dict[int, list[WeeklySession]] = defaultdict(list)
    for r in conn.execute(
        sa.select(s.activity_id, s.weekday, s.starts, s.ends, s.valid_from, s.valid_to)
        .where(s.activity_id.in_(ids))
        .order_by(s.activity_id, s.weekday, s.starts, s.valid_from)
    ):
        sessions[r.activity_id].append(
            WeeklySession(r.weekday, r.starts, r.ends, r.valid_from, r.valid_to)
        )
    cancelled: dict[int, list[date]] = defaultdict(list)
    for c in conn.execute(
        sa.select(e.activity_id, e.on_date)
        .where(e.activity_id.in_(ids), e.cancelled.is_(True))
        .order_by(e.activity_id, e.on_date)
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
    h = school_holiday.c
    spans: dict[str, list[HolidaySpan]] = defaultdict(list)
    if numbers:
        for r in conn.execute(
            sa.select(h.municipality_number, h.first_day, h.last_day, h.name)
            .where(h.municipality_number.in_(sorted(numbers)))
            .order_by(h.municipality_number, h.first_day)
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
    a, s = activity.c, activity_schedule.c
    return list(
        conn.execute(
            sa.select(a.id)
            .where(
                *activity_conditions(DirectoryFilter()),
                sa.exists().where(s.activity_id == a.id),
            )
            .order_by(a.id)
        ).scalars()
    )


def calendar_activities_by_ids(conn: sa.Connection, ids: Sequence[int]) -> list[CalendarActivity]:
    """These activities (live or not), by id."""
    if not ids:
        return []
    rows = conn.execute(_select().where(activity.c.id.in_(list(ids))).order_by(activity.c.id))
    return _filled(conn, rows.all())
