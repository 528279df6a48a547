"""Areal geometries on their way into storage: one transform to EPSG:25833, then repair.

No database here: loaders check a whole file with these functions before they write anything.
The repair is GEOS's MakeValid with the "structure" method, the algorithm behind PostGIS's
``ST_MakeValid(geom, 'method=structure')``; only the areal parts are kept, as
``ST_CollectionExtract(geom, 3)`` would, and the result is a MultiPolygon for the typmod columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as ProjCRSError
from pyproj.exceptions import ProjError
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geo.crs import STORAGE_SRID

# Mainland Norway, Svalbard and Jan Mayen in EPSG:25833, with a wide margin. A feature outside
# it almost always means the file declares the wrong CRS (degrees read as metres or the reverse).
NORWAY_BOUNDS = (-1_200_000.0, 6_000_000.0, 2_000_000.0, 9_500_000.0)

_MULTI_PART_TYPES = {"MultiPolygon", "GeometryCollection"}


class CRSError(ValueError):
    """A CRS that cannot be read or has no transformation to EPSG:25833."""


class GeometryError(ValueError):
    """A geometry that cannot become a valid MultiPolygon; ``code`` is the LoadError code."""

    def __init__(self, code: str, reason: str) -> None:
        self.code = code
        super().__init__(reason)


@dataclass(frozen=True)
class Areal:
    """A valid MultiPolygon in EPSG:25833; ``repair`` says what was wrong if it was repaired."""

    geom: MultiPolygon
    repair: str | None = None


@cache
def _transformer(crs: str) -> Transformer:
    try:
        source = CRS.from_user_input(crs)
        # always_xy: OGR hands coordinates over in x/y (lon/lat) order whatever the CRS's axes.
        return Transformer.from_crs(source, STORAGE_SRID, always_xy=True)
    except (ProjCRSError, ProjError) as error:
        raise CRSError(
            f"no transformation from {_crs_name(crs)} to EPSG:{STORAGE_SRID} ({error})"
        ) from error


def _crs_name(crs: str) -> str:
    try:
        found = CRS.from_user_input(crs)
    except ProjCRSError:
        return repr(crs[:80])
    code = found.to_epsg()
    return f"EPSG:{code}" if code else repr(found.name)


def to_storage(geoms: np.ndarray, crs: str) -> np.ndarray:
    """Transform shapely geometries (None allowed) from ``crs`` to EPSG:25833, as 2-D, in bulk."""
    transformer = _transformer(crs)
    flat = shapely.force_2d(geoms)
    if transformer.source_crs is not None and transformer.source_crs.equals(
        CRS.from_epsg(STORAGE_SRID)
    ):
        return flat

    def project(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1], errcheck=False)
        return np.column_stack((x, y))

    try:
        return shapely.transform(flat, project)
    except ProjError as error:  # pragma: no cover - errcheck=False yields inf instead
        raise CRSError(str(error)) from error


def _areal_parts(geom: BaseGeometry) -> list[Polygon]:
    """Every non-empty polygon inside ``geom``, collections flattened (ST_CollectionExtract)."""
    parts = [geom]
    while any(p.geom_type in _MULTI_PART_TYPES for p in parts):
        parts = [
            q
            for p in parts
            for q in (shapely.get_parts(p) if p.geom_type in _MULTI_PART_TYPES else [p])
        ]
    return [p for p in parts if isinstance(p, Polygon) and not p.is_empty]


def describe_invalidity(reason: str) -> str:
    """GEOS's 'Self-intersection[x y]' as 'Self-intersection at (x, y) in EPSG:25833'."""
    found = re.fullmatch(r"(.*?)\[(\S+) (\S+)\]", reason)
    if not found:
        return reason
    what, x, y = found.groups()
    return f"{what} at ({float(x):.0f}, {float(y):.0f}) in EPSG:{STORAGE_SRID}"


def make_areal(geom: BaseGeometry | None) -> Areal:
    """A valid MultiPolygon from a (Multi)Polygon or collection, repaired when invalid.

    Raises GeometryError: EMPTY_GEOMETRY for a missing or empty geometry, NOT_AREAL when
    nothing areal is there (a point, a line) or left after repair, BAD_COORDINATES for
    coordinates that did not transform.
    """
    if geom is None or geom.is_empty:
        raise GeometryError("EMPTY_GEOMETRY", "the geometry is empty")
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        raise GeometryError("BAD_COORDINATES", "coordinates outside the range of the declared CRS")
    polygons = _areal_parts(geom)
    if not polygons:
        raise GeometryError("NOT_AREAL", f"a {geom.geom_type}, not a polygon")
    multi = MultiPolygon(polygons)
    if shapely.is_valid(multi):
        return Areal(multi)
    reason = describe_invalidity(str(shapely.is_valid_reason(multi)))
    repaired = shapely.make_valid(multi, method="structure", keep_collapsed=False)
    polygons = _areal_parts(repaired)
    if not polygons:
        raise GeometryError("NOT_AREAL", f"nothing areal is left after repair ({reason})")
    multi = MultiPolygon(polygons)
    if not shapely.is_valid(multi):  # pragma: no cover - MakeValid's output is valid
        raise GeometryError("INVALID_GEOMETRY", f"cannot be repaired ({reason})")
    return Areal(multi, reason)


def outside_norway(geom: BaseGeometry) -> bool:
    """Whether a storage-CRS geometry lies (partly) outside the box around Norway."""
    min_x, min_y, max_x, max_y = geom.bounds
    box_min_x, box_min_y, box_max_x, box_max_y = NORWAY_BOUNDS
    return min_x < box_min_x or min_y < box_min_y or max_x > box_max_x or max_y > box_max_y
