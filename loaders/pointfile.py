"""Point records from a CSV (a point as ``lat``/``lon`` in WGS84) or from any vector file GDAL
reads (GeoJSON, GeoPackage, …; a point geometry in whatever CRS the file declares).

Both become :class:`Record` s with every field as text, so one parser serves every format.
Column names are case-insensitive. Points are in EPSG:25833, transformed once on the way in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from shapely.geometry import MultiPoint, Point
from shapely.geometry.base import BaseGeometry

from geo import validation as v
from geo.crs import to_storage as wgs84_to_storage
from geo.polygons import CRSError
from geo.polygons import to_storage as geometries_to_storage
from loaders.fields import FieldMap, fields_listed, option_for
from loaders.report import LoadError
from loaders.tabular import read_csv_table
from loaders.vector import read_vector

CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
VECTOR_SUFFIXES = frozenset(
    {".geojson", ".json", ".gpkg", ".shp", ".gml", ".fgb", ".sqlite", ".kml", ".zip"}
)
_VECTOR_MAGIC = (b"{", b"SQLite format 3", b"<")
_POINT_COLUMNS = frozenset({"lat", "lon"})


@dataclass(frozen=True)
class Record:
    """One row or feature: where it is in the file, its fields as text, its point if any."""

    label: str  # "line 7" or "feature 3 (Haugerud skole)"
    cells: dict[str, str]
    point: tuple[float, float] | None = None  # EPSG:25833, from a vector file's geometry
    geometry_error: str | None = None
    vector: bool = False

    def get(self, name: str) -> str:
        return self.cells.get(name, "")


@dataclass(frozen=True)
class PointFile:
    path: Path
    vector: bool
    layer: str
    columns: frozenset[str]
    records: list[Record]


def is_csv(path: Path) -> bool:
    """By suffix, else by the first bytes: JSON, SQLite (GeoPackage) and XML are vector files."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES or suffix in VECTOR_SUFFIXES:
        return suffix in CSV_SUFFIXES
    with path.open("rb") as handle:
        head = handle.read(64).removeprefix(b"\xef\xbb\xbf").lstrip()
    return not head.startswith(_VECTOR_MAGIC)


def read_point_file(
    path: Path, *, label_fields: tuple[str, ...] = ("name",), fields: FieldMap | None = None
) -> PointFile:
    """Every record of a CSV or vector file; LoadError when the file cannot be read at all.
    ``fields``: our column -> the file's field that holds it (``--field name=navn``)."""
    if not path.exists():
        raise LoadError("no such file", code="NOT_FOUND", path=str(path))
    file = _read_csv(path) if is_csv(path) else _read_vector(path, label_fields)
    return _renamed(file, fields or {})


def _renamed(file: PointFile, fields: Mapping[str, str]) -> PointFile:
    """The file with the fields the user named under our columns' names; a column of ours the
    file also has under its own name is shadowed by the named one."""
    if not fields:
        return file
    moves: dict[str, str] = {}
    for column, wanted in fields.items():
        if wanted.lower() not in file.columns:
            raise LoadError(
                f"no field {wanted!r} (named for {column}) in the file; its fields: "
                f"{fields_listed(sorted(file.columns))}",
                field=column,
                code="MISSING_FIELD",
                path=file.path.name,
            )
        moves[wanted.lower()] = column.lower()
    shadowed = set(moves.values()) - set(moves)

    def cells(record: Record) -> dict[str, str]:
        kept = {k: value for k, value in record.cells.items() if k not in shadowed}
        return {moves.get(k, k): value for k, value in kept.items()}

    records = [replace(record, cells=cells(record)) for record in file.records]
    columns = frozenset(moves.get(c, c) for c in file.columns if c not in shadowed)
    return replace(file, records=records, columns=columns)


def _read_csv(path: Path) -> PointFile:
    header, rows = read_csv_table(path, required=set())  # refuses non-UTF-8, empty, no columns
    records = [
        Record(f"line {line}", {k.lower(): value for k, value in row.items()}) for line, row in rows
    ]
    columns = frozenset(c.lower() for c in header if c)
    return PointFile(path, False, "", columns, records)


def _read_vector(path: Path, label_fields: tuple[str, ...]) -> PointFile:
    data = read_vector(path)
    try:
        geoms = geometries_to_storage(data.geometries, data.crs)
    except CRSError as error:
        raise LoadError(str(error), code="BAD_CRS", path=path.name) from None
    names = {name.lower(): name for name in data.fields}
    records = []
    for index, geom in enumerate(geoms):
        cells = {lower: _cell(data.fields[name][index]) for lower, name in names.items()}
        label = next((cells[f] for f in label_fields if cells.get(f)), "")
        point, problem = _point(geom)
        records.append(
            Record(
                f"feature {index + 1}" + (f" ({label})" if label else ""),
                cells,
                point,
                problem,
                vector=True,
            )
        )
    return PointFile(path, True, data.layer, frozenset(names), records)


def _cell(value: object) -> str:
    """A field value as the text a CSV would hold."""
    if value is None:
        return ""
    if isinstance(value, np.ndarray | list | tuple):
        return v.LIST_SEPARATOR.join(_cell(item) for item in value)
    if isinstance(value, np.generic):
        value = value.item() if not isinstance(value, np.datetime64) else value
    if isinstance(value, np.datetime64):
        return "" if np.isnat(value) else str(value)[:10]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def _point(geom: BaseGeometry | None) -> tuple[tuple[float, float] | None, str | None]:
    if geom is None or geom.is_empty:
        return None, None
    if isinstance(geom, MultiPoint) and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    if not isinstance(geom, Point):
        return None, f"a {geom.geom_type}, not a point"
    if not (math.isfinite(geom.x) and math.isfinite(geom.y)):
        return None, "coordinates outside the range of the declared CRS"
    return (float(geom.x), float(geom.y)), None


def require_columns(
    file: PointFile,
    required: set[str],
    *,
    point: bool,
    roles: Mapping[str, str] | None = None,
) -> None:
    """``required`` columns, and with ``point`` a CSV's ``lat`` and ``lon`` (a vector file has
    its geometry). The refusal lists the file's fields and the options that name the right
    ones (``roles``: the loader's role -> column, e.g. code -> external_id)."""
    needed = required | (_POINT_COLUMNS if point and not file.vector else set())
    missing = sorted(needed - file.columns)
    if missing:
        options = ", ".join(option_for(column, roles or {}) for column in missing)
        raise LoadError(
            f"missing columns {missing}; the file's fields: {sorted(file.columns)}; if the "
            f"file holds them under other names, name them with {options}",
            code="BAD_HEADER",
            path=file.path.name,
        )


def unused_columns(file: PointFile, known: set[str]) -> list[str]:
    return sorted(file.columns - known)


def point_of(record: Record) -> tuple[float, float] | None:
    """The record's point in EPSG:25833: its geometry, else its lat/lon; None when it has none.

    Raises FieldError (``geometry``, ``lat`` or ``lon``) for a point that cannot be used.
    """
    if record.geometry_error:
        raise v.FieldError("geometry", record.geometry_error)
    if record.point is not None:
        return record.point
    lat_lon = v.lat_lon(record.get("lat"), record.get("lon"))
    return None if lat_lon is None else wgs84_to_storage(*lat_lon)


def point_field(record: Record) -> str:
    """The field a point problem is reported against."""
    return "geometry" if record.vector and record.point is not None else "lat"
