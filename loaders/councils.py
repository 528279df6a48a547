"""Immigrant councils from a CSV like data/innvandrerrad.csv.

Columns: ``name; kind; level; kommunenummer_2020 (or kommunenummer); fylkesnummer_2020 (or
fylkesnummer); status; established; members; source (a web page); note``. A council is keyed by
its level, place and name, so a reload updates it in place. Its municipality or county must be
loaded, in the same numbering as the file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from geo.records.councils import council_fields, council_key
from geo.tables import county, immigrant_council, municipality
from geo.upsert import upsert
from geo.validation import FieldError, FieldErrors
from geo.vocab import CouncilLevel
from loaders.fields import FieldMap, resolve_fields
from loaders.report import LoadError, LoadReport, Problems
from loaders.tabular import parse_records, read_csv

REQUIRED = {"name", "kind", "level", "status"}
#: The file's columns for the table's columns it names otherwise: the first one with a value
#: (the 2020 numbering's first), and the one an error names.
CSV_COLUMNS = {
    "municipality_number": ("kommunenummer_2020", "kommunenummer"),
    "county_number": ("fylkesnummer_2020", "fylkesnummer"),
    "website": ("source",),
}
_ERROR_COLUMNS = {column: names[-1] for column, names in CSV_COLUMNS.items()}
#: The file's columns a loader option may name (``--field members=medlemmer``).
COLUMNS = (
    REQUIRED
    | {n for names in CSV_COLUMNS.values() for n in names}
    | {
        "established",
        "members",
        "note",
        "website",
    }
)
#: The roles the loaders' options name -> the file's columns.
ROLES = {"name": "name", "municipality": "kommunenummer"}


def _record(row: dict[str, str]) -> dict[str, Any]:
    """A line of the file as a record keyed by the table's columns."""
    record: dict[str, Any] = dict(row)
    for column, names in CSV_COLUMNS.items():
        record[column] = next((row[name] for name in names if row.get(name)), None)
    return record


def _parse(row: dict[str, str], source: str) -> dict[str, Any]:
    try:
        values = council_fields(_record(row))
    except FieldError as error:  # each wrong field named by the file's own column
        raise FieldErrors(
            [FieldError(_ERROR_COLUMNS.get(e.field, e.field), e.reason) for e in error.errors]
        ) from None
    return {**values, "source": source, "external_id": council_key(values)}


def _check_places(
    conn: sa.Connection,
    rows: list[dict[str, Any]],
    lines: list[int],
    path: Path,
    problems: Problems,
) -> None:
    """Every council's municipality (or county) must be loaded: no orphans."""
    known_m = set(conn.execute(sa.select(municipality.c.number)).scalars())
    known_c = set(conn.execute(sa.select(county.c.number)).scalars())
    for row, line in zip(rows, lines, strict=True):
        if row["municipality_number"] and row["municipality_number"] not in known_m:
            problems.add(
                LoadError(
                    f"municipality {row['municipality_number']} is not loaded",
                    record=f"line {line}",
                    field="kommunenummer",
                    path=path.name,
                    code="UNKNOWN_MUNICIPALITY",
                )
            )
        if row["level"] == CouncilLevel.COUNTY and row["county_number"] not in known_c:
            problems.add(
                LoadError(
                    f"county {row['county_number']} is not loaded",
                    record=f"line {line}",
                    field="fylkesnummer",
                    path=path.name,
                    code="UNKNOWN_COUNTY",
                )
            )


def load_councils(
    conn: sa.Connection,
    path: Path,
    *,
    source: str | None = None,
    fields: FieldMap | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    """``fields``: a role or column -> the file's column that holds it."""
    records = read_csv(
        path,
        required=REQUIRED,
        fields=resolve_fields(fields, ROLES, COLUMNS, "load councils"),
        roles=ROLES,
    )
    source = source or path.name
    problems = Problems(path.name)
    parsed = parse_records(records, lambda r: _parse(r, source), path, problems)
    lines, rows = [line for line, _ in parsed], [row for _, row in parsed]
    _check_duplicates(rows, lines, path, problems)
    _check_places(conn, rows, lines, path, problems)
    problems.check()
    counts = upsert(conn, immigrant_council, rows)
    if progress:
        progress(len(rows), len(rows))
    return LoadReport(
        "councils", inserted=counts.inserted, updated=counts.updated, unchanged=counts.unchanged
    )


def _check_duplicates(
    rows: list[dict[str, Any]], lines: list[int], path: Path, problems: Problems
) -> None:
    seen: dict[str, int] = {}
    for row, line in zip(rows, lines, strict=True):
        key = row["external_id"]
        if key in seen:
            problems.add(
                LoadError(
                    f"the same council as line {seen[key]}",
                    record=f"line {line}",
                    field="name",
                    path=path.name,
                    code="DUPLICATE",
                )
            )
            continue
        seen[key] = line
