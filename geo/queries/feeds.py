"""The RPDE feeds' pages (Realtime Paged Data Exchange 1.0, "modified timestamp and ID"
ordering): items in (modified, id) order after a cursor, where ``modified`` is a row's
``feed_stamp`` (migration 0007).

A page reads the horizon first (``hverdag_feed_horizon()``: below it, every stamp is final),
then each source's next rows below it from its (stamp, id) index, merged here. Every
transaction that could still commit a stamp below the horizon has ended, so a client that
follows ``next`` never skips an item, whatever writers do meanwhile; an item changed again
reappears further on, as RPDE requires.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from geo.filters import DirectoryFilter, activity_conditions
from geo.queries.calendar import CalendarActivity, calendar_activities_by_ids
from geo.queries.rows import point_xy
from geo.tables import activity as activity_table
from geo.tables import (
    activity_schedule,
    county,
    feed_occurrence,
    feed_tombstone,
    municipality,
    organisation,
    venue,
    venue_availability,
)

#: Most items a page holds.
PAGE_SIZE = 500


class FeedKind(StrEnum):
    """The RPDE ``kind`` of each feed's items."""

    SESSION_SERIES = "SessionSeries"
    SCHEDULED_SESSION = "ScheduledSession"
    FACILITY_USE = "FacilityUse"
    SLOT = "FacilityUse/Slot"


@dataclass(frozen=True, order=True)
class Cursor:
    """RPDE's ``afterTimestamp`` (a stamp) and ``afterId``."""

    modified: int
    id: int | str


@dataclass(frozen=True, order=True)
class Entry:
    modified: int
    id: int | str
    deleted: bool


@dataclass
class Occurrence:
    id: str
    parent_id: int
    starts: datetime
    ends: datetime


@dataclass
class FacilityVenue:
    id: int
    name: str
    description: str | None
    address: str | None
    postal_code: str | None
    postal_place: str | None
    x: float
    y: float
    price_model: str | None
    booking_url: str | None
    contact_email: str | None
    contact_phone: str | None
    venue_type: str
    owner_name: str | None
    owner_url: str | None
    municipality_name: str | None
    region: str | None
    windows: list[tuple[int, time, time]]


@dataclass
class Page:
    entries: list[Entry]
    series: dict[int, CalendarActivity]
    occurrences: dict[str, Occurrence]
    venues: dict[int, FacilityVenue]


def _after(stamp: sa.ColumnElement[int], key: sa.ColumnElement[Any], after: Cursor | None) -> Any:
    if after is None:
        return sa.true()
    return sa.tuple_(stamp, key) > sa.tuple_(sa.literal(after.modified), sa.literal(after.id))


def _leg(
    conn: sa.Connection,
    table: sa.Table,
    deleted: sa.ColumnElement[bool],
    where: list[Any],
    horizon: int,
    after: Cursor | None,
    limit: int,
) -> list[Entry]:
    stamp, key = table.c.feed_stamp, table.c.id
    stmt = (
        sa.select(stamp, key, deleted.label("deleted"))
        .where(*where, stamp < horizon, _after(stamp, key, after))
        .order_by(stamp, key)
        .limit(limit)
    )
    return [Entry(r.feed_stamp, r.id, bool(r.deleted)) for r in conn.execute(stmt)]


def _tombstones(kind: FeedKind) -> tuple[sa.Table, sa.ColumnElement[bool], list[Any]]:
    return feed_tombstone, sa.true(), [feed_tombstone.c.kind == kind.value]


def _live_activity() -> sa.ColumnElement[bool]:
    """In the feed: live, with a weekly schedule (a SessionSeries has one)."""
    return sa.and_(
        *activity_conditions(DirectoryFilter()),
        sa.exists().where(activity_schedule.c.activity_id == activity_table.c.id),
    )


def _live_venue() -> sa.ColumnElement[bool]:
    """In the feed: live, free for volunteers (OpenActive requires a price: the sources give
    others a price model, not a figure), with availability windows."""
    return sa.and_(*offered_venue_conditions())


def offered_venue_conditions() -> list[sa.ColumnElement[bool]]:
    return [
        venue.c.archived_at.is_(None),
        venue.c.price_model == "FREE",
        sa.exists().where(venue_availability.c.venue_id == venue.c.id).correlate(venue),
    ]


def _sources(kind: FeedKind) -> list[tuple[sa.Table, sa.ColumnElement[bool], list[Any]]]:
    match kind:
        case FeedKind.SESSION_SERIES:
            return [(activity_table, sa.not_(_live_activity()), []), _tombstones(kind)]
        case FeedKind.FACILITY_USE:
            return [(venue, sa.not_(_live_venue()), []), _tombstones(kind)]
        case FeedKind.SCHEDULED_SESSION:
            return [
                (
                    feed_occurrence,
                    feed_occurrence.c.deleted_at.is_not(None),
                    [feed_occurrence.c.kind == "ScheduledSession"],
                )
            ]
        case FeedKind.SLOT:
            return [
                (
                    feed_occurrence,
                    feed_occurrence.c.deleted_at.is_not(None),
                    [feed_occurrence.c.kind == "Slot"],
                )
            ]
    raise AssertionError(kind)


def feed_page(
    conn: sa.Connection, kind: FeedKind, after: Cursor | None, limit: int = PAGE_SIZE
) -> Page:
    """The items of ``kind``'s feed after ``after``, with what their ``data`` needs."""
    horizon = int(conn.execute(sa.select(sa.func.hverdag_feed_horizon())).scalar_one())
    legs = [
        _leg(conn, table, deleted, where, horizon, after, limit)
        for table, deleted, where in _sources(kind)
    ]
    entries = list(heapq.merge(*legs))[:limit]
    live = [e.id for e in entries if not e.deleted]
    page = Page(entries, {}, {}, {})
    if kind is FeedKind.SESSION_SERIES:
        page.series = {a.id: a for a in calendar_activities_by_ids(conn, [int(i) for i in live])}
    elif kind is FeedKind.FACILITY_USE:
        page.venues = facility_venues(conn, [int(i) for i in live])
    else:
        o = feed_occurrence.c
        stored = "ScheduledSession" if kind is FeedKind.SCHEDULED_SESSION else "Slot"
        page.occurrences = {
            r.id: Occurrence(r.id, r.parent_id, r.starts, r.ends)
            for r in conn.execute(
                sa.select(o.id, o.parent_id, o.starts, o.ends).where(
                    o.kind == stored,
                    o.id.in_([str(i) for i in live]),
                )
            )
        }
        if kind is FeedKind.SLOT:  # a slot's offer is its venue's
            page.venues = facility_venues(
                conn, sorted({o.parent_id for o in page.occurrences.values()})
            )
    return page


def facility_venues(conn: sa.Connection, ids: Sequence[int]) -> dict[int, FacilityVenue]:
    """Venues with their availability windows and owner, by id."""
    if not ids:
        return {}
    windows: dict[int, list[tuple[int, time, time]]] = {}
    for r in conn.execute(
        sa.select(
            venue_availability.c.venue_id,
            venue_availability.c.weekday,
            venue_availability.c.starts,
            venue_availability.c.ends,
        )
        .where(venue_availability.c.venue_id.in_(list(ids)))
        .order_by(
            venue_availability.c.venue_id, venue_availability.c.weekday, venue_availability.c.starts
        )
    ):
        windows.setdefault(r.venue_id, []).append((r.weekday, r.starts, r.ends))
    rows = conn.execute(
        sa.select(
            venue.c.id,
            venue.c.name,
            venue.c.description,
            venue.c.address,
            venue.c.postal_code,
            venue.c.postal_place,
            *point_xy(venue.c.geom),
            venue.c.price_model,
            venue.c.booking_url,
            venue.c.contact_email,
            venue.c.contact_phone,
            venue.c.venue_type,
            organisation.c.name.label("owner_name"),
            organisation.c.website.label("owner_url"),
            municipality.c.name.label("municipality_name"),
            county.c.name.label("region"),
        )
        .select_from(
            venue.outerjoin(organisation, organisation.c.id == venue.c.owner_organisation_id)
            .outerjoin(municipality, municipality.c.number == venue.c.municipality_number)
            .outerjoin(county, county.c.number == municipality.c.county_number)
        )
        .where(venue.c.id.in_(list(ids)))
    )
    return {r.id: FacilityVenue(**r._mapping, windows=windows.get(r.id, [])) for r in rows}
