"""Venues (premises): rows by id and their weekly availability windows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa

from geo.filters import DirectoryFilter, venue_conditions
from geo.queries.listing import GroupPage, NameKey, count_where, first_rows_per_group, page_by_name
from geo.queries.rows import Lifecycle, grouped, point_xy, to_dataclass
from geo.tables import data_columns, venue, venue_availability


@dataclass(frozen=True)
class VenueRow(Lifecycle):
    id: int
    name: str
    description: str | None
    owner_type: str
    venue_type: str
    owner_organisation_id: int | None
    address: str | None
    postal_code: str | None
    postal_place: str | None
    x: float
    y: float
    municipality_number: str | None
    capacity: int | None
    price_model: str | None
    price_note: str | None
    step_free: bool | None
    accessibility: list[str]
    amenities: list[str]
    suitable_categories: list[str]
    booking_url: str | None
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None
    last_verified: date | None
    last_verified_at: datetime
    verified_by: str | None


@dataclass(frozen=True)
class AvailabilityRow:
    venue_id: int
    weekday: int
    starts: time
    ends: time


def venue_columns() -> list[sa.ColumnElement[Any]]:
    return [*(c for c in data_columns(venue) if c.name != "geom"), *point_xy(venue.c.geom)]


def venues_by_ids(conn: sa.Connection, ids: Iterable[int]) -> dict[int, VenueRow]:
    rows = conn.execute(sa.select(*venue_columns()).where(venue.c.id.in_(list(ids))))
    return {row.id: to_dataclass(VenueRow, row) for row in rows}


def availability_by_venue(
    conn: sa.Connection, venue_ids: Iterable[int]
) -> dict[int, list[AvailabilityRow]]:
    return grouped(
        conn,
        sa.select(
            venue_availability.c.venue_id,
            venue_availability.c.weekday,
            venue_availability.c.starts,
            venue_availability.c.ends,
        )
        .where(venue_availability.c.venue_id.in_(list(venue_ids)))
        .order_by(
            venue_availability.c.venue_id, venue_availability.c.weekday, venue_availability.c.starts
        ),
        AvailabilityRow,
        "venue_id",
    )


def venues_by_name(
    conn: sa.Connection, filt: DirectoryFilter, *, first: int, after: NameKey | None = None
) -> tuple[list[VenueRow], bool]:
    return page_by_name(
        conn,
        VenueRow,
        venue,
        venue.c.name,
        venue_columns(),
        venue_conditions(filt),
        first=first,
        after=after,
    )


def count_venues(conn: sa.Connection, filt: DirectoryFilter) -> int:
    return count_where(conn, venue, venue_conditions(filt))


def venues_of_municipalities(
    conn: sa.Connection, numbers: Sequence[str], first: int
) -> dict[str, GroupPage[VenueRow]]:
    """Each municipality's first ``first`` venues by name, with counts, in one statement."""
    return first_rows_per_group(
        conn,
        VenueRow,
        venue,
        venue.c.municipality_number,
        numbers,
        (venue.c.name, venue.c.id),
        venue_columns(),
        venue_conditions(DirectoryFilter()),
        first=first,
    )
