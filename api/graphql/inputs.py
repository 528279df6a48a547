"""Input types shared by several fields; their values are checked by :mod:`api.checks`."""

from __future__ import annotations

import strawberry

from api.checks import point


@strawberry.input(description="A point in WGS84 degrees.")
class LatLonInput:
    lat: float = strawberry.field(description="Latitude, -90 to 90.")
    lon: float = strawberry.field(description="Longitude, -180 to 180.")

    def to_storage(self, field: str = "at") -> tuple[float, float]:
        """The point in EPSG:25833 (x, y) (:func:`api.checks.point`)."""
        return point(self.lat, self.lon, field)


@strawberry.input(
    name="MunicipalityFilter",
    description="Narrows a list of municipalities; all given conditions apply.",
)
class MunicipalityFilterInput:
    county: str | None = strawberry.field(
        default=None, description='Two-digit county number (fylkesnummer), e.g. "03".'
    )
    name_contains: str | None = strawberry.field(
        default=None, description='Part of the name, case-insensitive (æøå included), e.g. "ås".'
    )
    has_council: bool | None = strawberry.field(
        default=None,
        description=(
            "true: only municipalities with an active immigrant council or a body like one "
            "(status ACTIVE, level MUNICIPALITY or INDEPENDENT, with the municipality's number; a "
            "county council serves no single municipality); false: only those without."
        ),
    )
    min_immigrant_share: float | None = strawberry.field(
        default=None,
        description=(
            "Only municipalities whose immigrantShare (latest immigrants over latest population) "
            "is at least this, 0-1; one without the figures does not match."
        ),
    )
