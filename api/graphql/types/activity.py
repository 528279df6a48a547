"""The Activity type: a volunteer activity for newcomers, with its schedule, cost and place."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, ClassVar

import strawberry

from api.checks import NodeType
from api.errors import BadUserInput
from api.graphql.projection import RowField, RowTable, column
from api.graphql.relay import NodeKind
from api.graphql.types.entry import (
    LOCATION_FIELD,
    STAMP_FIELDS,
    VERIFICATION_FIELDS,
    DirectoryEntry,
    global_id_field,
    municipality_of,
)
from api.graphql.types.freshness import Verifiable
from api.graphql.types.geometry import LatLon
from api.graphql.types.organisation import Organisation
from api.graphql.types.privacy import Contact, contact_or_none, may_read_private
from api.graphql.types.translation import (
    LocalizedText,
    Translation,
    localize,
    localized_field,
    text_of,
    translations_of,
)
from api.graphql.types.vocab import (
    ActivityCategory,
    ActivityStatus,
    TargetGroup,
    Weekday,
    weekday_of,
)
from geo.queries.activities import ActivityRow
from geo.queries.rows import filled_without_init
from geo.queries.translations import TranslationRow
from geo.sessions import OSLO, occurrences, skipped_days

if TYPE_CHECKING:
    from api.graphql.context import Context
    from api.graphql.types.municipality import Municipality
    from api.graphql.types.venue import Venue


@strawberry.type(description="What taking part costs.")
class Cost:
    free: bool = strawberry.field(description="Free of charge.")
    amount_nok: float | None = strawberry.field(description="Price in NOK when not free.")
    leisure_card_accepted: bool = strawberry.field(
        description="Fritidskortet (the leisure card for children and youth) is accepted."
    )


@strawberry.type(description="A weekly session, in Europe/Oslo local time.")
class Session:
    weekday: Weekday  # type: ignore[valid-type]
    start: time
    end: time
    valid_from: date | None = strawberry.field(description="First date; null: open.")
    valid_to: date | None = strawberry.field(description="Last date; null: open.")


@strawberry.type(
    description="One session on its date, with Norway's offset (Europe/Oslo wall-clock time)."
)
class SessionOccurrence:
    start: datetime
    end: datetime


#: nextSessions' reach: a year from its first day, at most MAX_NEXT_SESSIONS sessions.
NEXT_SESSIONS_DAYS, MAX_NEXT_SESSIONS = 365, 100


@strawberry.type(description="A volunteer activity: språkkafé, leksehjelp, sports, …")
class Activity(DirectoryEntry, Verifiable):
    NODE_TYPE: ClassVar[str] = NodeType.ACTIVITY

    db_id: strawberry.Private[int]
    organisation_id: strawberry.Private[int | None]
    venue_id: strawberry.Private[int | None]
    municipality_number: strawberry.Private[str | None]
    contact_name: strawberry.Private[str | None]
    contact_email: strawberry.Private[str | None]
    contact_phone: strawberry.Private[str | None]
    title: str
    description: str | None
    category: ActivityCategory  # type: ignore[valid-type]
    target_groups: list[TargetGroup]  # type: ignore[valid-type]
    min_age: int | None = strawberry.field(description="Youngest age welcome; null: no limit.")
    max_age: int | None = strawberry.field(description="Oldest age welcome; null: no limit.")
    languages: list[str] = strawberry.field(
        description="Languages spoken, BCP 47 tags as normalised (nb, ar, fa-AF for Dari)."
    )
    cost: Cost
    registration_required: bool
    registration_url: str | None
    pauses_in_school_holidays: bool = strawberry.field(
        description="Its sessions skip its municipality's school holidays (as loaded by the "
        "operator); public holidays are always skipped."
    )
    status: ActivityStatus  # type: ignore[valid-type]
    url: str | None
    location: LatLon = strawberry.field(
        description="Where it happens (WGS84): its venue's point when it has a venue."
    )
    TRANSLATION_KIND: ClassVar[str] = "activity"
    #: The translations the reader gets, by field (api.graphql.types.translation.localize).
    translated: strawberry.Private[Mapping[str, TranslationRow] | None] = None

    @strawberry.field(description="`title` with its language and state.")
    def title_text(self) -> LocalizedText:
        text = text_of(self, "title", self.title)
        assert text is not None  # a title is required
        return text

    @strawberry.field(description="`description` with its language and state.")
    def description_text(self) -> LocalizedText | None:
        return text_of(self, "description", self.description)

    @strawberry.field(description="Every translation of its texts, by field and language.")
    async def translations(self, info: strawberry.Info[Context, None]) -> list[Translation]:
        return await translations_of(info, self)

    def node_type_name(self) -> str:
        return self.NODE_TYPE

    def node_key(self) -> str:
        return str(self.db_id)

    #: Each attribute from the row (api.graphql.projection), for from_row and the compiled path,
    #: which renders the fields of a ActivityRow straight from it.
    ROW_TABLE: ClassVar[RowTable]
    ROW_CLASS: ClassVar[type[ActivityRow]] = ActivityRow

    @classmethod
    def from_row(cls, row: ActivityRow, location: LatLon | None = None) -> Activity:
        """The row as the API type; ``location`` when already transformed (locations_of)."""
        given = {} if location is None else {"location": location}
        return filled_without_init(cls, cls.ROW_TABLE.values(row, translated=None, **given))

    @strawberry.field(
        description="The coming sessions, from `from` (default: today in Norway) for a year: "
        "the weekly schedule less Norway's public holidays, the dates its organiser cancelled "
        "and, when it pauses in them, its municipality's school holidays. The same dates as "
        "its iCalendar (/calendar/activities/{id}.ics) and its OpenActive ScheduledSessions. "
        "At most `first` (default 10, at most 100); none when it is not active."
    )
    async def next_sessions(
        self,
        info: strawberry.Info[Context, None],
        first: int = 10,
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
    ) -> list[SessionOccurrence]:
        if not 0 <= first <= MAX_NEXT_SESSIONS:
            raise BadUserInput(
                f"first must be within 0..{MAX_NEXT_SESSIONS}, got {first}", field="first"
            )
        today = datetime.now(OSLO).date()
        start = from_ or today
        if abs((start - today).days) > 2 * NEXT_SESSIONS_DAYS:
            raise BadUserInput("from must be within two years of today", field="from")
        found = await info.context.loaders.directory.calendar.load(self.db_id)
        if found is None or not found.live or first == 0:
            return []
        last = start + timedelta(days=NEXT_SESSIONS_DAYS)
        skipped = skipped_days(
            start,
            last,
            cancelled=found.cancelled,
            school_holidays=found.school_holidays,
            pauses_in_school_holidays=found.pauses_in_school_holidays,
        )
        return [
            SessionOccurrence(start=o.starts, end=o.ends)
            for o in occurrences(found.sessions, start, last, skipped)[:first]
        ]

    @strawberry.field(description="Weekly sessions, by weekday and start time.")
    async def schedule(self, info: strawberry.Info[Context, None]) -> list[Session]:
        rows = await info.context.loaders.directory.schedules.load(self.db_id)
        return [
            Session(
                weekday=weekday_of(r.weekday),
                start=r.starts,
                end=r.ends,
                valid_from=r.valid_from,
                valid_to=r.valid_to,
            )
            for r in rows
        ]

    @strawberry.field(description="Who runs it.")
    async def organiser(self, info: strawberry.Info[Context, None]) -> Organisation | None:
        if self.organisation_id is None:
            return None
        row = await info.context.loaders.directory.organisation.load(self.organisation_id)
        return None if row is None else Organisation.from_row(row)

    @strawberry.field(description="Where it is held, when at a venue.")
    async def venue(
        self, info: strawberry.Info[Context, None]
    ) -> Annotated[Venue, strawberry.lazy("api.graphql.types.venue")] | None:
        from api.graphql.types.venue import Venue

        if self.venue_id is None:
            return None
        row = await info.context.loaders.directory.venue.load(self.venue_id)
        if row is None:
            return None
        held_at = Venue.from_row(row)
        await localize(info.context, [held_at])
        return held_at

    @strawberry.field(
        description=(
            "The contact person. Private (a person's name, e-mail and phone): null for the public "
            "and for other editors; given to analysts, admins and the row's own editor."
        )
    )
    def contact(self, info: strawberry.Info[Context, None]) -> Contact | None:
        if not may_read_private(info.context.principal, organisation_id=self.organisation_id):
            return None
        return contact_or_none(self.contact_name, self.contact_email, self.contact_phone)

    @strawberry.field(description="The municipality its point lies in.")
    async def municipality(
        self, info: strawberry.Info[Context, None]
    ) -> Annotated[Municipality, strawberry.lazy("api.graphql.types.municipality")] | None:
        return await municipality_of(info, self.municipality_number)


async def _fetch_node(context: Context, key: str) -> Activity | None:
    row = await context.loaders.directory.activity.load(int(key))
    return None if row is None else Activity.from_row(row)


def _cost(row: ActivityRow) -> Cost:
    return filled_without_init(
        Cost,
        {
            "free": row.free,
            "amount_nok": None if row.cost_nok is None else float(row.cost_nok),
            "leisure_card_accepted": row.leisure_card_accepted,
        },
    )


Activity.ROW_TABLE = RowTable(
    {
        "db_id": column("id"),
        "organisation_id": column("organisation_id"),
        "venue_id": column("venue_id"),
        "municipality_number": column("municipality_number"),
        "contact_name": column("contact_name"),
        "contact_email": column("contact_email"),
        "contact_phone": column("contact_phone"),
        "title": column("title"),
        "description": column("description"),
        "category": column("category", ActivityCategory.__getitem__),
        "target_groups": column("target_groups", lambda groups: [TargetGroup[g] for g in groups]),
        "min_age": column("min_age"),
        "max_age": column("max_age"),
        "languages": column("languages", list),
        "cost": RowField(("free", "cost_nok", "leisure_card_accepted"), _cost),
        "registration_required": column("registration_required"),
        "registration_url": column("registration_url"),
        "pauses_in_school_holidays": column("pauses_in_school_holidays"),
        "status": column("status", ActivityStatus.__getitem__),
        "url": column("url"),
        "location": LOCATION_FIELD,
        **STAMP_FIELDS,
        **VERIFICATION_FIELDS,
    },
    resolvers={
        "id": global_id_field(NodeType.ACTIVITY),
        "title_text": localized_field("title"),
        "description_text": localized_field("description"),
    },
)

ACTIVITY_NODE = NodeKind(Activity.NODE_TYPE, re.compile(r"[0-9]{1,18}"), _fetch_node)
