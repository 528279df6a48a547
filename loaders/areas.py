"""Population units and districts: ``hverdag load areas FILE --kind KIND``.

Reads the publishers' formats through GDAL (any CRS, transformed once to EPSG:25833), repairs
invalid polygons like the boundary loader, and upserts by (kind, code):

- BYDEL: Oslo's districts (``bnavn``; the file has no codes, so the code comes from SSB's
  district numbering, e.g. 030112 Alna) or any file with ``bydelsnummer``/``bydel`` codes;
- DELBYDEL: Oslo's sub-districts (``DELBYDEL`` "0102" → code "03010102", ``DELBYDELSN``);
- GRID_1KM / GRID_250M: SSB's population grid (``ssbid1000M``/``ssbid250M``, ``popTot``);
- GRUNNKRETS: Geonorge's grunnkrets population (``grunnkretsnummer``, ``totalBefolkning``).

A file from another publisher names its fields its own way: ``--code-field``, ``--name-field``,
``--population-field``, ``--immigrants-field``, ``--year-field`` and ``--municipality-field``
(``fields``: role -> the file's field) say which holds what, e.g. Bergen's, Trondheim's or
Stavanger's districts with ``bydelnr`` and ``bydelnavn``. A file without a code field is refused
with its own fields listed and the option named.

A unit's municipality comes from the named field, else from its code where the code carries it,
else from the spatial join of its interior point with the loaded municipalities.
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
from loaders.fields import FieldMap, missing_field, named_field, resolve_fields
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
    municipality: tuple[str, ...] = ()


#: The roles the options name -> the columns of a unit they fill.
ROLES = {
    "code": "code",
    "name": "name",
    "population": "population",
    "immigrants": "immigrant_population",
    "year": "year",
    "municipality": "municipality_number",
}
_SPEC_OF_COLUMN = {
    "code": "code",
    "name": "name",
    "population": "population",
    "immigrant_population": "immigrants",
    "year": "year",
    "municipality_number": "municipality",
}


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


def _chosen_fields(data: VectorFile, spec: _Fields, fields: FieldMap | None, path: Path) -> _Fields:
    """The candidates of each column: the one field the user named for it (checked to exist),
    else the known publishers' names."""
    named = resolve_fields(fields, ROLES, _SPEC_OF_COLUMN, "load areas")
    chosen = {
        attr: (named_field(data.fields, named[column], column, path),)
        for column, attr in _SPEC_OF_COLUMN.items()
        if column in named
    }
    return _Fields(
        **{
            attr: chosen.get(attr, getattr(spec, attr))
            for attr in ("code", "name", "population", "immigrants", "year", "municipality")
        }
    )


def _value(data: VectorFile, candidates: tuple[str, ...], index: int) -> Any:
    name = data.field(*candidates) if candidates else None
    if name is None:
        return None
    value = data.fields[name][index]
    if isinstance(value, float) and np.isnan(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _code(
    kind: AreaKind,
    raw: Any,
    name: str | None,
    municipality: str | None,
    record: str,
    path: Path,
    data: VectorFile,
    spec: _Fields,
) -> str:
    if kind is AreaKind.BYDEL and raw is None and name:
        number = OSLO_DISTRICTS.get(name.strip().lower())
        if number:
            return f"0301{number}"
    text = "" if raw is None else str(raw).strip()
    if isinstance(raw, float) and raw.is_integer():
        text = str(int(raw))
    if not text:
        if data.field(*spec.code) is None:
            raise missing_field("code", spec.code, data.fields, ROLES, path, record)
        raise LoadError("no code", record=record, field=spec.code[0], path=path.name)
    if municipality and kind in (AreaKind.BYDEL, AreaKind.DELBYDEL):
        # A district's own number within its municipality ("02"), or a sub-district's
        # ("0102"), made whole with the municipality's number.
        digits = 2 if kind is AreaKind.BYDEL else 4
        if re.fullmatch(rf"[0-9]{{{digits}}}", text):
            return f"{municipality}{text}"
    if kind is AreaKind.DELBYDEL and re.fullmatch(r"[0-9]{4}", text):
        return f"0301{text}"  # Oslo's own 4-digit sub-district numbers
    return text


def _municipality(raw: Any, record: str, path: Path) -> str | None:
    """A municipality number from its field: 4 digits, or fewer as an integer (301 is 0301)."""
    if raw is None or str(raw).strip() == "":
        return None
    text = str(int(raw)) if isinstance(raw, float) and raw.is_integer() else str(raw).strip()
    if not re.fullmatch(r"[0-9]{1,4}", text):
        raise LoadError(
            f"not a municipality number: {raw!r}",
            record=record,
            field="municipality_number",
            path=path.name,
        )
    return text.zfill(4)


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
    path: Path,
    kind: AreaKind,
    source: str,
    report: LoadReport,
    fields: FieldMap | None = None,
) -> tuple[list[dict[str, Any]], list[tuple[float, float]]]:
    """Every feature as a row for ``statistical_area``, with an interior point of each;
    LoadErrors naming every bad one (each wrong field). ``fields``: role or column -> the file's
    field."""
    data = read_vector(path)
    try:
        geoms = to_storage(data.geometries, data.crs)
    except CRSError as error:
        raise LoadError(str(error), code="BAD_CRS", path=path.name) from None
    spec = _chosen_fields(data, FIELDS[kind], fields, path)
    rows: list[dict[str, Any]] = []
    interiors: list[tuple[float, float]] = []
    problems = Problems(path.name)
    for index in range(len(data)):
        name = _value(data, spec.name, index)
        record = f"feature {index + 1}" + (f" ({name})" if name else "")
        problems.place(record, index)
        with problems.collecting():
            row, interior = _area_row(
                data, kind, spec, geoms[index], index, record, source, path, report
            )
            rows.append(row)
            interiors.append(interior)
    problems.check()
    _check_unique(rows, path)
    return rows, interiors


def _area_row(
    data: VectorFile,
    kind: AreaKind,
    spec: _Fields,
    geom: Any,
    index: int,
    record: str,
    source: str,
    path: Path,
    report: LoadReport,
) -> tuple[dict[str, Any], tuple[float, float]]:
    """One feature as a ``statistical_area`` row and an interior point; LoadErrors naming each
    of its wrong fields."""
    name = _value(data, spec.name, index)
    problems = Problems(path.name)
    code, counts, areal, municipality = "", {}, None, None
    with problems.collecting():
        municipality = _municipality(_value(data, spec.municipality, index), record, path)
    with problems.collecting():
        code = _code(
            kind, _value(data, spec.code, index), name, municipality, record, path, data, spec
        )
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
            "municipality_number": municipality or _municipality_of_code(kind, code),
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
    fields: FieldMap | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    kind = AreaKind(str(kind).upper())
    report = LoadReport(f"areas ({kind.value})")
    rows, interiors = read_areas(path, kind, source or path.name, report, fields)
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
