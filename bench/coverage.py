"""Coverage benchmark (issue 4): `coverage` of Groruddalen on 250 m cells and of Oslo on 1 km
cells with a million places in the database, and a national run: for every municipality, the
share of its people within 2 km of a language café.

    .venv/bin/python bench/coverage.py [--keep] [--repeat 30] [--national-repeat 5]

1. A database ``bench_coverage`` in the configured server (the embedded cluster by default):
   migrated, the bundled real data, 400,000 venues and 600,000 activities from the seeded
   generator (as bench/generate.py makes them), GRID_250M cells split from SSB's real Oslo
   1 km grid and a national 1 km grid spread from each municipality's population (both from
   loaders/synthetic/grids.py), VACUUM ANALYZE. A later run reuses it when it is complete;
   without ``--keep`` it is dropped at the end.
2. Each area question through ``geo.queries.coverage.coverage`` (the summary and the first
   page of 20 gaps, as the contract's Gaps operation asks) on one connection, and through the
   GraphQL schema in-process (parse and validation caches warm, a new context per request):
   ``--repeat`` timed runs after 3 warm-up runs; median, p95, min.
3. The national run, ``coverage_by_municipality`` (LANGUAGE_CAFE within 2 km, GRID_1KM),
   ``--national-repeat`` times; with ``--per-unit`` once more with a probe per unit, to show
   why it is driven from the targets.
4. The machine's load while measuring (load average, and the CPU other processes used, from
   /proc/stat) is recorded beside the numbers.

Results: bench/results/coverage-<date>.json and a markdown summary on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import geo.queries.coverage as coverage_module
from geo.db import Database, connect, database_exists, drop_database, migrate, sync_engine
from geo.filters import DirectoryFilter
from geo.queries.coverage import (
    InitiativeArea,
    MunicipalityArea,
    Target,
    TargetKind,
    coverage,
    coverage_by_municipality,
)
from geo.settings import load_settings
from geo.tables import activity, statistical_area, venue
from loaders.synthetic.grids import NATIONAL_SOURCE, national_1km_grid, split_1km_grid

DATABASE = "bench_coverage"
VENUES, ACTIVITIES, SEED = 400_000, 600_000, 1
RESULTS = Path(__file__).resolve().parent / "results"
LANGUAGE = Target(
    TargetKind.ACTIVITY, DirectoryFilter(categories=("LANGUAGE_CAFE", "NORWEGIAN_PRACTICE"))
)
CAFES = Target(TargetKind.ACTIVITY, DirectoryFilter(categories=("LANGUAGE_CAFE",)))
GAPS_QUERY = """
query Gaps($area: CoverageAreaInput!, $kind: AreaKind!) {
  coverage(area: $area, target: {categories: [LANGUAGE_CAFE, NORWEGIAN_PRACTICE]},
           withinMeters: 1000, unitKind: $kind) {
    population coveredPopulation coveredShare rule
    gaps(first: 20) { code name population immigrantPopulation nearestDistanceMeters geometry }
  }
}
"""


@dataclass(frozen=True)
class Case:
    name: str
    area: Any
    graphql_area: dict[str, str]
    unit_kind: str
    target_ms: float | None


CASES = (
    Case(
        "Groruddalen, 250 m cells",
        InitiativeArea(slug="groruddalen"),
        {"areaInitiative": "groruddalen"},
        "GRID_250M",
        300.0,
    ),
    Case("Oslo, 1 km cells", MunicipalityArea("0301"), {"municipality": "0301"}, "GRID_1KM", 300.0),
    Case(
        "Oslo, 250 m cells", MunicipalityArea("0301"), {"municipality": "0301"}, "GRID_250M", None
    ),
)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help=f"keep the {DATABASE} database")
    parser.add_argument("--fresh", action="store_true", help="rebuild the database")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--national-repeat", type=int, default=5)
    parser.add_argument(
        "--per-unit",
        action="store_true",
        help="also time the national run with a probe per unit (about a minute)",
    )
    return parser.parse_args(argv)


# --- the data ------------------------------------------------------------------------------------


def _counts(url: sa.URL) -> dict[str, int]:
    with connect(url) as conn:
        a = statistical_area.c
        kinds = dict(conn.execute(sa.select(a.kind, sa.func.count()).group_by(a.kind)).all())
        national = conn.execute(
            sa.select(sa.func.count()).where(a.source == NATIONAL_SOURCE)
        ).scalar_one()
        return {
            "activities": conn.execute(
                sa.select(sa.func.count()).select_from(activity)
            ).scalar_one(),
            "venues": conn.execute(sa.select(sa.func.count()).select_from(venue)).scalar_one(),
            "grid_250m_cells": kinds.get("GRID_250M", 0),
            "grid_1km_cells": kinds.get("GRID_1KM", 0),
            "national_1km_cells": national,
        }


def _complete(counts: dict[str, int]) -> bool:
    return (
        counts["activities"] >= ACTIVITIES
        and counts["venues"] >= VENUES
        and counts["grid_250m_cells"] > 0
        and counts["national_1km_cells"] > 0
    )


def _build(url: sa.URL, data_dir: Path) -> None:
    from loaders.bundle import load_bundled
    from loaders.generate import generate

    migrate(url)
    steps: list[tuple[str, Callable[[sa.Connection], Any]]] = [
        ("bundled data", lambda c: load_bundled(c, data_dir)),
        (
            f"{VENUES + ACTIVITIES:,} generated places",
            lambda c: generate(c, venues=VENUES, activities=ACTIVITIES, seed=SEED),
        ),
        ("250 m cells", split_1km_grid),
        ("national 1 km grid", national_1km_grid),
    ]
    for label, step in steps:
        started = time.perf_counter()
        with connect(url) as conn:
            if (
                label == "bundled data"
                and conn.execute(sa.text("SELECT count(*) FROM municipality")).scalar_one()
            ):
                continue
            step(conn)
        print(f"{label}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    engine = sync_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    finally:
        engine.dispose()


# --- measuring -----------------------------------------------------------------------------------


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


class Load:
    """How busy the whole machine was while measuring (our own work included): the share of
    all CPU time that was not idle, and the 1-minute load average at the start."""

    def __enter__(self) -> Load:
        self.busy0, self.total0 = _cpu_times()
        self.load_average = os.getloadavg()[0]
        return self

    def __exit__(self, *_: object) -> None:
        busy, total = _cpu_times()
        self.busy_share = (busy - self.busy0) / max(1, total - self.total0)


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[max(0, round(0.95 * len(ordered)) - 1)], 1),
        "min_ms": round(ordered[0], 1),
        "max_ms": round(ordered[-1], 1),
        "runs": len(ordered),
    }


def _timed(fn: Callable[[], Any], repeat: int, warmup: int = 3) -> tuple[list[float], Any]:
    result = None
    for _ in range(warmup):
        result = fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples, result


def _geo_case(engine: sa.Engine, case: Case, repeat: int) -> dict[str, Any]:
    with engine.connect() as conn, Load() as load:
        samples, report = _timed(
            lambda: coverage(conn, case.area, LANGUAGE, 1000, case.unit_kind, first=20), repeat
        )
        resolved = coverage_module._resolve(conn, case.area)
        assert resolved.geom is not None
        _, from_targets = coverage_module._plan(conn, resolved.geom, LANGUAGE, 1000, case.unit_kind)
    strategy = "from the targets" if from_targets else "per unit"
    s = report.summary
    return {
        **_summary(samples),
        "units": s.unit_count,
        "population": s.population,
        "covered_population": s.covered_population,
        "gaps": s.gap_count,
        "strategy": strategy,
        "machine_busy_share": round(load.busy_share, 2),
        "load_average_1m": round(load.load_average, 2),
    }


def _graphql_case(url: sa.URL, case: Case, repeat: int) -> dict[str, Any]:
    from api.graphql.context import Context  # noqa: TID251 - the benchmark drives the API in-process
    from api.graphql.schema import build_schema  # noqa: TID251
    from geo.db import async_engine

    settings = load_settings(
        database_url=url.render_as_string(hide_password=False), statement_timeout_ms=60_000
    )
    schema = build_schema()
    variables = {"area": case.graphql_area, "kind": case.unit_kind}

    async def run() -> dict[str, float]:
        engine = async_engine(url, settings)
        try:

            async def once() -> None:
                result = await schema.execute(
                    GAPS_QUERY, variable_values=variables, context_value=Context(engine=engine)
                )
                assert result.errors is None, result.errors

            for _ in range(3):
                await once()
            samples = []
            for _ in range(repeat):
                started = time.perf_counter()
                await once()
                samples.append((time.perf_counter() - started) * 1000)
            return _summary(samples)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _national(engine: sa.Engine, repeat: int) -> dict[str, Any]:
    with engine.connect() as conn, Load() as load:
        samples, rows = _timed(
            lambda: coverage_by_municipality(conn, CAFES, 2000, "GRID_1KM"), repeat, warmup=1
        )
    people = sum(r.population for r in rows)
    covered = sum(r.covered_population for r in rows)
    shares = sorted((r.covered_share or 0.0, r.number, r.name) for r in rows)
    return {
        **_summary(samples),
        "municipalities": len(rows),
        "units": sum(r.unit_count for r in rows),
        "population": people,
        "covered_population": covered,
        "covered_share": round(covered / people, 4),
        "lowest_shares": [{"number": n, "name": m, "share": round(s, 3)} for s, n, m in shares[:5]],
        "machine_busy_share": round(load.busy_share, 2),
        "load_average_1m": round(load.load_average, 2),
    }


def _national_per_unit(engine: sa.Engine) -> dict[str, Any]:
    """The same national question with a probe per unit (the small-area strategy)."""
    u = statistical_area.c
    covered = coverage_module._covered(CAFES, u.geom, 2000)
    stmt = (
        sa.select(u.municipality_number, sa.func.sum(u.population).filter(covered))
        .where(u.kind == "GRID_1KM", u.municipality_number.is_not(None))
        .group_by(u.municipality_number)
    )
    with engine.connect() as conn:
        started = time.perf_counter()
        rows = conn.execute(stmt).all()
        seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 1), "covered_population": sum(r[1] or 0 for r in rows)}


# --- main ----------------------------------------------------------------------------------------


def _markdown(results: dict[str, Any]) -> str:
    lines = [
        "| question | units | strategy | geo median (p95) | GraphQL median (p95) | target |",
        "|---|---|---|---|---|---|",
    ]
    for case in results["cases"]:
        geo, gql = case["geo"], case["graphql"]
        target = f"< {case['target_ms']:g} ms" if case["target_ms"] else "—"
        lines.append(
            f"| {case['name']} | {geo['units']:,} | {geo['strategy']} | "
            f"{geo['median_ms']:g} ms ({geo['p95_ms']:g}) | "
            f"{gql['median_ms']:g} ms ({gql['p95_ms']:g}) | {target} |"
        )
    national = results["national"]
    lines.append(
        f"| every municipality, language café within 2 km | {national['units']:,} | "
        f"from the targets | {national['median_ms'] / 1000:.2f} s "
        f"({national['p95_ms'] / 1000:.2f}) | — | < 10 s |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    settings = load_settings()
    server = Database.from_settings(settings)
    url = server.with_database(DATABASE).url
    try:
        if args.fresh and database_exists(url):
            drop_database(url)
        if not database_exists(url) or not _complete(_counts(url)):
            _build(url, settings.data_dir)
        counts = _counts(url)
        engine = sync_engine(url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                version = conn.execute(sa.text("SELECT version()")).scalar_one()
                postgis = conn.execute(sa.text("SELECT postgis_lib_version()")).scalar_one()
            cases = []
            for case in CASES:
                print(f"{case.name} ...", file=sys.stderr)
                cases.append(
                    {
                        "name": case.name,
                        "unit_kind": case.unit_kind,
                        "target_ms": case.target_ms,
                        "geo": _geo_case(engine, case, args.repeat),
                        "graphql": _graphql_case(url, case, args.repeat),
                    }
                )
            print("national run ...", file=sys.stderr)
            national = _national(engine, args.national_repeat)
            if args.per_unit:
                print("national run, a probe per unit ...", file=sys.stderr)
                national["per_unit_probes"] = _national_per_unit(engine)
        finally:
            engine.dispose()
        results = {
            "benchmark": "coverage",
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": "python bench/coverage.py " + " ".join(argv or sys.argv[1:]),
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "postgresql": version,
                "postgis": postgis,
            },
            "data": counts,
            "cases": cases,
            "national": national,
        }
        RESULTS.mkdir(exist_ok=True)
        out = RESULTS / f"coverage-{datetime.now(UTC):%Y-%m-%d}.json"
        out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        print(_markdown(results))
        print(f"\n{out}", file=sys.stderr)
    finally:
        if not args.keep:
            drop_database(url)
        server.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
