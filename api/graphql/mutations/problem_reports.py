"""`reportProblem` (anyone, no key) and `resolveProblemReport` (the entry's editors)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from api.errors import RateLimited
from api.graphql.mutations.common import actor_of, api_error, db_id, write
from api.graphql.mutations.verification import entry_of
from api.graphql.types.problem_report import (
    TYPE_NAME,
    ProblemKind,
    ProblemOutcome,
    ProblemReport,
    report_global_id,
)
from geo import vocab
from geo.queries.problem_reports import ReportScope, problem_reports
from geo.tables import MAX_PROBLEM_CONTACT, MAX_PROBLEM_MESSAGE
from geo.writes import WriteError
from geo.writes.problem_reports import report_problem, resolve_problem_report

if TYPE_CHECKING:
    from api.graphql.context import Context


@strawberry.type(description="The report was received and goes to the entry's editors.")
class ReportProblemPayload:
    id: strawberry.ID = strawberry.field(description="The report's id.")
    received: bool


@strawberry.type(description="The report as it is after resolving it.")
class ResolveProblemReportPayload:
    report: ProblemReport


async def _limited(context: Context) -> bytes:
    """The sender's hash; RATE_LIMITED (HTTP 429 with Retry-After) once its bucket is empty."""
    guard = context.report_guard
    if guard is None or context.request is None:
        return b"\x00" * 32  # no HTTP request (a script's own context): nobody to limit
    sender = guard.sender_hash(context.request.scope)
    decision = await guard.admit(sender)
    if decision is not None and not decision.allowed:
        if context.response is not None:
            context.response.status_code = 429
            context.response.headers["retry-after"] = str(decision.retry_after)
        raise RateLimited(
            f"Too many problem reports from this address; try again in {decision.retry_after} s",
            reason="too many problem reports",
            retryAfter=decision.retry_after,
        )
    return sender


async def resolve_report_problem(
    info: strawberry.Info[Context, None],
    entry: Annotated[
        strawberry.ID,
        strawberry.argument(description="The Activity, Venue or ImmigrantCouncil's global id."),
    ],
    kind: ProblemKind,  # type: ignore[valid-type]
    message: Annotated[
        str, strawberry.argument(description=f"What is wrong: 1 to {MAX_PROBLEM_MESSAGE} chars.")
    ],
    contact: Annotated[
        str | None,
        strawberry.argument(
            description=(
                f"How the editors may reach you (at most {MAX_PROBLEM_CONTACT} characters); "
                "private: shown to the entry's editors, analysts and admins only."
            )
        ),
    ] = None,
) -> ReportProblemPayload:
    entry_kind, entry_id = entry_of(entry, "entry")
    sender = await _limited(info.context)
    try:  # anyone may report: no actor, but the same one transaction as every write
        report_id = await info.context.write(
            report_problem,
            entry_kind,
            entry_id,
            vocab.ProblemKind(kind.value),
            message,
            contact,
            sender,
        )
    except WriteError as error:
        raise api_error(error, None) from None
    return ReportProblemPayload(id=strawberry.ID(report_global_id(report_id)), received=True)


async def resolve_resolve_problem_report(
    info: strawberry.Info[Context, None],
    id: Annotated[strawberry.ID, strawberry.argument(description="The report's id.")],
    outcome: ProblemOutcome,  # type: ignore[valid-type]
    note: Annotated[
        str | None, strawberry.argument(description="What was done, for the record.")
    ] = None,
    archive_entry: Annotated[
        bool,
        strawberry.argument(
            description=(
                "With CONFIRMED_CLOSED: archive the entry in the same transaction (as "
                "`archiveVenue` & co. would, with its audit row)."
            )
        ),
    ] = False,
) -> ResolveProblemReportPayload:
    actor = actor_of(info.context)
    report_id = await write(
        info.context,
        actor,
        None,
        resolve_problem_report,
        db_id(id, TYPE_NAME, "id"),
        vocab.ProblemOutcome(outcome.value),
        note,
        archive_entry,
    )
    rows, _ = await info.context.run_primary(problem_reports, ReportScope(), None, 1, report_id - 1)
    return ResolveProblemReportPayload(report=ProblemReport.from_row(rows[0]))
