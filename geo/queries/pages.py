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
    v, o = venue.c, organisation.c
    row = conn.execute(
        sa.select(
            v.id,
            v.name,
            v.description,
            v.venue_type,
            v.address,
            v.postal_code,
            v.postal_place,
            municipality.c.name.label("municipality_name"),
            county.c.name.label("region"),
            *point_xy(v.geom),
            v.capacity,
            v.price_model,
            v.price_note,
            v.step_free,
            v.accessibility,
            v.amenities,
            v.booking_url,
            v.archived_at,
            v.updated_at,
            o.name.label("owner_name"),
            o.website.label("owner_url"),
        )
        .select_from(
            venue.outerjoin(organisation, o.id == v.owner_organisation_id)
            .outerjoin(municipality, municipality.c.number == v.municipality_number)
            .outerjoin(county, county.c.number == municipality.c.county_number)
        )
        .where(v.id == venue_id)
    ).first()
    if row is None:
        return None
    page = VenuePage(**row._mapping)
    w = venue_availability.c
    page.windows = [
        (r.weekday, r.starts, r.ends)
        for r in conn.execute(
            sa.select(w.weekday, w.starts, w.ends)
            .where(w.venue_id == venue_id)
            .order_by(w.weekday, w.starts)
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
