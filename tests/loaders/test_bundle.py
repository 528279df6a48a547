"""The bundled data into an empty database, then again: the one full national load of the suite."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyogrio.raw
import pytest
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import URL

from geo.db import Database, create_database, drop_database, sync_engine
from loaders.bundle import BUNDLE, bundled_loaded, load_bundled
from loaders.report import LoadReport
from loaders.statistics import StatisticsReport
from tests.conftest import DATA_DIR
from tests.loaders._support import snapshot


@dataclass
class Run:
    reports: list[LoadReport]
    progress: dict[str, list[tuple[int, int]]] = field(default_factory=dict)


@dataclass
class Loads:
    loaded_before: bool
    first: Run
    second: Run
    after_first: dict[str, list[tuple]]
    after_second: dict[str, list[tuple]]
    loaded_after: bool


def _run(conn: sa.Connection) -> Run:
    """load_bundled with a progress factory that records each file's progress. How long the
    loads take is bench/load_boundaries.py's to measure, not a test's."""
    progress: dict[str, list[tuple[int, int]]] = {}

    def factory(name: str):
        progress[name] = []
        return lambda done, total: progress[name].append((done, total))

    return Run(load_bundled(conn, DATA_DIR, progress_factory=factory), progress)


@pytest.fixture(scope="module")
def loads(server: Database, template_url: URL) -> Iterator[Loads]:
    url = server.with_database(f"hverdag_test_bundle_{os.getpid()}_{uuid.uuid4().hex[:6]}").url
    create_database(url, template=str(template_url.database))
    engine = sync_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            loaded_before = bundled_loaded(conn)
            first = _run(conn)
        with engine.begin() as conn:
            after_first = snapshot(conn)
        with engine.begin() as conn:
            second = _run(conn)
        with engine.begin() as conn:
            after_second, loaded_after = snapshot(conn), bundled_loaded(conn)
    finally:
        engine.dispose()
    yield Loads(loaded_before, first, second, after_first, after_second, loaded_after)
    drop_database(url)


def test_the_first_load_inserts_everything(loads: Loads) -> None:
    counties, municipalities, immigrants, population, *rest = loads.first.reports
    districts, sub_districts, grid, initiatives, councils = rest
    assert (districts.inserted, sub_districts.inserted, grid.inserted) == (16, 97, 258)
    assert (initiatives.inserted, councils.inserted) == (3, 13)
    assert (counties.inserted, counties.updated, counties.unchanged) == (11, 0, 0)
    assert (municipalities.inserted, municipalities.updated) == (356, 0)
    assert immigrants.inserted == len(loads.after_first["statistics"]) - population.inserted
    assert immigrants.skipped == 119
    assert population.inserted == 356


def test_the_22_invalid_municipalities_are_repaired_and_named(loads: Loads) -> None:
    report = loads.first.reports[1]
    # independently: which published geometries does GEOS call invalid?
    _, _, wkb, (numbers, names) = pyogrio.raw.read(DATA_DIR / "kommuner-2020.geojson")
    invalid = ~shapely.is_valid(shapely.from_wkb(wkb))
    expected = {f"{n:04d} {name}" for n, name in zip(numbers[invalid], names[invalid], strict=True)}
    assert int(np.sum(invalid)) == 22
    assert report.repaired == 22
    repaired = [w for w in report.warnings if w.startswith("repaired invalid geometry of ")]
    assert len(repaired) == 22
    named = {w.removeprefix("repaired invalid geometry of ").split(":")[0] for w in repaired}
    assert named == expected
    assert "4613 Bømlo" in named
    assert all(": Self-intersection at (" in w for w in repaired)


def test_loading_again_changes_nothing(loads: Loads) -> None:
    for first, second in zip(loads.first.reports, loads.second.reports, strict=True):
        assert (second.inserted, second.updated) == (0, 0), second.summary()
        assert second.unchanged == first.inserted
    assert loads.after_second == loads.after_first  # versions and updated_at included


def test_the_2024_population_matches_the_2020_boundaries(loads: Loads) -> None:
    report = loads.first.reports[3]
    assert isinstance(report, StatisticsReport)
    assert (report.by_number, report.by_name, report.by_split, report.summed) == (242, 114, 1, 1)
    assert "summed 2 rows for 2024" in report.warnings[0]


def test_progress_is_reported_per_file(loads: Loads) -> None:
    assert list(loads.first.progress) == [name for name, _ in BUNDLE]
    for calls in loads.first.progress.values():
        assert calls, "no progress reported"
        done, total = calls[-1]
        assert done == total > 0
        assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_bundled_loaded_tells_whether_the_data_is_there(
    loads: Loads, loaded_conn: sa.Connection
) -> None:
    assert loads.loaded_before is False
    assert loads.loaded_after is True
    assert bundled_loaded(loaded_conn) is True
