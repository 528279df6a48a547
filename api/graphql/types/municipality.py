"""The Municipality type (kommune) and the `municipality` / `municipalities` queries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar

import strawberry
from strawberry.scalars import JSON

from api.checks import (
    MUNICIPALITY_NUMBER,
    NodeType,
    county_number,
    municipality_number,
    name_fragment,
    share,
)
from api.checks import simplify_meters as checked_tolerance
from api.graphql.inputs import MunicipalityFilterInput
from api.graphql.relay import (
    DEFAULT_PAGE_SIZE,
    Connection,
    Node,
    NodeKind,
    connection_from_page,
    decode_cursor,
    page_size,
)
from api.graphql.types.activity import Activity
from api.graphql.types.council import ImmigrantCouncil
from api.graphql.types.county import County
from api.graphql.types.geometry import LatLon
from api.graphql.types.listing import ACTIVITIES, VENUES, DirectoryConnection, municipality_list
from api.graphql.types.venue import Venue
from geo.queries.municipalities import MunicipalityFilter, MunicipalityRow, list_municipalities

if TYPE_CHECKING:
    from api.graphql.context import Context

_CONNECTION = "municipalities"


@strawberry.type(
    description=(
        "A municipality (kommune), in the numbering of the loaded boundaries (the bundled data: "
        "2020). Statistics are each field's latest year; the *Year fields say which."
    )
)
class Municipality(Node):
    NODE_TYPE: ClassVar[str] = NodeType.MUNICIPALITY

    number: str = strawberry.field(
        description='Four-digit municipality number (kommunenummer), e.g. "0301".'
    )
    name: str = strawberry.field(description="Name, as the publisher spells it.")
    population: int | None = strawberry.field(
        description="Residents in the latest year with a population figure (populationYear)."
    )
    population_year: int | None = strawberry.field(description="The year of `population`.")
    immigrant_population: int | None = strawberry.field(
        description=(
            "Immigrants (born abroad to foreign-born parents; not their Norwegian-born children) "
            "in the latest year with an immigrant figure (statisticsYear)."
        )
    )
    immigrant_share: float | None = strawberry.field(
        description=(
            "immigrantPopulation / population, 0-1. The two figures are each their latest year, "
            "which may differ (bundled data: 2021 immigrants over 2024 population). Null when "
            "either is missing."
        )
    )
    refugee_population: int | None = strawberry.field(
        description=(
            "Immigrants who came as refugees, and their family immigrants, in statisticsYear."
        )
    )
    statistics_year: int | None = strawberry.field(
        description="The year of `immigrantPopulation` and `refugeePopulation`."
    )
    area_km2: float = strawberry.field(
        description=(
            "Area in km², measured in the UTM zone 33N plane (EPSG:25833), the national "
            "statistics grid's CRS; includes inland water."
        )
    )
    centroid: LatLon = strawberry.field(
        description=(
            "Geometric centre of the boundary (WGS84). For ragged coasts it may lie in the sea."
        )
    )
    county_data: strawberry.Private[County | None]

    def node_type_name(self) -> str:
        return self.NODE_TYPE

    def node_key(self) -> str:
        return self.number

    @classmethod
    def from_geo(cls, m: MunicipalityRow) -> Municipality:
        return cls(
            number=m.number,
            name=m.name,
            population=m.population,
            population_year=m.population_year,
            immigrant_population=m.immigrant_population,
            immigrant_share=m.immigrant_share,
            refugee_population=m.refugees,
            statistics_year=m.statistics_year,
            area_km2=m.area_km2,
            centroid=LatLon.from_geo(m.centroid),
            county_data=None if m.county is None else County.from_geo(m.county),
        )

    @strawberry.field(
        description="The county this municipality belongs to (null if its county is not loaded)."
    )
    def county(self) -> County | None:
        return self.county_data

    @strawberry.field(
        description=(
            "The boundary as a GeoJSON geometry (RFC 7946: WGS84, [lon, lat], exterior rings "
            "counter-clockwise, 6 decimals)."
        )
    )
    async def boundary(
        self,
        info: strawberry.Info[Context, None],
        simplify_meters: Annotated[
            float | None,
            strawberry.argument(
                description=(
                    "Simplify first, keeping topology, with this tolerance in metres (0-10000) in "
                    "the UTM 33N plane. Omit for the full boundary."
                )
            ),
        ] = None,
    ) -> JSON | None:
        tolerance = checked_tolerance(simplify_meters)
        return await info.context.loaders.boundary.load((self.number, tolerance))

    @strawberry.field(
        description=(
            "Venues in the municipality, by name. The first page of every municipality in a "
            "response loads in one query."
        )
    )
    async def venues(
        self,
        info: strawberry.Info[Context, None],
        first: Annotated[
            int | None, strawberry.argument(description="Page size, at most 100.")
        ] = DEFAULT_PAGE_SIZE,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
    ) -> DirectoryConnection[Venue]:
        return await municipality_list(info, VENUES, self.number, first, after)

    @strawberry.field(description="Active activities in the municipality, by title.")
    async def activities(
        self,
        info: strawberry.Info[Context, None],
        first: Annotated[
            int | None, strawberry.argument(description="Page size, at most 100.")
        ] = DEFAULT_PAGE_SIZE,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
    ) -> DirectoryConnection[Activity]:
        return await municipality_list(info, ACTIVITIES, self.number, first, after)

    @strawberry.field(description="Its immigrant councils (active and disbanded), by name.")
    async def councils(self, info: strawberry.Info[Context, None]) -> list[ImmigrantCouncil]:
        rows = await info.context.loaders.directory.councils_of_municipality.load(self.number)
        return [ImmigrantCouncil.from_row(r) for r in rows]


async def resolve_municipality(
    info: strawberry.Info[Context, None],
    number: Annotated[
        str,
        strawberry.argument(
            description='Four digits, e.g. "0301". Null when no such municipality is loaded.'
        ),
    ],
) -> Municipality | None:
    found = await info.context.loaders.municipality.load(municipality_number(number))
    return None if found is None else Municipality.from_geo(found)


async def resolve_municipalities(
    info: strawberry.Info[Context, None],
    filter: MunicipalityFilterInput | None = None,  # the contract's name
    first: Annotated[
        int | None,
        strawberry.argument(description="Page size, at most 100 (more is an error, not clamped)."),
    ] = DEFAULT_PAGE_SIZE,
    after: Annotated[
        str | None, strawberry.argument(description="`endCursor` of the previous page.")
    ] = None,
) -> Connection[Municipality]:
    size = page_size(first, info.context.max_page_size)
    after_key = decode_cursor(after, _CONNECTION, MUNICIPALITY_NUMBER)
    geo_filter = MunicipalityFilter(
        county=None
        if filter is None or filter.county is None
        else county_number(filter.county, field="filter.county"),
        name_contains=None
        if filter is None or filter.name_contains is None
        else name_fragment(filter.name_contains),
        has_council=None if filter is None else filter.has_council,
        min_immigrant_share=None
        if filter is None
        else share(filter.min_immigrant_share, field="filter.minImmigrantShare"),
    )
    page = await info.context.run(list_municipalities, geo_filter, size, after_key)
    return connection_from_page(
        page.items,
        connection=_CONNECTION,
        key=lambda m: m.number,
        node=Municipality.from_geo,
        total_count=page.total_count,
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
    )


async def _fetch_node(context: Context, key: str) -> Municipality | None:
    found = await context.loaders.municipality.load(key)
    return None if found is None else Municipality.from_geo(found)


MUNICIPALITY_NODE = NodeKind(
    type_name=Municipality.NODE_TYPE, key_pattern=MUNICIPALITY_NUMBER, fetch=_fetch_node
)
