"""What makes an entry trustworthy: when it was last verified, by whom, and whether that is too
long ago (geo.freshness), shared by activities, venues and councils."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import strawberry

from geo.freshness import is_stale

#: The API type's name → the kind a problem report names its entry by.
ENTRY_KINDS = {"Activity": "ACTIVITY", "Venue": "VENUE", "ImmigrantCouncil": "COUNCIL"}

if TYPE_CHECKING:
    from api.graphql.context import Context


@strawberry.interface(
    description=(
        "An entry someone vouches for: `lastVerifiedAt` moves when an editor confirms it "
        "unchanged (`verifyEntries`) or a load re-imports it, not only when it changes."
    )
)
class Verifiable:
    last_verified_at: datetime = strawberry.field(
        description="When the entry was last confirmed true (UTC)."
    )
    verified_by: str | None = strawberry.field(
        description=(
            "Who confirmed it: the source of the load that re-imported it, or the kind of key "
            "and its scope (`MUNICIPALITY_EDITOR 0301`, `ORGANISATION_EDITOR 12`, `ADMIN`)."
        )
    )

    @strawberry.field(
        description=(
            "Not verified for HVERDAG_STALE_AFTER_DAYS days (180 by default): show it with a "
            "warning. Judged by the day, in UTC."
        )
    )
    def stale(self, info: strawberry.Info[Context, None]) -> bool:
        return is_stale(self.last_verified_at, info.context.stale_before)

    @strawberry.field(
        description="Someone reported a problem with it that its editors have not resolved yet."
    )
    async def has_open_problem_report(self, info: strawberry.Info[Context, None]) -> bool:
        key = (ENTRY_KINDS[type(self).__name__], int(self.node_key()))  # type: ignore[attr-defined]
        return await info.context.open_reports.load(key) > 0


def verification(row: Any) -> dict[str, Any]:
    """The Verifiable fields of a geo row."""
    return {"last_verified_at": row.last_verified_at, "verified_by": row.verified_by}
