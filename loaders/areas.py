"""Population units and districts: ``hverdag load areas FILE --kind KIND``.

Reads the publishers' formats through GDAL (any CRS, transformed once to EPSG:25833), repairs
invalid polygons like the boundary loader, and upserts by (kind, code):

- BYDEL: Oslo's districts (``bnavn``; the file has no codes, so the code comes from SSB's
  district numbering, e.g. 030112 Alna) or any file with ``bydelsnummer``/``bydel`` codes;
- DELBYDEL: Oslo's sub-districts (``DELBYDEL`` "0102" → code "03010102", ``DELBYDELSN``);
- GRID_1KM / GRID_250M: SSB's population grid (``ssbid1000M``/``ssbid250M``, ``popTot``);
- GRUNNKRETS: Geonorge's grunnkrets population (``grunnkretsnummer``, ``totalBefolkning``).

A unit's municipality comes from its code where the code carries it, else from the spatial join
of its interior point with the loaded municipalities.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from geoalchemy2.shape import from_shape

from geo.crs import STORAGE_SRID
from geo.polygons import CRSError, GeometryError, make_areal, to_storage
from geo.spatial_join import municipalities_of_points
from geo.tables import statistical_area
from geo.upsert import upsert
from geo.vocab import AreaKind
from loaders.report import LoadError, LoadReport, Problems
from loaders.vector import VectorFile, read_vector

# SSB's district numbers for Oslo (bydel, 2004-): the districts file names them only.
OSLO_DISTRICTS = {
    "gamle oslo": "01",
    "grünerløkka": "02",
    "sagene": "03",
    "st. hanshaugen": "04",
    "frogner": "05",
    "ullern": "06",
    "vestre aker": "07",
    "nordre aker": "08",
    "bjerke": "09",
    "grorud": "10",
    "stovner": "11",
    "alna": "12",
    "østensjø": "13",
    "nordstrand": "14",
    "søndre nordstrand": "15",
    "sentrum": "16",
    "marka": "17",
}


@dataclass(frozen=True)
class _Fields:
    code: tuple[str, ...]
    name: tuple[str, ...]
    population: tuple[str, ...] = ("popTot", "totalBefolkning", "befolkning", "population")
    immigrants: tuple[str, ...] = ("innvandrere", "immigrants", "immigrant_population")
    year: tuple[str, ...] = ("statistikkÅr", "statistikkar", "year", "aar")


FIELDS = {
    AreaKind.BYDEL: _Fields(
        code=("bydelsnummer", "code"), name=("bnavn", "bydelsnavn", "navn", "name")
    ),
    AreaKind.DELBYDEL: _Fields(
        code=("DELBYDEL", "delbydelsnummer", "code"),
        name=("DELBYDELSN", "delbydelsnavn", "navn", "name"),
    ),
    AreaKind.GRID_1KM: _Fields(code=("ssbid1000M", "ssbid", "code"), name=()),
    AreaKind.GRID_250M: _Fields(code=("ssbid250M", "ssbid", "code"), name=()),
    AreaKind.GRUNNKRETS: _Fields(
        code=("grunnkretsnummer", "code"), name=("grunnkretsnavn", "navn", "name")
    ),
}


def _value(data: VectorFile, candidates: tuple[str, ...], index: int) -> Any:
    name = data.field(*candidates)
    if name is None:
        return None
    value = data.fields[name][index]
    if isinstance(value, float) and np.isnan(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _code(kind: AreaKind, raw: Any, name: str | None, record: str, path: Path) -> str:
    if kind is AreaKind.BYDEL and raw is None and name:
        number = OSLO_DISTRICTS.get(name.strip().lower())
        if number:
            return f"0301{number}"
    text = "" if raw is None else str(raw).strip()
    if isinstance(raw, float) and raw.is_integer():
        text = str(int(raw))
    if not text:
        raise LoadError("no code", record=record, field=FIELDS[kind].code[0], path=path.name)
    if kind is AreaKind.DELBYDEL and re.fullmatch(r"[0-9]{4}", text):
        return f"0301{text}"  # Oslo's own 4-digit sub-district numbers
    return text


def _count(raw: Any, field: str, record: str, path: Path) -> int | None:
    if raw is None or str(raw).strip() == "":
        return None
    try:
        number = int(float(raw))
    except ValueError:
        raise LoadError(
            f"not a number: {raw!r}", record=record, field=field, path=path.name
        ) from None
    if number < 0:
        raise LoadError(f"negative: {number}", record=record, field=field, path=path.name)
    return number


def _municipality_of_code(kind: AreaKind, code: str) -> str | None:
    if kind in {AreaKind.BYDEL, AreaKind.DELBYDEL, AreaKind.GRUNNKRETS} and len(code) >= 6:
        return code[:4]
    return None


def read_areas(
    path: Path, kind: AreaKind, source: str, report: LoadReport
) -> tuple[list[dict[str, Any]], list[tuple[float, float]]]:
    """Every feature as a row for ``statistical_area``, with an interior point of each;
    LoadErrors naming every bad one (each wrong field)."""
    data = read_vector(path)
    try:
        geoms = to_storage(data.geometries, data.crs)
    except CRSError as error:
        raise LoadError(str(error), code="BAD_CRS", path=path.name) from None
    spec = FIELDS[kind]
    rows: list[dict[str, Any]] = []
    interiors: list[tuple[float, float]] = []
    problems = Problems(path.name)
    for index in range(len(data)):
        name = _value(data, spec.name, index) if spec.name else None
        record = f"feature {index + 1}" + (f" ({name})" if name else "")
        problems.place(record, index)
        with problems.collecting():
            row, interior = _area_row(data, kind, geoms[index], index, record, source, path, report)
            rows.append(row)
            interiors.append(interior)
    problems.check()
    _check_unique(rows, path)
    return rows, interiors


def _area_row(
    data: VectorFile,
    kind: AreaKind,
    geom: Any,
    index: int,
    record: str,
    source: str,
    path: Path,
    report: LoadReport,
) -> tuple[dict[str, Any], tuple[float, float]]:
    """One feature as a ``statistical_area`` row and an interior point; LoadErrors naming each
    of its wrong fields."""
    spec = FIELDS[kind]
    name = _value(data, spec.name, index) if spec.name else None
    problems = Problems(path.name)
    code, counts, areal = "", {}, None
    with problems.collecting():
        code = _code(kind, _value(data, spec.code, index), name, record, path)
    for field, column in (
        ("population", spec.population),
        ("immigrants", spec.immigrants),
        ("year", spec.year),
    ):
        with problems.collecting():
            counts[field] = _count(_value(data, column, index), field, record, path)
    try:
        areal = make_areal(geom)
    except GeometryError as error:
        problems.add(
            LoadError(
                str(error),
                record=f"{record} {code}".strip(),
                field="geometry",
                code=error.code,
                path=path.name,
            )
        )
    problems.check()
    assert areal is not None
    if areal.repair:
        report.repaired += 1
        report.warnings.append(f"repaired invalid geometry of {kind.value} {code}: {areal.repair}")
    inside = areal.geom.representative_point()
    return (
        {
            "kind": kind.value,
            "code": code,
            "name": str(name) if name else None,
            "municipality_number": _municipality_of_code(kind, code),
            "geom": from_shape(areal.geom, srid=STORAGE_SRID),
            "population": counts["population"],
            "immigrant_population": counts["immigrants"],
            "year": counts["year"],
            "source": source,
            "external_id": code,
        },
        (inside.x, inside.y),
    )


def _check_unique(rows: list[dict[str, Any]], path: Path) -> None:
    seen: set[str] = set()
    problems = Problems(path.name)
    for index, row in enumerate(rows, start=1):
        if row["code"] in seen:
            problems.add(
                LoadError(
                    f"code {row['code']} appears twice",
                    record=f"feature {index}",
                    field="code",
                    code="DUPLICATE",
                    path=path.name,
                )
            )
        seen.add(row["code"])
    problems.check()


def _join_municipalities(
    conn: sa.Connection, rows: list[dict[str, Any]], interiors: list[tuple[float, float]]
) -> None:
    """Units whose code does not say their municipality get the one covering their interior."""
    unknown = [i for i, row in enumerate(rows) if row["municipality_number"] is None]
    found = municipalities_of_points(conn, [interiors[i] for i in unknown])
    for i, number in zip(unknown, found, strict=True):
        rows[i]["municipality_number"] = number


def load_areas(
    conn: sa.Connection,
    path: Path,
    *,
    kind: AreaKind | str,
    source: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    kind = AreaKind(str(kind).upper())
    report = LoadReport(f"areas ({kind.value})")
    rows, interiors = read_areas(path, kind, source or path.name, report)
    _join_municipalities(conn, rows, interiors)
    counts = upsert(conn, statistical_area, rows, key=("kind", "code"))
    report.inserted, report.updated, report.unchanged = (
        counts.inserted,
        counts.updated,
        counts.unchanged,
    )
    if progress:
        progress(len(rows), len(rows))
    return report
