"""Venue mutations: create, update, archive, restore, and a municipality's bulk import."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from api import cpu
from api.errors import BadUserInput
from api.graphql.inputs import LatLonInput
from api.graphql.mutations.common import (
    LOCATION_PATHS,
    InputNames,
    Version,
    actor_of,
    api_error,
    archive_and_restore,
    db_id,
    location_cells,
    record_of,
    write,
)
from api.graphql.mutations.uploads import Upload, file_text
from api.graphql.types.venue import Venue
from api.graphql.types.vocab import ActivityCategory, OwnerType, PriceModel, VenueType, Weekday
from geo.queries.venues import venues_by_ids
from geo.records.content import csv_records, geojson_records
from geo.validation import FieldError
from geo.writes import Actor, WriteError
from geo.writes.venues import (
    PreparedImport,
    create_venue,
    prepare_import,
    set_venue_archived,
    update_venue,
    write_import,
)

if TYPE_CHECKING:
    from api.graphql.context import Context

UNSET: Any = strawberry.UNSET


@strawberry.input(
    description="A weekly window in which volunteers may use a venue "
    "(Europe/Oslo local time), e.g. MONDAY 17:00-21:00."
)
class AvailabilityWindowInput:
    weekday: Weekday  # type: ignore[valid-type]
    from_: str = strawberry.field(name="from", description='Start, "HH:MM".')
    to: str = strawberry.field(description='End, "HH:MM", after the start.')


def _windows(value: list[AvailabilityWindowInput] | None) -> dict[str, Any]:
    return {
        "availability": [
            f"{w.weekday.value} {w.from_}-{w.to}"  # type: ignore[attr-defined]
            for w in value or []
        ]
    }


_SPECIAL = {"location": location_cells, "availability": _windows}
_NAMES = InputNames(paths=LOCATION_PATHS)


@strawberry.input(
    description=(
        "A new venue. Its municipality comes from `location` (a spatial join), so a municipality "
        "editor can place venues in its own municipality only. Contact fields are private: only "
        "analysts, admins and the municipality's editors read them back."
    )
)
class VenueInput:
    name: str
    venue_type: VenueType  # type: ignore[valid-type]
    owner_type: OwnerType  # type: ignore[valid-type]
    location: LatLonInput
    description: str | None = None
    address: str | None = None
    postal_code: str | None = None
    postal_place: str | None = None
    capacity: int | None = None
    price_model: PriceModel | None = None  # type: ignore[valid-type]
    price_note: str | None = None
    step_free: bool | None = None
    accessibility: list[str] | None = None
    amenities: list[str] | None = None
    suitable_categories: list[ActivityCategory] | None = None  # type: ignore[valid-type]
    booking_url: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    last_verified: date | None = None
    availability: list[AvailabilityWindowInput] | None = strawberry.field(
        default=None, description="Weekly windows; none: not known."
    )


@strawberry.input(
    description=(
        "Changes to a venue: only the fields given change (null clears one); `availability`, "
        "when given, replaces all windows. A new `location` must stay in the editor's "
        "municipality."
    )
)
class VenueChangesInput:
    name: str | None = UNSET
    venue_type: VenueType | None = UNSET  # type: ignore[valid-type]
    owner_type: OwnerType | None = UNSET  # type: ignore[valid-type]
    location: LatLonInput | None = UNSET
    description: str | None = UNSET
    address: str | None = UNSET
    postal_code: str | None = UNSET
    postal_place: str | None = UNSET
    capacity: int | None = UNSET
    price_model: PriceModel | None = UNSET  # type: ignore[valid-type]
    price_note: str | None = UNSET
    step_free: bool | None = UNSET
    accessibility: list[str] | None = UNSET
    amenities: list[str] | None = UNSET
    suitable_categories: list[ActivityCategory] | None = UNSET  # type: ignore[valid-type]
    booking_url: str | None = UNSET
    contact_name: str | None = UNSET
    contact_email: str | None = UNSET
    contact_phone: str | None = UNSET
    last_verified: date | None = UNSET
    availability: list[AvailabilityWindowInput] | None = UNSET


@strawberry.type(description="The venue as it is after the write.")
class VenuePayload:
    venue: Venue


async def venue_payload(context: Context, venue_id: int) -> VenuePayload:
    rows = await context.run_primary(venues_by_ids, [venue_id])
    return VenuePayload(venue=Venue.from_row(rows[venue_id]))


VenueId = Annotated[strawberry.ID, strawberry.argument(description="The venue's global id.")]


async def resolve_create_venue(
    info: strawberry.Info[Context, None], input: VenueInput
) -> VenuePayload:
    actor = actor_of(info.context)
    venue_id = await write(
        info.context, actor, _NAMES, create_venue, record_of(input, _NAMES, _SPECIAL)
    )
    return await venue_payload(info.context, venue_id)


async def resolve_update_venue(
    info: strawberry.Info[Context, None], id: VenueId, version: Version, input: VenueChangesInput
) -> VenuePayload:
    actor = actor_of(info.context)
    venue_id = await write(
        info.context,
        actor,
        _NAMES,
        update_venue,
        db_id(id, "Venue", "id"),
        version,
        record_of(input, _NAMES, _SPECIAL),
    )
    return await venue_payload(info.context, venue_id)


resolve_archive_venue, resolve_restore_venue = archive_and_restore(
    "Venue", VenueId, set_venue_archived, venue_payload, VenuePayload
)


# --- import -------------------------------------------------------------------------------------


@strawberry.enum(description="The format of an uploaded venue file.")
class ImportFormat(Enum):
    CSV = strawberry.enum_value(
        "CSV",
        description=(
            "UTF-8 CSV (; or ,) with the columns of `hverdag load venues` (docs/loaders.md), the "
            "point as lat and lon (WGS84)."
        ),
    )
    GEOJSON = strawberry.enum_value(
        "GEOJSON",
        description=(
            "A GeoJSON FeatureCollection (RFC 7946: WGS84) of points with the same properties."
        ),
    )


@strawberry.type(description="What an import did: counts, and every venue of the file.")
class VenueImportReport:
    inserted: int
    updated: int
    unchanged: int
    venues: list[Venue] = strawberry.field(description="The file's venues, in file order.")


@strawberry.type
class VenueImportPayload:
    report: VenueImportReport


def _prepared(
    actor: Actor, format: ImportFormat, content: str, source: str, argument: str
) -> PreparedImport:
    """The file's records, checked as far as they can be without the database
    (geo.writes.venues.prepare_import): the import's CPU work, run in a worker thread. A fault
    of the whole file is named by the ``argument`` it came in (``content`` or ``file``)."""
    try:
        records = csv_records(content) if format is ImportFormat.CSV else geojson_records(content)
    except FieldError as error:
        field = argument if error.field == "content" else error.field
        raise BadUserInput(error.reason, field=field) from None
    return prepare_import(actor, records, source)


async def resolve_import_venues(
    info: strawberry.Info[Context, None],
    format: ImportFormat,
    content: Annotated[
        str | None,
        strawberry.argument(
            description=(
                "The file's text. Pass it as a variable (`$content`), never inline in the "
                "document: a document is limited in size, a variable only by the request body."
            )
        ),
    ] = None,
    file: Annotated[
        Upload | None,
        strawberry.argument(
            description=(
                "The file itself, through the GraphQL multipart request convention "
                "(docs/writes.md): UTF-8, up to HVERDAG_MAX_UPLOAD_BYTES. Give `file` or "
                "`content`, not both."
            )
        ),
    ] = None,
    source: Annotated[
        str | None,
        strawberry.argument(
            description=(
                "Provenance of the rows: with external_id the key a venue is updated by when the "
                'same file comes again. Default: "api-import:<municipality>" for a municipality '
                'editor (so two municipalities\' ids never meet), "api-import" for an admin.'
            )
        ),
    ] = None,
) -> VenueImportPayload:
    actor = actor_of(info.context)
    text = await file_text(content, file)
    if source is None:
        source = "api-import" + (
            f":{actor.municipality_number}" if actor.municipality_number else ""
        )
    # The import's errors name its arguments (source, content) or a file's column. Parsing and
    # checking up to 5,000 rows is CPU work (~0.1 s per 1,000): off the loop.
    try:
        argument = "content" if file is None else "file"
        prepared = await cpu.run(_prepared, actor, format, text, source, argument)
    except WriteError as error:
        raise api_error(error, None) from None
    result = await write(info.context, actor, None, write_import, prepared)
    rows = await info.context.run_primary(venues_by_ids, result.ids)
    return VenueImportPayload(
        report=VenueImportReport(
            inserted=result.inserted,
            updated=result.updated,
            unchanged=result.unchanged,
            venues=[Venue.from_row(rows[i]) for i in result.ids],
        )
    )
