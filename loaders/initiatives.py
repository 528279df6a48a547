"""Area initiatives (områdesatsinger) built from loaded districts.

A JSON list of ``{slug, name, municipality, districts: [district names], description, source}``;
each initiative's area is the union of its districts (``statistical_area`` of kind BYDEL, which
must be loaded first). The strategy also names Fjell in Drammen, Storhaug and Hillevåg in
Stavanger and Årstad/Solheim in Bergen; they can be added the same way once their districts'
boundaries are loaded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from geo import validation as v
from geo.tables import area_initiative, statistical_area
from geo.upsert import upsert
from geo.vocab import AreaKind
from loaders.report import LoadError, LoadReport, Problems


def _entries(path: Path) -> list[dict[str, Any]]:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LoadError(f"not UTF-8 JSON: {error}", code="BAD_FORMAT", path=path.name) from None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise LoadError("expected a JSON list of initiatives", code="BAD_FORMAT", path=path.name)
    return entries


def _district_codes(conn: sa.Connection, municipality_number: str) -> dict[str, str]:
    area = statistical_area.c
    rows = conn.execute(
        sa.select(area.name, area.code).where(
            area.kind == AreaKind.BYDEL.value,
            area.municipality_number == municipality_number,
            area.archived_at.is_(None),
        )
    )
    return {str(r.name).lower(): r.code for r in rows if r.name}


def _union_of(codes: list[str]) -> sa.ScalarSelect[Any]:
    area = statistical_area.c
    return (
        sa.select(sa.func.ST_Multi(sa.func.ST_CollectionExtract(sa.func.ST_Union(area.geom), 3)))
        .where(area.kind == AreaKind.BYDEL.value, area.code.in_(codes))
        .scalar_subquery()
    )


def _row(
    conn: sa.Connection, entry: dict[str, Any], index: int, path: Path, source: str
) -> dict[str, Any]:
    record = f"initiative {index} ({entry.get('slug', '?')})"
    try:
        slug = v.required_text(entry.get("slug"), "slug", max_length=100)
        number = v.municipality_number(entry.get("municipality", ""), "municipality")
        districts = entry.get("districts") or []
        if not districts:
            raise v.FieldError("districts", "at least one district is needed")
    except v.FieldError as error:
        raise LoadError(error.reason, record=record, field=error.field, path=path.name) from None
    known = _district_codes(conn, number)
    missing = [d for d in districts if str(d).lower() not in known]
    if missing:
        raise LoadError(
            f"districts not loaded for {number}: {missing}",
            record=record,
            field="districts",
            code="UNKNOWN_DISTRICT",
            path=path.name,
        )
    return {
        "slug": slug,
        "name": v.required_text(entry.get("name"), "name"),
        "description": v.optional_text(entry.get("description"), "description"),
        "municipality_number": number,
        "geom": _union_of([known[str(d).lower()] for d in districts]),
        "source": source,
        "external_id": slug,
    }


def load_initiatives(
    conn: sa.Connection,
    path: Path,
    *,
    source: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    entries = _entries(path)
    rows, problems = [], Problems(path.name)
    for index, entry in enumerate(entries, 1):
        with problems.collecting():
            rows.append(_row(conn, entry, index, path, source or path.name))
    problems.check()
    counts = upsert(conn, area_initiative, rows, key=("slug",))
    if progress:
        progress(len(rows), len(rows))
    return LoadReport(
        "area initiatives",
        inserted=counts.inserted,
        updated=counts.updated,
        unchanged=counts.unchanged,
    )
