"""The Organisation type: who runs activities and owns venues."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, ClassVar

import strawberry

from api.checks import NodeType
from api.graphql.relay import NodeKind
from api.graphql.types.entry import DirectoryEntry, municipality_of, stamps
from api.graphql.types.vocab import OrganisationKind, RegistryStatus, as_enum
from geo.queries.organisations import OrganisationRow

if TYPE_CHECKING:
    from api.graphql.context import Context
    from api.graphql.types.municipality import Municipality


@strawberry.type(description="A volunteer organisation, club, faith community or public body.")
class Organisation(DirectoryEntry):
    NODE_TYPE: ClassVar[str] = NodeType.ORGANISATION

    db_id: strawberry.Private[int]
    municipality_number: strawberry.Private[str | None]
    name: str
    organisation_number: str | None = strawberry.field(
        description="Organisasjonsnummer in Enhetsregisteret (nine digits), if it has one."
    )
    kind: OrganisationKind  # type: ignore[valid-type]
    in_voluntary_register: bool = strawberry.field(
        description="Registered in Frivillighetsregisteret."
    )
    website: str | None
    description: str | None
    address: str | None = strawberry.field(description="Business address (Enhetsregisteret).")
    postal_code: str | None
    postal_place: str | None
    registry_status: RegistryStatus | None = strawberry.field(  # type: ignore[valid-type]
        description=(
            "What Enhetsregisteret says when it is not plainly active (deleted, bankrupt, "
            "dissolving…), from its update feed; its activities are then flagged for review."
        )
    )

    def node_type_name(self) -> str:
        return self.NODE_TYPE

    def node_key(self) -> str:
        return str(self.db_id)

    @classmethod
    def from_row(cls, row: OrganisationRow) -> Organisation:
        return cls(
            db_id=row.id,
            municipality_number=row.municipality_number,
            name=row.name,
            organisation_number=row.organisation_number,
            kind=as_enum(OrganisationKind, row.kind),
            in_voluntary_register=row.in_voluntary_register,
            website=row.website,
            description=row.description,
            address=row.address,
            postal_code=row.postal_code,
            postal_place=row.postal_place,
            registry_status=as_enum(RegistryStatus, row.registry_status),
            **stamps(row),
        )

    @strawberry.field(description="The municipality of its business address, if loaded.")
    async def municipality(
        self, info: strawberry.Info[Context, None]
    ) -> Annotated[Municipality, strawberry.lazy("api.graphql.types.municipality")] | None:
        return await municipality_of(info, self.municipality_number)


async def _fetch_node(context: Context, key: str) -> Organisation | None:
    row = await context.loaders.directory.organisation.load(int(key))
    return None if row is None else Organisation.from_row(row)


ORGANISATION_NODE = NodeKind(Organisation.NODE_TYPE, re.compile(r"[0-9]{1,18}"), _fetch_node)
