"""Problem reports the public sends about an entry: the editors' work queue."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from api.checks import b64encode_text
from api.graphql.mutations.common import actor_of
from api.graphql.relay import PageInfo, decode_cursor, encode_cursor, page_size
from api.graphql.types.privacy import may_read_private
from api.graphql.types.vocab import _graphql_enum
from geo import vocab
from geo.queries.problem_reports import ProblemReportRow, ReportScope, problem_reports

if TYPE_CHECKING:
    from api.graphql.context import Context

TYPE_NAME = "ProblemReport"
_CONNECTION = "problemReports"
_KEY = re.compile(r"[0-9]{1,18}")

EntryKind = _graphql_enum(vocab.EntryKind, "The kinds of directory entry.")
ProblemKind = _graphql_enum(vocab.ProblemKind, "What is wrong with an entry.")
ProblemStatus = _graphql_enum(vocab.ProblemStatus, "Whether a problem report is dealt with.")
ProblemOutcome = _graphql_enum(vocab.ProblemOutcome, "How an editor resolved a problem report.")


def report_global_id(report_id: int) -> str:
    return b64encode_text(f"{TYPE_NAME}:{report_id}")


@strawberry.type(
    description=(
        "A problem someone reported with an entry. Seen by the entry's editors (a venue's or "
        "council's municipality, an activity's organisation), analysts and admins."
    )
)
class ProblemReport:
    municipality_number: strawberry.Private[str | None]
    organisation_id: strawberry.Private[int | None]
    private_contact: strawberry.Private[str | None]
    id: strawberry.ID = strawberry.field(description="Pass it to `resolveProblemReport`.")
    entry_kind: EntryKind  # type: ignore[valid-type]
    entry_id: strawberry.ID = strawberry.field(description="The entry's global id.")
    entry_name: str | None = strawberry.field(description="The entry's title or name.")
    source: str = strawberry.field(
        description='"public" (someone sent it), or "brreg" (Enhetsregisteret\'s update feed).'
    )
    kind: ProblemKind  # type: ignore[valid-type]
    message: str
    status: ProblemStatus  # type: ignore[valid-type]
    outcome: ProblemOutcome | None  # type: ignore[valid-type]
    resolution_note: str | None
    resolved_by: str | None = strawberry.field(description="The label of the resolving key.")
    resolved_at: datetime | None
    created_at: datetime

    @strawberry.field(
        description=(
            "How to reach the reporter, if they left a way. Private: analysts, admins and the "
            "entry's own editor only."
        )
    )
    def contact(self, info: strawberry.Info[Context, None]) -> str | None:
        if not may_read_private(
            info.context.principal,
            municipality_number=self.municipality_number,
            organisation_id=self.organisation_id,
        ):
            return None
        return self.private_contact

    @classmethod
    def from_row(cls, row: ProblemReportRow) -> ProblemReport:
        node_type = {"ACTIVITY": "Activity", "VENUE": "Venue", "COUNCIL": "ImmigrantCouncil"}
        return cls(
            municipality_number=row.municipality_number,
            organisation_id=row.organisation_id,
            private_contact=row.contact,
            id=strawberry.ID(report_global_id(row.id)),
            entry_kind=EntryKind[row.entry_kind],
            entry_id=strawberry.ID(b64encode_text(f"{node_type[row.entry_kind]}:{row.entry_id}")),
            entry_name=row.entry_name,
            source=row.source,
            kind=ProblemKind[row.kind],
            message=row.message,
            status=ProblemStatus[row.status],
            outcome=None if row.outcome is None else ProblemOutcome[row.outcome],
            resolution_note=row.resolution_note,
            resolved_by=row.resolved_by,
            resolved_at=row.resolved_at,
            created_at=row.created_at,
        )


@strawberry.type(description="Problem reports, oldest first.")
class ProblemReportConnection:
    nodes: list[ProblemReport]
    page_info: PageInfo


async def resolve_problem_reports(
    info: strawberry.Info[Context, None],
    status: Annotated[
        ProblemStatus | None,  # type: ignore[valid-type]
        strawberry.argument(description="OPEN (the default) or RESOLVED; null: both."),
    ] = vocab.ProblemStatus.OPEN,  # type: ignore[assignment]
    first: Annotated[int | None, strawberry.argument(description="Page size.")] = 50,
    after: Annotated[str | None, strawberry.argument(description="`endCursor`.")] = None,
) -> ProblemReportConnection:
    actor = actor_of(info.context)
    scope = ReportScope.of(actor.role, actor.municipality_number, actor.organisation_id)
    size = page_size(first, info.context.max_page_size)
    key = decode_cursor(after, _CONNECTION, _KEY)
    wanted = None if status is None else vocab.ProblemStatus(status.value)
    rows, more = await info.context.run(
        problem_reports, scope, wanted, size, None if key is None else int(key)
    )
    nodes = [ProblemReport.from_row(row) for row in rows]
    cursors = [encode_cursor(_CONNECTION, str(row.id)) for row in rows]
    return ProblemReportConnection(
        nodes=nodes,
        page_info=PageInfo(
            has_next_page=more,
            has_previous_page=after is not None,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        ),
    )
