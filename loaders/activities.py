"""Activities: ``hverdag load activities FILE``.

A CSV (UTF-8, ``;`` or ``,``) with the columns in docs/loaders.md, or a GeoJSON or GeoPackage
with the same properties. An activity takes place at a venue already loaded
(``venue_external_id``: a venue of the same source, or ``source:external_id``), whose point it
then has exactly, or at its own point (``lat``/``lon`` in WGS84, or the feature's point geometry
in any CRS). Its organiser must be loaded too (``organisation_number``, or
``organisation_external_id`` for an organisation without one). Every record is checked before
anything is written; activities are upserted by (source, external_id), their schedules and
exceptions replaced only when they changed. The municipality comes from the point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from geoalchemy2.shape import from_shape
from shapely.geometry import Point

from geo import validation as v
from geo.children import sync_children, touch
from geo.crs import STORAGE_SRID
from geo.records.activities import (
    SESSION_COLUMNS,
    Session,
    activity_fields,
    schedule_sessions,
)
from geo.references import MAX_EXTERNAL_ID, Ref, external_ref, organisation_ref, resolve
from geo.tables import activity, activity_exception, activity_schedule, venue
from geo.upsert import upsert
from loaders.directory import (
    check_duplicates,
    external_id,
    join_municipalities,
    parse_records,
    resolve_organisations,
    source_of,
)
from loaders.fields import FieldMap, resolve_fields
from loaders.pointfile import Record, point_field, point_of, read_point_file, require_columns
from loaders.pointfile import unused_columns as unused
from loaders.report import LoadError, LoadReport, Problems
from loaders.translations import (
    Texts,
    record_translations,
    translation_columns,
    translations_of_file,
)

REQUIRED = {"external_id", "title", "category"}
COLUMNS = REQUIRED | {
    "description",
    "organisation_number",
    "organisation_external_id",
    "venue_external_id",
    "lat",
    "lon",
    "target_groups",
    "min_age",
    "max_age",
    "languages",
    "free",
    "cost_nok",
    "leisure_card_accepted",
    "registration_required",
    "pauses_in_school_holidays",
    "registration_url",
    "status",
    "url",
    "contact_name",
    "contact_email",
    "contact_phone",
    "schedule",
    "exceptions",
    "source",
}


@dataclass
class ParsedActivity:
    label: str
    row: dict[str, Any]
    point: tuple[float, float] | None
    point_field: str
    venue: Ref | None = None
    organiser: Ref | None = None
    sessions: list[Session] = field(default_factory=list)
    exceptions: list[tuple[date]] = field(default_factory=list)
    translations: Texts = field(default_factory=dict)


def _venue_ref(record: Record, source: str) -> Ref | None:
    text = v.optional_text(
        record.get("venue_external_id"), "venue_external_id", max_length=2 * MAX_EXTERNAL_ID
    )
    return external_ref(text, source, "venue_external_id") if text else None


def parse_activity(record: Record, source: str | None, default_source: str) -> ParsedActivity:
    """One record as an activity row with its schedule, exceptions and references."""
    row_source = source_of(record, source, default_source)
    checked = v.each_field(  # every wrong field of the record, not only its first
        {
            "external_id": lambda: external_id(record),
            "fields": lambda: activity_fields(record),
            "sessions": lambda: schedule_sessions(record.get("schedule")),
            "exceptions": lambda: [
                v.optional_date(d, "exceptions")
                for d in v.items(record.get("exceptions"), "exceptions")
            ],
            "organiser": lambda: organisation_ref(
                record, "organisation_number", "organisation_external_id", row_source
            ),
            "venue": lambda: _venue_ref(record, row_source),
            "point": lambda: point_of(record),
        }
    )
    row = {"source": row_source, "external_id": checked["external_id"], **checked["fields"]}
    sessions, exceptions = checked["sessions"], checked["exceptions"]
    organiser, venue_ref, point = checked["organiser"], checked["venue"], checked["point"]
    if venue_ref is None and point is None:
        raise v.FieldError(
            "venue_external_id",
            "an activity needs a venue_external_id or its "
            "own point (lat and lon, or a point geometry)",
        )
    return ParsedActivity(
        record.label,
        row,
        None if venue_ref else point,
        point_field(record),
        venue_ref,
        organiser,
        sessions,
        [(d,) for d in dict.fromkeys(exceptions) if d is not None],
        record_translations(record.cells, "activity"),
    )


def place_at_venues(
    conn: sa.Connection, items: list[ParsedActivity], file_name: str, problems: Problems
) -> None:
    """An activity at a venue gets the venue's id and exactly its point."""
    refs = [i.venue for i in items if i.venue is not None]
    found = resolve(
        conn,
        venue,
        [
            venue.c.id,
            venue.c.geom,
            sa.func.ST_X(venue.c.geom).label("x"),
            sa.func.ST_Y(venue.c.geom).label("y"),
        ],
        refs,
    )
    for item in items:
        if item.venue is None:
            item.row["venue_id"] = None
            continue
        hit = found.find(item.venue)
        if hit is None:
            sources = " or ".join(repr(k[0]) for k in item.venue.keys)
            problems.add(
                LoadError(
                    f"no venue {item.venue.text!r} in source {sources} is loaded; "
                    "load the venues first",
                    record=item.label,
                    field="venue_external_id",
                    code="UNKNOWN_VENUE",
                    path=file_name,
                )
            )
            continue
        item.row["venue_id"], item.row["geom"] = hit.id, hit.geom
        item.point, item.point_field = (hit.x, hit.y), "venue_external_id"


#: The roles the loaders' options name -> an activity's columns.
ROLES = {"code": "external_id", "name": "title"}


def read_activities(
    conn: sa.Connection,
    path: Path,
    source: str | None,
    report: LoadReport,
    fields: FieldMap | None = None,
) -> list[ParsedActivity]:
    """Every activity of the file, checked against the database; LoadErrors naming every bad one.
    ``fields``: a role or column -> the file's field that holds it."""
    file = read_point_file(
        path,
        label_fields=("title", "external_id"),
        fields=resolve_fields(fields, ROLES, COLUMNS, "load activities"),
    )
    require_columns(file, REQUIRED, point=False, roles=ROLES)
    known = COLUMNS | translation_columns(file.columns)
    if unused(file, known):
        report.warnings.append(f"columns not used: {', '.join(unused(file, known))}")
    items, problems = parse_records(
        file.records, lambda r: parse_activity(r, source, path.name), path.name
    )
    check_duplicates(items, path.name, problems)
    resolve_organisations(conn, items, "organiser", "organisation_id", path.name, problems)
    place_at_venues(conn, items, path.name, problems)
    placed = [(i, i.point) for i in items if i.point is not None]  # not at an unknown venue
    join_municipalities(
        conn,
        [i for i, _ in placed],
        [point for _, point in placed],
        [i.point_field for i, _ in placed],
        path.name,
        problems,
    )
    problems.check()
    for item in items:
        if item.venue is None and item.point is not None:
            item.row["geom"] = from_shape(Point(item.point), srid=STORAGE_SRID)
    return items


def load_activities(
    conn: sa.Connection,
    path: Path,
    *,
    source: str | None = None,
    fields: FieldMap | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    """Load an activity file in the caller's transaction; nothing is written if a record is bad.

    ``source`` overrides the file's ``source`` column and the default (the file name).
    """
    report = LoadReport("activities")
    items = read_activities(conn, path, source, report, fields)
    if items:
        write_activities(conn, items, report)
    if progress:
        progress(len(items), len(items))
    return report


def write_activities(conn: sa.Connection, items: list[ParsedActivity], report: LoadReport) -> None:
    counts = upsert(conn, activity, [item.row for item in items])
    pairs = list(zip(counts.ids, items, strict=True))
    changed = sync_children(
        conn,
        activity_schedule,
        "activity_id",
        SESSION_COLUMNS,
        {aid: item.sessions for aid, item in pairs},
    )
    changed |= sync_children(
        conn,
        activity_exception,
        "activity_id",
        ("on_date",),
        {aid: item.exceptions for aid, item in pairs},
    )
    touched = touch(conn, activity, changed)
    translated = translations_of_file(conn, "activity", counts.ids, items)
    report.inserted = counts.inserted
    report.updated = counts.updated + touched
    report.unchanged = counts.unchanged - touched
    if translated:
        report.warnings.append(translated)
