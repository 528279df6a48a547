"""The County type (fylke) and the `counties` / `county` queries."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, ClassVar

import strawberry

from api.checks import COUNTY_NUMBER, NodeType, county_number
from api.graphql.relay import Node, NodeKind
from geo.queries.counties import CountyRow
from geo.queries.counties import counties as list_counties

if TYPE_CHECKING:
    from api.graphql.context import Context
    from api.graphql.types.municipality import Municipality


@strawberry.type(description="A county (fylke), 2020 division unless other data is loaded.")
class County(Node):
    NODE_TYPE: ClassVar[str] = NodeType.COUNTY

    number: str = strawberry.field(description='Two-digit county number (fylkesnummer), e.g. "03".')
    name: str = strawberry.field(description="Name, as the publisher spells it.")

    def node_type_name(self) -> str:
        return self.NODE_TYPE

    def node_key(self) -> str:
        return self.number

    @classmethod
    def from_geo(cls, county: CountyRow) -> County:
        return cls(number=county.number, name=county.name)

    @strawberry.field(
        description="The county's municipalities, ordered by number. Loaded for "
        "every county of the response in one query."
    )
    async def municipalities(
        self, info: strawberry.Info[Context, None]
    ) -> list[Annotated[Municipality, strawberry.lazy("api.graphql.types.municipality")]]:
        from api.graphql.types.municipality import Municipality

        found = await info.context.loaders.municipalities_by_county.load(self.number)
        return [Municipality.from_geo(m) for m in found]


async def resolve_counties(info: strawberry.Info[Context, None]) -> list[County]:
    return [County.from_geo(c) for c in await info.context.run(list_counties)]


async def resolve_county(
    info: strawberry.Info[Context, None],
    number: Annotated[str, strawberry.argument(description='Two digits, e.g. "03".')],
) -> County | None:
    found = await info.context.loaders.county.load(county_number(number, field="number"))
    return None if found is None else County.from_geo(found)


async def _fetch_node(context: Context, key: str) -> County | None:
    found = await context.loaders.county.load(key)
    return None if found is None else County.from_geo(found)


COUNTY_NODE = NodeKind(
    type_name=County.NODE_TYPE, key_pattern=re.compile(COUNTY_NUMBER.pattern), fetch=_fetch_node
)
