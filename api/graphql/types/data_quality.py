"""`dataQuality`: each owner's backlog (unverified, stale, reported, incomplete entries)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from api.errors import Forbidden
from api.graphql.mutations.common import actor_of
from api.graphql.types.vocab import _graphql_enum
from geo.queries import data_quality as quality
from geo.queries.data_quality import QualityRow, data_quality
from geo.vocab import Role

if TYPE_CHECKING:
    from api.graphql.context import Context

DataQualityGroupBy = _graphql_enum(
    quality.DataQualityGroupBy, "What `dataQuality` groups entries by."
)


@strawberry.type(
    description=(
        "One owner's entries (live activities, venues and councils) and what needs work. "
        "Missing fields count the entries of the kinds that have the field."
    )
)
class DataQualityGroup:
    key: str | None = strawberry.field(
        description=(
            "The municipality or county number, or the organisation's database id (the key "
            "inside its global id); null: entries without such an owner."
        )
    )
    name: str | None
    entries: int
    activities: int
    venues: int
    councils: int
    verified: int = strawberry.field(
        description="Entries verified within HVERDAG_STALE_AFTER_DAYS days."
    )
    verified_share: float = strawberry.field(description="verified / entries (0 when none).")
    stale: int
    open_problem_reports: int = strawberry.field(description="Reports not yet resolved.")
    missing_schedule: int = strawberry.field(
        description="Activities without a weekly session, venues without an availability window."
    )
    missing_contact: int = strawberry.field(
        description=(
            "No way to reach it: an activity or venue without contact e-mail, phone or web "
            "page (booking page for a venue), a council without a website."
        )
    )
    missing_languages: int = strawberry.field(description="Activities with no language given.")

    @classmethod
    def from_row(cls, row: QualityRow) -> DataQualityGroup:
        return cls(
            key=row.key,
            name=row.name,
            entries=row.entries,
            activities=row.activities,
            venues=row.venues,
            councils=row.councils,
            verified=row.verified,
            verified_share=round(row.verified / row.entries, 4) if row.entries else 0.0,
            stale=row.stale,
            open_problem_reports=row.open_problem_reports,
            missing_schedule=row.missing_schedule,
            missing_contact=row.missing_contact,
            missing_languages=row.missing_languages,
        )


def _only(
    role: Role, group: quality.DataQualityGroupBy, municipality: str | None, org: int | None
) -> str | None:
    """The one group an editor may see (its own); None: every group (analysts, admins)."""
    if role is Role.MUNICIPALITY_EDITOR and group is quality.DataQualityGroupBy.MUNICIPALITY:
        return municipality
    if role is Role.ORGANISATION_EDITOR and group is quality.DataQualityGroupBy.ORGANISATION:
        return str(org)
    if role in (Role.ANALYST, Role.ADMIN):
        return None
    raise Forbidden(
        f"a {role.value} key sees its own backlog: group by "
        + ("MUNICIPALITY" if role is Role.MUNICIPALITY_EDITOR else "ORGANISATION"),
        field="groupBy",
    )


async def resolve_data_quality(
    info: strawberry.Info[Context, None],
    group_by: Annotated[
        DataQualityGroupBy,  # type: ignore[valid-type]
        strawberry.argument(description="MUNICIPALITY, COUNTY or ORGANISATION."),
    ],
) -> list[DataQualityGroup]:
    actor = actor_of(info.context)
    group = quality.DataQualityGroupBy(group_by.value)
    only = _only(actor.role, group, actor.municipality_number, actor.organisation_id)
    async with info.context.heavy_if(only is None):  # every entry of the country
        rows = await info.context.run(data_quality, group, info.context.stale_before, only)
    return [DataQualityGroup.from_row(row) for row in rows]
