"""`verifyEntries`: editors confirm activities, venues or councils true as they stand."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from api.checks import NodeType, decode_global_id
from api.errors import BadUserInput
from api.graphql.mutations.common import actor_of, write
from api.graphql.types.activity import Activity
from api.graphql.types.council import ImmigrantCouncil
from api.graphql.types.venue import Venue
from geo.queries.activities import activities_by_ids
from geo.queries.councils import councils_by_ids
from geo.queries.venues import venues_by_ids
from geo.vocab import EntryKind
from geo.writes.verification import MAX_BATCH, Confirmation, verify_entries

if TYPE_CHECKING:
    from api.graphql.context import Context

#: The global id's type name → the kind of entry.
ENTRY_KINDS = {
    NodeType.ACTIVITY.value: EntryKind.ACTIVITY,
    NodeType.VENUE.value: EntryKind.VENUE,
    NodeType.COUNCIL.value: EntryKind.COUNCIL,
}

VerifiedEntry = Annotated[
    Activity | Venue | ImmigrantCouncil,
    strawberry.union("VerifiedEntry", description="An entry as it is after verification."),
]


@strawberry.input(description="An entry to confirm, at the version you read.")
class EntryConfirmationInput:
    id: strawberry.ID = strawberry.field(description="An Activity, Venue or ImmigrantCouncil id.")
    version: int | None = strawberry.field(
        default=None,
        description=(
            "The version you checked: when the entry changed since, CONFLICT "
            "(`currentVersion`) and nothing is verified. Null: as it is now."
        ),
    )


@strawberry.type(description="The entries verified, as they are now.")
class VerifyEntriesPayload:
    entries: list[VerifiedEntry]


def entry_of(global_id: str, field: str) -> tuple[EntryKind, int]:
    """The kind and database id of an entry's global id; BAD_USER_INPUT for any other id."""
    type_name, key = decode_global_id(global_id)
    kind = ENTRY_KINDS.get(type_name)
    if kind is None or not key.isdigit() or len(key) > 18:
        raise BadUserInput(
            f"{global_id!r} is not the id of an Activity, Venue or ImmigrantCouncil", field=field
        )
    return kind, int(key)


def _confirmations(given: list[EntryConfirmationInput]) -> list[Confirmation]:
    if len(given) > MAX_BATCH:
        raise BadUserInput(f"at most {MAX_BATCH} entries a call, not {len(given)}", field="entries")
    confirmations = []
    for position, item in enumerate(given):
        kind, row_id = entry_of(item.id, f"entries.{position}.id")
        confirmations.append(Confirmation(kind, row_id, item.version))
    return confirmations


async def verified_entries(context: Context, done: list[Confirmation]) -> list[Any]:
    """The entries as they are on the primary, in the order given."""
    ids = {kind: [c.id for c in done if c.kind is kind] for kind in EntryKind}
    activities = await context.run_primary(activities_by_ids, ids[EntryKind.ACTIVITY])
    venues = await context.run_primary(venues_by_ids, ids[EntryKind.VENUE])
    councils = await context.run_primary(councils_by_ids, ids[EntryKind.COUNCIL])
    made = {
        EntryKind.ACTIVITY: lambda i: Activity.from_row(activities[i]),
        EntryKind.VENUE: lambda i: Venue.from_row(venues[i]),
        EntryKind.COUNCIL: lambda i: ImmigrantCouncil.from_row(councils[i]),
    }
    return [made[c.kind](c.id) for c in done]


async def resolve_verify_entries(
    info: strawberry.Info[Context, None],
    entries: Annotated[
        list[EntryConfirmationInput],
        strawberry.argument(description=f"One to {MAX_BATCH} entries, any mix of kinds."),
    ],
) -> VerifyEntriesPayload:
    actor = actor_of(info.context)
    done = await write(info.context, actor, None, verify_entries, _confirmations(entries))
    return VerifyEntriesPayload(entries=await verified_entries(info.context, done))
