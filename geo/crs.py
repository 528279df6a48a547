"""Coordinate reference systems: storage in EPSG:25833, the API in WGS84 (lon/lat order)."""

from __future__ import annotations

import math
from functools import cache

from pyproj import Transformer

STORAGE_SRID = 25833  # ETRS89 / UTM zone 33N: the national statistics grid's CRS; metres.
WGS84_SRID = 4326


class CoordinateError(ValueError):
    """A coordinate outside its range, or not a finite number."""


@cache
def _to_storage() -> Transformer:
    # always_xy: lon, lat in; easting, northing out (EPSG:4326's own axis order is lat, lon).
    return Transformer.from_crs(WGS84_SRID, STORAGE_SRID, always_xy=True)


@cache
def _to_wgs84() -> Transformer:
    return Transformer.from_crs(STORAGE_SRID, WGS84_SRID, always_xy=True)


def check_lat_lon(lat: float, lon: float) -> None:
    """Raise CoordinateError naming the field when lat/lon is not a finite, in-range number."""
    for name, value, limit in (("lat", lat, 90.0), ("lon", lon, 180.0)):
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise CoordinateError(f"{name} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise CoordinateError(f"{name} must be a finite number, got {value!r}")
        if not -limit <= value <= limit:
            raise CoordinateError(f"{name} must be within [-{limit:g}, {limit:g}], got {value!r}")


def to_storage(lat: float, lon: float) -> tuple[float, float]:
    """WGS84 lat/lon to EPSG:25833 (x, y), in Python, so the database never transforms a query
    point on the hot path (the first ST_Transform in a backend loads PROJ: docs/performance.md)."""
    check_lat_lon(lat, lon)
    x, y = _to_storage().transform(lon, lat)
    if not (math.isfinite(x) and math.isfinite(y)):
        # Transverse Mercator has no image for points 90° of longitude from its meridian
        # (15°E) near the equator: pyproj answers inf, which no query can use.
        raise CoordinateError(
            f"lon {lon!r} at lat {lat!r} is too far from Norway to place in "
            f"EPSG:{STORAGE_SRID} (UTM 33N)"
        )
    return float(x), float(y)


def to_wgs84(x: float, y: float) -> tuple[float, float]:
    """EPSG:25833 (x, y) to WGS84 (lat, lon)."""
    lon, lat = _to_wgs84().transform(x, y)
    return float(lat), float(lon)


def to_wgs84_many(xs: list[float], ys: list[float]) -> list[tuple[float, float]]:
    """:func:`to_wgs84` of many points in one call (pyproj's work per call outweighs a
    point's)."""
    lons, lats = _to_wgs84().transform(xs, ys)
    return [(float(lat), float(lon)) for lat, lon in zip(lats, lons, strict=True)]


def storage_bounds(
    west: float, south: float, east: float, north: float, steps: int = 16
) -> tuple[float, float, float, float]:
    """The EPSG:25833 bounding box (xmin, ymin, xmax, ymax) of a WGS84 lon/lat box, its edges
    densified (``steps`` points each) so the curved edges in UTM are covered; computed here, so
    the database never transforms it while planning (a vector tile's filter box)."""
    lons = [west + (east - west) * i / steps for i in range(steps + 1)]
    lats = [south + (north - south) * i / steps for i in range(steps + 1)]
    edge_lons = lons + lons + [west] * len(lats) + [east] * len(lats)
    edge_lats = [south] * len(lons) + [north] * len(lons) + lats + lats
    xs, ys = _to_storage().transform(edge_lons, edge_lats)
    return float(min(xs)), float(min(ys)), float(max(xs)), float(max(ys))
