"""Time the boundary and statistics loaders on the bundled data, in a throwaway database.

    .venv/bin/python -m bench.load_boundaries [--repeat 3]

Uses HVERDAG_DATABASE_URL's server, else the embedded cluster (started and stopped if needed).
Each round loads into an empty database (all inserts), then loads the same file again (all
unchanged), and prints the wall-clock seconds of each load.
"""

from __future__ import annotations

import argparse
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from geo.db import Database, drop_database, migrate, sync_engine
from geo.settings import load_settings
from loaders.boundaries import load_municipalities
from loaders.bundle import load_bundled

DATA = Path(__file__).resolve().parent.parent / "data"
MUNICIPALITIES = DATA / "kommuner-2020.geojson"


def _timed(engine: sa.Engine, load) -> tuple[float, str]:
    started = time.perf_counter()
    with engine.begin() as conn:
        report = load(conn)
    return time.perf_counter() - started, report.summary()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    database = Database.from_settings(load_settings())
    try:
        for round_ in range(1, args.repeat + 1):
            url = database.with_database(f"hverdag_bench_{uuid.uuid4().hex[:8]}").url
            migrate(url)
            engine = sync_engine(url, poolclass=sa.pool.NullPool)
            try:
                for label in ("empty database", "same file again"):
                    seconds, summary = _timed(
                        engine, lambda c: load_municipalities(c, MUNICIPALITIES)
                    )
                    print(f"round {round_}, {label}: {seconds:.2f} s  ({summary})")
                started = time.perf_counter()
                with engine.begin() as conn:
                    load_bundled(conn, DATA)
                print(f"round {round_}, whole bundle on top: {time.perf_counter() - started:.2f} s")
            finally:
                engine.dispose()
                drop_database(url)
    finally:
        database.close()


if __name__ == "__main__":
    main()
