"""`reportVenueAccess`: an organisation reports whether it got to use a venue."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import strawberry

from api.checks import NodeType, encode_global_id
from api.graphql.mutations.common import InputNames, actor_of, db_id, record_of, write
from api.graphql.types.privacy import may_read_private
from api.graphql.types.venue import Venue
from api.graphql.types.vocab import AccessBarrier, AccessOutcome, as_enum
from geo.queries.venues import venues_by_ids
from geo.writes.access_reports import report_record, report_venue_access

if TYPE_CHECKING:
    from api.graphql.context import Context


@strawberry.input(
    description=(
        "A report on one request to use a venue. An organisation editor reports for its own "
        "organisation; an admin may name one. `note` is private: only analysts, admins and the "
        "reporting organisation's editors read it back."
    )
)
class VenueAccessReportInput:
    venue: strawberry.ID
    outcome: AccessOutcome  # type: ignore[valid-type]
    suitability: int | None = strawberry.field(default=None, description="1 (poor) to 5.")
    barriers: list[AccessBarrier] | None = None  # type: ignore[valid-type]
    note: str | None = None
    reported_on: date | None = strawberry.field(default=None, description="Default: today.")
    organisation: strawberry.ID | None = strawberry.field(
        default=None, description="Admins only: the reporting organisation."
    )


@strawberry.type(description="An organisation's report on a request to use a venue.")
class VenueAccessReport:
    db_id: strawberry.Private[int]
    venue_id: strawberry.Private[int]
    organisation_id: strawberry.Private[int | None]
    private_note: strawberry.Private[str | None]
    outcome: AccessOutcome  # type: ignore[valid-type]
    suitability: int | None
    barriers: list[AccessBarrier]  # type: ignore[valid-type]
    reported_on: date
    version: int

    @strawberry.field(description='Global id (base64 of "VenueAccessReport:<n>").')
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_global_id(NodeType.ACCESS_REPORT, str(self.db_id)))

    @strawberry.field(
        description=(
            "The reporter's free text. Private: null unless the caller is an analyst, an admin or "
            "an editor of the reporting organisation."
        )
    )
    def note(self, info: strawberry.Info[Context, None]) -> str | None:
        if may_read_private(info.context.principal, organisation_id=self.organisation_id):
            return self.private_note
        return None

    @strawberry.field(description="The venue reported on.")
    async def venue(self, info: strawberry.Info[Context, None]) -> Venue | None:
        rows = await info.context.run(venues_by_ids, [self.venue_id])
        row = rows.get(self.venue_id)
        return None if row is None else Venue.from_row(row)


@strawberry.type
class VenueAccessReportPayload:
    report: VenueAccessReport


#: Its fields are named as the record's keys ("venue", "organisation").
_NAMES = InputNames()


async def resolve_report_venue_access(
    info: strawberry.Info[Context, None], input: VenueAccessReportInput
) -> VenueAccessReportPayload:
    actor = actor_of(info.context)
    special: dict[str, Any] = {
        "venue": lambda value: {},
        "organisation": lambda value: {
            "organisation_id": None
            if value is None
            else db_id(value, "Organisation", "input.organisation")
        },
    }
    venue_id = db_id(input.venue, "Venue", "input.venue")
    report_id = await write(
        info.context,
        actor,
        _NAMES,
        report_venue_access,
        venue_id,
        record_of(input, _NAMES, special),
    )
    row = await info.context.run_primary(report_record, report_id)
    return VenueAccessReportPayload(
        report=VenueAccessReport(
            db_id=row["id"],
            venue_id=row["venue_id"],
            organisation_id=row["organisation_id"],
            private_note=row["note"],
            outcome=as_enum(AccessOutcome, row["outcome"]),
            suitability=row["suitability"],
            barriers=[AccessBarrier[b] for b in row["barriers"]],  # type: ignore[index]
            reported_on=row["reported_on"],
            version=row["version"],
        )
    )
