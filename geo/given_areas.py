"""Areas a caller draws: a GeoJSON polygon or a bounding box in WGS84, checked and made storable.

Both become a valid MultiPolygon in EPSG:25833, transformed here in Python (pyproj), so that the
database never transforms a column or a parameter. The steps, each with a clear refusal:

1. shape: a GeoJSON ``Polygon`` or ``MultiPolygon`` (or a ``Feature`` holding one), every ring
   closed with at least four positions, every position ``[lon, lat]`` (RFC 7946 order) of finite
   numbers within [-180, 180] and [-90, 90], at most :data:`MAX_VERTICES` positions in all;
   a bounding box is ``[minLon, minLat, maxLon, maxLat]`` with min < max;
2. repair: an invalid polygon (self-intersecting, say) is repaired with GEOS's MakeValid,
   "structure" method, as loaders repair boundaries (geo/polygons.py); the repair is reported as a
   note. When nothing areal is left it is refused with the reason;
3. clip: to :data:`REGION`, the part of the world around Norway (Svalbard and Jan Mayen included)
   where population units can lie and where UTM zone 33 is a sound projection; a note says so when
   this cut anything off. An area wholly outside it becomes empty (no units, not an error);
4. transform: edges are first densified to :data:`DENSIFY_DEGREES`, so that a GeoJSON edge,
   straight in lon/lat, stays on its line in the UTM plane (a box's sides follow the parallels).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

from geo.polygons import GeometryError, make_areal, to_storage

#: Most positions a polygon given by a caller may have (all rings and parts together).
MAX_VERTICES = 10_000
#: (min lon, min lat, max lon, max lat) in which areas are used: Norway with a wide margin.
REGION = (-20.0, 50.0, 45.0, 85.0)
#: Longest edge, in degrees, before transforming (0.01° is at most ~1.1 km).
DENSIFY_DEGREES = 0.01

_WGS84 = "EPSG:4326"


class AreaInputError(ValueError):
    """A polygon or box the caller must change; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class GivenArea:
    """A caller's area in EPSG:25833 (None when nothing of it lies in :data:`REGION`), with
    notes on what was done to it (repaired, clipped)."""

    geom: MultiPolygon | None
    label: str
    notes: tuple[str, ...] = ()


def _position(value: Any, where: str) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) not in (2, 3):
        raise AreaInputError(f"{where} must be a position [lon, lat], got {_short(value)}")
    lon, lat = value[0], value[1]
    for name, number, limit in (("lon", lon, 180.0), ("lat", lat, 90.0)):
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise AreaInputError(f"{where}: {name} must be a number, got {_short(number)}")
        if not math.isfinite(number) or not -limit <= number <= limit:
            raise AreaInputError(
                f"{where}: {name} must be within [-{limit:g}, {limit:g}] "
                f"(GeoJSON positions are [lon, lat]), got {number!r}"
            )
    return float(lon), float(lat)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _rings(polygon: Any, where: str, counted: list[int]) -> list[list[tuple[float, float]]]:
    if not isinstance(polygon, list | tuple) or not polygon:
        raise AreaInputError(f"{where} must be a non-empty list of rings")
    rings = []
    for r, ring in enumerate(polygon):
        ring_where = f"{where} ring {r}"
        if not isinstance(ring, list | tuple):
            raise AreaInputError(f"{ring_where} must be a list of positions")
        counted[0] += len(ring)
        if counted[0] > MAX_VERTICES:
            raise AreaInputError(
                f"the polygon has more than {MAX_VERTICES:,} vertices (the "
                f"limit); simplify it first"
            )
        positions = [_position(p, f"{ring_where} position {i}") for i, p in enumerate(ring)]
        if len(positions) < 4:
            raise AreaInputError(
                f"{ring_where} has {len(positions)} positions; a ring needs "
                f"at least 4 (the first repeated as the last)"
            )
        if positions[0] != positions[-1]:
            raise AreaInputError(
                f"{ring_where} is not closed: its last position must repeat its first"
            )
        rings.append(positions)
    return rings


def _geometry_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise AreaInputError(
            f"a GeoJSON Polygon or MultiPolygon object is expected, got {_short(value)}"
        )
    if value.get("type") == "Feature":
        return _geometry_object(value.get("geometry"))
    if value.get("type") not in ("Polygon", "MultiPolygon"):
        raise AreaInputError(
            f"a GeoJSON Polygon or MultiPolygon is expected, got type {_short(value.get('type'))}"
        )
    if "coordinates" not in value:
        raise AreaInputError("the GeoJSON geometry has no coordinates")
    return value


def _describe(reason: str) -> str:
    """GEOS's 'Self-intersection[10.8 59.9]' as 'Self-intersection at lon 10.8, lat 59.9'."""
    what, _, rest = reason.partition("[")
    parts = rest.rstrip("]").split()
    if len(parts) != 2:
        return reason
    try:
        lon, lat = (float(p) for p in parts)
    except ValueError:
        return reason
    return f"{what} at lon {lon:.6g}, lat {lat:.6g}"


def _checked_polygon(value: Any) -> MultiPolygon:
    """The caller's GeoJSON as a (possibly invalid) MultiPolygon in WGS84; refused when malformed
    or over the vertex cap."""
    obj = _geometry_object(value)
    counted = [0]
    coordinates = obj["coordinates"]
    if obj["type"] == "Polygon":
        polygons = [_rings(coordinates, "polygon", counted)]
    else:
        if not isinstance(coordinates, list | tuple) or not coordinates:
            raise AreaInputError("a MultiPolygon's coordinates must be a non-empty list")
        polygons = [_rings(p, f"polygon {i}", counted) for i, p in enumerate(coordinates)]
    return MultiPolygon([Polygon(rings[0], rings[1:]) for rings in polygons])


def _repaired(geom: MultiPolygon) -> tuple[MultiPolygon, list[str]]:
    if shapely.is_valid(geom):
        return geom, []
    reason = _describe(str(shapely.is_valid_reason(geom)))
    try:
        areal = make_areal(geom)
    except GeometryError as error:
        raise AreaInputError(
            f"the polygon is invalid ({reason}) and repairing it leaves nothing areal: {error}"
        ) from None
    return areal.geom, [
        f"The polygon was invalid ({reason}); it was repaired with "
        f"MakeValid (structure method) and the repaired area was used."
    ]


def _to_storage(geom: BaseGeometry, label: str, notes: list[str]) -> GivenArea:
    region = box(*REGION)
    if not region.covers(geom):
        clipped = geom.intersection(region)
        notes.append(
            f"The area was clipped to lon {REGION[0]:g}..{REGION[2]:g}, lat "
            f"{REGION[1]:g}..{REGION[3]:g}, the region around Norway where units lie."
        )
        geom = clipped
        if shapely.area(geom) <= 0:
            return GivenArea(None, label, tuple(notes))
    dense = shapely.segmentize(geom, DENSIFY_DEGREES)
    projected = to_storage(np.array([dense], dtype=object), _WGS84)[0]
    try:
        areal = make_areal(projected)
    except GeometryError as error:
        raise AreaInputError(f"the area cannot be used: {error}") from None
    if areal.repair:  # pragma: no cover - the projection of a valid polygon stays valid
        notes.append(f"The projected area was repaired ({areal.repair}).")
    return GivenArea(areal.geom, label, tuple(notes))


def area_from_geojson(value: Any) -> GivenArea:
    """A GeoJSON (Multi)Polygon in WGS84 as a storable area; AreaInputError when refused."""
    geom, notes = _repaired(_checked_polygon(value))
    if shapely.area(geom) <= 0:
        raise AreaInputError("the polygon has no area")
    return _to_storage(geom, "polygon", notes)


def area_from_bbox(values: Sequence[float]) -> GivenArea:
    """``[minLon, minLat, maxLon, maxLat]`` as a storable area; AreaInputError when refused."""
    if len(values) != 4:
        raise AreaInputError(
            f"a bbox is [minLon, minLat, maxLon, maxLat]: four numbers, got {len(values)}"
        )
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in values)
    for name, number, limit in (
        ("minLon", min_lon, 180.0),
        ("minLat", min_lat, 90.0),
        ("maxLon", max_lon, 180.0),
        ("maxLat", max_lat, 90.0),
    ):
        if not math.isfinite(number) or not -limit <= number <= limit:
            raise AreaInputError(
                f"bbox {name} must be within [-{limit:g}, {limit:g}], got {number!r}"
            )
    if not min_lon < max_lon:
        raise AreaInputError(f"bbox minLon ({min_lon:g}) must be less than maxLon ({max_lon:g})")
    if not min_lat < max_lat:
        raise AreaInputError(f"bbox minLat ({min_lat:g}) must be less than maxLat ({max_lat:g})")
    label = f"bbox [{min_lon:g}, {min_lat:g}, {max_lon:g}, {max_lat:g}]"
    return _to_storage(box(min_lon, min_lat, max_lon, max_lat), label, [])
