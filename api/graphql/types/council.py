"""The ImmigrantCouncil type: innvandrerråd and similar bodies."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, ClassVar

import strawberry

from api.checks import NodeType
from api.graphql.relay import NodeKind
from api.graphql.types.county import County
from api.graphql.types.entry import DirectoryEntry, municipality_of, stamps
from api.graphql.types.freshness import Verifiable, verification
from api.graphql.types.vocab import CouncilKind, CouncilLevel, CouncilStatus
from geo.queries.councils import CouncilRow

if TYPE_CHECKING:
    from api.graphql.context import Context
    from api.graphql.types.municipality import Municipality


@strawberry.type(description="An immigrant council (innvandrerråd) or a body like one.")
class ImmigrantCouncil(DirectoryEntry, Verifiable):
    NODE_TYPE: ClassVar[str] = NodeType.COUNCIL

    db_id: strawberry.Private[int]
    municipality_number: strawberry.Private[str | None]
    county_number: strawberry.Private[str | None]
    name: str
    kind: CouncilKind  # type: ignore[valid-type]
    level: CouncilLevel  # type: ignore[valid-type]
    status: CouncilStatus  # type: ignore[valid-type]
    established: int | None = strawberry.field(description="Year it was set up.")
    members: int | None
    website: str | None = strawberry.field(description="Where it is described.")
    note: str | None

    def node_type_name(self) -> str:
        return self.NODE_TYPE

    def node_key(self) -> str:
        return str(self.db_id)

    @classmethod
    def from_row(cls, row: CouncilRow) -> ImmigrantCouncil:
        return cls(
            db_id=row.id,
            municipality_number=row.municipality_number,
            county_number=row.county_number,
            name=row.name,
            kind=CouncilKind[row.kind],
            level=CouncilLevel[row.level],
            status=CouncilStatus[row.status],
            established=row.established,
            members=row.members,
            website=row.website,
            note=row.note,
            **stamps(row),
            **verification(row),
        )

    @strawberry.field(description="The municipality it serves or sits in.")
    async def municipality(
        self, info: strawberry.Info[Context, None]
    ) -> Annotated[Municipality, strawberry.lazy("api.graphql.types.municipality")] | None:
        return await municipality_of(info, self.municipality_number)

    @strawberry.field(description="Its county.")
    async def county(self, info: strawberry.Info[Context, None]) -> County | None:
        if self.county_number is None:
            return None
        found = await info.context.loaders.county.load(self.county_number)
        return None if found is None else County.from_geo(found)


async def _fetch_node(context: Context, key: str) -> ImmigrantCouncil | None:
    row = await context.loaders.directory.council.load(int(key))
    return None if row is None else ImmigrantCouncil.from_row(row)


COUNCIL_NODE = NodeKind(ImmigrantCouncil.NODE_TYPE, re.compile(r"[0-9]{1,18}"), _fetch_node)
