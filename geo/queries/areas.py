"""Districts (bydeler, delbydeler) and area initiatives (områdesatsinger): by id, at a point."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from geo.crs import WGS84_SRID
from geo.queries.points import storage_point
from geo.queries.rows import from_mapping, to_dataclass
from geo.tables import area_initiative, statistical_area
from geo.vocab import AreaKind

GEOJSON_DECIMALS = 6


@dataclass(frozen=True)
class DistrictRow:
    kind: str
    code: str
    name: str | None
    municipality_number: str | None


@dataclass(frozen=True)
class InitiativeRow:
    id: int
    slug: str
    name: str
    description: str | None
    municipality_number: str | None
    period_start: date | None
    period_end: date | None
    source: str
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    version: int


def _initiative_columns() -> list[sa.ColumnElement[Any]]:
    return [c for c in area_initiative.c if c.name not in {"geom", "external_id"}]


def districts_at(conn: sa.Connection, x: float, y: float) -> dict[str, DistrictRow]:
    """The district (BYDEL) and sub-district (DELBYDEL) covering an EPSG:25833 point, by kind."""
    rows = conn.execute(districts_at_statement(storage_point(x, y)))
    return districts_by_kind(row._mapping for row in rows)


def districts_at_statement(point: sa.ColumnElement[object]) -> sa.Select[Any]:
    """:func:`districts_at`'s statement for a point expression in EPSG:25833."""
    return (
        sa.select(
            statistical_area.c.kind,
            statistical_area.c.code,
            statistical_area.c.name,
            statistical_area.c.municipality_number,
        )
        .where(
            statistical_area.c.kind.in_([AreaKind.BYDEL.value, AreaKind.DELBYDEL.value]),
            statistical_area.c.archived_at.is_(None),
            sa.func.ST_Covers(statistical_area.c.geom, point),
        )
        .order_by(statistical_area.c.kind, statistical_area.c.code)
    )


def districts_by_kind(rows: Iterable[Mapping[Any, Any]]) -> dict[str, DistrictRow]:
    """The first district of each kind among :func:`districts_at_statement`'s rows."""
    found: dict[str, DistrictRow] = {}
    for row in rows:
        if row["kind"] not in found:
            found[row["kind"]] = from_mapping(DistrictRow, row)
    return found


def initiatives_at(conn: sa.Connection, x: float, y: float) -> list[InitiativeRow]:
    rows = conn.execute(initiatives_at_statement(storage_point(x, y)))
    return [to_dataclass(InitiativeRow, r) for r in rows]


def initiatives_at_statement(point: sa.ColumnElement[object]) -> sa.Select[Any]:
    """:func:`initiatives_at`'s statement for a point expression in EPSG:25833."""
    return (
        sa.select(*_initiative_columns())
        .where(
            area_initiative.c.archived_at.is_(None),
            sa.func.ST_Covers(area_initiative.c.geom, point),
        )
        .order_by(area_initiative.c.name)
    )


def all_initiatives(conn: sa.Connection) -> list[InitiativeRow]:
    rows = conn.execute(
        sa.select(*_initiative_columns())
        .where(area_initiative.c.archived_at.is_(None))
        .order_by(area_initiative.c.name)
    )
    return [to_dataclass(InitiativeRow, r) for r in rows]


def initiatives_by_keys(
    conn: sa.Connection, *, ids: Iterable[int] = (), slugs: Iterable[str] = ()
) -> list[InitiativeRow]:
    rows = conn.execute(
        sa.select(*_initiative_columns()).where(
            sa.or_(area_initiative.c.id.in_(list(ids)), area_initiative.c.slug.in_(list(slugs)))
        )
    )
    return [to_dataclass(InitiativeRow, r) for r in rows]


def initiative_boundaries(
    conn: sa.Connection, ids: Iterable[int], simplify_m: float | None = None
) -> dict[int, dict[str, Any]]:
    """GeoJSON (RFC 7946: WGS84, lon/lat, exterior rings counter-clockwise) of each initiative."""
    geom: sa.ColumnElement[Any] = area_initiative.c.geom
    if simplify_m:
        geom = sa.func.ST_MakeValid(sa.func.ST_SimplifyPreserveTopology(geom, simplify_m))
    shape = sa.func.ST_AsGeoJSON(
        sa.func.ST_ForcePolygonCCW(sa.func.ST_Transform(geom, WGS84_SRID)), GEOJSON_DECIMALS
    )
    rows = conn.execute(
        sa.select(area_initiative.c.id, shape.label("shape")).where(
            area_initiative.c.id.in_(list(ids))
        )
    )
    return {r.id: orjson.loads(r.shape) for r in rows}
