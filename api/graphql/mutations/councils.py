"""Immigrant-council mutations: create, update, archive and restore, by their municipality."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from api.graphql.mutations.common import (
    InputNames,
    Version,
    actor_of,
    archive_and_restore,
    db_id,
    record_of,
    write,
)
from api.graphql.types.council import ImmigrantCouncil
from api.graphql.types.vocab import CouncilKind, CouncilLevel, CouncilStatus
from geo.queries.councils import councils_by_ids
from geo.writes.councils import create_council, set_council_archived, update_council

if TYPE_CHECKING:
    from api.graphql.context import Context

UNSET: Any = strawberry.UNSET

_NAMES = InputNames(
    columns={"municipality": "municipality_number", "county": "county_number"},
    # The words these fields' messages have always begun with.
    words={
        "municipality_number": "kommunenummer",
        "county_number": "fylkesnummer",
        "website": "source",
    },
)


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


async def resolve_create_council(
    info: strawberry.Info[Context, None], input: CouncilInput
) -> CouncilPayload:
    actor = actor_of(info.context)
    council_id = await write(info.context, actor, _NAMES, create_council, record_of(input, _NAMES))
    return await _payload(info.context, council_id)


async def resolve_update_council(
    info: strawberry.Info[Context, None],
    id: CouncilId,
    version: Version,
    input: CouncilChangesInput,
) -> CouncilPayload:
    actor = actor_of(info.context)
    council_id = await write(
        info.context,
        actor,
        _NAMES,
        update_council,
        db_id(id, "ImmigrantCouncil", "id"),
        version,
        record_of(input, _NAMES),
    )
    return await _payload(info.context, council_id)


resolve_archive_council, resolve_restore_council = archive_and_restore(
    "ImmigrantCouncil", CouncilId, set_council_archived, _payload, CouncilPayload
)
