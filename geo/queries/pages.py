"""What a venue's public page shows (api/http/pages.py): the venue, its owner, its free
availability windows and the live activities held there. An activity's page reads
geo.queries.calendar."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

import sqlalchemy as sa

from geo.filters import DirectoryFilter, activity_conditions
from geo.queries.rows import point_xy
from geo.tables import activity, county, municipality, organisation, venue, venue_availability


@dataclass
class VenueActivity:
    id: int
    title: str
    category: str


@dataclass
class VenuePage:
    id: int
    name: str
    description: str | None
    venue_type: str
    address: str | None
    postal_code: str | None
    postal_place: str | None
    municipality_name: str | None
    region: str | None
    x: float
    y: float
    capacity: int | None
    price_model: str | None
    price_note: str | None
    step_free: bool | None
    accessibility: list[str]
    amenities: list[str]
    booking_url: str | None
    archived_at: datetime | None
    updated_at: datetime
    owner_name: str | None
    owner_url: str | None
    windows: list[tuple[int, time, time]] = field(default_factory=list)
    activities: list[VenueActivity] = field(default_factory=list)


def venue_page(conn: sa.Connection, venue_id: int) -> VenuePage | None:
    row = conn.execute(
        sa.select(
            venue.c.id,
            venue.c.name,
            venue.c.description,
            venue.c.venue_type,
            venue.c.address,
            venue.c.postal_code,
            venue.c.postal_place,
            municipality.c.name.label("municipality_name"),
            county.c.name.label("region"),
            *point_xy(venue.c.geom),
            venue.c.capacity,
            venue.c.price_model,
            venue.c.price_note,
            venue.c.step_free,
            venue.c.accessibility,
            venue.c.amenities,
            venue.c.booking_url,
            venue.c.archived_at,
            venue.c.updated_at,
            organisation.c.name.label("owner_name"),
            organisation.c.website.label("owner_url"),
        )
        .select_from(
            venue.outerjoin(organisation, organisation.c.id == venue.c.owner_organisation_id)
            .outerjoin(municipality, municipality.c.number == venue.c.municipality_number)
            .outerjoin(county, county.c.number == municipality.c.county_number)
        )
        .where(venue.c.id == venue_id)
    ).first()
    if row is None:
        return None
    page = VenuePage(**row._mapping)
    page.windows = [
        (r.weekday, r.starts, r.ends)
        for r in conn.execute(
            sa.select(
                venue_availability.c.weekday, venue_availability.c.starts, venue_availability.c.ends
            )
            .where(venue_availability.c.venue_id == venue_id)
            .order_by(venue_availability.c.weekday, venue_availability.c.starts)
        )
    ]
    a: Any = activity.c
    page.activities = [
        VenueActivity(r.id, r.title, r.category)
        for r in conn.execute(
            sa.select(a.id, a.title, a.category)
            .where(a.venue_id == venue_id, *activity_conditions(DirectoryFilter()))
            .order_by(a.title, a.id)
        )
    ]
    return page
