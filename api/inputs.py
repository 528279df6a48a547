"""Input types and the checks at the edge: every value is validated here, before geo is called."""

from __future__ import annotations

import math
import re

import strawberry

from api.errors import BadUserInput
from geo.crs import CoordinateError, to_storage
from geo.queries.municipalities import MAX_SIMPLIFY_M

MUNICIPALITY_NUMBER = re.compile(r"[0-9]{4}")
COUNTY_NUMBER = re.compile(r"[0-9]{2}")
MAX_NAME_FILTER = 100


@strawberry.input(description="A point in WGS84 degrees.")
class LatLonInput:
    lat: float = strawberry.field(description="Latitude, -90 to 90.")
    lon: float = strawberry.field(description="Longitude, -180 to 180.")

    def to_storage(self, field: str = "at") -> tuple[float, float]:
        """The point in EPSG:25833 (x, y); BAD_USER_INPUT when out of range or not finite."""
        try:
            return to_storage(self.lat, self.lon)  # checks the range, and that it projects
        except CoordinateError as exc:
            name = str(exc).split(" ", 1)[0]
            raise BadUserInput(str(exc), field=f"{field}.{name}") from exc


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


def municipality_number(value: str, field: str = "number") -> str:
    if not MUNICIPALITY_NUMBER.fullmatch(value):
        raise BadUserInput(
            f'A municipality number has four digits, e.g. "0301"; got {value!r}', field=field
        )
    return value


def county_number(value: str, field: str = "county") -> str:
    if not COUNTY_NUMBER.fullmatch(value):
        raise BadUserInput(f'A county number has two digits, e.g. "03"; got {value!r}', field=field)
    return value


def storable_text(value: str, field: str) -> str:
    """Text PostgreSQL can take: no NUL character and no lone surrogate (JSON's "\\ud800"),
    which would otherwise fail in the driver as an internal error."""
    if "\x00" in value:
        raise BadUserInput("text must not contain the NUL character (\\u0000)", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadUserInput(
            "text must be valid Unicode (a lone surrogate is not)", field=field
        ) from None
    return value


def name_fragment(value: str, field: str = "filter.nameContains") -> str:
    if len(value) > MAX_NAME_FILTER:
        raise BadUserInput(f"nameContains is at most {MAX_NAME_FILTER} characters", field=field)
    return storable_text(value, field)


def share(value: float | None, field: str) -> float | None:
    """A share, 0-1 (both included); None passes."""
    if value is None:
        return None
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise BadUserInput(f"a share is within [0, 1], got {value!r}", field=field)
    return value


def simplify_meters(value: float | None, field: str = "simplifyMeters") -> float | None:
    if value is None:
        return None
    if not math.isfinite(value) or not 0 <= value <= MAX_SIMPLIFY_M:
        raise BadUserInput(
            f"simplifyMeters must be within [0, {MAX_SIMPLIFY_M:g}] metres, got {value!r}",
            field=field,
        )
    return value
