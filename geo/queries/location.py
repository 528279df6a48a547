"""Where am I: the municipality and county containing a point, and what else covers it.

:func:`where_am_i` and :func:`surroundings` run on a SQLAlchemy connection (the reference);
:func:`where_am_i_on_driver` answers both with the same statements, built and compiled once,
straight on psycopg (geo.queries.driver): building a statement with its two LATERAL
subqueries and its cache key cost more CPU per request than PostgreSQL's work on all three.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import psycopg
from sqlalchemy.engine import Connection

from geo.queries.areas import (
    DistrictRow,
    InitiativeRow,
    districts_at,
    districts_at_statement,
    districts_by_kind,
    initiatives_at,
    initiatives_at_statement,
)
from geo.queries.counties import CountyRow, county_at, county_at_statement
from geo.queries.driver import DriverStatement, driver_statement, run_statement
from geo.queries.municipalities import (
    MunicipalityRow,
    municipality_at,
    municipality_at_statement,
    municipality_from_mapping,
)
from geo.queries.points import bound_storage_point, check_finite
from geo.queries.rows import from_mapping
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


@dataclass(frozen=True)
class _AtStatements:
    municipality: DriverStatement
    county: DriverStatement
    districts: DriverStatement
    initiatives: DriverStatement


@cache
def _at_statements() -> _AtStatements:
    """The four statements with the point as bound parameters ``x`` and ``y``, compiled once."""
    at = bound_storage_point()
    return _AtStatements(
        municipality=driver_statement(municipality_at_statement(at)),
        county=driver_statement(county_at_statement(at)),
        districts=driver_statement(districts_at_statement(at)),
        initiatives=driver_statement(initiatives_at_statement(at)),
    )


async def where_am_i_on_driver(
    conn: psycopg.AsyncConnection[Any], x: float, y: float
) -> tuple[Location, Surroundings]:
    """:func:`where_am_i` and :func:`surroundings` in one call on one psycopg connection (the
    same statements and rules, one round trip each), for whereAmI's resolver."""
    check_finite(x, y)
    at = {"x": float(x), "y": float(y)}
    statements = _at_statements()
    found = await run_statement(conn, statements.municipality, at)
    municipality = municipality_from_mapping(found[0]) if found else None
    county = None if municipality is None else municipality.county
    if county is None:
        counties = await run_statement(conn, statements.county, at)
        county = from_mapping(CountyRow, counties[0]) if counties else None
    districts = districts_by_kind(await run_statement(conn, statements.districts, at))
    initiatives = await run_statement(conn, statements.initiatives, at)
    return Location(municipality=municipality, county=county), Surroundings(
        district=districts.get(AreaKind.BYDEL.value),
        sub_district=districts.get(AreaKind.DELBYDEL.value),
        initiatives=[from_mapping(InitiativeRow, row) for row in initiatives],
    )
