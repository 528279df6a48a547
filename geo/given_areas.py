"""Areas a caller draws: a GeoJSON polygon or a bounding box in WGS84, checked and made storable.

Both become a valid MultiPolygon in EPSG:25833, transformed here in Python (pyproj), so that the
database never transforms a column or a parameter. The steps, each with a clear refusal:

1. shape: a GeoJSON ``Polygon`` or ``MultiPolygon`` (or a ``Feature`` holding one), every ring
   closed with at least four positions, every position ``[lon, lat]`` (RFC 7946 order) of finite
   numbers within [-180, 180] and [-90, 90], at most :data:`MAX_VERTICES` positions in all;
   a bounding box is ``[minLon, minLat, maxLon, maxLat]`` with min < max;
2. repair: an invalid polygon (self-intersecting, say) is repaired with GEOS's MakeValid,
   "structure" method, as loaders repair boundaries (geo/polygons.py); the repair is reported as a
   note. When nothing areal is left it is refused with the reason. Before it starts, the repair's
   cost is bounded: positions × conflicts (:func:`crossing_edges` + :func:`overlapping_rings`)
   at most :data:`MAX_REPAIR_COST`, else the polygon is refused as too complex to repair (a
   repair grows with both: a few thousand conflicts in a large polygon take seconds of CPU); and
   before the validity check, at most :data:`MAX_RING_OVERLAPS` pairs of overlapping rings;
3. clip: to :data:`REGION`, the part of the world around Norway (Svalbard and Jan Mayen included)
   where population units can lie and where UTM zone 33 is a sound projection; a note says so when
   this cut anything off. An area wholly outside it becomes empty (no units, not an error);
4. transform: edges are first densified to :data:`DENSIFY_DEGREES`, so that a GeoJSON edge,
   straight in lon/lat, stays on its line in the UTM plane (a box's sides follow the parallels).
   At most :data:`MAX_DENSIFIED_POSITIONS` positions come out of it, else the area is refused
   (a long zig-zag of a few thousand positions would densify to millions).

Every step's work is bounded by these limits, so the whole check is at most a few hundred
milliseconds of CPU (docs/reliability.md); the API runs it in a worker thread (api/cpu.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

from geo.coverage_notes import Note, area_clipped, area_repaired, projected_area_repaired
from geo.polygons import GeometryError, make_areal, to_storage

#: Most positions a polygon given by a caller may have (all rings and parts together).
MAX_VERTICES = 10_000
#: (min lon, min lat, max lon, max lat) in which areas are used: Norway with a wide margin.
REGION = (-20.0, 50.0, 45.0, 85.0)
#: Longest edge, in degrees, before transforming (0.01° is at most ~1.1 km).
DENSIFY_DEGREES = 0.01
#: Most work a repair may be given: positions × conflicts (:func:`repair_conflicts`). At the
#: limit a repair takes ~0.1-0.3 s of CPU (a 125-position star whose every edge crosses every
#: other, a 10,000-position ring with 100 crossings); the issue's 9,999-position zig-zag, with
#: ~10,000 conflicts, is 100 times over it (its repair took 4-8 s).
MAX_REPAIR_COST = 1_000_000
#: Most pairs of rings (parts, holes) whose extents overlap (:func:`overlapping_rings`), valid
#: polygon or not: GEOS's validity check tests such pairs one against the other (2,000 nested
#: rings: 2 million pairs, ~0.5 s). Real areas have a few (islands in a bay of the mainland).
MAX_RING_OVERLAPS = 10_000
#: Most positions an area may have once densified (:data:`DENSIFY_DEGREES`): 1,000 degrees of
#: edges in all, 5 times round the whole :data:`REGION`; ~0.15 s to transform and check.
MAX_DENSIFIED_POSITIONS = 100_000
#: Segments of the polygon looked up in the spatial index at a time while conflicts are counted
#: (the count stops at the first batch that goes over the limit): at most this many pairs.
_PAIRS_PER_BATCH = 200_000

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
    notes: tuple[Note, ...] = ()


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


def _numbers_only(ring: list[Any] | tuple[Any, ...]) -> bool:
    """Whether every position of ``ring`` is a list of ints and floats (not bools, not text,
    which numpy would take as numbers)."""
    try:
        kinds = {type(number) for position in ring for number in position}
    except TypeError:  # a position that is not a list
        return False
    return kinds <= {int, float} and all(type(p) in (list, tuple) for p in ring)


def _positions(ring: list[Any] | tuple[Any, ...], where: str) -> np.ndarray:
    """The ring's positions as an (n, 2) array of lon, lat. In bulk with numpy when they are
    all sound (several times faster than Python for a big ring, most of a refused polygon's
    cost: docs/reliability.md); else one at a time, for the message naming the first bad one."""
    if _numbers_only(ring):
        try:
            array = np.array(ring, dtype=np.float64)
        except (ValueError, OverflowError):  # positions of different lengths, a huge int
            array = np.empty((0, 0))
        if array.ndim == 2 and len(array) == len(ring) and array.shape[1] in (2, 3):
            lon, lat = array[:, 0], array[:, 1]
            if (
                np.isfinite(array[:, :2]).all()
                and (np.abs(lon) <= 180.0).all()
                and (np.abs(lat) <= 90.0).all()
            ):
                return array[:, :2].copy()
    checked = [_position(p, f"{where} position {i}") for i, p in enumerate(ring)]
    return np.array(checked, dtype=np.float64).reshape(-1, 2)


def _rings(polygon: Any, where: str, counted: list[int]) -> list[np.ndarray]:
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
        positions = _positions(ring, ring_where)
        if len(positions) < 4:
            raise AreaInputError(
                f"{ring_where} has {len(positions)} positions; a ring needs "
                f"at least 4 (the first repeated as the last)"
            )
        if (positions[0] != positions[-1]).any():
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


def _located(reason: str) -> tuple[str, float | None, float | None]:
    """GEOS's 'Self-intersection[10.8 59.9]' as ('Self-intersection', 10.8, 59.9); the reason
    whole, without a place, when it names none."""
    what, _, rest = reason.partition("[")
    parts = rest.rstrip("]").split()
    if len(parts) != 2:
        return reason, None, None
    try:
        lon, lat = (float(p) for p in parts)
    except ValueError:
        return reason, None, None
    return what, lon, lat


def _describe(reason: str) -> str:
    """GEOS's 'Self-intersection[10.8 59.9]' as 'Self-intersection at lon 10.8, lat 59.9'."""
    what, lon, lat = _located(reason)
    return what if lon is None or lat is None else f"{what} at lon {lon:.6g}, lat {lat:.6g}"


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


def _pairs(shapes: np.ndarray, skip: Callable[[Any, Any], Any], stop_after: int) -> int:
    """Pairs (i < j) of ``shapes`` that intersect, less those ``skip(i, j)`` leaves out (index
    arrays in, a boolean array out). The count stops once it is over ``stop_after``: at most a
    batch of lookups (:data:`_PAIRS_PER_BATCH` pairs) later."""
    tree = shapely.STRtree(shapes)
    batch = max(1, _PAIRS_PER_BATCH // max(len(shapes), 1))
    found = 0
    for start in range(0, len(shapes), batch):
        i, j = tree.query(shapes[start : start + batch], predicate="intersects")
        i = i + start
        later = j > i
        i, j = i[later], j[later]
        found += int(np.count_nonzero(~skip(i, j)))
        if found > stop_after:
            break
    return found


def _rings_of(geom: MultiPolygon) -> tuple[np.ndarray, np.ndarray]:
    """The rings of ``geom`` and the polygon each belongs to."""
    rings, polygon_of = shapely.get_rings(shapely.get_parts(geom), return_index=True)
    return rings, polygon_of


def overlapping_rings(geom: MultiPolygon, stop_after: int) -> int:
    """Pairs of rings whose extents (bounding boxes) overlap, other than a polygon's outer ring
    and one of its own holes: parts or holes that may lie in each other, which the validity
    check and the repair must test one against the other. Counted up to a little over
    ``stop_after``."""
    rings, polygon_of = _rings_of(geom)
    if len(rings) < 2:
        return 0
    outer = np.r_[True, polygon_of[1:] != polygon_of[:-1]]  # the first ring of its polygon

    def own_hole(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return np.asarray((polygon_of[i] == polygon_of[j]) & (outer[i] | outer[j]), dtype=bool)

    return _pairs(shapely.envelope(rings), own_hole, stop_after)


def crossing_edges(geom: MultiPolygon, stop_after: int) -> int:
    """Pairs of edges that meet other than at the position two neighbours on a ring share:
    crossings, touches and overlaps, which the repair must node. Counted with a spatial index
    (no noding) up to a little over ``stop_after``."""
    rings, _ = _rings_of(geom)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    # An edge joins two positions of one ring; a repeated position makes no edge, so the
    # edges either side of it are neighbours.
    keep = (ring_of[:-1] == ring_of[1:]) & (coords[:-1] != coords[1:]).any(axis=1)
    ends = np.stack([coords[:-1][keep], coords[1:][keep]], axis=1)
    edges = np.asarray(shapely.linestrings(ends))
    edge_ring = ring_of[:-1][keep]
    numbers = np.arange(len(edges))
    first = np.full(len(rings), len(edges))
    last = np.full(len(rings), -1)
    np.minimum.at(first, edge_ring, numbers)
    np.maximum.at(last, edge_ring, numbers)

    def neighbours(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        ring = edge_ring[i]
        ends_meet = (j == i + 1) | ((i == first[ring]) & (j == last[ring]))
        return np.asarray((ring == edge_ring[j]) & ends_meet, dtype=bool)

    return _pairs(edges, neighbours, stop_after)


def _repaired(geom: MultiPolygon) -> tuple[MultiPolygon, list[Note]]:
    overlaps = overlapping_rings(geom, MAX_RING_OVERLAPS)
    if overlaps > MAX_RING_OVERLAPS:
        raise AreaInputError(
            f"the polygon is too complex to check: more than {MAX_RING_OVERLAPS:,} pairs of "
            f"its rings (parts and holes) overlap in extent; simplify it first"
        )
    if shapely.is_valid(geom):
        return geom, []
    validity = str(shapely.is_valid_reason(geom))
    reason = _describe(validity)
    positions = int(shapely.get_num_coordinates(geom))
    budget = MAX_REPAIR_COST // positions
    conflicts = overlaps + (crossing_edges(geom, budget - overlaps) if overlaps <= budget else 0)
    if positions * conflicts > MAX_REPAIR_COST:
        raise AreaInputError(
            f"the polygon is invalid ({reason}) and too complex to repair: {positions:,} "
            f"positions × {conflicts:,} or more self-intersections and overlapping rings is "
            f"over the limit of {MAX_REPAIR_COST:,}; remove the crossings, or simplify it first"
        )
    try:
        areal = make_areal(geom)
    except GeometryError as error:
        raise AreaInputError(
            f"the polygon is invalid ({reason}) and repairing it leaves nothing areal: {error}"
        ) from None
    return areal.geom, [area_repaired(*_located(validity))]


def _densified_positions(geom: BaseGeometry) -> int:
    """How many positions ``shapely.segmentize(geom, DENSIFY_DEGREES)`` would make, without
    making them: each edge becomes ceil(length / DENSIFY_DEGREES) edges."""
    parts = shapely.get_parts(geom)
    rings = shapely.get_rings(parts[shapely.get_type_id(parts) == shapely.GeometryType.POLYGON])
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = ring_of[:-1] == ring_of[1:]
    lengths = np.hypot(*(coords[1:] - coords[:-1])[same].T)
    return len(rings) + int(np.maximum(np.ceil(lengths / DENSIFY_DEGREES), 1).sum())


def _to_storage(geom: BaseGeometry, label: str, notes: list[Note]) -> GivenArea:
    region = box(*REGION)
    if not region.covers(geom):
        clipped = geom.intersection(region)
        notes.append(area_clipped(REGION))
        geom = clipped
        if shapely.area(geom) <= 0:
            return GivenArea(None, label, tuple(notes))
    densified = _densified_positions(geom)
    if densified > MAX_DENSIFIED_POSITIONS:
        raise AreaInputError(
            f"the area's edges are too long in all: densified every {DENSIFY_DEGREES:g}° for "
            f"the projection it would have {densified:,} positions, over the limit of "
            f"{MAX_DENSIFIED_POSITIONS:,}; draw it with fewer long edges"
        )
    dense = shapely.segmentize(geom, DENSIFY_DEGREES)
    projected = to_storage(np.array([dense], dtype=object), _WGS84)[0]
    try:
        areal = make_areal(projected)
    except GeometryError as error:
        raise AreaInputError(f"the area cannot be used: {error}") from None
    if areal.repair:  # pragma: no cover - the projection of a valid polygon stays valid
        notes.append(projected_area_repaired(areal.repair))
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
