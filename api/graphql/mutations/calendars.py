"""`importCalendar`: an organisation's iCalendar feed as its activities, the mutation twin of
``hverdag load ical`` (geo.records.ical reads, geo.writes.ical writes: docs/standards.md,
"Reading iCalendar")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from api import cpu
from api.errors import BadUserInput
from api.graphql.mutations.common import actor_of, api_error, write
from api.graphql.mutations.uploads import Upload, file_text
from api.graphql.types.activity import Activity
from api.graphql.types.vocab import ActivityCategory
from geo import vocab
from geo.queries.activities import activities_by_ids
from geo.records.ical import DEFAULT_CATEGORY, CalendarError, ReadCalendar, read_calendar
from geo.writes import WriteError
from geo.writes.ical import check_may_import, import_calendar, prepare_calendar

if TYPE_CHECKING:
    from api.graphql.context import Context


@strawberry.type(description="What a calendar's import did.")
class CalendarImportReport:
    created: int
    updated: int
    unchanged: int
    archived: int = strawberry.field(
        description="Activities of this feed and organisation whose event has left the feed."
    )
    warnings: list[str] = strawberry.field(
        description="Events left out, and why (a cancelled event: STATUS:CANCELLED)."
    )
    activities: list[Activity] = strawberry.field(
        description="The feed's activities, in its order (hverdag's own export: one per "
        "activity, not per schedule line)."
    )
    archived_activities: list[Activity] = strawberry.field(
        description="The activities this import archived."
    )


@strawberry.type
class CalendarImportPayload:
    report: CalendarImportReport


def _read(text: str, category: vocab.ActivityCategory, argument: str) -> ReadCalendar:
    """The calendar parsed and every event checked: CPU work, run in a worker thread."""
    try:
        return read_calendar(text, category)
    except CalendarError as error:
        raise BadUserInput(f"The calendar {error}", field=argument) from None


async def resolve_import_calendar(
    info: strawberry.Info[Context, None],
    source: Annotated[
        str,
        strawberry.argument(
            description=(
                "The feed's URL or name: its activities are found by it (and each event's UID) "
                "when the same feed comes again, and those whose event has gone are archived."
            )
        ),
    ],
    content: Annotated[
        str | None,
        strawberry.argument(
            description="The calendar's text (.ics), as a variable; or give `file`."
        ),
    ] = None,
    file: Annotated[
        Upload | None,
        strawberry.argument(
            description=(
                "The .ics file through the GraphQL multipart request convention "
                "(docs/writes.md), up to HVERDAG_MAX_UPLOAD_BYTES. Give `file` or `content`."
            )
        ),
    ] = None,
    organisation: Annotated[
        str | None,
        strawberry.argument(
            description=(
                "The organisation number whose activities these are. Default: an "
                "organisation editor's own; an admin must give it."
            )
        ),
    ] = None,
    category: Annotated[
        ActivityCategory | None,  # type: ignore[valid-type]
        strawberry.argument(
            description=(
                "The category of events whose CATEGORIES name none of hverdag's (their "
                "names or Norwegian terms). Default: MEETING_PLACE."
            )
        ),
    ] = None,
) -> CalendarImportPayload:
    actor = actor_of(info.context)
    try:  # a key that may not import, or a bad argument, is told so before the file is read
        check_may_import(actor)
        prepare_calendar(actor, ReadCalendar([], [], []), source, organisation)
    except WriteError as error:
        raise api_error(error, None) from None
    text = await file_text(content, file)
    default = (
        vocab.ActivityCategory(category.value)  # type: ignore[attr-defined]
        if category is not None
        else DEFAULT_CATEGORY
    )
    read = await cpu.run(_read, text, default, "content" if file is None else "file")
    prepared = prepare_calendar(actor, read, source, organisation)  # checked above
    result = await write(info.context, actor, None, import_calendar, prepared)
    rows = await info.context.run_primary(activities_by_ids, result.ids + result.archived_ids)
    return CalendarImportPayload(
        report=CalendarImportReport(
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            archived=result.archived,
            warnings=result.warnings,
            activities=[Activity.from_row(rows[i]) for i in result.ids],
            archived_activities=[Activity.from_row(rows[i]) for i in result.archived_ids],
        )
    )
