"""The WhereAmIResult type and the `whereAmI` query."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from api.inputs import LatLonInput
from api.types.county import County
from api.types.geometry import LatLon
from api.types.municipality import Municipality
from geo.queries.location import where_am_i

if TYPE_CHECKING:
    from api.context import Context


@strawberry.type(description=(
    "The places that contain a point. Each is null where there is none: at sea, abroad, or on "
    "Svalbard and Jan Mayen, which belong to no municipality or county."))
class WhereAmIResult:
    at: LatLon = strawberry.field(description="The point asked about.")
    municipality: Municipality | None = strawberry.field(
        description="The municipality whose boundary covers the point.")
    county: County | None = strawberry.field(description=(
        "The county: the municipality's county when there is a municipality, else the county "
        "whose boundary covers the point."))


async def resolve_where_am_i(
    info: strawberry.Info[Context, None],
    at: Annotated[LatLonInput, strawberry.argument(description="Where you are, in WGS84.")],
) -> WhereAmIResult:
    x, y = at.to_storage(field="at")
    found = await info.context.run(where_am_i, x, y)
    return WhereAmIResult(
        at=LatLon(lat=at.lat, lon=at.lon),
        municipality=None if found.municipality is None
        else Municipality.from_geo(found.municipality),
        county=None if found.county is None else County.from_geo(found.county),
    )
