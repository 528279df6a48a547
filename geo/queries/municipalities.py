"""Municipalities (kommuner) with their latest statistics, boundaries and keyset pages.

Statistics come from ``municipality_statistics`` (one row per municipality and year; any column
may be null in a year). For each municipality, in the same statement (two LATERAL subqueries on
the table's primary key, never one query per row):

- ``population`` is the latest year with a population figure (``population_year``);
- ``immigrant_population`` and ``refugees`` are from the latest year with an immigrant figure
  (``statistics_year``);
- ``immigrant_share`` divides the two, so the years may differ (for the bundled data: 2021
  immigrants over 2024 population); it is None when either figure is missing.

Areas are ``ST_Area`` in the storage CRS (EPSG:25833, the UTM 33N plane), in km².
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from geo.crs import WGS84_SRID, to_wgs84
from geo.filters import has_active_council
from geo.queries.common import Page, Wgs84Point
from geo.queries.counties import CountyRow
from geo.queries.points import storage_point
from geo.tables import county, municipality, municipality_statistics

#: Largest tolerance, in metres, that ``municipality_boundaries`` accepts for simplification.
MAX_SIMPLIFY_M = 10_000.0
#: Decimal places of the GeoJSON coordinates (6 places of a degree: about 0.1 m).
GEOJSON_DECIMALS = 6


@dataclass(frozen=True, slots=True)
class MunicipalityRow:
    number: str
    name: str
    county_number: str
    #: None when no county with ``county_number`` is loaded.
    county: CountyRow | None
    area_km2: float
    centroid: Wgs84Point
    population: int | None
    population_year: int | None
    immigrant_population: int | None
    refugees: int | None
    statistics_year: int | None

    @property
    def immigrant_share(self) -> float | None:
        """Immigrants over population (0-1), each from its own latest year; None if either
        figure is missing (or the population is zero)."""
        if self.immigrant_population is None or not self.population:
            return None
        return self.immigrant_population / self.population


@dataclass(frozen=True, slots=True)
class MunicipalityFilter:
    #: Two-digit county number.
    county: str | None = None
    #: Case-insensitive substring of the name (æøå fold as letters; % and _ are literal).
    name_contains: str | None = None
    #: With (True) or without (False) an active immigrant council serving the municipality
    #: (geo.filters.has_active_council).
    has_council: bool | None = None
    #: Immigrant share (as :attr:`MunicipalityRow.immigrant_share`) at least this, 0-1; a
    #: municipality without the figures does not match.
    min_immigrant_share: float | None = None

    def __post_init__(self) -> None:
        share = self.min_immigrant_share
        if share is not None and not 0 <= share <= 1:
            raise ValueError(f"min_immigrant_share must be within [0, 1], got {share!r}")


def _latest(
    number: sa.ColumnElement[str], figure: str, *columns: str, alias: str
) -> sa.Select[Any]:
    """``columns`` of the statistics row of the latest year in which ``figure`` is not null:
    the one rule behind every "latest" figure, in _select and in SQL conditions."""
    s = municipality_statistics.alias(alias)
    return (
        sa.select(*(s.c[name] for name in columns))
        .where(s.c.municipality_number == number, s.c[figure].is_not(None))
        .order_by(s.c.year.desc())
        .limit(1)
    )


def latest_figure(number: sa.ColumnElement[str], figure: str) -> sa.ColumnElement[int]:
    """A municipality's ``figure`` ("population", "immigrants", …) in its latest year with one,
    as a scalar subquery correlated on ``number``; null when no year has it."""
    return _latest(number, figure, figure, alias=f"latest_{figure}").scalar_subquery()


def immigrant_share_sql(number: sa.ColumnElement[str]) -> sa.ColumnElement[float]:
    """:attr:`MunicipalityRow.immigrant_share` in SQL: latest immigrants over latest population
    (each its own latest year), null when either is missing or the population is zero."""
    return sa.cast(latest_figure(number, "immigrants"), sa.Float(asdecimal=False)) / sa.func.nullif(
        latest_figure(number, "population"), 0
    )


def _select() -> sa.Select[Any]:
    m = municipality
    pop = _latest(m.c.number, "population", "year", "population", alias="s_pop").lateral("pop")
    imm = _latest(
        m.c.number, "immigrants", "year", "immigrants", "refugees", alias="s_imm"
    ).lateral("imm")
    centroid = sa.func.ST_Centroid(m.c.geom)
    joined = (
        m.outerjoin(
            county, sa.and_(county.c.number == m.c.county_number, county.c.archived_at.is_(None))
        )
        .outerjoin(pop, sa.true())
        .outerjoin(imm, sa.true())
    )
    return (
        sa.select(
            m.c.number,
            m.c.name,
            m.c.county_number,
            county.c.name.label("county_name"),
            (sa.func.ST_Area(m.c.geom) / 1e6).label("area_km2"),
            sa.func.ST_X(centroid).label("centroid_x"),
            sa.func.ST_Y(centroid).label("centroid_y"),
            pop.c.population,
            pop.c.year.label("population_year"),
            imm.c.immigrants,
            imm.c.refugees,
            imm.c.year.label("statistics_year"),
        )
        .select_from(joined)
        .where(m.c.archived_at.is_(None))
    )


def _from_row(row: Row[Any]) -> MunicipalityRow:
    return municipality_from_mapping(row._mapping)


def municipality_from_mapping(row: Mapping[Any, Any]) -> MunicipalityRow:
    """A row of :func:`municipality_at_statement` (a SQLAlchemy row's mapping, or psycopg's
    dict row) as a :class:`MunicipalityRow`."""
    lat, lon = to_wgs84(row["centroid_x"], row["centroid_y"])
    county_number = row["county_number"].strip()
    county_name = row["county_name"]
    return MunicipalityRow(
        number=row["number"],
        name=row["name"],
        county_number=county_number,
        county=None if county_name is None else CountyRow(county_number, county_name),
        area_km2=float(row["area_km2"]),
        centroid=Wgs84Point(lat=lat, lon=lon),
        population=row["population"],
        population_year=row["population_year"],
        immigrant_population=row["immigrants"],
        refugees=row["refugees"],
        statistics_year=row["statistics_year"],
    )


def municipalities_by_number(
    conn: Connection, numbers: Sequence[str]
) -> dict[str, MunicipalityRow]:
    """The municipalities among ``numbers`` that exist, in one statement."""
    if not numbers:
        return {}
    stmt = _select().where(municipality.c.number.in_(sorted(set(numbers))))
    return {row.number: _from_row(row) for row in conn.execute(stmt)}


def municipality_by_number(conn: Connection, number: str) -> MunicipalityRow | None:
    """One municipality by its four-digit number, or None when there is none."""
    return municipalities_by_number(conn, [number]).get(number)


def municipalities_by_county(
    conn: Connection, county_numbers: Sequence[str]
) -> dict[str, list[MunicipalityRow]]:
    """Each county's municipalities (ordered by number), for many counties in one statement."""
    wanted = sorted(set(county_numbers))
    found: dict[str, list[MunicipalityRow]] = {number: [] for number in wanted}
    if not wanted:
        return found
    stmt = _select().where(municipality.c.county_number.in_(wanted)).order_by(municipality.c.number)
    for row in conn.execute(stmt):
        item = _from_row(row)
        found[item.county_number].append(item)
    return found


def municipality_at(conn: Connection, x: float, y: float) -> MunicipalityRow | None:
    """The municipality whose boundary covers the point (EPSG:25833), or None.

    A point exactly on a shared border is covered by both; the lower number wins.
    """
    row = conn.execute(municipality_at_statement(storage_point(x, y))).first()
    return None if row is None else _from_row(row)


def municipality_at_statement(point: sa.ColumnElement[object]) -> sa.Select[Any]:
    """:func:`municipality_at`'s statement for a point expression in EPSG:25833 (a literal
    point, or :func:`geo.queries.points.bound_storage_point` for a statement built once)."""
    return (
        _select()
        .where(sa.func.ST_Covers(municipality.c.geom, point))
        .order_by(municipality.c.number)
        .limit(1)
    )


def _conditions(filter_: MunicipalityFilter | None) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = [municipality.c.archived_at.is_(None)]
    if filter_ is not None:
        if filter_.county is not None:
            conditions.append(municipality.c.county_number == filter_.county)
        if filter_.name_contains:
            conditions.append(municipality.c.name.icontains(filter_.name_contains, autoescape=True))
        if filter_.has_council is not None:
            served = has_active_council(municipality.c.number)
            conditions.append(served if filter_.has_council else sa.not_(served))
        if filter_.min_immigrant_share is not None:
            conditions.append(
                immigrant_share_sql(municipality.c.number) >= filter_.min_immigrant_share
            )
    return conditions


def list_municipalities(
    conn: Connection,
    filter_: MunicipalityFilter | None = None,
    first: int = 20,
    after_key: str | None = None,
) -> Page[MunicipalityRow]:
    """One page of municipalities ordered by number, after the number ``after_key``.

    Two statements whatever the page size: the page (one row more than asked, to know whether
    there is a next page) and the counts.
    """
    if first < 0:
        raise ValueError(f"first must not be negative, got {first}")
    conditions = _conditions(filter_)
    page_stmt = _select().where(*conditions)
    if after_key is not None:
        page_stmt = page_stmt.where(municipality.c.number > after_key)
    rows = conn.execute(page_stmt.order_by(municipality.c.number).limit(first + 1)).all()

    before = (
        sa.func.count().filter(municipality.c.number <= after_key)
        if after_key is not None
        else sa.literal(0)
    )
    counts = conn.execute(
        sa.select(sa.func.count().label("total"), before.label("before"))
        .select_from(municipality)
        .where(*conditions)
    ).one()
    return Page(
        items=[_from_row(row) for row in rows[:first]],
        total_count=int(counts.total),
        has_next_page=len(rows) > first,
        has_previous_page=int(counts.before) > 0,
    )


def municipality_boundaries(
    conn: Connection, numbers: Sequence[str], simplify_m: float | None = None
) -> dict[str, dict[str, Any]]:
    """Boundaries as GeoJSON MultiPolygon objects (RFC 7946: WGS84, lon/lat, exterior rings
    counter-clockwise), optionally simplified in the metric storage CRS first
    (``ST_SimplifyPreserveTopology``, tolerance in metres, 0 ≤ tolerance ≤ MAX_SIMPLIFY_M; 0
    or None: not simplified), and then made valid again."""
    return parsed_boundaries(municipality_boundary_texts(conn, numbers, simplify_m))


def parsed_boundaries(texts: dict[str, str]) -> dict[str, dict[str, Any]]:
    """:func:`municipality_boundary_texts`' GeoJSON texts as objects: CPU work that grows with
    the boundaries (a full-resolution municipality is megabytes), which the API runs off its
    event loop."""
    return {number: orjson.loads(text) for number, text in texts.items()}


def municipality_boundary_texts(
    conn: Connection, numbers: Sequence[str], simplify_m: float | None = None
) -> dict[str, str]:
    """:func:`municipality_boundaries` as GeoJSON text, as the database wrote it."""
    if simplify_m is not None and not 0 <= simplify_m <= MAX_SIMPLIFY_M:
        raise ValueError(f"simplify_m must be within [0, {MAX_SIMPLIFY_M:g}], got {simplify_m}")
    if not numbers:
        return {}
    geom: sa.ColumnElement[Any] = municipality.c.geom
    if simplify_m:
        # Each ring keeps its topology, but the parts of a multipolygon may come to overlap
        # (an island and the mainland): repair, keeping only the areal parts.
        geom = sa.func.ST_CollectionExtract(
            sa.func.ST_MakeValid(
                sa.func.ST_SimplifyPreserveTopology(geom, sa.literal(float(simplify_m), sa.Float))
            ),
            3,
        )
    geojson = sa.func.ST_AsGeoJSON(
        sa.func.ST_ForcePolygonCCW(sa.func.ST_Transform(geom, WGS84_SRID)), GEOJSON_DECIMALS
    )
    stmt = sa.select(municipality.c.number, geojson.label("geojson")).where(
        municipality.c.number.in_(sorted(set(numbers))), municipality.c.archived_at.is_(None)
    )
    return {row.number: row.geojson for row in conn.execute(stmt)}
