"""The WhereAmIResult type and the `whereAmI` query."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from api.graphql.inputs import LatLonInput
from api.graphql.types.county import County
from api.graphql.types.geometry import LatLon
from api.graphql.types.initiative import AreaInitiative
from api.graphql.types.municipality import Municipality
from api.graphql.types.translation import localize
from geo.queries.areas import DistrictRow
from geo.queries.location import where_am_i_on_driver

if TYPE_CHECKING:
    from api.graphql.context import Context


@strawberry.type(
    description=(
        "The places that contain a point. Each is null where there is none: at sea, abroad, or on "
        "Svalbard and Jan Mayen, which belong to no municipality or county."
    )
)
class WhereAmIResult:
    at: LatLon = strawberry.field(description="The point asked about.")
    municipality: Municipality | None = strawberry.field(
        description="The municipality whose boundary covers the point."
    )
    county: County | None = strawberry.field(
        description=(
            "The county: the municipality's county when there is a municipality, else the county "
            "whose boundary covers the point."
        )
    )
    district: District | None = strawberry.field(
        description=(
            "The city district (bydel) covering the point, in any municipality whose districts "
            "are loaded (the bundled data has Oslo's; `hverdag load areas --kind BYDEL` adds "
            "others)."
        )
    )
    sub_district: District | None = strawberry.field(
        description="The sub-district (delbydel) covering the point, where loaded."
    )
    area_initiatives: list[AreaInitiative] = strawberry.field(
        description="The area initiatives (områdesatsinger) covering the point."
    )


@strawberry.type(description="A city district (bydel) or sub-district (delbydel).")
class District:
    code: str = strawberry.field(description='SSB-style code: "030112" is Alna in Oslo.')
    name: str | None
    kind: str = strawberry.field(description="BYDEL or DELBYDEL.")

    @classmethod
    def from_geo(cls, district: DistrictRow | None) -> District | None:
        if district is None:
            return None
        return cls(code=district.code, name=district.name, kind=district.kind)


async def resolve_where_am_i(
    info: strawberry.Info[Context, None],
    at: Annotated[LatLonInput, strawberry.argument(description="Where you are, in WGS84.")],
) -> WhereAmIResult:
    return await where_am_i_answer(info.context, at=at)


async def where_am_i_answer(context: Context, *, at: LatLonInput) -> WhereAmIResult:
    """`whereAmI`'s answer from its argument: the resolver's work, also run by the compiled
    path (api.graphql.compiled), which has no ``info``."""
    x, y = at.to_storage(field="at")
    found, around = await context.run_on_driver(where_am_i_on_driver, x, y)
    initiatives = [AreaInitiative.from_row(r) for r in around.initiatives]
    await localize(context, initiatives)  # Accept-Language's
    return WhereAmIResult(
        district=District.from_geo(around.district),
        sub_district=District.from_geo(around.sub_district),
        area_initiatives=initiatives,
        at=LatLon(lat=at.lat, lon=at.lon),
        municipality=None
        if found.municipality is None
        else Municipality.from_geo(found.municipality),
        county=None if found.county is None else County.from_geo(found.county),
    )
