"""The Place type and the `places` query: a search box's places by name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from api.checks import place_text
from api.errors import BadUserInput
from api.graphql.types.geometry import LatLon
from geo.queries.places import PlaceRow, find_places

if TYPE_CHECKING:
    from api.graphql.context import Context

#: A search box shows a handful; more is a client asking for a list it should page elsewhere.
MAX_PLACES = 20


@strawberry.type(
    description=(
        "A place to search around: a municipality, a city district (bydel) or sub-district "
        "(delbydel), or an area initiative."
    )
)
class Place:
    kind: str = strawberry.field(description="MUNICIPALITY, BYDEL, DELBYDEL or AREA_INITIATIVE.")
    code: str = strawberry.field(
        description=(
            'The municipality\'s number ("0301"), the district\'s code ("030112") or the '
            'initiative\'s slug ("groruddalen").'
        )
    )
    name: str
    municipality_number: str | None = strawberry.field(
        description="The municipality it lies in (its own number for a municipality)."
    )
    inside: LatLon = strawberry.field(
        description="A point inside the place (WGS84), to search around."
    )
    bbox: list[float] = strawberry.field(
        description="Its bounding box in WGS84: [west, south, east, north]."
    )

    @classmethod
    def from_row(cls, row: PlaceRow) -> Place:
        return cls(
            kind=row.kind,
            code=row.code,
            name=row.name,
            municipality_number=row.municipality_number,
            inside=LatLon(lat=row.lat, lon=row.lon),
            bbox=[row.west, row.south, row.east, row.north],
        )


async def resolve_places(
    info: strawberry.Info[Context, None],
    text: Annotated[
        str,
        strawberry.argument(
            description=(
                "A name or part of one, a municipality number or a district code; copes with "
                "æøå typed as a/o and small typos, as the directory's text filter does."
            )
        ),
    ],
    first: Annotated[int, strawberry.argument(description="How many, at most 20.")] = 8,
) -> list[Place]:
    if not 1 <= first <= MAX_PLACES:
        raise BadUserInput(f"first must be 1-{MAX_PLACES}, got {first}", field="first")
    asked = place_text(text)
    if asked is None:
        return []
    rows = await info.context.run(find_places, asked, first)
    return [Place.from_row(row) for row in rows]
