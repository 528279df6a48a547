"""The demo data set, in load order.

``load_bundled``: the bundled real data (``data/``): boundaries of 2020, SSB statistics, Oslo's
districts, sub-districts and population grid, the area initiatives and the immigrant councils.
``load_demo``: that, the organisations and activities the strategy names (``loaders.demo``), and
seeded generated venues and activities across Norway (``loaders.generate``, source
"generated"), so that near-me queries find something wherever people live, and generated
venue-access reports on those venues (``loaders.synthetic.access_reports``) for the survey.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import sqlalchemy as sa

from geo.tables import (
    activity,
    area_initiative,
    county,
    immigrant_council,
    municipality,
    municipality_statistics,
    statistical_area,
    venue,
    venue_access_report,
)
from geo.vocab import AreaKind
from loaders.areas import load_areas
from loaders.boundaries import load_counties, load_municipalities
from loaders.councils import load_councils
from loaders.demo import DEMO_SOURCE, load_demo_directory
from loaders.demo_translations import translate_demo_activities
from loaders.generate import generate
from loaders.initiatives import load_initiatives
from loaders.report import LoadReport
from loaders.statistics import load_statistics
from loaders.synthetic.access_reports import generate_access_reports

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
# Generated on top of the real data: enough for every town to have something near.
DEMO_SEED = 1
DEMO_VENUES = 4_000
DEMO_ACTIVITIES = 8_000
# Venue-access reports on the generated venues (loaders/synthetic/access_reports.py).
DEMO_ACCESS_REPORTS = 3_000

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


def load_bundled(
    conn: sa.Connection, data_dir: Path, progress_factory: ProgressFactory | None = None
) -> list[LoadReport]:
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
    return all(
        conn.execute(sa.select(sa.exists().where(column == name))).scalar()
        for column, name in checks
    )


def load_demo(
    conn: sa.Connection, data_dir: Path, progress_factory: ProgressFactory | None = None
) -> list[LoadReport]:
    """The bundled data, the strategy's organisations and activities, and generated places."""
    return load_bundled(conn, data_dir, progress_factory) + load_demo_extras(
        conn, data_dir, progress_factory
    )


def load_demo_extras(
    conn: sa.Connection, data_dir: Path, progress_factory: ProgressFactory | None = None
) -> list[LoadReport]:
    """What the demo adds to the real data: the strategy's directory, generated places and
    generated venue-access reports on them."""
    reports = load_demo_directory(conn, data_dir, progress_factory)
    progress = progress_factory("generated") if progress_factory else None
    reports.append(
        generate(
            conn, venues=DEMO_VENUES, activities=DEMO_ACTIVITIES, seed=DEMO_SEED, progress=progress
        )
    )
    progress = progress_factory("generated access reports") if progress_factory else None
    reports.append(
        generate_access_reports(
            conn, reports=DEMO_ACCESS_REPORTS, seed=DEMO_SEED, progress=progress
        )
    )
    reports.append(translate_demo_activities(conn))
    return reports


def demo_loaded(conn: sa.Connection) -> bool:
    """Whether ``load_demo`` has run to the end (its last step's rows are there)."""
    generated = sa.select(sa.exists().where(activity.c.source == "generated"))
    strategy = sa.select(sa.exists().where(venue.c.source == DEMO_SOURCE))
    reports = sa.select(sa.exists().where(venue_access_report.c.source == "generated"))
    return (
        bundled_loaded(conn)
        and bool(conn.execute(strategy).scalar())
        and bool(conn.execute(generated).scalar())
        and bool(conn.execute(reports).scalar())
    )
