"""Where am I: the municipality and county containing a point."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from geo.queries.areas import DistrictRow, InitiativeRow, districts_at, initiatives_at
from geo.queries.counties import CountyRow, county_at
from geo.queries.municipalities import MunicipalityRow, municipality_at
from geo.vocab import AreaKind


@dataclass(frozen=True, slots=True)
class Location:
    """The places containing a point; each None at sea or abroad."""

    municipality: MunicipalityRow | None
    county: CountyRow | None


def where_am_i(conn: Connection, x: float, y: float) -> Location:
    """The municipality and county covering the point, given in EPSG:25833 (transform lat/lon
    with ``geo.crs.to_storage`` first, so the database never transforms on the hot path).

    Inside a municipality, the county is that municipality's county (its number's first two
    digits), so the two always agree; one indexed query. Outside every municipality, or when the
    municipality's county is not loaded, the county is the one whose boundary covers the point.
    """
    found = municipality_at(conn, x, y)
    if found is not None and found.county is not None:
        return Location(municipality=found, county=found.county)
    return Location(municipality=found, county=county_at(conn, x, y))


@dataclass(frozen=True, slots=True)
class Surroundings:
    """The district, sub-district and area initiatives covering a point (where loaded)."""

    district: DistrictRow | None
    sub_district: DistrictRow | None
    initiatives: list[InitiativeRow]


def surroundings(conn: Connection, x: float, y: float) -> Surroundings:
    found = districts_at(conn, x, y)
    return Surroundings(
        district=found.get(AreaKind.BYDEL.value),
        sub_district=found.get(AreaKind.DELBYDEL.value),
        initiatives=initiatives_at(conn, x, y),
    )
