"""Immigrant-council mutations: create, update, archive and restore, by their municipality."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from api.graphql.mutations.common import actor_of, db_id, record_of, write
from api.graphql.types.council import ImmigrantCouncil
from api.graphql.types.vocab import CouncilKind, CouncilLevel, CouncilStatus
from geo.queries.councils import councils_by_ids
from geo.writes.councils import create_council, set_council_archived, update_council

if TYPE_CHECKING:
    from api.graphql.context import Context

UNSET: Any = strawberry.UNSET

#: The loader's column for each field the API names otherwise (data/innvandrerrad.csv).
_SPECIAL = {
    "municipality": lambda value: {"kommunenummer": value},
    "county": lambda value: {"fylkesnummer": value},
    "website": lambda value: {"source": value},
}


@strawberry.input(
    description=(
        "A new immigrant council. A MUNICIPALITY or INDEPENDENT council of a municipality is that "
        "municipality's editor's to write; a COUNTY council an admin's."
    )
)
class CouncilInput:
    name: str
    kind: CouncilKind  # type: ignore[valid-type]
    level: CouncilLevel  # type: ignore[valid-type]
    status: CouncilStatus  # type: ignore[valid-type]
    municipality: str | None = strawberry.field(default=None, description='e.g. "0301".')
    county: str | None = strawberry.field(default=None, description='e.g. "03".')
    established: int | None = None
    members: int | None = None
    website: str | None = None
    note: str | None = None


@strawberry.input(description="Changes to a council: only the fields given change.")
class CouncilChangesInput:
    name: str | None = UNSET
    kind: CouncilKind | None = UNSET  # type: ignore[valid-type]
    level: CouncilLevel | None = UNSET  # type: ignore[valid-type]
    status: CouncilStatus | None = UNSET  # type: ignore[valid-type]
    municipality: str | None = UNSET
    county: str | None = UNSET
    established: int | None = UNSET
    members: int | None = UNSET
    website: str | None = UNSET
    note: str | None = UNSET


@strawberry.type(description="The council as it is after the write.")
class CouncilPayload:
    council: ImmigrantCouncil


async def _payload(context: Context, council_id: int) -> CouncilPayload:
    rows = await context.run_primary(councils_by_ids, [council_id])
    return CouncilPayload(council=ImmigrantCouncil.from_row(rows[council_id]))


CouncilId = Annotated[strawberry.ID, strawberry.argument(description="The council's global id.")]
Version = Annotated[
    int,
    strawberry.argument(
        description="The version you read; a stale one is a CONFLICT with `currentVersion`."
    ),
]


async def resolve_create_council(
    info: strawberry.Info[Context, None], input: CouncilInput
) -> CouncilPayload:
    council_id = await write(info.context, create_council, record_of(input, _SPECIAL))
    return await _payload(info.context, council_id)


async def resolve_update_council(
    info: strawberry.Info[Context, None],
    id: CouncilId,
    version: Version,
    input: CouncilChangesInput,
) -> CouncilPayload:
    actor_of(info.context)
    council_id = await write(
        info.context,
        update_council,
        db_id(id, "ImmigrantCouncil", "id"),
        version,
        record_of(input, _SPECIAL),
    )
    return await _payload(info.context, council_id)


async def resolve_archive_council(
    info: strawberry.Info[Context, None], id: CouncilId, version: Version
) -> CouncilPayload:
    actor_of(info.context)
    council_id = await write(
        info.context, set_council_archived, db_id(id, "ImmigrantCouncil", "id"), version, True
    )
    return await _payload(info.context, council_id)


async def resolve_restore_council(
    info: strawberry.Info[Context, None], id: CouncilId, version: Version
) -> CouncilPayload:
    actor_of(info.context)
    council_id = await write(
        info.context, set_council_archived, db_id(id, "ImmigrantCouncil", "id"), version, False
    )
    return await _payload(info.context, council_id)
