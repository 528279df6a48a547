"""The Venue type: premises volunteers may use, with their weekly availability."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, time
from typing import TYPE_CHECKING, Annotated, ClassVar

import strawberry

from api.checks import NodeType
from api.graphql.projection import RowTable, column
from api.graphql.relay import NodeKind
from api.graphql.types.activity import Activity
from api.graphql.types.entry import (
    LOCATION_FIELD,
    STAMP_FIELDS,
    VERIFICATION_FIELDS,
    DirectoryEntry,
    global_id_field,
    locations_of,
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
    OwnerType,
    PriceModel,
    VenueType,
    Weekday,
    as_enum,
    weekday_of,
)
from geo.queries.rows import filled_without_init
from geo.queries.translations import TranslationRow
from geo.queries.venues import VenueRow

if TYPE_CHECKING:
    from api.graphql.context import Context
    from api.graphql.types.municipality import Municipality


@strawberry.type(
    description="A weekly window in which volunteers may use a venue (Europe/Oslo local time)."
)
class AvailabilityWindow:
    weekday: Weekday  # type: ignore[valid-type]
    from_: time = strawberry.field(name="from")
    to: time


@strawberry.type(
    description="Premises (a school, library, culture house, …) that volunteers "
    "may use, and on what terms."
)
class Venue(DirectoryEntry, Verifiable):
    NODE_TYPE: ClassVar[str] = NodeType.VENUE

    db_id: strawberry.Private[int]
    owner_organisation_id: strawberry.Private[int | None]
    municipality_number: strawberry.Private[str | None]
    contact_name: strawberry.Private[str | None]
    contact_email: strawberry.Private[str | None]
    contact_phone: strawberry.Private[str | None]
    name: str
    description: str | None
    venue_type: VenueType  # type: ignore[valid-type]
    owner_type: OwnerType  # type: ignore[valid-type]
    address: str | None
    postal_code: str | None
    postal_place: str | None
    location: LatLon = strawberry.field(description="The venue's point (WGS84).")
    capacity: int | None = strawberry.field(description="People it holds.")
    price_model: PriceModel | None = strawberry.field(  # type: ignore[valid-type]
        description="What volunteers pay; null when the source does not say."
    )
    price_note: str | None
    step_free: bool | None = strawberry.field(
        description="Step-free access (trinnfri adkomst); null: not known."
    )
    accessibility: list[str] = strawberry.field(description="Other accessibility facts.")
    amenities: list[str] = strawberry.field(
        description="Kitchen, projector, storage, office equipment, …"
    )
    suitable_categories: list[ActivityCategory] = strawberry.field(  # type: ignore[valid-type]
        description="Activities the premises suit."
    )
    booking_url: str | None
    last_verified: date | None = strawberry.field(description="When the facts were checked.")
    TRANSLATION_KIND: ClassVar[str] = "venue"
    #: The translations the reader gets, by field (api.graphql.types.translation.localize).
    translated: strawberry.Private[Mapping[str, TranslationRow] | None] = None

    @strawberry.field(description="`description` with its language and state.")
    def description_text(self) -> LocalizedText | None:
        return text_of(self, "description", self.description)

    @strawberry.field(description="`priceNote` (terms of use, practical notes) with its language.")
    def price_note_text(self) -> LocalizedText | None:
        return text_of(self, "price_note", self.price_note)

    @strawberry.field(description="Every translation of its texts, by field and language.")
    async def translations(self, info: strawberry.Info[Context, None]) -> list[Translation]:
        return await translations_of(info, self)

    def node_type_name(self) -> str:
        return self.NODE_TYPE

    def node_key(self) -> str:
        return str(self.db_id)

    #: Each attribute from the row (api.graphql.projection), for from_row and the compiled path,
    #: which renders the fields of a VenueRow straight from it.
    ROW_TABLE: ClassVar[RowTable]
    ROW_CLASS: ClassVar[type[VenueRow]] = VenueRow

    @classmethod
    def from_row(cls, row: VenueRow, location: LatLon | None = None) -> Venue:
        """The row as the API type; ``location`` when already transformed (locations_of)."""
        given = {} if location is None else {"location": location}
        return filled_without_init(cls, cls.ROW_TABLE.values(row, translated=None, **given))

    @strawberry.field(description="Weekly windows in which volunteers may use it.")
    async def availability(self, info: strawberry.Info[Context, None]) -> list[AvailabilityWindow]:
        rows = await info.context.loaders.directory.availability.load(self.db_id)
        return [
            AvailabilityWindow(weekday=weekday_of(r.weekday), from_=r.starts, to=r.ends)
            for r in rows
        ]

    @strawberry.field(description="The active activities held here, by title.")
    async def activities(self, info: strawberry.Info[Context, None]) -> list[Activity]:
        rows = await info.context.loaders.directory.activities_at_venue.load(self.db_id)
        held = [Activity.from_row(r, at) for r, at in zip(rows, locations_of(rows), strict=True)]
        await localize(info.context, held)
        return held

    @strawberry.field(description="The organisation that owns it, when one does.")
    async def owner(self, info: strawberry.Info[Context, None]) -> Organisation | None:
        if self.owner_organisation_id is None:
            return None
        row = await info.context.loaders.directory.organisation.load(self.owner_organisation_id)
        return None if row is None else Organisation.from_row(row)

    @strawberry.field(
        description=(
            "The contact person. Private (a person's name, e-mail and phone): null for the public "
            "and for other editors; given to analysts, admins and the row's own editor."
        )
    )
    def contact(self, info: strawberry.Info[Context, None]) -> Contact | None:
        if not may_read_private(
            info.context.principal,
            municipality_number=self.municipality_number,
            organisation_id=self.owner_organisation_id,
        ):
            return None
        return contact_or_none(self.contact_name, self.contact_email, self.contact_phone)

    @strawberry.field(description="The municipality its point lies in (a spatial join).")
    async def municipality(
        self, info: strawberry.Info[Context, None]
    ) -> Annotated[Municipality, strawberry.lazy("api.graphql.types.municipality")] | None:
        return await municipality_of(info, self.municipality_number)


async def _fetch_node(context: Context, key: str) -> Venue | None:
    row = await context.loaders.directory.venue.load(int(key))
    return None if row is None else Venue.from_row(row)


Venue.ROW_TABLE = RowTable(
    {
        "db_id": column("id"),
        "owner_organisation_id": column("owner_organisation_id"),
        "municipality_number": column("municipality_number"),
        "contact_name": column("contact_name"),
        "contact_email": column("contact_email"),
        "contact_phone": column("contact_phone"),
        "name": column("name"),
        "description": column("description"),
        "venue_type": column("venue_type", VenueType.__getitem__),
        "owner_type": column("owner_type", OwnerType.__getitem__),
        "address": column("address"),
        "postal_code": column("postal_code"),
        "postal_place": column("postal_place"),
        "location": LOCATION_FIELD,
        "capacity": column("capacity"),
        "price_model": column("price_model", lambda value: as_enum(PriceModel, value)),
        "price_note": column("price_note"),
        "step_free": column("step_free"),
        "accessibility": column("accessibility", list),
        "amenities": column("amenities", list),
        "suitable_categories": column(
            "suitable_categories", lambda categories: [ActivityCategory[c] for c in categories]
        ),
        "booking_url": column("booking_url"),
        "last_verified": column("last_verified"),
        **STAMP_FIELDS,
        **VERIFICATION_FIELDS,
    },
    resolvers={
        "id": global_id_field(NodeType.VENUE),
        "description_text": localized_field("description"),
        "price_note_text": localized_field("price_note"),
    },
)

VENUE_NODE = NodeKind(Venue.NODE_TYPE, re.compile(r"[0-9]{1,18}"), _fetch_node)
