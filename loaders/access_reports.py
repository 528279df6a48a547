"""Venue-access reports: ``hverdag load access-reports FILE.csv``.

An organisation's report on whether it got access to a venue (the survey KUD runs; the write
API's ``reportVenueAccess`` stores the same rows). Columns in docs/loaders.md: ``external_id``;
the venue as ``venue_source`` + ``venue_external_id`` (or ``source:external_id`` in
``venue_external_id``, or the directory's ``venue_id``); the organisation as
``organisation_number`` or ``organisation_external_id`` (optional); ``outcome``; ``suitability``
1-5; ``barriers``; ``note``; ``reported_on`` (not in the future). Every record is checked before
anything is written; rows are upserted by (source, external_id).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from geo import validation as v
from geo.records.access_reports import report_fields
from geo.references import MAX_EXTERNAL_ID, Ref, external_ref, organisation_ref, resolve
from geo.tables import venue, venue_access_report
from geo.upsert import upsert
from loaders.directory import (
    check_duplicates,
    external_id,
    parse_records,
    resolve_organisations,
    source_of,
)
from loaders.fields import FieldMap, resolve_fields
from loaders.pointfile import Record, read_point_file, require_columns, unused_columns
from loaders.report import LoadError, LoadReport, Problems

OSLO = ZoneInfo("Europe/Oslo")
REQUIRED = {"external_id", "outcome", "reported_on"}
COLUMNS = REQUIRED | {
    "venue_source",
    "venue_external_id",
    "venue_id",
    "organisation_number",
    "organisation_external_id",
    "suitability",
    "barriers",
    "note",
    "source",
}


@dataclass
class ParsedReport:
    label: str
    row: dict[str, Any]
    venue: Ref | None = None
    venue_id: int | None = None
    organisation: Ref | None = None


def today() -> date:
    """Today in Oslo: a report dated later is refused."""
    return datetime.now(OSLO).date()


def _venue(record: Record, row_source: str) -> tuple[Ref | None, int | None]:
    text = v.optional_text(
        record.get("venue_external_id"), "venue_external_id", max_length=2 * MAX_EXTERNAL_ID
    )
    number = v.optional_int(record.get("venue_id"), "venue_id", minimum=1)
    if text and number is not None:
        raise v.FieldError("venue_id", "give venue_id or venue_external_id, not both")
    if number is not None:
        return None, number
    if not text:
        raise v.FieldError("venue_external_id", "is required (with venue_source), or venue_id")
    venue_source = v.optional_text(record.get("venue_source"), "venue_source", max_length=200)
    if venue_source:
        return Ref("venue_external_id", f"{venue_source}:{text}", ((venue_source, text),)), None
    return external_ref(text, row_source, "venue_external_id"), None


def parse_report(
    record: Record, source: str | None, default_source: str, latest: date
) -> ParsedReport:
    """One record as a report row and its references; FieldError on the first bad field."""
    row_source = source_of(record, source, default_source)
    fields = report_fields(record, latest)
    venue_ref, venue_id = _venue(record, row_source)
    row = {"source": row_source, "external_id": external_id(record), **fields}
    organisation = organisation_ref(
        record, "organisation_number", "organisation_external_id", row_source
    )
    return ParsedReport(record.label, row, venue_ref, venue_id, organisation)


def _resolve_venues(
    conn: sa.Connection,
    items: list[ParsedReport],
    file_name: str,
    report: LoadReport,
    problems: Problems,
) -> None:
    """Each report's venue id; an unknown venue is refused, an archived one named in a warning
    (its reports are kept but do not count in the survey)."""
    found = resolve(
        conn,
        venue,
        [venue.c.id, venue.c.archived_at],
        [i.venue for i in items if i.venue is not None],
    )
    ids = sorted({i.venue_id for i in items if i.venue_id is not None})
    by_id = (
        {
            r.id: r
            for r in conn.execute(
                sa.select(venue.c.id, venue.c.archived_at).where(venue.c.id.in_(ids))
            )
        }
        if ids
        else {}
    )
    for item in items:
        hit = found.find(item.venue) if item.venue is not None else by_id.get(item.venue_id)
        if hit is None:
            if item.venue is not None:
                sources = " or ".join(repr(k[0]) for k in item.venue.keys)
                what = f"no venue {item.venue.text!r} in source {sources} is loaded"
            else:
                what = f"no venue with id {item.venue_id}"
            problems.add(
                LoadError(
                    f"{what}; load the venues first",
                    record=item.label,
                    field="venue_external_id" if item.venue else "venue_id",
                    code="UNKNOWN_VENUE",
                    path=file_name,
                )
            )
            continue
        if hit.archived_at is not None:
            report.warnings.append(
                f"{item.label}: venue {hit.id} is archived; the report is "
                "kept but does not count in the survey"
            )
        item.row["venue_id"] = hit.id


#: The roles the loaders' options name -> a report's columns.
ROLES = {"code": "external_id"}


def read_reports(
    conn: sa.Connection,
    path: Path,
    source: str | None,
    report: LoadReport,
    fields: FieldMap | None = None,
) -> list[ParsedReport]:
    """Every report of the file, checked against the database; LoadError on the first bad one.
    ``fields``: a role or column -> the file's field that holds it."""
    file = read_point_file(
        path,
        label_fields=("external_id",),
        fields=resolve_fields(fields, ROLES, COLUMNS, "load access-reports"),
    )
    if file.vector:
        raise LoadError(
            "access reports are a CSV file (see docs/loaders.md)",
            code="UNKNOWN_FORMAT",
            path=path.name,
        )
    require_columns(file, REQUIRED, point=False, roles=ROLES)
    if not file.columns & {"venue_external_id", "venue_id"}:
        raise LoadError(
            "missing columns: venue_external_id (with venue_source) or venue_id",
            code="BAD_HEADER",
            path=path.name,
        )
    unused = unused_columns(file, COLUMNS)
    if unused:
        report.warnings.append(f"columns not used: {', '.join(unused)}")
    latest = today()
    items, problems = parse_records(
        file.records, lambda r: parse_report(r, source, path.name, latest), path.name
    )
    check_duplicates(items, path.name, problems)
    _resolve_venues(conn, items, path.name, report, problems)
    resolve_organisations(conn, items, "organisation", "organisation_id", path.name, problems)
    problems.check()
    return items


def load_access_reports(
    conn: sa.Connection,
    path: Path,
    *,
    source: str | None = None,
    fields: FieldMap | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    """Load a report file in the caller's transaction; nothing is written if a record is bad.

    ``source`` overrides the file's ``source`` column and the default (the file name).
    """
    report = LoadReport("access reports")
    items = read_reports(conn, path, source, report, fields)
    if items:
        counts = upsert(conn, venue_access_report, [i.row for i in items])
        report.inserted, report.updated, report.unchanged = (
            counts.inserted,
            counts.updated,
            counts.unchanged,
        )
    if progress:
        progress(len(items), len(items))
    return report
