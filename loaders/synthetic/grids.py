"""Population grids made from real figures where no finer or wider grid is at hand.

- :func:`split_1km_grid`: SSB's 250 m grid from the loaded 1 km grid: each 1 km cell becomes its
  16 cells of 250 m with the population shared evenly (an integer split that keeps the total:
  ``divmod(population, 16)``, the remainder one person each to cells spread through the 16).
  Codes are SSB's (``ssbid250M``: x + 2,000,000 then y of the lower-left corner, in EPSG:25833).
  The people of a cell are not really spread evenly, so coverage on these cells shows the method's
  behaviour at 250 m, not Oslo's true 250 m figures.
- :func:`national_1km_grid`: a 1 km grid for every municipality that has none loaded: each
  municipality's population (the latest year with a figure) spread evenly over the 1 km cells
  whose centre lies in its polygon, cells left with nobody dropped (SSB's grid lists populated
  cells only). Municipalities that already have 1 km cells (Oslo's real grid) keep them. For the
  benchmark's national run; not SSB's figures.

Both upsert by (kind, code) with their own ``source``, so they are idempotent and never touch the
real rows; neither sets an immigrant population (SSB's grid has none).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon, box
from shapely.geometry.base import BaseGeometry

from geo.crs import STORAGE_SRID
from geo.spatial_join import municipalities_of_points
from geo.tables import municipality, municipality_statistics, statistical_area
from geo.upsert import upsert
from geo.vocab import AreaKind
from loaders.report import LoadReport

SPLIT_SOURCE = "split-1km-grid"
NATIONAL_SOURCE = "synthetic-national-1km-grid"
#: SSB's grid ids: the lower-left corner's x plus this, then its y.
SSB_X_OFFSET = 2_000_000
Progress = Callable[[int, int], None]


def ssb_code(x: float, y: float) -> str:
    """SSB's id of the grid cell whose lower-left corner is (x, y) in EPSG:25833."""
    return f"{round(x) + SSB_X_OFFSET}{round(y)}"


def even_split(total: int, parts: int) -> list[int]:
    """``total`` in ``parts`` integers that differ by at most one and sum to ``total``; the
    larger shares are spread evenly through the list (deterministic)."""
    if parts <= 0:
        raise ValueError("parts must be positive")
    share, remainder = divmod(total, parts)
    shares = [share] * parts
    for i in range(remainder):
        shares[i * parts // remainder] += 1
    return shares


def _cell(x: float, y: float, size: float) -> MultiPolygon:
    return MultiPolygon([box(x, y, x + size, y + size)])


def _row(
    kind: AreaKind,
    x: float,
    y: float,
    size: float,
    population: int,
    year: int | None,
    number: str | None,
    source: str,
) -> dict[str, Any]:
    code = ssb_code(x, y)
    return {
        "kind": kind.value,
        "code": code,
        "name": None,
        "municipality_number": number,
        "geom": from_shape(_cell(x, y, size), srid=STORAGE_SRID),
        "population": population,
        "immigrant_population": None,
        "year": year,
        "source": source,
        "external_id": code,
    }


def _write(conn: sa.Connection, rows: list[dict[str, Any]], report: LoadReport) -> LoadReport:
    counts = upsert(conn, statistical_area, rows, key=("kind", "code"))
    report.inserted, report.updated, report.unchanged = (
        counts.inserted,
        counts.updated,
        counts.unchanged,
    )
    return report


def split_1km_grid(
    conn: sa.Connection, *, source: str = SPLIT_SOURCE, numbers: list[str] | None = None
) -> LoadReport:
    """GRID_250M cells from every loaded GRID_1KM cell (of ``numbers`` only, when given)."""
    report = LoadReport("areas (GRID_250M split from GRID_1KM)")
    where = [
        statistical_area.c.kind == AreaKind.GRID_1KM.value,
        statistical_area.c.archived_at.is_(None),
    ]
    if numbers is not None:
        where.append(statistical_area.c.municipality_number.in_(numbers))
    cells = conn.execute(
        sa.select(
            statistical_area.c.code,
            statistical_area.c.geom,
            statistical_area.c.population,
            statistical_area.c.year,
        )
        .where(*where)
        .order_by(statistical_area.c.code)
    ).all()
    rows: list[dict[str, Any]] = []
    centres: list[tuple[float, float]] = []
    for cell in cells:
        min_x, min_y, max_x, max_y = to_shape(cell.geom).bounds
        if (max_x - min_x, max_y - min_y) != (1000.0, 1000.0) or min_x % 1000 or min_y % 1000:
            report.skipped += 1
            report.warnings.append(f"GRID_1KM {cell.code} is not an aligned 1 km square")
            continue
        shares = even_split(cell.population or 0, 16)
        corners = [(min_x + 250 * i, min_y + 250 * j) for i in range(4) for j in range(4)]
        rows += [
            _row(AreaKind.GRID_250M, x, y, 250, share, cell.year, None, source)
            for (x, y), share in zip(corners, shares, strict=True)
        ]
        centres += [(x + 125, y + 125) for x, y in corners]
    for row, number in zip(rows, municipalities_of_points(conn, centres), strict=True):
        row["municipality_number"] = number
    return _write(conn, rows, report)


def _latest_population(conn: sa.Connection) -> dict[str, tuple[int, int]]:
    """Each municipality's (population, year) in the latest year with a population figure."""
    rows = conn.execute(
        sa.select(
            municipality_statistics.c.municipality_number,
            municipality_statistics.c.population,
            municipality_statistics.c.year,
        )
        .where(municipality_statistics.c.population.is_not(None))
        .distinct(municipality_statistics.c.municipality_number)
        .order_by(
            municipality_statistics.c.municipality_number, municipality_statistics.c.year.desc()
        )
    )
    return {r.municipality_number: (r.population, r.year) for r in rows}


def _centres_inside(geom: BaseGeometry) -> Iterator[tuple[float, float]]:
    """Lower-left corners of the aligned 1 km cells whose centre lies in ``geom``."""
    min_x, min_y, max_x, max_y = geom.bounds
    xs = np.arange(np.floor(min_x / 1000) * 1000, max_x, 1000.0)
    ys = np.arange(np.floor(min_y / 1000) * 1000, max_y, 1000.0)
    grid_x, grid_y = np.meshgrid(xs, ys, indexing="ij")
    shapely.prepare(geom)
    inside = shapely.contains_xy(geom, grid_x.ravel() + 500, grid_y.ravel() + 500)
    yield from zip(grid_x.ravel()[inside].tolist(), grid_y.ravel()[inside].tolist(), strict=True)


def national_1km_grid(
    conn: sa.Connection, *, source: str = NATIONAL_SOURCE, progress: Progress | None = None
) -> LoadReport:
    """GRID_1KM cells for every municipality without any (see the module's docstring)."""
    report = LoadReport("areas (GRID_1KM spread over every municipality)")
    real = conn.execute(
        sa.select(statistical_area.c.code, statistical_area.c.municipality_number).where(
            statistical_area.c.kind == AreaKind.GRID_1KM.value, statistical_area.c.source != source
        )
    ).all()
    taken = {r.code for r in real}
    gridded = {r.municipality_number for r in real}
    populations = _latest_population(conn)
    municipalities = conn.execute(
        sa.select(municipality.c.number, municipality.c.geom)
        .where(municipality.c.archived_at.is_(None))
        .order_by(municipality.c.number)
    ).all()
    rows: list[dict[str, Any]] = []
    for done, row in enumerate(municipalities, start=1):
        if progress:
            progress(done, len(municipalities))
        if row.number in gridded or row.number not in populations:
            report.skipped += 1
            continue
        population, year = populations[row.number]
        geom = to_shape(row.geom)
        corners = [c for c in _centres_inside(geom) if ssb_code(*c) not in taken]
        if not corners:  # too small for any cell centre: the cell around its interior point
            inside = geom.representative_point()
            corner = (
                float(np.floor(inside.x / 1000) * 1000),
                float(np.floor(inside.y / 1000) * 1000),
            )
            if ssb_code(*corner) in taken:
                report.warnings.append(
                    f"municipality {row.number}: no free cell for its {population} people"
                )
                continue
            corners = [corner]
        for (x, y), share in zip(corners, even_split(population, len(corners)), strict=True):
            if share > 0:
                rows.append(_row(AreaKind.GRID_1KM, x, y, 1000, share, year, row.number, source))
                taken.add(ssb_code(x, y))
    return _write(conn, rows, report)
