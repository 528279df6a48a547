"""Coverage: how many people in an area live within reach of an activity or a venue, and the gaps.

The rule (:data:`RULE`, also in the API's answer and docs/coverage.md):

- **Units.** Population units are ``statistical_area`` rows of one kind (SSB's 250 m or 1 km grid
  cells, grunnkretser, Oslo's sub-districts or districts). A unit belongs to the area when its
  interior point (``ST_PointOnSurface``, a point guaranteed inside the polygon; a grid cell's
  centre) lies in the area. Units are never split: each counts wholly or not at all, so totals
  are sums of published figures and never estimates. A unit with no population figure counts
  as 0 (the answer says how many there were).
- **Covered.** A unit is covered when a target lies within ``within_m`` metres of its polygon:
  ``ST_DWithin(target.geom, unit.geom, within_m)``, straight-line distance in the EPSG:25833
  plane, measured to the nearest point of the unit (0 for a target inside it). So a target
  inside a unit always covers it, and a unit that is a gap is one with no target within reach
  of any part of it: gaps are never false alarms. The price: covered population is an upper
  bound; measured from a cell's centre instead, the reach would be shorter by up to half the
  cell's diagonal (177 m on 250 m cells, 707 m on 1 km cells), so small units give the
  sharper answer. Targets anywhere count, also outside the area, so units at its edge are
  judged fairly.
- **Gaps.** The uncovered units with people in them (population > 0), largest population
  first, then by code; each with the straight-line distance from its polygon to the nearest
  target anywhere (None when no target matches at all).

The SQL (SQLAlchemy Core; areas drawn by the caller arrive as WKB already in EPSG:25833 from
``geo.given_areas``, stored areas are used where they lie, nothing is transformed):

- the area's units: an index scan of ``statistical_area`` by (kind, geom) against the area,
  then the interior-point test;
- which are covered, one of two ways, chosen per question by :func:`_plan`: a probe per unit
  (``EXISTS … ST_DWithin``, stopping at the first target), or, when the targets in reach are
  few beside the units (a selective filter, or very many units), from the targets' side
  (:func:`_covered_ids`); both give the same answer (the tests run both);
- the summary is one aggregate over them; a page of gaps is another statement, which finds
  each gap's nearest target by KNN for the page's units only.
- :func:`coverage_by_municipality` (the national run) always works from the targets' side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cache
from typing import Any

import numpy as np
import orjson
import shapely
import sqlalchemy as sa
from geoalchemy2 import Geometry
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry
from sqlalchemy.sql.elements import ColumnElement

from geo.coverage_notes import (
    Note,
    immigrants_not_known,
    no_population_figure,
    no_units_of_kind,
    no_units_outside_region,
)
from geo.crs import STORAGE_SRID, WGS84_SRID
from geo.filters import DirectoryFilter, activity_conditions, venue_conditions
from geo.given_areas import GivenArea
from geo.tables import activity, area_initiative, municipality, statistical_area, venue
from geo.vocab import AreaKind

#: Largest reach, in metres, a coverage question may ask about.
MAX_WITHIN_M = 50_000.0
#: Smallest side, in metres, of the squares targets are collected in (see _covered_ids).
CLUSTER_MIN_M = 1000.0
#: Covered units are found from the targets' side (see _covered_ids) when at most this many
#: targets per unit lie in reach, else by a probe per unit: where targets are common a probe
#: costs several times the reading of a target in reach (docs/performance.md).
TARGETS_PER_UNIT = 1
#: Most gaps in one page.
MAX_GAPS_PAGE = 100
#: Decimal places of the gaps' GeoJSON coordinates (6 places of a degree: about 0.1 m).
GEOJSON_DECIMALS = 6

RULE = (
    "A unit is in the area when its interior point (ST_PointOnSurface; a grid cell's centre) "
    "lies in the area; units are never split. A unit is covered when a target lies within "
    "withinMeters of any part of the unit's polygon: straight-line distance in the UTM 33N "
    "plane (EPSG:25833), 0 for a target inside the unit. Targets anywhere count, also outside "
    "the area. Gaps are the uncovered units with population > 0, largest first."
)


class TargetKind(StrEnum):
    ACTIVITY = "ACTIVITY"
    VENUE = "VENUE"


@dataclass(frozen=True)
class Target:
    """What counts as reachable: active activities or venues matching ``filter``."""

    kind: TargetKind
    filter: DirectoryFilter = field(default_factory=DirectoryFilter)

    @property
    def table(self) -> sa.Table:
        return activity if self.kind is TargetKind.ACTIVITY else venue

    def conditions(self) -> list[ColumnElement[bool]]:
        if self.kind is TargetKind.ACTIVITY:
            return activity_conditions(self.filter)
        return venue_conditions(self.filter)


@dataclass(frozen=True)
class InitiativeArea:
    """An area initiative by slug or by id (exactly one)."""

    slug: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class MunicipalityArea:
    number: str


AreaSelector = InitiativeArea | MunicipalityArea | GivenArea


class UnknownArea(LookupError):  # noqa: N818 - a lookup that found nothing, not a failure
    """The area initiative or municipality is not loaded."""


@dataclass(frozen=True)
class Gap:
    code: str
    name: str | None
    municipality_number: str | None
    population: int
    immigrant_population: int | None
    #: Straight-line metres from the unit's polygon to the nearest target; None when none.
    nearest_distance_m: float | None
    #: The unit as a GeoJSON geometry (RFC 7946: WGS84, lon/lat, exterior rings CCW).
    geometry: dict[str, Any]
    #: Names of the district (BYDEL) and sub-district (DELBYDEL) its interior point lies in;
    #: None where no such unit is loaded there.
    district: str | None = None
    sub_district: str | None = None

    @property
    def key(self) -> GapKey:
        return GapKey(self.population, self.code)


@dataclass(frozen=True)
class GapKey:
    """A gap's place in the order (population descending, code ascending): what a cursor holds."""

    population: int
    code: str


@dataclass(frozen=True)
class CoverageSummary:
    area_name: str | None
    unit_kind: str
    within_m: float
    unit_count: int
    covered_unit_count: int
    population: int
    covered_population: int
    #: Uncovered units with people: how many gaps there are on all pages.
    gap_count: int
    #: Immigrants in the area's units, and in the covered ones; None unless every unit has the
    #: figure (SSB's 1 km grid has none).
    immigrant_population: int | None
    covered_immigrant_population: int | None
    population_years: tuple[int, ...]
    #: What to know about the answer, as codes with values (geo.coverage_notes).
    notes: tuple[Note, ...]

    @property
    def covered_share(self) -> float | None:
        """Covered over total population (0-1); None when the area has nobody in it."""
        return self.covered_population / self.population if self.population else None

    @property
    def uncovered_population(self) -> int:
        return self.population - self.covered_population


@dataclass(frozen=True)
class CoverageReport:
    summary: CoverageSummary
    gaps: list[Gap]
    has_more_gaps: bool
    rule: str = RULE


# --- the area ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ResolvedArea:
    geom: ColumnElement[Any] | None  # None: nothing of it in the region (an empty area)
    name: str | None
    notes: tuple[Note, ...] = ()


def _resolve(conn: sa.Connection, area: AreaSelector) -> _ResolvedArea:
    """The area's geometry as an SQL expression; UnknownArea when it is not loaded."""
    if isinstance(area, GivenArea):
        if area.geom is None:
            return _ResolvedArea(None, None, area.notes)
        wkb = shapely.to_wkb(area.geom)
        return _ResolvedArea(
            sa.func.ST_GeomFromWKB(sa.literal(wkb, sa.LargeBinary), STORAGE_SRID), None, area.notes
        )
    if isinstance(area, MunicipalityArea):
        where: list[ColumnElement[bool]] = [
            municipality.c.number == area.number,
            municipality.c.archived_at.is_(None),
        ]
        name = conn.execute(sa.select(municipality.c.name).where(*where)).scalar()
        if name is None:
            raise UnknownArea(f"municipality {area.number} is not loaded")
        return _ResolvedArea(sa.select(municipality.c.geom).where(*where).scalar_subquery(), name)
    key = (
        area_initiative.c.slug == area.slug
        if area.slug is not None
        else area_initiative.c.id == area.id
    )
    where = [key, area_initiative.c.archived_at.is_(None)]
    name = conn.execute(sa.select(area_initiative.c.name).where(*where)).scalar()
    if name is None:
        shown = repr(area.slug) if area.slug is not None else f"with id {area.id}"
        raise UnknownArea(f"no area initiative {shown}")
    return _ResolvedArea(sa.select(area_initiative.c.geom).where(*where).scalar_subquery(), name)


def _units(area_geom: ColumnElement[Any], unit_kind: str) -> sa.CTE:
    """The units of ``unit_kind`` whose interior point lies in the area (MATERIALIZED: read
    once, however often the statement refers to them)."""
    shape = sa.select(area_geom.label("geom")).cte("area")
    return (
        sa.select(
            statistical_area.c.id,
            statistical_area.c.code,
            statistical_area.c.name,
            statistical_area.c.municipality_number,
            statistical_area.c.population,
            statistical_area.c.immigrant_population,
            statistical_area.c.year,
            statistical_area.c.geom,
        )
        .select_from(
            statistical_area.join(
                shape,
                sa.and_(
                    statistical_area.c.geom.op("&&")(shape.c.geom),
                    sa.func.ST_Intersects(
                        shape.c.geom, sa.func.ST_PointOnSurface(statistical_area.c.geom)
                    ),
                ),
            )
        )
        .where(statistical_area.c.kind == unit_kind, statistical_area.c.archived_at.is_(None))
        .cte("units")
        .prefix_with("MATERIALIZED")
    )


def _reach(units: sa.CTE, within_m: float) -> ColumnElement[Any]:
    """The units' bounding box grown by the reach: every target that can cover one lies in it."""
    grown = sa.func.ST_Expand(sa.func.ST_Extent(units.c.geom), within_m)
    return sa.select(sa.func.ST_SetSRID(sa.cast(grown, Geometry), STORAGE_SRID)).scalar_subquery()


def _covered_ids(
    target: Target, within_m: float, unit_kind: str, reach: ColumnElement[Any] | None
) -> sa.CTE:
    """Ids of the units of ``unit_kind`` with a target within ``within_m`` of their polygon
    (targets inside ``reach`` only, when given).

    Driven from the targets, which are far fewer than the units they cover: the matching targets
    are collected per square of :func:`_cluster_size` metres into MultiPoints (one scan), and each
    MultiPoint finds the units within reach through the units' GiST index, ``ST_DWithin(unit,
    points, within_m)`` being exactly "some target of the square is within reach". Probing once
    per unit instead costs an index scan per unit: for the national 1 km grid (296,000 cells,
    language cafés within 2 km, a million places) 9.1 s against 1.9 s."""
    table = target.table
    size = _cluster_size(within_m)
    where = target.conditions()
    if reach is not None:
        where.append(table.c.geom.op("&&")(reach))
    clusters = (
        sa.select(sa.func.ST_Collect(table.c.geom).label("geom"))
        .where(*where)
        .group_by(
            sa.func.floor(sa.func.ST_X(table.c.geom) / size),
            sa.func.floor(sa.func.ST_Y(table.c.geom) / size),
        )
        .cte("clusters")
        .prefix_with("MATERIALIZED")
    )
    u = statistical_area.alias("reached")
    return (
        sa.select(u.c.id)
        .distinct()
        .select_from(
            clusters.join(
                u,
                sa.and_(
                    u.c.kind == unit_kind,
                    u.c.archived_at.is_(None),
                    sa.func.ST_DWithin(u.c.geom, clusters.c.geom, within_m),
                ),
            )
        )
        .cte("covered")
        .prefix_with("MATERIALIZED")
    )


def _cluster_size(within_m: float) -> float:
    """Side of the squares targets are collected in: the reach, at least 1 km, so that each
    square's index probe finds a bounded number of units whatever the reach."""
    return max(CLUSTER_MIN_M, within_m)


def _nearest(target: Target, unit_geom: ColumnElement[Any]) -> ColumnElement[float]:
    """Straight-line distance from the unit's polygon to the nearest target (NULL when none):
    a KNN subquery (``ORDER BY geom <-> unit LIMIT 1``, no radius inside), so the GiST index on
    ``geom`` returns the nearest first and the scan stops at the first match (the category
    outside the index, as in :func:`_probe_conditions`: for Oslo's gaps several times faster
    than a KNN per category through the (category, geom) index; docs/performance.md). Used for
    the gaps of one page only."""
    table = target.table
    distance = table.c.geom.op("<->", return_type=sa.Float)(unit_geom)
    return (
        sa.select(distance)
        .where(*_probe_conditions(target))
        .order_by(distance)
        .limit(1)
        .scalar_subquery()
    )


def _probe_conditions(target: Target) -> list[ColumnElement[bool]]:
    """The target's conditions for probes by box (``ST_DWithin``, ``&&``), with an activity's
    category compared as ``category || ''``, which no index covers, so that the probe uses the
    plain GiST index on ``geom``: the (category, geom) index, right for KNN, answers box probes
    slowly for most categories (its upper levels hold ranges of category names); the figures
    for Groruddalen's cells with a million places are in docs/performance.md.
    """
    filt = target.filter
    if target.kind is not TargetKind.ACTIVITY or not filt.categories:
        return target.conditions()
    return [
        *Target(target.kind, replace(filt, categories=())).conditions(),
        activity.c.category.concat("").in_(filt.categories),
    ]


def _covered(target: Target, unit_geom: ColumnElement[Any], within_m: float) -> ColumnElement[bool]:
    """A target lies within ``within_m`` of the unit, probed from the unit: ``EXISTS`` with
    ``ST_DWithin``, an index scan that stops at the first match."""
    return sa.exists().where(
        *_probe_conditions(target), sa.func.ST_DWithin(target.table.c.geom, unit_geom, within_m)
    )


def _plan(
    conn: sa.Connection,
    area_geom: ColumnElement[Any],
    target: Target,
    within_m: float,
    unit_kind: str,
) -> tuple[int, bool]:
    """How many units the area has, and whether to find the covered ones from the targets'
    side: when at most :data:`TARGETS_PER_UNIT` targets per unit lie in reach (counted up to
    that many, by an index scan that stops there)."""
    units = _units(area_geom, unit_kind)
    unit_count = sa.select(sa.func.count()).select_from(units).scalar_subquery()
    table = target.table
    in_reach = (
        sa.select(sa.literal(1).label("one"))
        .where(*_probe_conditions(target), table.c.geom.op("&&")(_reach(units, within_m)))
        .limit(unit_count * TARGETS_PER_UNIT + 1)
        .subquery("in_reach")
    )
    row = conn.execute(
        sa.select(
            unit_count.label("units"),
            sa.select(sa.func.count()).select_from(in_reach).scalar_subquery().label("targets"),
        )
    ).one()
    return int(row.units), int(row.targets) <= int(row.units) * TARGETS_PER_UNIT


def _flagged(
    area_geom: ColumnElement[Any],
    target: Target,
    within_m: float,
    unit_kind: str,
    *,
    from_targets: bool,
) -> sa.CTE:
    """The area's units, each with ``covered``: probed per unit (few units), or found from the
    targets' side (many units; :func:`_covered_ids`). MATERIALIZED, so that the planner does not
    copy the probe into every aggregate that reads ``covered``."""
    units = _units(area_geom, unit_kind)
    if not from_targets:
        flagged = sa.select(*units.c, _covered(target, units.c.geom, within_m).label("covered"))
    else:
        covered = _covered_ids(target, within_m, unit_kind, _reach(units, within_m))
        flagged = sa.select(*units.c, covered.c.id.is_not(None).label("covered")).select_from(
            units.outerjoin(covered, covered.c.id == units.c.id)
        )
    return flagged.cte("flagged").prefix_with("MATERIALIZED")


def _check(within_m: float, unit_kind: str) -> str:
    if not 0 < within_m <= MAX_WITHIN_M:
        raise ValueError(f"within_m must be within (0, {MAX_WITHIN_M:g}], got {within_m!r}")
    return AreaKind(unit_kind).value


# --- the summary ---------------------------------------------------------------------------------


def _kinds_in_area(conn: sa.Connection, area_geom: ColumnElement[Any]) -> list[str]:
    """Which unit kinds have units in the area (for the note on an empty answer)."""
    found = []
    for kind in AreaKind:
        units = _units(area_geom, kind.value)
        if conn.execute(sa.select(sa.exists().select_from(units))).scalar():
            found.append(kind.value)
    return found


def _empty_note(conn: sa.Connection, area: _ResolvedArea, unit_kind: str) -> Note:
    if area.geom is None:
        return no_units_outside_region()
    others = [k for k in _kinds_in_area(conn, area.geom) if k != unit_kind]
    return no_units_of_kind(unit_kind, others)


def coverage_summary(
    conn: sa.Connection, area: AreaSelector, target: Target, within_m: float, unit_kind: str
) -> CoverageSummary:
    """Total and covered population of the area's units (see the module's rule)."""
    unit_kind = _check(within_m, unit_kind)
    resolved = _resolve(conn, area)
    notes = list(resolved.notes)
    count, from_targets = (
        (0, False)
        if resolved.geom is None
        else _plan(conn, resolved.geom, target, within_m, unit_kind)
    )
    if resolved.geom is None or count == 0:
        notes.append(_empty_note(conn, resolved, unit_kind))
        return CoverageSummary(
            resolved.name, unit_kind, within_m, 0, 0, 0, 0, 0, None, None, (), tuple(notes)
        )
    f = _flagged(resolved.geom, target, within_m, unit_kind, from_targets=from_targets).c
    pop = sa.func.coalesce(f.population, 0)
    stmt = sa.select(
        sa.func.count().label("units"),
        sa.func.count().filter(f.covered).label("covered_units"),
        sa.func.coalesce(sa.func.sum(pop), 0).label("population"),
        sa.func.coalesce(sa.func.sum(pop).filter(f.covered), 0).label("covered_population"),
        sa.func.count().filter(sa.not_(f.covered), pop > 0).label("gaps"),
        sa.func.count().filter(f.population.is_(None)).label("no_population"),
        sa.func.count(f.immigrant_population).label("with_immigrants"),
        sa.func.sum(f.immigrant_population).label("immigrants"),
        sa.func.coalesce(sa.func.sum(f.immigrant_population).filter(f.covered), 0).label(
            "covered_immigrants"
        ),
        sa.func.array_agg(sa.distinct(f.year)).filter(f.year.is_not(None)).label("years"),
    )
    row = conn.execute(stmt).one()
    if row.no_population:
        notes.append(no_population_figure(row.no_population, row.units))
    every_immigrant = row.with_immigrants == row.units
    if not every_immigrant:
        notes.append(immigrants_not_known(row.with_immigrants, row.units))
    return CoverageSummary(
        area_name=resolved.name,
        unit_kind=unit_kind,
        within_m=within_m,
        unit_count=row.units,
        covered_unit_count=row.covered_units,
        population=int(row.population),
        covered_population=int(row.covered_population),
        gap_count=row.gaps,
        immigrant_population=int(row.immigrants) if every_immigrant else None,
        covered_immigrant_population=int(row.covered_immigrants) if every_immigrant else None,
        population_years=tuple(sorted(row.years or ())),
        notes=tuple(notes),
    )


# --- the gaps ------------------------------------------------------------------------------------


def _enclosing_name(kind: AreaKind, unit_geom: ColumnElement[Any]) -> ColumnElement[Any]:
    """The name of the unit of ``kind`` holding ``unit_geom``'s interior point (the rule that
    puts a unit in an area), by the (kind, geom) index; the lowest code if units overlap."""
    holder = statistical_area.alias(f"enclosing_{kind.value.lower()}")
    point = sa.func.ST_PointOnSurface(unit_geom)
    return (
        sa.select(holder.c.name)
        .where(
            holder.c.kind == kind.value,
            holder.c.archived_at.is_(None),
            holder.c.geom.op("&&")(point),
            sa.func.ST_Intersects(holder.c.geom, point),
        )
        .order_by(holder.c.code)
        .limit(1)
        .scalar_subquery()
    )


@cache
def _to_wgs84() -> Transformer:
    return Transformer.from_crs(STORAGE_SRID, WGS84_SRID, always_xy=True)


def _geojson(wkb: bytes) -> dict[str, Any]:
    """A stored geometry as RFC 7946 GeoJSON, transformed in Python (no PROJ start-up in the
    database backend): lon/lat, exterior rings counter-clockwise, 6 decimals."""
    geom: BaseGeometry = shapely.from_wkb(wkb)

    def project(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = _to_wgs84().transform(x, y)
        return np.round(lon, GEOJSON_DECIMALS), np.round(lat, GEOJSON_DECIMALS)

    projected = shapely.transform(geom, lambda xy: np.column_stack(project(xy[:, 0], xy[:, 1])))
    oriented = shapely.orient_polygons(projected, exterior_cw=False)
    return orjson.loads(shapely.to_geojson(oriented))  # type: ignore[no-any-return]


def coverage_gaps(
    conn: sa.Connection,
    area: AreaSelector,
    target: Target,
    within_m: float,
    unit_kind: str,
    *,
    first: int = 20,
    after: GapKey | None = None,
) -> tuple[list[Gap], bool]:
    """One page of gaps after ``after`` (largest population first, then code), and whether
    more follow."""
    unit_kind = _check(within_m, unit_kind)
    if not 0 <= first <= MAX_GAPS_PAGE:
        raise ValueError(f"first must be within [0, {MAX_GAPS_PAGE}], got {first}")
    resolved = _resolve(conn, area)
    if resolved.geom is None or first == 0:
        return [], False
    count, from_targets = _plan(conn, resolved.geom, target, within_m, unit_kind)
    if count == 0:
        return [], False
    u = _flagged(resolved.geom, target, within_m, unit_kind, from_targets=from_targets).c
    position: list[ColumnElement[bool]] = []
    if after is not None:
        position.append(
            sa.or_(
                u.population < after.population,
                sa.and_(u.population == after.population, u.code > after.code),
            )
        )
    page = (
        sa.select(
            u.code, u.name, u.municipality_number, u.population, u.immigrant_population, u.geom
        )
        .where(u.population > 0, sa.not_(u.covered), *position)
        .order_by(u.population.desc(), u.code)
        .limit(first + 1)
        .subquery("page")
    )
    # The nearest target only for the page's units (at most 101 KNN scans).
    rows = conn.execute(
        sa.select(
            page.c.code,
            page.c.name,
            page.c.municipality_number,
            page.c.population,
            page.c.immigrant_population,
            sa.func.ST_AsBinary(page.c.geom).label("wkb"),
            _nearest(target, page.c.geom).label("distance"),
            _enclosing_name(AreaKind.BYDEL, page.c.geom).label("district"),
            _enclosing_name(AreaKind.DELBYDEL, page.c.geom).label("sub_district"),
        ).order_by(page.c.population.desc(), page.c.code)
    ).all()
    gaps = [
        Gap(
            code=r.code,
            name=r.name,
            municipality_number=r.municipality_number,
            population=r.population,
            immigrant_population=r.immigrant_population,
            nearest_distance_m=None if r.distance is None else float(r.distance),
            geometry=_geojson(bytes(r.wkb)),
            district=r.district,
            sub_district=r.sub_district,
        )
        for r in rows[:first]
    ]
    return gaps, len(rows) > first


def coverage(
    conn: sa.Connection,
    area: AreaSelector,
    target: Target,
    within_m: float,
    unit_kind: str,
    *,
    first: int = 20,
    after: GapKey | None = None,
) -> CoverageReport:
    """The summary and one page of gaps."""
    summary = coverage_summary(conn, area, target, within_m, unit_kind)
    if summary.unit_count == 0:
        return CoverageReport(summary, [], False)
    gaps, more = coverage_gaps(conn, area, target, within_m, unit_kind, first=first, after=after)
    return CoverageReport(summary, gaps, more)


# --- every municipality at once ------------------------------------------------------------------


@dataclass(frozen=True)
class MunicipalityCoverage:
    number: str
    name: str | None
    unit_count: int
    population: int
    covered_population: int

    @property
    def covered_share(self) -> float | None:
        return self.covered_population / self.population if self.population else None


def coverage_by_municipality(
    conn: sa.Connection,
    target: Target,
    within_m: float,
    unit_kind: str,
    numbers: Sequence[str] | None = None,
) -> list[MunicipalityCoverage]:
    """Coverage of every municipality (or of ``numbers``) in one statement, by municipality
    number. A unit belongs to the municipality its row names (loaders set it from the code or
    from the unit's interior point, the same rule as above); the covered rule is the same."""
    unit_kind = _check(within_m, unit_kind)
    where: list[ColumnElement[bool]] = [
        statistical_area.c.kind == unit_kind,
        statistical_area.c.archived_at.is_(None),
        statistical_area.c.municipality_number.is_not(None),
    ]
    if numbers is not None:
        where.append(statistical_area.c.municipality_number.in_(list(numbers)))
    covered = _covered_ids(target, within_m, unit_kind, None)
    flagged = (
        sa.select(
            statistical_area.c.municipality_number,
            sa.func.coalesce(statistical_area.c.population, 0).label("population"),
            covered.c.id.is_not(None).label("covered"),
        )
        .select_from(statistical_area.outerjoin(covered, covered.c.id == statistical_area.c.id))
        .where(*where)
        .subquery("flagged")
    )
    totals = (
        sa.select(
            flagged.c.municipality_number,
            sa.func.count().label("units"),
            sa.func.sum(flagged.c.population).label("population"),
            sa.func.coalesce(sa.func.sum(flagged.c.population).filter(flagged.c.covered), 0).label(
                "covered_population"
            ),
        )
        .group_by(flagged.c.municipality_number)
        .subquery("totals")
    )
    rows = conn.execute(
        sa.select(totals, municipality.c.name)
        .select_from(
            totals.outerjoin(municipality, municipality.c.number == totals.c.municipality_number)
        )
        .order_by(totals.c.municipality_number)
    )
    return [
        MunicipalityCoverage(
            r.municipality_number, r.name, r.units, int(r.population), int(r.covered_population)
        )
        for r in rows
    ]


# --- every unit, for the exports -----------------------------------------------------------------


def coverage_units(
    conn: sa.Connection, area: AreaSelector, target: Target, within_m: float, unit_kind: str
) -> sa.Select[Any]:
    """Every unit of the area by code, judged by the same rule as :func:`coverage_summary`: its
    code, name, municipality_number, the names of the district and sub_district it lies in,
    population, immigrant_population, year, ``covered``, the
    straight-line metres from its polygon to the nearest target anywhere
    (``nearest_distance_m``; None when no target matches) and ``geom`` (EPSG:25833). One
    statement for a caller to stream; no rows when the area has none. UnknownArea when the area
    is not loaded."""
    unit_kind = _check(within_m, unit_kind)
    resolved = _resolve(conn, area)
    area_geom = (
        resolved.geom
        if resolved.geom is not None
        else sa.cast(sa.null(), Geometry(srid=STORAGE_SRID))
    )
    _, from_targets = (
        (0, False) if resolved.geom is None else _plan(conn, area_geom, target, within_m, unit_kind)
    )
    f = _flagged(area_geom, target, within_m, unit_kind, from_targets=from_targets).c
    return sa.select(
        f.code,
        f.name,
        f.municipality_number,
        _enclosing_name(AreaKind.BYDEL, f.geom).label("district"),
        _enclosing_name(AreaKind.DELBYDEL, f.geom).label("sub_district"),
        f.population,
        f.immigrant_population,
        f.year,
        f.covered,
        _nearest(target, f.geom).label("nearest_distance_m"),
        f.geom,
    ).order_by(f.code)
