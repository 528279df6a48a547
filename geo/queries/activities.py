"""Activities: rows by id, their schedules, for the API's loaders and the nearby search."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from geo.filters import DirectoryFilter, activity_conditions
from geo.queries.listing import GroupPage, NameKey, count_where, first_rows_per_group, page_by_name
from geo.queries.rows import Lifecycle, grouped, point_xy, to_dataclass
from geo.tables import activity, activity_schedule, data_columns


@dataclass(frozen=True)
class ActivityRow(Lifecycle):
    id: int
    title: str
    description: str | None
    category: str
    organisation_id: int | None
    venue_id: int | None
    x: float
    y: float
    municipality_number: str | None
    target_groups: list[str]
    min_age: int | None
    max_age: int | None
    languages: list[str]
    free: bool
    cost_nok: Decimal | None
    leisure_card_accepted: bool
    registration_required: bool
    pauses_in_school_holidays: bool
    registration_url: str | None
    status: str
    url: str | None
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None
    last_verified_at: datetime
    verified_by: str | None


@dataclass(frozen=True)
class ScheduleRow:
    activity_id: int
    weekday: int
    starts: time
    ends: time
    valid_from: date | None
    valid_to: date | None


def activity_columns() -> list[sa.ColumnElement[Any]]:
    """The columns ActivityRow is built from (geometry as x/y)."""
    return [*(c for c in data_columns(activity) if c.name != "geom"), *point_xy(activity.c.geom)]


def activities_by_ids(conn: sa.Connection, ids: Iterable[int]) -> dict[int, ActivityRow]:
    rows = conn.execute(sa.select(*activity_columns()).where(activity.c.id.in_(list(ids))))
    return {row.id: to_dataclass(ActivityRow, row) for row in rows}


def schedules_by_activity(
    conn: sa.Connection, activity_ids: Iterable[int]
) -> dict[int, list[ScheduleRow]]:
    return grouped(
        conn,
        sa.select(
            activity_schedule.c.activity_id,
            activity_schedule.c.weekday,
            activity_schedule.c.starts,
            activity_schedule.c.ends,
            activity_schedule.c.valid_from,
            activity_schedule.c.valid_to,
        )
        .where(activity_schedule.c.activity_id.in_(list(activity_ids)))
        .order_by(
            activity_schedule.c.activity_id, activity_schedule.c.weekday, activity_schedule.c.starts
        ),
        ScheduleRow,
        "activity_id",
    )


def activities_by_name(
    conn: sa.Connection, filt: DirectoryFilter, *, first: int, after: NameKey | None = None
) -> tuple[list[ActivityRow], bool]:
    return page_by_name(
        conn,
        ActivityRow,
        activity,
        activity.c.title,
        activity_columns(),
        activity_conditions(filt),
        first=first,
        after=after,
    )


def count_activities(conn: sa.Connection, filt: DirectoryFilter) -> int:
    return count_where(conn, activity, activity_conditions(filt))


def activities_by_venue(
    conn: sa.Connection, venue_ids: Iterable[int]
) -> dict[int, list[ActivityRow]]:
    """The active activities held at each venue, by title."""
    return grouped(
        conn,
        sa.select(*activity_columns())
        .where(activity.c.venue_id.in_(list(venue_ids)), *activity_conditions(DirectoryFilter()))
        .order_by(activity.c.venue_id, activity.c.title, activity.c.id),
        ActivityRow,
        "venue_id",
    )


def activities_of_municipalities(
    conn: sa.Connection, numbers: Sequence[str], first: int
) -> dict[str, GroupPage[ActivityRow]]:
    """Each municipality's first ``first`` activities by title, with counts, in one statement."""
    return first_rows_per_group(
        conn,
        ActivityRow,
        activity,
        activity.c.municipality_number,
        numbers,
        (activity.c.title, activity.c.id),
        activity_columns(),
        activity_conditions(DirectoryFilter()),
        first=first,
    )
