"""Geometry values shared by the domain types."""

from __future__ import annotations

import strawberry

from geo.queries.common import Wgs84Point


@strawberry.type(description="A point in WGS84 degrees.")
class LatLon:
    lat: float = strawberry.field(description="Latitude in degrees.")
    lon: float = strawberry.field(description="Longitude in degrees.")

    @classmethod
    def from_geo(cls, point: Wgs84Point) -> LatLon:
        return cls(lat=point.lat, lon=point.lon)
