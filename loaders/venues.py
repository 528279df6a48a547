"""Venues (premises): ``hverdag load venues FILE``.

A CSV (UTF-8, ``;`` or ``,``) with the columns in docs/loaders.md and the point as ``lat``/``lon``
(WGS84); a GeoJSON or GeoPackage with the same properties and a point geometry in any CRS; or
Geonorge's school and kindergarten points as published (see loaders/geonorge.py). Every record
is checked before anything is written; venues are upserted by (source, external_id), their
weekly availability windows replaced only when they changed. The municipality of each venue
comes from its point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from geoalchemy2.shape import from_shape
from shapely.geometry import Point

from geo import validation as v
from geo.children import sync_children, touch
from geo.crs import STORAGE_SRID
from geo.records.venues import WINDOW_COLUMNS, Window, availability_windows, venue_fields
from geo.references import Ref, organisation_ref
from geo.tables import venue, venue_availability
from geo.upsert import upsert
from loaders import geonorge
from loaders.directory import (
    check_duplicates,
    external_id,
    join_municipalities,
    parse_records,
    resolve_organisations,
    source_of,
)
from loaders.fields import FieldMap, resolve_fields
from loaders.pointfile import (
    PointFile,
    Record,
    point_field,
    point_of,
    read_point_file,
    require_columns,
    unused_columns,
)
from loaders.report import LoadReport
from loaders.translations import (
    Texts,
    record_translations,
    translation_columns,
    translations_of_file,
)

REQUIRED = {"external_id", "name", "owner_type", "venue_type"}
COLUMNS = REQUIRED | {
    "description",
    "address",
    "postal_code",
    "postal_place",
    "lat",
    "lon",
    "capacity",
    "price_model",
    "price_note",
    "step_free",
    "accessibility",
    "amenities",
    "suitable_categories",
    "booking_url",
    "contact_name",
    "contact_email",
    "contact_phone",
    "last_verified",
    "availability",
    "owner_organisation_number",
    "owner_organisation_external_id",
    "source",
}


@dataclass
class ParsedVenue:
    label: str
    row: dict[str, Any]
    point: tuple[float, float]
    point_field: str
    windows: list[Window] = field(default_factory=list)
    owner: Ref | None = None
    translations: Texts = field(default_factory=dict)


def parse_venue(record: Record, source: str | None, default_source: str) -> ParsedVenue:
    """One record as a venue row, its availability and owner; FieldError (FieldErrors) naming
    every bad field."""
    row_source = source_of(record, source, default_source)
    checked = v.each_field(  # every wrong field of the record, not only its first
        {
            "external_id": lambda: external_id(record),
            "fields": lambda: venue_fields(record),
            "windows": lambda: availability_windows(record.get("availability")),
            "owner": lambda: organisation_ref(
                record, "owner_organisation_number", "owner_organisation_external_id", row_source
            ),
            "point": lambda: point_of(record),
        }
    )
    row = {"source": row_source, "external_id": checked["external_id"], **checked["fields"]}
    windows, owner, point = checked["windows"], checked["owner"], checked["point"]
    if point is None:
        raise v.FieldError(
            point_field(record),
            "is required: a venue needs its point (lat and lon, or a point geometry)",
        )
    return ParsedVenue(
        record.label,
        row,
        point,
        point_field(record),
        windows,
        owner,
        record_translations(record.cells, "venue"),
    )


#: The roles the loaders' options name -> a venue's columns.
ROLES = {"code": "external_id", "name": "name"}


def _parser(
    file: PointFile, source: str | None, report: LoadReport
) -> Callable[[Record], ParsedVenue | None]:
    """Documented columns, or a Geonorge publication translated to them first."""
    kind = geonorge.publication(file.columns) if file.vector else None
    if kind is None:
        require_columns(file, REQUIRED, point=True, roles=ROLES)
        unused = unused_columns(file, COLUMNS | translation_columns(file.columns))
        if unused:
            report.warnings.append(f"columns not used: {', '.join(unused)}")
        return lambda record: parse_venue(record, source, file.path.name)

    def parse(record: Record) -> ParsedVenue | None:
        cells, note = geonorge.venue_cells(record, kind, file.layer)
        if note:
            report.warnings.append(note)
        if cells is None:
            report.skipped += 1
            return None
        translated = Record(record.label, cells, record.point, record.geometry_error, True)
        return parse_venue(translated, source, geonorge.SOURCES[kind])

    return parse


def read_venues(
    conn: sa.Connection,
    path: Path,
    source: str | None,
    report: LoadReport,
    fields: FieldMap | None = None,
) -> list[ParsedVenue]:
    """Every venue of the file, checked against the database; LoadErrors naming every bad
    one (each bad field), the earliest first. ``fields``: a role or column -> the file's field
    that holds it."""
    file = read_point_file(
        path,
        label_fields=("name", "skolenavn", "barnehagenavn", "external_id"),
        fields=resolve_fields(fields, ROLES, COLUMNS, "load venues"),
    )
    venues, problems = parse_records(file.records, _parser(file, source, report), path.name)
    check_duplicates(venues, path.name, problems)
    resolve_organisations(conn, venues, "owner", "owner_organisation_id", path.name, problems)
    join_municipalities(
        conn,
        venues,
        [p.point for p in venues],
        [p.point_field for p in venues],
        path.name,
        problems,
    )
    problems.check()
    for item in venues:
        item.row["geom"] = from_shape(Point(item.point), srid=STORAGE_SRID)
    return venues


def load_venues(
    conn: sa.Connection,
    path: Path,
    *,
    source: str | None = None,
    fields: FieldMap | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    """Load a venue file in the caller's transaction; nothing is written if a record is bad.

    ``source`` overrides the file's ``source`` column and the default (the file name, or
    "geonorge-skoler"/"geonorge-barnehager" for Geonorge's files).
    """
    report = LoadReport("venues")
    venues = read_venues(conn, path, source, report, fields)
    if venues:
        write_venues(conn, venues, report)
    if progress:
        progress(len(venues), len(venues))
    return report


def write_venues(conn: sa.Connection, venues: list[ParsedVenue], report: LoadReport) -> None:
    counts = upsert(conn, venue, [item.row for item in venues])
    wanted = {vid: item.windows for vid, item in zip(counts.ids, venues, strict=True)}
    touched = touch(
        conn, venue, sync_children(conn, venue_availability, "venue_id", WINDOW_COLUMNS, wanted)
    )
    translated = translations_of_file(conn, "venue", counts.ids, venues)
    report.inserted = counts.inserted
    report.updated = counts.updated + touched
    report.unchanged = counts.unchanged - touched
    if translated:
        report.warnings.append(translated)
