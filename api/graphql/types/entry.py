"""What every directory row shares: a global id, its municipality, and its change stamps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from api.checks import encode_global_id
from api.graphql.projection import RowField, column
from api.graphql.relay import Node
from api.graphql.types.geometry import LatLon
from geo.crs import to_wgs84, to_wgs84_many
from geo.queries.rows import filled_without_init

if TYPE_CHECKING:
    from api.graphql.context import Context
    from api.graphql.types.municipality import Municipality


@strawberry.interface(
    description=(
        "A row of the directory (activity, venue, organisation, council, area initiative): what "
        "`changes(since:)` reports. Archived rows stay, as tombstones, with `archived: true`."
    )
)
class DirectoryEntry(Node):
    updated_at: datetime = strawberry.field(description="When the row last changed (UTC).")
    archived: bool = strawberry.field(description="Archived (soft-deleted): a tombstone.")
    version: int = strawberry.field(description="Increases by one with every change.")


def stamps(row: Any) -> dict[str, Any]:
    """The DirectoryEntry fields of a geo row."""
    return {
        "updated_at": row.updated_at,
        "archived": row.archived_at is not None,
        "version": row.version,
    }


#: The DirectoryEntry fields of a geo row, as entries of a type's RowTable.
STAMP_FIELDS = {
    "updated_at": column("updated_at"),
    "archived": RowField(("archived_at",), lambda row: row.archived_at is not None),
    "version": column("version"),
}


#: The Verifiable fields of a geo row (api.graphql.types.freshness.verification), as entries of
#: a type's RowTable.
VERIFICATION_FIELDS = {
    "last_verified_at": column("last_verified_at"),
    "verified_by": column("verified_by"),
}


def location_of(row: Any) -> LatLon:
    lat, lon = to_wgs84(row.x, row.y)
    return LatLon(lat=round(lat, 7), lon=round(lon, 7))


def locations_of(rows: Sequence[Any]) -> list[LatLon]:
    """:func:`location_of` of each row, transformed in one call."""
    if not rows:
        return []
    points = to_wgs84_many([row.x for row in rows], [row.y for row in rows])
    return [
        filled_without_init(LatLon, {"lat": round(lat, 7), "lon": round(lon, 7)})
        for lat, lon in points
    ]


#: Where :func:`locate_rows` leaves a row's transformed location (no row field has the name).
_LOCATED = "_api_location"


def locate_rows(rows: Sequence[Any]) -> None:
    """Transform the rows' points in one call and leave each on its row, where
    :data:`LOCATION_FIELD` reads it: the compiled path renders fields straight from the rows
    (api.graphql.projection), and pyproj's work per call outweighs a point's."""
    for row, location in zip(rows, locations_of(rows), strict=True):
        row.__dict__[_LOCATED] = location


def _location(row: Any) -> LatLon:
    located = row.__dict__.get(_LOCATED)
    return located if located is not None else location_of(row)


#: A placed row's ``location`` (lat/lon in WGS84, to 7 decimals).
LOCATION_FIELD = RowField(("x", "y"), _location)


def global_id_field(node_type: str) -> RowField:
    """The ``id`` resolver's value (:class:`api.graphql.relay.Node`) from a row's ``id``."""
    return RowField(("id",), lambda row: encode_global_id(node_type, str(row.id)))


async def municipality_of(
    info: strawberry.Info[Context, None], number: str | None
) -> Annotated[Municipality, strawberry.lazy("api.graphql.types.municipality")] | None:
    from api.graphql.types.municipality import Municipality

    if number is None:
        return None
    found = await info.context.loaders.municipality.load(number)
    return None if found is None else Municipality.from_geo(found)
