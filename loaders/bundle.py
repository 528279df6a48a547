"""The bundled real data (``data/``) in load order: boundaries of 2020, SSB statistics, Oslo's
districts, sub-districts and population grid, the area initiatives and the immigrant councils."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import sqlalchemy as sa

from geo.tables import (
    area_initiative,
    county,
    immigrant_council,
    municipality,
    municipality_statistics,
    statistical_area,
)
from geo.vocab import AreaKind
from loaders.areas import load_areas
from loaders.boundaries import load_counties, load_municipalities
from loaders.councils import load_councils
from loaders.initiatives import load_initiatives
from loaders.report import LoadReport
from loaders.statistics import load_statistics

Progress = Callable[[int, int], None]
ProgressFactory = Callable[[str], Progress | None]
Loader = Callable[..., LoadReport]

COUNTIES_FILE = "fylker-2020.geojson"
MUNICIPALITIES_FILE = "kommuner-2020.geojson"
IMMIGRANTS_FILE = "ssb-innvandrere-etter-innvandringsgrunn-kommuner-2006-2021.csv"
POPULATION_FILE = "kommuner-folketall-2024.json"
DISTRICTS_FILE = "oslo-bydeler.geojson"
SUB_DISTRICTS_FILE = "oslo-delbydeler.geojson"
GRID_FILE = "oslo-befolkning-1km-2019.gml"
INITIATIVES_FILE = "area-initiatives.json"
COUNCILS_FILE = "innvandrerrad.csv"

# Boundaries before statistics: statistics rows are matched to the loaded municipalities.
BUNDLE: tuple[tuple[str, Loader], ...] = (
    (COUNTIES_FILE, load_counties),
    (MUNICIPALITIES_FILE, load_municipalities),
    (IMMIGRANTS_FILE, load_statistics),
    (POPULATION_FILE, partial(load_statistics, year=2024)),  # population on 1 January 2024
    (DISTRICTS_FILE, partial(load_areas, kind=AreaKind.BYDEL)),
    (SUB_DISTRICTS_FILE, partial(load_areas, kind=AreaKind.DELBYDEL)),
    (GRID_FILE, partial(load_areas, kind=AreaKind.GRID_1KM)),
    (INITIATIVES_FILE, load_initiatives),  # built from the districts
    (COUNCILS_FILE, load_councils),
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
        (statistical_area.c.source, DISTRICTS_FILE),
        (statistical_area.c.source, SUB_DISTRICTS_FILE),
        (statistical_area.c.source, GRID_FILE),
        (area_initiative.c.source, INITIATIVES_FILE),
        (immigrant_council.c.source, COUNCILS_FILE),
    )
    return all(conn.execute(sa.select(sa.exists().where(column == name))).scalar()
               for column, name in checks)
