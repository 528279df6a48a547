"""Benchmark the seeded generator: migrate a database, load municipalities if missing, generate.

    .venv/bin/python bench/generate.py --venues 400000 --activities 600000
    /usr/bin/time -v .venv/bin/python bench/generate.py ...   # "Maximum resident set size"

Without --database-url it uses a scratch database ``scratch_gen`` on the configured server (the
embedded cluster by default) and drops it afterwards unless --keep is given. A database named
with --database-url is migrated and kept.
"""

from __future__ import annotations

import argparse
import sys
import time

import sqlalchemy as sa

from geo.db import Database, connect, drop_database, migrate
from geo.settings import load_settings
from geo.tables import municipality
from loaders.generate import generate

SCRATCH = "scratch_gen"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venues", type=int, default=400_000)
    parser.add_argument("--activities", type=int, default=600_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help=f"default: {SCRATCH} on the configured server")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    return parser.parse_args(argv)


def _ensure_municipalities(url: sa.URL, data_dir: object) -> None:
    with connect(url) as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(municipality)).scalar_one():
            return
        from loaders.bundle import load_bundled  # the demo's real data

        started = time.perf_counter()
        load_bundled(conn, data_dir)
        print(f"bundled data loaded in {time.perf_counter() - started:.1f} s")


def _progress(done: int, total: int) -> None:
    print(f"\r{done:,}/{total:,}", end="", file=sys.stderr, flush=True)


def _run(url: sa.URL, args: argparse.Namespace, data_dir: object) -> None:
    migrate(url)
    _ensure_municipalities(url, data_dir)
    started = time.perf_counter()
    with connect(url) as conn:
        report = generate(
            conn, venues=args.venues, activities=args.activities, seed=args.seed, progress=_progress
        )
        generated = time.perf_counter()
    committed = time.perf_counter()
    rows = args.venues + args.activities
    print(f"\n{report.summary()}")
    for warning in report.warnings:
        print(f"  warning: {warning}")
    print(
        f"generate: {generated - started:.1f} s, commit: {committed - generated:.1f} s, "
        f"total {committed - started:.1f} s ({rows / (committed - started):,.0f} rows/s)"
    )


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    settings = load_settings(**({"database_url": args.database_url} if args.database_url else {}))
    server = Database.from_settings(settings)
    scratch = not args.database_url
    url = server.with_database(SCRATCH).url if scratch else server.url
    try:
        _run(url, args, settings.data_dir)
    finally:
        if scratch and not args.keep:
            drop_database(url)
        server.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
