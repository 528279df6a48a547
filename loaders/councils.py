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

from geo import validation as v
from geo.tables import county, immigrant_council, municipality
from geo.upsert import upsert
from geo.vocab import CouncilKind, CouncilLevel, CouncilStatus
from loaders.report import LoadError, LoadReport
from loaders.tabular import parse_records, read_csv

REQUIRED = {"name", "kind", "level", "status"}


def _first(record: dict[str, str], *names: str) -> str:
    return next((record[n] for n in names if record.get(n)), "")


def _parse(record: dict[str, str], source: str) -> dict[str, Any]:
    level = v.vocabulary(CouncilLevel, record["level"], "level")
    number_text = _first(record, "kommunenummer_2020", "kommunenummer")
    county_text = _first(record, "fylkesnummer_2020", "fylkesnummer")
    number = v.municipality_number(number_text, "kommunenummer") if number_text else None
    county_no = v.county_number(county_text, "fylkesnummer") if county_text else None
    if level is CouncilLevel.MUNICIPALITY and number is None:
        raise v.FieldError("kommunenummer", "a municipal council needs its municipality")
    if level is CouncilLevel.COUNTY and county_no is None:
        raise v.FieldError("fylkesnummer", "a county council needs its county")
    name = v.required_text(record["name"], "name")
    return {
        "name": name,
        "kind": v.vocabulary(CouncilKind, record["kind"], "kind").value,
        "level": level.value,
        "municipality_number": number,
        "county_number": county_no or (number[:2] if number else None),
        "status": v.vocabulary(CouncilStatus, record["status"], "status").value,
        "established": v.optional_int(record.get("established"), "established",
                                      minimum=1900, maximum=2100),
        "members": v.optional_int(record.get("members"), "members", minimum=1, maximum=500),
        "website": v.optional_text(record.get("source"), "source", max_length=500),
        "note": v.optional_text(record.get("note"), "note"),
        "source": source,
        "external_id": f"{level.value}:{number or county_no or '-'}:{name}",
    }


def _check_places(conn: sa.Connection, rows: list[dict[str, Any]],
                  lines: list[int], path: Path) -> None:
    """Every council's municipality (or county) must be loaded: no orphans."""
    known_m = set(conn.execute(sa.select(municipality.c.number)).scalars())
    known_c = set(conn.execute(sa.select(county.c.number)).scalars())
    for row, line in zip(rows, lines, strict=True):
        if row["municipality_number"] and row["municipality_number"] not in known_m:
            raise LoadError(f"municipality {row['municipality_number']} is not loaded",
                            record=f"line {line}", field="kommunenummer", path=path.name,
                            code="UNKNOWN_MUNICIPALITY")
        if row["level"] == CouncilLevel.COUNTY and row["county_number"] not in known_c:
            raise LoadError(f"county {row['county_number']} is not loaded",
                            record=f"line {line}", field="fylkesnummer", path=path.name,
                            code="UNKNOWN_COUNTY")


def load_councils(conn: sa.Connection, path: Path, *, source: str | None = None,
                  progress: Callable[[int, int], None] | None = None) -> LoadReport:
    records = read_csv(path, required=REQUIRED)
    source = source or path.name
    rows = parse_records(records, lambda r: _parse(r, source), path)
    lines = [line for line, _ in records]
    _check_duplicates(rows, lines, path)
    _check_places(conn, rows, lines, path)
    counts = upsert(conn, immigrant_council, rows)
    if progress:
        progress(len(rows), len(rows))
    return LoadReport("councils", inserted=counts.inserted, updated=counts.updated,
                      unchanged=counts.unchanged)


def _check_duplicates(rows: list[dict[str, Any]], lines: list[int], path: Path) -> None:
    seen: dict[str, int] = {}
    for row, line in zip(rows, lines, strict=True):
        key = row["external_id"]
        if key in seen:
            raise LoadError(f"the same council as line {seen[key]}", record=f"line {line}",
                            field="name", path=path.name, code="DUPLICATE")
        seen[key] = line
