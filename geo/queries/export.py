"""Bulk exports of the directory: one statement per kind, streamed with a server-side cursor.

Each export is a single SQLAlchemy Core SELECT, ordered by id, with the same filter conditions as
the GraphQL lists (:mod:`geo.filters`). A row's children are aggregated in SQL so the statement
stays one cursor: an activity's weekly sessions and a venue's availability windows as compact
text (``"TUE 18:00-20:00; THU 17:00-19:00 (2025-01-06..2025-06-20)"``). Points are WGS84
longitude/latitude computed in SQL (``ST_Transform(geom, 4326)``: fine for a bulk read, which is
not the hot path). Councils have no point of their own: theirs is a point inside their
municipality (``ST_PointOnSurface``), or inside their county when they have no municipality,
and ``point_of`` says which.

Only public fields leave: never the contact name, e-mail or phone (private persons' data).

The coverage export (:func:`coverage_statement`) lists an area's population units with the
coverage rule's verdict, a statement built on a connection because the area is looked up first.

The rows come out in batches, so a caller holds one batch at a time however large the export:
tuples in :func:`columns` order from :func:`iter_rows` on a sync connection (``yield_per``:
a server-side cursor) and :func:`stream_export` on an async one; a dict per row from
:func:`iter_activities`, :func:`iter_venues` and :func:`iter_councils`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from geo.crs import WGS84_SRID
from geo.filters import (
    DirectoryFilter,
    activity_conditions,
    council_conditions,
    venue_conditions,
)
from geo.freshness import stale_column
from geo.queries.coverage import AreaSelector, Target, coverage_units
from geo.queries.translations import translated_text
from geo.tables import (
    activity,
    activity_schedule,
    county,
    immigrant_council,
    municipality,
    organisation,
    venue,
    venue_availability,
)

#: Rows fetched per round trip, and so the most rows a caller holds at once.
BATCH_SIZE = 1000
#: Decimal places of exported polygon coordinates (1e-7 degrees: about 1 cm).
COORDINATE_DECIMALS = 7

_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
#: Never exported: contact details of private persons.
PRIVATE_COLUMNS = frozenset({"contact_name", "contact_email", "contact_phone"})


class ExportKind(StrEnum):
    ACTIVITIES = "activities"
    VENUES = "venues"
    COUNCILS = "councils"


Row = dict[str, Any]


def _hhmm(column: ColumnElement[Any]) -> ColumnElement[str]:
    return sa.func.to_char(column, "HH24:MI")


def _weekly_text(table: sa.Table, key: ColumnElement[bool], *, dated: bool) -> ColumnElement[str]:
    """A row's weekly windows as ``"MON 16:00-22:00; SAT 10:00-14:00"`` (null when none), a
    correlated scalar subquery; ``dated`` adds ``" (from..to)"`` when a window has dates."""
    parts: list[ColumnElement[Any]] = [
        sa.case({i + 1: day for i, day in enumerate(_WEEKDAYS)}, value=table.c.weekday),
        sa.literal(" "),
        _hhmm(table.c.starts),
        sa.literal("-"),
        _hhmm(table.c.ends),
    ]
    if dated:
        parts.append(
            sa.case(
                (
                    sa.or_(table.c.valid_from.isnot(None), table.c.valid_to.isnot(None)),
                    sa.func.concat(
                        " (",
                        sa.func.coalesce(sa.cast(table.c.valid_from, sa.Text), ""),
                        "..",
                        sa.func.coalesce(sa.cast(table.c.valid_to, sa.Text), ""),
                        ")",
                    ),
                ),
                else_="",
            )
        )
    text = sa.func.string_agg(
        sa.func.concat(*parts),
        aggregate_order_by(sa.literal("; "), table.c.weekday, table.c.starts),
        type_=sa.Text,
    )
    return sa.select(text).where(key).scalar_subquery()


def _lon_lat(point: ColumnElement[Any]) -> list[ColumnElement[float]]:
    wgs84 = sa.func.ST_Transform(point, WGS84_SRID)
    return [sa.func.ST_X(wgs84).label("lon"), sa.func.ST_Y(wgs84).label("lat")]


def _texts(
    kind: str, table: sa.Table, fields: Sequence[str], order: Sequence[str]
) -> tuple[dict[str, ColumnElement[Any]], list[ColumnElement[Any]]]:
    """The translatable columns in the reader's languages (``order``, from the ``lang``
    parameter), and a ``{field}_language`` column for each; the originals without ``order``."""
    if not order:
        return {field: table.c[field] for field in fields}, []
    texts: dict[str, ColumnElement[Any]] = {}
    languages: list[ColumnElement[Any]] = []
    for field in fields:
        text, language = translated_text(kind, field, table.c.id, order)
        texts[field] = text.label(field)
        languages.append(language.label(f"{field}_language"))
    return texts, languages


def activities_statement(filt: DirectoryFilter, order: Sequence[str] = ()) -> sa.Select[Any]:
    """``order``: the reader's languages (geo.languages.reading_order) for title and
    description, each with its language in ``title_language`` and ``description_language``."""
    texts, languages = _texts("activity", activity, ("title", "description"), order)
    org = organisation.alias("organiser")
    place = venue.alias("held_at")
    muni = municipality.alias("activity_municipality")
    schedule = _weekly_text(
        activity_schedule, activity_schedule.c.activity_id == activity.c.id, dated=True
    )
    return (
        sa.select(
            activity.c.id,
            texts["title"],
            texts["description"],
            *languages,
            activity.c.category,
            org.c.id.label("organiser_id"),
            org.c.name.label("organiser_name"),
            place.c.id.label("venue_id"),
            place.c.name.label("venue_name"),
            activity.c.municipality_number,
            muni.c.name.label("municipality_name"),
            activity.c.target_groups,
            activity.c.min_age,
            activity.c.max_age,
            activity.c.languages,
            activity.c.free,
            activity.c.cost_nok,
            activity.c.leisure_card_accepted,
            activity.c.registration_required,
            activity.c.registration_url,
            activity.c.url,
            activity.c.status,
            schedule.label("schedule"),
            activity.c.updated_at,
            activity.c.version,
            *_verification(activity, filt),
            *_lon_lat(activity.c.geom),
        )
        .select_from(
            activity.outerjoin(org, org.c.id == activity.c.organisation_id)
            .outerjoin(place, place.c.id == activity.c.venue_id)
            .outerjoin(muni, muni.c.number == activity.c.municipality_number)
        )
        .where(*activity_conditions(filt))
        .order_by(activity.c.id)
    )


def _verification(table: sa.Table, filt: DirectoryFilter) -> list[ColumnElement[Any]]:
    """When the row was last verified, by whom, and whether that makes it stale on the filter's
    line (null when the filter has none)."""
    stale = (
        sa.null()
        if filt.stale_before is None
        else stale_column(table, sa.literal(filt.stale_before, sa.DateTime(timezone=True)))
    )
    return [
        table.c.last_verified_at,
        table.c.verified_by,
        sa.type_coerce(stale, sa.Boolean).label("stale"),
    ]


def venues_statement(filt: DirectoryFilter, order: Sequence[str] = ()) -> sa.Select[Any]:
    """``order``: as :func:`activities_statement`'s, for description and price_note."""
    texts, languages = _texts("venue", venue, ("description", "price_note"), order)
    owner = organisation.alias("owner")
    muni = municipality.alias("venue_municipality")
    availability = _weekly_text(
        venue_availability, venue_availability.c.venue_id == venue.c.id, dated=False
    )
    return (
        sa.select(
            venue.c.id,
            venue.c.name,
            texts["description"],
            *languages,
            venue.c.venue_type,
            venue.c.owner_type,
            owner.c.id.label("owner_organisation_id"),
            owner.c.name.label("owner_organisation_name"),
            venue.c.address,
            venue.c.postal_code,
            venue.c.postal_place,
            venue.c.municipality_number,
            muni.c.name.label("municipality_name"),
            venue.c.capacity,
            venue.c.price_model,
            texts["price_note"],
            venue.c.step_free,
            venue.c.accessibility,
            venue.c.amenities,
            venue.c.suitable_categories,
            venue.c.booking_url,
            availability.label("availability"),
            venue.c.last_verified,
            venue.c.updated_at,
            venue.c.version,
            *_verification(venue, filt),
            *_lon_lat(venue.c.geom),
        )
        .select_from(
            venue.outerjoin(owner, owner.c.id == venue.c.owner_organisation_id).outerjoin(
                muni, muni.c.number == venue.c.municipality_number
            )
        )
        .where(*venue_conditions(filt))
        .order_by(venue.c.id)
    )


def councils_statement(
    filt: DirectoryFilter, order: Sequence[str] = (), *, with_geom: bool = False
) -> sa.Select[Any]:
    """``with_geom``: also the point in storage CRS as ``geom`` (the OGC API's councils)."""
    muni = municipality.alias("council_municipality")
    fylke = county.alias("council_county")
    point = sa.func.coalesce(
        sa.func.ST_PointOnSurface(muni.c.geom), sa.func.ST_PointOnSurface(fylke.c.geom)
    )
    county_number = sa.func.coalesce(immigrant_council.c.county_number, muni.c.county_number)
    return (
        sa.select(
            immigrant_council.c.id,
            immigrant_council.c.name,
            immigrant_council.c.kind,
            immigrant_council.c.level,
            immigrant_council.c.status,
            immigrant_council.c.municipality_number,
            muni.c.name.label("municipality_name"),
            county_number.label("county_number"),
            fylke.c.name.label("county_name"),
            immigrant_council.c.established,
            immigrant_council.c.members,
            immigrant_council.c.website,
            immigrant_council.c.note,
            immigrant_council.c.updated_at,
            immigrant_council.c.version,
            *_verification(immigrant_council, filt),
            sa.case(
                (muni.c.number.isnot(None), "municipality"), (fylke.c.number.isnot(None), "county")
            ).label("point_of"),
            *_lon_lat(point),
            *([point.label("geom")] if with_geom else []),
        )
        .select_from(
            immigrant_council.outerjoin(
                muni, muni.c.number == immigrant_council.c.municipality_number
            ).outerjoin(fylke, fylke.c.number == county_number)
        )
        .where(*council_conditions(filt))
        .order_by(immigrant_council.c.id)
    )


#: Each export's statement, of its filter and the reader's languages (councils have no
#: translated texts: their names are names).
STATEMENTS: dict[ExportKind, Callable[[DirectoryFilter, Sequence[str]], sa.Select[Any]]] = {
    ExportKind.ACTIVITIES: activities_statement,
    ExportKind.VENUES: venues_statement,
    ExportKind.COUNCILS: councils_statement,
}


@dataclass(frozen=True)
class ExportColumn:
    name: str
    #: The Python type of its values (when not None): str, int, bool, float, Decimal, list,
    #: date or datetime.
    type: type


def statement_columns(stmt: sa.Select[Any]) -> list[ExportColumn]:
    return [ExportColumn(str(c.name), c.type.python_type) for c in stmt.selected_columns]


def export_columns(kind: ExportKind) -> list[ExportColumn]:
    """The export's columns, in order (``lon`` and ``lat`` last)."""
    return statement_columns(STATEMENTS[kind](DirectoryFilter(), ()))


def columns(kind: ExportKind) -> list[str]:
    """The export's column names, in order."""
    return [column.name for column in export_columns(kind)]


def iter_rows(
    conn: sa.Connection, kind: ExportKind, filt: DirectoryFilter, batch_size: int = BATCH_SIZE
) -> Iterator[Sequence[sa.Row[Any]]]:
    """Batches of rows (tuples in :func:`columns` order) from a server-side cursor: at most
    ``batch_size`` rows in memory at once."""
    result = conn.execute(STATEMENTS[kind](filt, ()).execution_options(yield_per=batch_size))
    try:
        yield from result.partitions()
    finally:
        result.close()


def _dicts(conn: sa.Connection, kind: ExportKind, filt: DirectoryFilter) -> Iterator[Row]:
    names = columns(kind)
    for batch in iter_rows(conn, kind, filt):
        for row in batch:
            yield dict(zip(names, row, strict=True))


def iter_activities(conn: sa.Connection, filt: DirectoryFilter) -> Iterator[Row]:
    """Every activity the filter matches, by id, as a dict per row (streamed)."""
    return _dicts(conn, ExportKind.ACTIVITIES, filt)


def iter_venues(conn: sa.Connection, filt: DirectoryFilter) -> Iterator[Row]:
    """Every venue the filter matches, by id, as a dict per row (streamed)."""
    return _dicts(conn, ExportKind.VENUES, filt)


def iter_councils(conn: sa.Connection, filt: DirectoryFilter) -> Iterator[Row]:
    """Every active council the filter matches, by id, as a dict per row (streamed)."""
    return _dicts(conn, ExportKind.COUNCILS, filt)


async def stream(
    conn: AsyncConnection, stmt: sa.Select[Any], batch_size: int = BATCH_SIZE
) -> AsyncIterator[Sequence[sa.Row[Any]]]:
    """Batches of ``stmt``'s rows on an async connection (``AsyncConnection.stream``: a
    server-side cursor, each batch one ``FETCH``). The connection's transaction must stay open
    while the caller iterates; close the iterator (``aclose``) to end early."""
    result = await conn.stream(stmt.execution_options(yield_per=batch_size))
    try:
        async for batch in result.partitions():
            yield batch
    finally:
        await result.close()


def stream_export(
    conn: AsyncConnection, kind: ExportKind, filt: DirectoryFilter, batch_size: int = BATCH_SIZE
) -> AsyncIterator[Sequence[sa.Row[Any]]]:
    """The export's batches on an async connection (see :func:`stream`)."""
    return stream(conn, STATEMENTS[kind](filt, ()), batch_size)


# --- coverage ------------------------------------------------------------------------------------


def coverage_statement(
    conn: sa.Connection, area: AreaSelector, target: Target, within_m: float, unit_kind: str
) -> sa.Select[Any]:
    """Every population unit of the area with whether it is covered and how far the nearest
    target is (:func:`geo.queries.coverage.coverage_units`: the same rule as the coverage
    report), by code. The unit's polygon comes as GeoJSON (``geometry``) and as WKT (``wkt``),
    both WGS84 with exterior rings counter-clockwise (as RFC 7946 asks), its interior point as
    ``lon`` and ``lat``; distances in metres with one decimal. Needs a connection: the area is
    looked up (UnknownArea when it is not loaded)."""
    unit = coverage_units(conn, area, target, within_m, unit_kind).subquery("unit")
    wgs84 = sa.func.ST_ForcePolygonCCW(sa.func.ST_Transform(unit.c.geom, WGS84_SRID))
    return sa.select(
        unit.c.code,
        unit.c.name,
        unit.c.municipality_number,
        unit.c.district,
        unit.c.sub_district,
        unit.c.population,
        unit.c.immigrant_population,
        unit.c.year,
        unit.c.covered,
        sa.func.round(sa.cast(unit.c.nearest_distance_m, sa.Numeric), 1, type_=sa.Numeric).label(
            "nearest_distance_m"
        ),
        *_lon_lat(sa.func.ST_PointOnSurface(unit.c.geom)),
        sa.func.ST_AsGeoJSON(wgs84, COORDINATE_DECIMALS, type_=sa.Text).label("geometry"),
        sa.func.ST_AsText(wgs84, COORDINATE_DECIMALS, type_=sa.Text).label("wkt"),
    ).order_by(unit.c.code)
