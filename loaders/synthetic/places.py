"""Where generated rows go: municipalities chosen by where people live, points clustered inside.

Each municipality gets a weight (immigrants in the latest year with figures; else population;
else area) and a few centres: most near its coast, where Norwegians live (the stretches of its
boundary that no other municipality shares: the sea, and the land border with Sweden, Finland
and Russia), the rest anywhere inside it. Where a population grid is loaded (Oslo's 1 km cells in
the bundled data) its populated cells are the centres instead, weighted by residents. Points fall
at Gaussian offsets from a centre and are drawn again until they lie inside the polygon, so none
lands at sea or abroad.
Everything comes from seeded numpy streams: the same database and seed give the same points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import shapely
import sqlalchemy as sa
from shapely.geometry import LineString, MultiLineString
from shapely.geometry.base import BaseGeometry

from geo.tables import municipality, municipality_statistics, statistical_area
from geo.vocab import AreaKind

BASES = ("immigrants", "population")  # statistics columns, in order of preference
COASTAL_SHARE = 0.85  # of a coastal municipality's centres, how many start at its coast
COAST_CANDIDATES = 256  # boundary points tried per municipality when looking for coast
COAST_TOLERANCE_M = 1.0
INLAND_SIGMA_M = 1_500.0  # how far inland from the shore a coastal centre lies (one sigma)
GRID_SPREAD_M = 350.0  # around a 1 km population cell's point: most of them land in the cell
CENTRE_TRIES = 64
ROUNDS = 50  # Gaussian re-draws before falling back to uniform points for the stragglers
UNIFORM_ROUNDS = 200


@dataclass(frozen=True)
class Area:
    """One municipality, ready for sampling (its polygon prepared)."""

    number: str
    name: str
    geom: BaseGeometry
    centres: np.ndarray  # (k, 2) points inside geom, the main centre first
    centre_weights: np.ndarray  # (k,), sums to 1
    spread_m: float
    #: Where a population grid says where people live: the points come from its cells instead
    #: (see :func:`place`).
    grid: Area | None = None


@dataclass(frozen=True)
class Areas:
    items: list[Area]
    weights: np.ndarray  # (len(items),), sums to 1
    basis: str  # what the weights count
    warnings: list[str] = field(default_factory=list)


def load_areas(conn: sa.Connection, seed: int) -> Areas:
    """The municipalities in number order, with weights and centres for ``seed``."""
    rows = conn.execute(
        sa.select(
            municipality.c.number,
            municipality.c.name,
            sa.func.ST_AsBinary(municipality.c.geom, type_=sa.LargeBinary),
        )
        .where(municipality.c.archived_at.is_(None))
        .order_by(municipality.c.number)
    ).all()
    numbers = [str(row[0]) for row in rows]
    geoms = shapely.from_wkb([bytes(row[2]) for row in rows])
    weights, basis, warnings = _weights(conn, numbers, shapely.area(geoms))
    edge, edge_warning = _national_edge(geoms)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    grids = _population_grids(conn)
    items = []
    for number, row, geom in zip(numbers, rows, geoms, strict=True):
        area = _area(rng, number, str(row[1]), geom, edge)  # drawn for every one: see place()
        if number in grids:
            area = replace(area, grid=_grid_area(number, str(row[1]), geom, grids[number]))
        items.append(area)
    return Areas(items, weights, basis, warnings + edge_warning)


def _population_grids(conn: sa.Connection) -> dict[str, list[tuple[float, float, int]]]:
    """Each municipality's populated 1 km cells where a population grid is loaded (Oslo's in
    the bundled data): a point inside each, and its residents."""
    point = sa.func.ST_PointOnSurface(statistical_area.c.geom)
    rows = conn.execute(
        sa.select(
            statistical_area.c.municipality_number,
            sa.func.ST_X(point),
            sa.func.ST_Y(point),
            statistical_area.c.population,
        )
        .where(
            statistical_area.c.kind == AreaKind.GRID_1KM.value,
            statistical_area.c.population > 0,
            statistical_area.c.municipality_number.is_not(None),
            statistical_area.c.archived_at.is_(None),
        )
        .order_by(statistical_area.c.municipality_number, statistical_area.c.code)
    )
    grids: dict[str, list[tuple[float, float, int]]] = {}
    for number, x, y, population in rows:
        grids.setdefault(str(number), []).append((float(x), float(y), int(population)))
    return grids


def _grid_area(
    number: str, name: str, geom: BaseGeometry, cells: list[tuple[float, float, int]]
) -> Area:
    """Where a population grid says where people live, the centres are its cells, weighted by
    their residents (Groruddalen gets its share, not just the fjord side)."""
    shapely.prepare(geom)
    centres = np.array([(x, y) for x, y, _ in cells])
    residents = np.array([population for _, _, population in cells], dtype=float)
    return Area(number, name, geom, centres, residents / residents.sum(), GRID_SPREAD_M)


# --- weights ---------------------------------------------------------------------------------


def _latest(conn: sa.Connection, column: str) -> dict[str, float]:
    """Each municipality's figure in the latest year it has one."""
    s = municipality_statistics.c
    latest = (
        sa.select(s.municipality_number, sa.func.max(s.year).label("year"))
        .where(s[column].is_not(None))
        .group_by(s.municipality_number)
        .subquery()
    )
    stmt = sa.select(s.municipality_number, s[column]).join(
        latest,
        sa.and_(latest.c.municipality_number == s.municipality_number, latest.c.year == s.year),
    )
    return {str(number): float(value) for number, value in conn.execute(stmt)}


def _weights(
    conn: sa.Connection, numbers: list[str], areas_m2: np.ndarray
) -> tuple[np.ndarray, str, list[str]]:
    warnings: list[str] = []
    for basis in BASES:
        figures = _latest(conn, basis)
        known = [figures[n] for n in numbers if figures.get(n, 0) > 0]
        if not known:
            warnings.append(f"no {basis} figures in municipality_statistics")
            continue
        missing = [n for n in numbers if figures.get(n, 0) <= 0]
        if missing:
            warnings.append(
                f"{len(missing)} municipalities without {basis} figures "
                f"weighted as the smallest one ({', '.join(missing[:5])}…)"
            )
        floor = min(known)
        values = np.array([figures[n] if figures.get(n, 0) > 0 else floor for n in numbers])
        return values / values.sum(), basis, warnings
    return areas_m2 / areas_m2.sum(), "area", warnings


# --- centres ---------------------------------------------------------------------------------


def _national_edge(geoms: np.ndarray) -> tuple[BaseGeometry | None, list[str]]:
    """The outline of all municipalities together: the coast and the national border."""
    try:
        edge = shapely.union_all(geoms).boundary
    except shapely.errors.GEOSException as error:
        return None, [f"no coastline (union failed: {error}); centres spread evenly"]
    shapely.prepare(edge)
    return edge, []


def centre_count(area_m2: float) -> int:
    """2 centres for a small municipality, up to 8 for a large one."""
    return int(np.clip(2 + round(math.log2(1 + area_m2 / 50e6)), 2, 8))


def spread(area_m2: float) -> float:
    """Standard deviation of points around a centre: 0.5 to 3 km, larger in larger places."""
    return float(np.clip(math.sqrt(area_m2) / 10, 500.0, 3_000.0))


def _area(
    rng: np.random.Generator,
    number: str,
    name: str,
    geom: BaseGeometry,
    edge: BaseGeometry | None,
) -> Area:
    shapely.prepare(geom)
    coast = _coast_points(rng, geom, edge)
    centres = np.array([_centre(rng, geom, coast) for _ in range(centre_count(geom.area))])
    ranks = np.arange(1, len(centres) + 1)
    return Area(number, name, geom, centres, (1 / ranks) / (1 / ranks).sum(), spread(geom.area))


def _coast_points(
    rng: np.random.Generator, geom: BaseGeometry, edge: BaseGeometry | None
) -> np.ndarray:
    """Points on the municipality's boundary that lie on the national edge."""
    boundary = geom.boundary
    # An areal geometry's boundary is lines; anything else has no coast to offer.
    if edge is None or not isinstance(boundary, LineString | MultiLineString):
        return np.empty((0, 2))
    at = rng.uniform(0, boundary.length, COAST_CANDIDATES)
    points = shapely.line_interpolate_point(boundary, at)
    on_edge = shapely.dwithin(edge, points, COAST_TOLERANCE_M)
    return shapely.get_coordinates(points[on_edge])


def _centre(rng: np.random.Generator, geom: BaseGeometry, coast: np.ndarray) -> np.ndarray:
    if len(coast) and rng.random() < COASTAL_SHARE:
        start = coast[rng.integers(len(coast))]
        candidates = start + rng.normal(0.0, INLAND_SIGMA_M, (CENTRE_TRIES, 2))
        inside = shapely.contains_xy(geom, candidates[:, 0], candidates[:, 1])
        if inside.any():
            chosen: np.ndarray = candidates[int(np.argmax(inside))]
            return chosen
    first: np.ndarray = uniform_points(rng, geom, 1)[0]
    return first


# --- points ----------------------------------------------------------------------------------


def uniform_points(rng: np.random.Generator, geom: BaseGeometry, n: int) -> np.ndarray:
    """``n`` points spread evenly over the polygon (rejection sampling in its bounding box)."""
    xmin, ymin, xmax, ymax = geom.bounds
    found: list[np.ndarray] = []
    missing = n
    for _ in range(UNIFORM_ROUNDS):
        xy = rng.uniform((xmin, ymin), (xmax, ymax), (max(64, 4 * missing), 2))
        inside = xy[shapely.contains_xy(geom, xy[:, 0], xy[:, 1])][:missing]
        found.append(inside)
        missing -= len(inside)
        if missing == 0:
            return np.concatenate(found)
    # A sliver in a huge box: put the rest on a point that is certainly inside.
    found.append(np.repeat(shapely.get_coordinates(geom.point_on_surface()), missing, axis=0))
    return np.concatenate(found)


def sample_points(rng: np.random.Generator, area: Area, n: int) -> np.ndarray:
    """``n`` points inside the area, each at a Gaussian offset from one of its centres."""
    xy = np.empty((n, 2))
    todo = np.arange(n)
    for _ in range(ROUNDS):
        which = rng.choice(len(area.centres), size=len(todo), p=area.centre_weights)
        candidates = area.centres[which] + rng.normal(0.0, area.spread_m, (len(todo), 2))
        inside = shapely.contains_xy(area.geom, candidates[:, 0], candidates[:, 1])
        xy[todo[inside]] = candidates[inside]
        todo = todo[~inside]
        if len(todo) == 0:
            return xy
    xy[todo] = uniform_points(rng, area.geom, len(todo))
    return xy


def place(rng: np.random.Generator, areas: Areas, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows' municipalities (indexes into ``areas.items``, by weight) and points."""
    which = rng.choice(len(areas.items), size=n, p=areas.weights)
    xy = np.empty((n, 2))
    order = np.argsort(which, kind="stable")
    starts = np.searchsorted(which[order], np.arange(len(areas.items) + 1))
    for index in np.flatnonzero(np.diff(starts)):
        rows = order[starts[index] : starts[index + 1]]
        area = areas.items[index]
        if area.grid is None:
            xy[rows] = sample_points(rng, area, len(rows))
            continue
        # From a stream of its own, seeded by the shared one's state; the shared stream still
        # draws the centre-based points (and throws them away), so every other municipality
        # gets the same points with or without a population grid loaded.
        own = np.random.default_rng(rng.bit_generator.state["state"]["state"])
        sample_points(rng, area, len(rows))
        xy[rows] = sample_points(own, area.grid, len(rows))
    return which, xy
