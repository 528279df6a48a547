"""The bundled demo data (``data/``): boundaries of 2020 and SSB statistics, in load order."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import sqlalchemy as sa

from geo.tables import county, municipality, municipality_statistics
from loaders.boundaries import load_counties, load_municipalities
from loaders.report import LoadReport
from loaders.statistics import load_statistics

Progress = Callable[[int, int], None]
ProgressFactory = Callable[[str], Progress | None]
Loader = Callable[..., LoadReport]

COUNTIES_FILE = "fylker-2020.geojson"
MUNICIPALITIES_FILE = "kommuner-2020.geojson"
IMMIGRANTS_FILE = "ssb-innvandrere-etter-innvandringsgrunn-kommuner-2006-2021.csv"
POPULATION_FILE = "kommuner-folketall-2024.json"

# Boundaries before statistics: statistics rows are matched to the loaded municipalities.
BUNDLE: tuple[tuple[str, Loader], ...] = (
    (COUNTIES_FILE, load_counties),
    (MUNICIPALITIES_FILE, load_municipalities),
    (IMMIGRANTS_FILE, load_statistics),
    (POPULATION_FILE, partial(load_statistics, year=2024)),  # population on 1 January 2024
)


def load_bundled(conn: sa.Connection, data_dir: Path,
                 progress_factory: ProgressFactory | None = None) -> list[LoadReport]:
    """Load the bundled files in order, in the caller's transaction; one report per file.

    ``progress_factory(file_name)`` may return a ``progress(done, total)`` callback per file.
    """
    reports = []
    for name, loader in BUNDLE:
        progress = progress_factory(name) if progress_factory else None
        reports.append(loader(conn, data_dir / name, progress=progress))
    return reports


def bundled_loaded(conn: sa.Connection) -> bool:
    """Whether every bundled file has been loaded (rows carry the file name as their source)."""
    checks = (
        (county.c.source, COUNTIES_FILE),
        (municipality.c.source, MUNICIPALITIES_FILE),
        (municipality_statistics.c.source, IMMIGRANTS_FILE),
        (municipality_statistics.c.source, POPULATION_FILE),
    )
    return all(conn.execute(sa.select(sa.exists().where(column == name))).scalar()
               for column, name in checks)
