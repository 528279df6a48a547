"""The directory as Open Referral HSDS 3.0 tables (Human Services Data Specification).

Activities are HSDS *services*, organisations *organizations*, venues *locations*; an activity
at a venue is a *service_at_location* (an activity with only its own point gets a location of its
own), its weekly sessions are *schedules* (``freq=WEEKLY``, ``byday``, ``opens_at``, ``closes_at``,
``valid_from``, ``valid_to``), and so are a venue's windows for volunteers (schedules of the
location). Addresses, languages and organisation numbers are HSDS's own small tables.

Each table is one SQLAlchemy Core SELECT ordered by its key, streamed like the other exports
(:func:`geo.queries.export.stream`), and turned into HSDS records by :meth:`Resource.record`.

Ids: HSDS wants UUIDs. Ours are integers, so each id column is built in SQL as a key such as
``"activity/42"`` and exported as ``uuid5(NAMESPACE, "hverdag/activity/42")``: the same row has
the same UUID in every export, on every server, for ever (so never change :data:`NAMESPACE`).

Only public fields leave: never a contact name, e-mail or phone (private persons' data).
Archived rows are left out. A service's ``assured_date`` is the day it was last verified (UTC;
docs/freshness.md), so a consumer can judge staleness by its own rule. Times are Europe/Oslo
wall-clock times (``"18:00"``): HSDS's ``timezone`` is a fixed UTC offset, which Norway's
summer time would make wrong half the year, so the schedules say so in ``notes`` instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from geo.crs import WGS84_SRID
from geo.queries.translations import translated_text
from geo.tables import (
    activity,
    activity_schedule,
    county,
    municipality,
    organisation,
    venue,
    venue_availability,
)
from geo.vocab import ActivityStatus

#: The UUID namespace of every exported id (fixed: changing it changes every id).
NAMESPACE = uuid.UUID("5d3b0f0e-6a59-4c4e-9d0a-7f1e2c1b8a42")
HSDS_VERSION = "3.0"
#: Decimal places of coordinates (1e-7 degrees: about 1 cm).
COORDINATE_DECIMALS = 7
#: HSDS's service status for ours.
SERVICE_STATUS = {
    ActivityStatus.ACTIVE: "active",
    ActivityStatus.PAUSED: "temporarily closed",
    ActivityStatus.ENDED: "inactive",
    ActivityStatus.CANCELLED: "defunct",
}
#: RFC 5545 day codes, by ISO weekday (1 = Monday).
BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
#: The organization of services whose organiser is not recorded (HSDS's tabular format needs
#: one per service).
UNKNOWN_ORGANISER = "organisation/unknown"
LOCAL_TIME_NOTE = "Times are local time in Norway (Europe/Oslo)."
VOLUNTEER_WINDOW = "Available to volunteer organisations"


def hsds_id(key: str) -> str:
    """The UUID exported for an id key such as ``"activity/42"``."""
    return str(uuid.uuid5(NAMESPACE, f"hverdag/{key}"))


@dataclass(frozen=True)
class Field:
    """A column of an HSDS table: its Table Schema type, and whether every row has it (the
    Table Schema's ``required``: HSDS requires it, and our data always holds it)."""

    name: str
    type: str = "string"
    required: bool = False
    #: Holds an id key (``"venue/7"``), exported as a UUID.
    uuid: bool = False


Statement = Callable[..., sa.Select[Any]]


@dataclass(frozen=True)
class Resource:
    """One HSDS table: ``name`` (singular, as HSDS names it), its file and its statement,
    whose selected columns are :attr:`fields` in order."""

    name: str
    path: str
    fields: tuple[Field, ...]
    statement: Statement
    #: (column, resource) pairs: this table's references to others.
    references: tuple[tuple[str, str], ...] = ()
    #: Its statement takes the reader's languages (services' and locations' texts).
    translated: bool = False

    def build(self, order: Sequence[str] = ()) -> sa.Select[Any]:
        """The statement, its texts in the reader's languages ``order`` where it has any."""
        if self.translated:
            return self.statement(order)
        return self.statement()

    @property
    def stem(self) -> str:
        return self.path.removesuffix(".csv")

    def record(self, row: Sequence[Any]) -> dict[str, Any]:
        """A row as an HSDS record: ids as UUIDs, dates ISO 8601, numbers as numbers; a
        missing value is None."""
        return {f.name: _value(f, value) for f, value in zip(self.fields, row, strict=True)}


def _value(f: Field, value: Any) -> Any:
    if value is None:
        return None
    if f.uuid:
        return hsds_id(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


# --- building blocks ----------------------------------------------------------------------------


def _key(entity: str, *parts: ColumnElement[Any]) -> ColumnElement[str]:
    pieces: list[Any] = [f"{entity}/"]
    for index, part in enumerate(parts):
        if index:
            pieces.append("/")
        pieces.append(part)
    return sa.func.concat(*pieces)


def _null(type_: type[sa.types.TypeEngine[Any]] = sa.Text) -> ColumnElement[Any]:
    return sa.cast(sa.null(), type_())


def _coordinate(value: ColumnElement[Any]) -> ColumnElement[float]:
    return sa.func.round(sa.cast(value, sa.Numeric), COORDINATE_DECIMALS, type_=sa.Numeric)


def _lat_lon(point: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    wgs84 = sa.func.ST_Transform(point, WGS84_SRID)
    return [_coordinate(sa.func.ST_Y(wgs84)), _coordinate(sa.func.ST_X(wgs84))]


def _hhmm(column: ColumnElement[Any]) -> ColumnElement[str]:
    return sa.func.to_char(column, "HH24:MI")


def _byday(weekday: ColumnElement[int]) -> ColumnElement[str]:
    return sa.case({i + 1: day for i, day in enumerate(BYDAY)}, value=weekday)


def _labelled(
    fields: Sequence[Field], columns: Sequence[ColumnElement[Any]]
) -> list[ColumnElement[Any]]:
    return [column.label(f.name) for f, column in zip(fields, columns, strict=True)]


def _live(table: sa.Table) -> ColumnElement[bool]:
    return table.c.archived_at.is_(None)


def _venue_of(a: Any, v: sa.FromClause) -> ColumnElement[bool]:
    """The join to an activity's venue while that venue is not archived."""
    return sa.and_(v.c.id == a.venue_id, v.c.archived_at.is_(None))


# --- organizations ------------------------------------------------------------------------------

ORGANIZATION_FIELDS = (
    Field("id", required=True, uuid=True),
    Field("name", required=True),
    Field("description", required=True),
    Field("website"),
    Field("uri"),
)


def organizations_statement() -> sa.Select[Any]:
    known = sa.select(
        *_labelled(
            ORGANIZATION_FIELDS,
            [
                _key("organisation", organisation.c.id),
                organisation.c.name,
                sa.func.coalesce(organisation.c.description, ""),
                organisation.c.website,
                _null(),
            ],
        )
    ).where(_live(organisation))
    unknown = sa.select(
        *_labelled(
            ORGANIZATION_FIELDS,
            [
                sa.literal(UNKNOWN_ORGANISER),
                sa.literal("Arrangør ikke oppgitt"),
                sa.literal(
                    "Stands in for the organiser of the activities whose organiser is not "
                    "recorded in hverdag."
                ),
                _null(),
                _null(),
            ],
        )
    ).where(sa.exists().where(_live(activity), activity.c.organisation_id.is_(None)))
    union = sa.union_all(known, unknown).subquery("organizations")
    return sa.select(*union.c).order_by(union.c.id)


ORGANIZATION_IDENTIFIER_FIELDS = (
    Field("id", required=True, uuid=True),
    Field("organization_id", uuid=True),
    Field("identifier_scheme"),
    Field("identifier_type", required=True),
    Field("identifier", required=True),
)


def organization_identifiers_statement() -> sa.Select[Any]:
    """Organisation numbers from Brønnøysundregistrene (org-id.guide scheme ``NO-BRC``)."""
    return (
        sa.select(
            *_labelled(
                ORGANIZATION_IDENTIFIER_FIELDS,
                [
                    _key("organisation-number", organisation.c.id),
                    _key("organisation", organisation.c.id),
                    sa.literal("NO-BRC"),
                    sa.literal("organisasjonsnummer"),
                    sa.cast(organisation.c.organisation_number, sa.Text),
                ],
            )
        )
        .where(_live(organisation), organisation.c.organisation_number.isnot(None))
        .order_by(organisation.c.id)
    )


# --- services -----------------------------------------------------------------------------------

SERVICE_FIELDS = (
    Field("id", required=True, uuid=True),
    Field("organization_id", uuid=True),
    Field("name", required=True),
    Field("description"),
    Field("url"),
    Field("status", required=True),
    Field("eligibility_description"),
    Field("minimum_age", "number"),
    Field("maximum_age", "number"),
    Field("fees_description"),
    Field("application_process"),
    # When the service was last confirmed true (its last verification's UTC date), and when it
    # last changed: HSDS's own fields for what hverdag calls verified and updated.
    Field("assured_date", "date"),
    Field("last_modified", "datetime"),
)


def services_statement(order: Sequence[str] = ()) -> sa.Select[Any]:
    """Activities as services; ``order``: the reader's languages for name and description."""
    name, description = (
        (activity.c.title, activity.c.description)
        if not order
        else (
            translated_text("activity", "title", activity.c.id, order)[0],
            translated_text("activity", "description", activity.c.id, order)[0],
        )
    )
    status = sa.case({k.value: v for k, v in SERVICE_STATUS.items()}, value=activity.c.status)
    groups = sa.func.nullif(sa.func.array_to_string(activity.c.target_groups, ", "), "")
    fees = sa.case(
        (activity.c.free, sa.literal("Gratis (free)")),
        else_=sa.func.concat(
            sa.cast(activity.c.cost_nok, sa.Text),
            " NOK",
            sa.case((activity.c.leisure_card_accepted, "; Fritidskortet accepted"), else_=""),
        ),
    )
    application = sa.case(
        (
            activity.c.registration_required,
            sa.func.concat(
                "Registration required",
                sa.case(
                    (
                        activity.c.registration_url.isnot(None),
                        sa.func.concat(": ", activity.c.registration_url),
                    ),
                    else_="",
                ),
            ),
        ),
        else_=sa.literal("No registration needed"),
    )
    return (
        sa.select(
            *_labelled(
                SERVICE_FIELDS,
                [
                    _key("activity", activity.c.id),
                    sa.case(
                        (
                            activity.c.organisation_id.isnot(None),
                            _key("organisation", activity.c.organisation_id),
                        ),
                        else_=sa.literal(UNKNOWN_ORGANISER),
                    ),
                    name,
                    description,
                    activity.c.url,
                    status,
                    sa.case((groups.isnot(None), sa.func.concat("Target groups: ", groups))),
                    activity.c.min_age,
                    activity.c.max_age,
                    fees,
                    application,
                    sa.cast(sa.func.timezone("UTC", activity.c.last_verified_at), sa.Date),
                    activity.c.updated_at,
                ],
            )
        )
        .where(_live(activity))
        .order_by(activity.c.id)
    )


LANGUAGE_FIELDS = (
    Field("id", required=True, uuid=True),
    Field("service_id", uuid=True),
    Field("code"),
    Field("note"),
)


def languages_statement() -> sa.Select[Any]:
    """The languages an activity is held in, one row per language: HSDS's ``code`` is ISO 639
    (the tag's language subtag), and ``note`` keeps the whole BCP 47 tag where it says more
    (``fa-AF``: Dari)."""
    spoken = (
        sa.select(
            activity.c.id.label("activity_id"), sa.func.unnest(activity.c.languages).label("code")
        )
        .where(_live(activity))
        .subquery("spoken")
    )
    return sa.select(
        *_labelled(
            LANGUAGE_FIELDS,
            [
                _key("activity-language", spoken.c.activity_id, spoken.c.code),
                _key("activity", spoken.c.activity_id),
                sa.func.split_part(spoken.c.code, "-", 1),
                sa.case((spoken.c.code.contains("-"), sa.func.concat("BCP 47: ", spoken.c.code))),
            ],
        )
    ).order_by(spoken.c.activity_id, spoken.c.code)


# --- locations ----------------------------------------------------------------------------------

LOCATION_FIELDS = (
    Field("id", required=True, uuid=True),
    Field("location_type", required=True),
    Field("organization_id", uuid=True),
    Field("name"),
    Field("description"),
    Field("latitude", "number"),
    Field("longitude", "number"),
)


def _own_place() -> tuple[sa.FromClause, ColumnElement[bool]]:
    """Activities located by their own point: no venue, or one that is archived."""
    held_at = venue.alias("held_at")
    return held_at, sa.and_(_live(activity), held_at.c.id.is_(None))


def locations_statement(order: Sequence[str] = ()) -> sa.Select[Any]:
    """Venues, and the own points of activities that have no (live) venue; ``order``: the
    reader's languages for venues' descriptions and activities' titles."""
    venue_columns, activity_columns = venue.c, activity.c
    venue_description, activity_title = (
        (venue_columns.description, activity_columns.title)
        if not order
        else (
            translated_text("venue", "description", venue_columns.id, order)[0],
            translated_text("activity", "title", activity_columns.id, order)[0],
        )
    )
    venues = sa.select(
        *_labelled(
            LOCATION_FIELDS,
            [
                _key("venue", venue_columns.id),
                sa.literal("physical"),
                sa.case(
                    (
                        venue_columns.owner_organisation_id.isnot(None),
                        _key("organisation", venue_columns.owner_organisation_id),
                    )
                ),
                venue_columns.name,
                venue_description,
                *_lat_lon(venue_columns.geom),
            ],
        )
    ).where(_live(venue))
    held_at, own_place = _own_place()
    places = (
        sa.select(
            *_labelled(
                LOCATION_FIELDS,
                [
                    _key("activity-place", activity_columns.id),
                    sa.literal("physical"),
                    sa.case(
                        (
                            activity_columns.organisation_id.isnot(None),
                            _key("organisation", activity_columns.organisation_id),
                        )
                    ),
                    activity_title,
                    _null(),
                    *_lat_lon(activity_columns.geom),
                ],
            )
        )
        .select_from(activity.outerjoin(held_at, _venue_of(activity_columns, held_at)))
        .where(own_place)
    )
    union = sa.union_all(venues, places).subquery("locations")
    return sa.select(*union.c).order_by(union.c.id)


ADDRESS_FIELDS = (
    Field("id", required=True, uuid=True),
    Field("location_id", uuid=True),
    Field("address_1", required=True),
    Field("city", required=True),
    Field("state_province", required=True),
    # HSDS requires it, but a venue has one only where its source gave one (Geonorge's schools,
    # a municipality's import): declared required, the empty cells made the package invalid.
    Field("postal_code"),
    Field("country", required=True),
    Field("address_type", required=True),
)


def addresses_statement() -> sa.Select[Any]:
    """Venues' street addresses. HSDS requires every part: the city is the postal place or
    else the municipality, the state the county; an unknown postal code is ``""`` (a string,
    as HSDS types it; an empty cell in the CSV, which the Table Schema allows)."""
    muni = municipality.alias("address_municipality")
    fylke = county.alias("address_county")
    return (
        sa.select(
            *_labelled(
                ADDRESS_FIELDS,
                [
                    _key("venue-address", venue.c.id),
                    _key("venue", venue.c.id),
                    venue.c.address,
                    sa.func.coalesce(venue.c.postal_place, muni.c.name, ""),
                    sa.func.coalesce(fylke.c.name, ""),
                    sa.func.coalesce(sa.cast(venue.c.postal_code, sa.Text), ""),
                    sa.literal("NO"),
                    sa.literal("physical"),
                ],
            )
        )
        .select_from(
            venue.outerjoin(muni, muni.c.number == venue.c.municipality_number).outerjoin(
                fylke, fylke.c.number == muni.c.county_number
            )
        )
        .where(_live(venue), venue.c.address.isnot(None))
        .order_by(venue.c.id)
    )


SERVICE_AT_LOCATION_FIELDS = (
    Field("id", required=True, uuid=True),
    Field("service_id", uuid=True),
    Field("location_id", uuid=True),
)


def _activity_location(activities: Any, held_at: sa.FromClause) -> ColumnElement[str]:
    return sa.case(
        (held_at.c.id.isnot(None), _key("venue", held_at.c.id)),
        else_=_key("activity-place", activities.id),
    )


def service_at_locations_statement() -> sa.Select[Any]:
    """Where each activity is held: its venue, or its own point."""
    activity_columns = activity.c
    held_at = venue.alias("held_at")
    return (
        sa.select(
            *_labelled(
                SERVICE_AT_LOCATION_FIELDS,
                [
                    _key("activity-at", activity_columns.id),
                    _key("activity", activity_columns.id),
                    _activity_location(activity_columns, held_at),
                ],
            )
        )
        .select_from(activity.outerjoin(held_at, _venue_of(activity_columns, held_at)))
        .where(_live(activity))
        .order_by(activity_columns.id)
    )


# --- schedules ----------------------------------------------------------------------------------

SCHEDULE_FIELDS = (
    Field("id", required=True, uuid=True),
    Field("service_id", uuid=True),
    Field("location_id", uuid=True),
    Field("service_at_location_id", uuid=True),
    Field("valid_from", "date"),
    Field("valid_to", "date"),
    Field("freq"),
    Field("interval", "number"),
    Field("byday"),
    Field("opens_at", "time"),
    Field("closes_at", "time"),
    Field("description"),
    Field("notes"),
)


def schedules_statement() -> sa.Select[Any]:
    """Activities' weekly sessions (schedules of the service at its location), then venues'
    windows for volunteers (schedules of the location)."""
    sessions = (
        sa.select(
            *_labelled(
                SCHEDULE_FIELDS,
                [
                    _key("activity-schedule", activity_schedule.c.id),
                    _key("activity", activity.c.id),
                    _null(),
                    _key("activity-at", activity.c.id),
                    activity_schedule.c.valid_from,
                    activity_schedule.c.valid_to,
                    sa.literal("WEEKLY"),
                    sa.literal(1),
                    _byday(activity_schedule.c.weekday),
                    _hhmm(activity_schedule.c.starts),
                    _hhmm(activity_schedule.c.ends),
                    _null(),
                    sa.literal(LOCAL_TIME_NOTE),
                ],
            )
        )
        .select_from(
            activity_schedule.join(activity, activity.c.id == activity_schedule.c.activity_id)
        )
        .where(_live(activity))
    )
    windows = (
        sa.select(
            *_labelled(
                SCHEDULE_FIELDS,
                [
                    _key("venue-availability", venue_availability.c.id),
                    _null(),
                    _key("venue", venue.c.id),
                    _null(),
                    _null(sa.Date),
                    _null(sa.Date),
                    sa.literal("WEEKLY"),
                    sa.literal(1),
                    _byday(venue_availability.c.weekday),
                    _hhmm(venue_availability.c.starts),
                    _hhmm(venue_availability.c.ends),
                    sa.literal(VOLUNTEER_WINDOW),
                    sa.literal(LOCAL_TIME_NOTE),
                ],
            )
        )
        .select_from(venue_availability.join(venue, venue.c.id == venue_availability.c.venue_id))
        .where(_live(venue))
    )
    union = sa.union_all(sessions, windows).subquery("schedules")
    return sa.select(*union.c).order_by(union.c.id)


# --- the package --------------------------------------------------------------------------------

RESOURCES: dict[str, Resource] = {
    r.stem: r
    for r in (
        Resource("organization", "organizations.csv", ORGANIZATION_FIELDS, organizations_statement),
        Resource(
            "organization_identifier",
            "organization_identifiers.csv",
            ORGANIZATION_IDENTIFIER_FIELDS,
            organization_identifiers_statement,
            (("organization_id", "organization"),),
        ),
        Resource(
            "service",
            "services.csv",
            SERVICE_FIELDS,
            services_statement,
            (("organization_id", "organization"),),
            translated=True,
        ),
        Resource(
            "location",
            "locations.csv",
            LOCATION_FIELDS,
            locations_statement,
            (("organization_id", "organization"),),
            translated=True,
        ),
        Resource(
            "address",
            "addresses.csv",
            ADDRESS_FIELDS,
            addresses_statement,
            (("location_id", "location"),),
        ),
        Resource(
            "service_at_location",
            "service_at_location.csv",
            SERVICE_AT_LOCATION_FIELDS,
            service_at_locations_statement,
            (("service_id", "service"), ("location_id", "location")),
        ),
        Resource(
            "schedule",
            "schedules.csv",
            SCHEDULE_FIELDS,
            schedules_statement,
            (
                ("service_id", "service"),
                ("location_id", "location"),
                ("service_at_location_id", "service_at_location"),
            ),
        ),
        Resource(
            "language",
            "languages.csv",
            LANGUAGE_FIELDS,
            languages_statement,
            (("service_id", "service"),),
        ),
    )
}


def _table_schema(resource: Resource) -> dict[str, Any]:
    fields = []
    for f in resource.fields:
        described: dict[str, Any] = {"name": f.name, "type": f.type}
        if f.uuid:
            described["format"] = "uuid"
        elif f.type == "time":  # Table Schema's default is HH:MM:SS; HSDS writes HH:MM
            described["format"] = "%H:%M"
        if f.required:
            described["constraints"] = {"required": True}
        fields.append(described)
    return {
        "fields": fields,
        "primaryKey": "id",
        "foreignKeys": [
            {"fields": column, "reference": {"resource": target, "fields": "id"}}
            for column, target in resource.references
        ],
    }


def datapackage() -> dict[str, Any]:
    """The tabular data package's descriptor (``datapackage.json``): one CSV per table."""
    return {
        "name": "hverdag-hsds",
        "title": "hverdag: activities, organisations and venues for everyday integration in "
        "Norway, as Open Referral HSDS",
        "profile": "tabular-data-package",
        "hsds_version": HSDS_VERSION,
        "resources": [
            {
                "name": r.name,
                "path": r.path,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": _table_schema(r),
            }
            for r in RESOURCES.values()
        ],
    }
