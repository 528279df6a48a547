"""Activity mutations: create, update, archive and restore, by the organisation that runs them."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from api.graphql.inputs import LatLonInput
from api.graphql.mutations.common import (
    LOCATION_PATHS,
    InputNames,
    Version,
    actor_of,
    archive_and_restore,
    db_id,
    location_cells,
    record_of,
    write,
)
from api.graphql.types.activity import Activity
from api.graphql.types.vocab import ActivityCategory, ActivityStatus, TargetGroup, Weekday
from geo.queries.activities import activities_by_ids
from geo.writes.activities import create_activity, set_activity_archived, update_activity

if TYPE_CHECKING:
    from api.graphql.context import Context

UNSET: Any = strawberry.UNSET


@strawberry.input(
    description="A weekly session (Europe/Oslo local time), optionally only within dates."
)
class SessionInput:
    weekday: Weekday  # type: ignore[valid-type]
    start: str = strawberry.field(description='"HH:MM".')
    end: str = strawberry.field(description='"HH:MM", after the start.')
    valid_from: date | None = None
    valid_to: date | None = None


def _schedule(value: list[SessionInput] | None) -> dict[str, Any]:
    sessions = []
    for s in value or []:
        text = f"{s.weekday.value} {s.start}-{s.end}"  # type: ignore[attr-defined]
        if s.valid_from or s.valid_to:
            text += f" {s.valid_from or ''}..{s.valid_to or ''}"
        sessions.append(text)
    return {"schedule": sessions}


def _ref(type_name: str, column: str, field: str) -> Any:
    def cells(value: strawberry.ID | None) -> dict[str, Any]:
        return {column: None if value is None else db_id(value, type_name, field)}

    return cells


_SPECIAL = {
    "location": location_cells,
    "schedule": _schedule,
    "venue": _ref("Venue", "venue_id", "input.venue"),
    "organiser": _ref("Organisation", "organisation_id", "input.organiser"),
}
#: The write's checks name the venue and the organiser "venue" and "organisation".
_NAMES = InputNames(paths={**LOCATION_PATHS, "organisation": "input.organiser"})


@strawberry.input(
    description=(
        "A new activity: at a `venue` (it takes the venue's point) or at its own `location`. An "
        "organisation editor's activity is its organisation's (leave `organiser` out or give its "
        "own). Contact fields are private."
    )
)
class ActivityInput:
    title: str
    category: ActivityCategory  # type: ignore[valid-type]
    venue: strawberry.ID | None = None
    location: LatLonInput | None = None
    organiser: strawberry.ID | None = None
    description: str | None = None
    target_groups: list[TargetGroup] | None = None  # type: ignore[valid-type]
    min_age: int | None = None
    max_age: int | None = None
    languages: list[str] | None = strawberry.field(
        default=None, description="BCP 47 tags (normalised: no → nb, prs → fa-AF)."
    )
    free: bool | None = strawberry.field(default=None, description="Default: no cost given.")
    cost_nok: float | None = None
    leisure_card_accepted: bool | None = None
    registration_required: bool | None = None
    registration_url: str | None = None
    pauses_in_school_holidays: bool | None = strawberry.field(
        default=None, description="Skip the municipality's school holidays. Default: false."
    )
    status: ActivityStatus | None = None  # type: ignore[valid-type]
    url: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    schedule: list[SessionInput] | None = None


@strawberry.input(
    description="Changes to an activity: only the fields given change; "
    "`schedule`, when given, replaces every session."
)
class ActivityChangesInput:
    title: str | None = UNSET
    category: ActivityCategory | None = UNSET  # type: ignore[valid-type]
    venue: strawberry.ID | None = UNSET
    location: LatLonInput | None = UNSET
    organiser: strawberry.ID | None = UNSET
    description: str | None = UNSET
    target_groups: list[TargetGroup] | None = UNSET  # type: ignore[valid-type]
    min_age: int | None = UNSET
    max_age: int | None = UNSET
    languages: list[str] | None = UNSET
    free: bool | None = UNSET
    cost_nok: float | None = UNSET
    leisure_card_accepted: bool | None = UNSET
    registration_required: bool | None = UNSET
    registration_url: str | None = UNSET
    pauses_in_school_holidays: bool | None = UNSET
    status: ActivityStatus | None = UNSET  # type: ignore[valid-type]
    url: str | None = UNSET
    contact_name: str | None = UNSET
    contact_email: str | None = UNSET
    contact_phone: str | None = UNSET
    schedule: list[SessionInput] | None = UNSET


@strawberry.type(description="The activity as it is after the write.")
class ActivityPayload:
    activity: Activity


async def _payload(context: Context, activity_id: int) -> ActivityPayload:
    rows = await context.run_primary(activities_by_ids, [activity_id])
    return ActivityPayload(activity=Activity.from_row(rows[activity_id]))


ActivityId = Annotated[strawberry.ID, strawberry.argument(description="The activity's global id.")]


async def resolve_create_activity(
    info: strawberry.Info[Context, None], input: ActivityInput
) -> ActivityPayload:
    actor = actor_of(info.context)
    activity_id = await write(
        info.context, actor, _NAMES, create_activity, record_of(input, _NAMES, _SPECIAL)
    )
    return await _payload(info.context, activity_id)


async def resolve_update_activity(
    info: strawberry.Info[Context, None],
    id: ActivityId,
    version: Version,
    input: ActivityChangesInput,
) -> ActivityPayload:
    actor = actor_of(info.context)
    activity_id = await write(
        info.context,
        actor,
        _NAMES,
        update_activity,
        db_id(id, "Activity", "id"),
        version,
        record_of(input, _NAMES, _SPECIAL),
    )
    return await _payload(info.context, activity_id)


resolve_archive_activity, resolve_restore_activity = archive_and_restore(
    "Activity", ActivityId, set_activity_archived, _payload, ActivityPayload
)
