"""Organisations from a CSV: ``hverdag load organisations FILE.csv``.

Columns (docs/loaders.md): ``name`` (required), ``organisation_number`` (optional, mod-11
checked), ``kind``, ``municipality_number``, ``website``, ``description``, ``external_id``
(required when there is no organisation number, which is then the default), and optionally
``in_voluntary_register`` and ``source``. Upserted by (source, external_id). An organisation
number already in the directory under another source or id is refused, so that one
organisation is one row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from geo import validation as v
from geo.references import MAX_EXTERNAL_ID
from geo.tables import municipality, organisation
from geo.upsert import upsert
from geo.vocab import OrganisationKind
from loaders.directory import check_duplicate_values, check_duplicates, parse_records, source_of
from loaders.fields import FieldMap, resolve_fields
from loaders.pointfile import Record, read_point_file, require_columns, unused_columns
from loaders.report import LoadError, LoadReport, Problems

REQUIRED = {"name"}
COLUMNS = REQUIRED | {
    "organisation_number",
    "kind",
    "municipality_number",
    "website",
    "description",
    "external_id",
    "in_voluntary_register",
    "source",
}


@dataclass
class ParsedOrganisation:
    label: str
    row: dict[str, Any]


def parse_organisation(
    record: Record, source: str | None, default_source: str
) -> ParsedOrganisation:
    number_text = record.get("organisation_number")
    number = v.organisation_number(number_text) if number_text else None
    ext = record.get("external_id") or number
    if not ext:
        raise v.FieldError("external_id", "is required when there is no organisation_number")
    kind = record.get("kind")
    municipality_text = record.get("municipality_number")
    return ParsedOrganisation(
        record.label,
        {
            "source": source_of(record, source, default_source),
            "external_id": v.required_text(ext, "external_id", max_length=MAX_EXTERNAL_ID),
            "name": v.required_text(record.get("name"), "name", max_length=v.MAX_NAME),
            "organisation_number": number,
            "kind": (
                v.vocabulary(OrganisationKind, kind, "kind") if kind else OrganisationKind.OTHER
            ).value,
            "in_voluntary_register": bool(
                v.boolean(record.get("in_voluntary_register"), "in_voluntary_register")
            ),
            "municipality_number": (
                v.municipality_number(municipality_text) if municipality_text else None
            ),
            "website": v.url(record.get("website"), "website"),
            "description": v.optional_text(
                record.get("description"), "description", max_length=v.MAX_DESCRIPTION
            ),
        },
    )


def _check_numbers_elsewhere(
    conn: sa.Connection, items: list[ParsedOrganisation], file_name: str, problems: Problems
) -> None:
    """An organisation number may be in the directory only as this very (source, external_id)."""
    by_number = {i.row["organisation_number"]: i for i in items if i.row["organisation_number"]}
    if not by_number:
        return
    rows = conn.execute(
        sa.select(
            organisation.c.organisation_number, organisation.c.source, organisation.c.external_id
        ).where(organisation.c.organisation_number.in_(sorted(by_number)))
    )
    for row in rows:
        item = by_number[row.organisation_number]
        if (row.source, row.external_id) != (item.row["source"], item.row["external_id"]):
            problems.add(
                LoadError(
                    f"organisation number {row.organisation_number} is already in the "
                    f"directory as {row.source}:{row.external_id}",
                    record=item.label,
                    field="organisation_number",
                    code="DUPLICATE",
                    path=file_name,
                )
            )


def _unknown_municipalities(
    conn: sa.Connection, items: list[ParsedOrganisation], report: LoadReport
) -> None:
    """Like the Brønnøysund loader: a number not among the loaded municipalities (another
    numbering) is left empty, with a warning."""
    known = set(conn.execute(sa.select(municipality.c.number)).scalars())
    for item in items:
        number = item.row["municipality_number"]
        if number and number not in known:
            report.warnings.append(
                f"{item.label} {item.row['name']}: municipality {number} is "
                "not among the loaded municipalities; left empty"
            )
            item.row["municipality_number"] = None


#: The roles the loaders' options name -> an organisation's columns.
ROLES = {"code": "organisation_number", "name": "name", "municipality": "municipality_number"}


def load_organisation_csv(
    conn: sa.Connection,
    path: Path,
    *,
    source: str | None = None,
    fields: FieldMap | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    """``fields``: a role or column -> the file's field that holds it."""
    report = LoadReport("organisations")
    file = read_point_file(
        path, fields=resolve_fields(fields, ROLES, COLUMNS, "load organisations")
    )
    require_columns(file, REQUIRED, point=False, roles=ROLES)
    if unused_columns(file, COLUMNS):
        report.warnings.append(f"columns not used: {', '.join(unused_columns(file, COLUMNS))}")
    items, problems = parse_records(
        file.records, lambda r: parse_organisation(r, source, path.name), path.name
    )
    check_duplicates(items, path.name, problems)
    check_duplicate_values(items, "organisation_number", path.name, problems)
    _check_numbers_elsewhere(conn, items, path.name, problems)
    problems.check()
    _unknown_municipalities(conn, items, report)
    if items:
        counts = upsert(conn, organisation, [i.row for i in items])
        report.inserted, report.updated, report.unchanged = (
            counts.inserted,
            counts.updated,
            counts.unchanged,
        )
    if progress:
        progress(len(items), len(items))
    return report
