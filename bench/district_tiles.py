"""What the districts layer's population costs: Oslo's tiles of the ``districts`` layer with the
population from the grid (the layer as served) beside the same statement reading only the
stored column (the layer before), in the same run on the same connection.

    HVERDAG_DATABASE_URL=… .venv/bin/python bench/district_tiles.py [--runs 40]

(a database with the demo data: the districts and the 1 km population grid).

Every zoom-10..12 tile over Oslo's districts, each statement ``--runs`` times after a warm-up;
medians and p95 per zoom, in milliseconds, on stdout (docs/performance.md).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import sqlalchemy as sa

from geo.queries import tiles
from geo.queries.tiles import NO_PARALLEL, tile_statement

OSLO = (10.60, 59.85, 10.95, 60.00)  # west, south, east, north


def _tiles_over_oslo(z: int) -> list[tuple[int, int, int]]:
    import math

    def column(lon: float) -> int:
        return int((lon + 180) / 360 * 2**z)

    def row(lat: float) -> int:
        rad = math.radians(lat)
        return int((1 - math.asinh(math.tan(rad)) / math.pi) / 2 * 2**z)

    west, south, east, north = OSLO
    return [
        (z, x, y)
        for x in range(column(west), column(east) + 1)
        for y in range(row(north), row(south) + 1)
    ]


def _stored_only(a: Any) -> tuple[list[Any], None]:
    """The layer's population as it was: the stored column, no grid."""
    return [a.population.label("population"), sa.null().label("population_basis")], None


def _time(conn: sa.Connection, statements: list[sa.Select[Any]], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        for stmt in statements:
            start = time.perf_counter()
            conn.execute(stmt).scalar_one()
            times.append((time.perf_counter() - start) * 1000)
    return times


def measure(conn: sa.Connection, runs: int = 40) -> dict[int, dict[str, tuple[float, float]]]:
    """Per zoom: (median, p95) ms of the served statement and of the stored-only one."""
    conn.execute(NO_PARALLEL)
    found: dict[int, dict[str, tuple[float, float]]] = {}
    for z in (10, 11, 12):
        addresses = _tiles_over_oslo(z)
        served = [tile_statement("districts", *t) for t in addresses]
        original = tiles._population
        tiles._population = _stored_only  # type: ignore[assignment]
        try:
            before = [tile_statement("districts", *t) for t in addresses]
        finally:
            tiles._population = original
        kept = [s for s in served if s is not None]
        kept_before = [s for s in before if s is not None]
        _time(conn, kept + kept_before, 3)  # warm-up
        row: dict[str, tuple[float, float]] = {}
        for name, statements in (("grid population", kept), ("stored only", kept_before)):
            times = sorted(_time(conn, statements, runs))
            row[name] = (statistics.median(times), times[int(len(times) * 0.95) - 1])
        found[z] = row
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    from geo.db import sync_engine
    from geo.settings import load_settings

    settings = load_settings()
    if settings.database_url is None:
        parser.error("set HVERDAG_DATABASE_URL to a database with the demo data")
    engine = sync_engine(settings.database_url, settings)
    with engine.connect() as conn:
        report(measure(conn, args.runs))


def report(found: dict[int, dict[str, tuple[float, float]]]) -> None:
    print("| zoom | districts tile, population from the grid | stored column only |")
    print("|---|---|---|")
    for z, row in found.items():
        grid, stored = row["grid population"], row["stored only"]
        served = f"{grid[0]:.2f} ms (p95 {grid[1]:.2f})"
        before = f"{stored[0]:.2f} ms (p95 {stored[1]:.2f})"
        print(f"| {z} | {served} | {before} |")


if __name__ == "__main__":
    main()
