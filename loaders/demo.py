"""The demo directory: the organisations and initiatives the strategy *Hverdagsintegrering* names,
their premises and their activities (``data/demo-*.csv``, source "demo-strategy").

Facts come from the strategy; points are approximate (the town or district) and schedules are
examples, as each description says. Organisations first: venues and activities refer to them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from loaders.activities import load_activities
from loaders.organisations import load_organisations
from loaders.report import LoadReport
from loaders.venues import load_venues

Progress = Callable[[int, int], None]
ProgressFactory = Callable[[str], Progress | None]

DEMO_SOURCE = "demo-strategy"
DEMO_FILES: tuple[tuple[str, Callable[..., LoadReport]], ...] = (
    ("demo-organisations.csv", load_organisations),
    ("demo-venues.csv", load_venues),
    ("demo-activities.csv", load_activities),
)


def load_demo_directory(
    conn: sa.Connection, data_dir: Path, progress_factory: ProgressFactory | None = None
) -> list[LoadReport]:
    """Load the three demo files in order, in the caller's transaction; one report per file."""
    reports = []
    for name, loader in DEMO_FILES:
        progress = progress_factory(name) if progress_factory else None
        reports.append(loader(conn, data_dir / name, progress=progress))
    return reports
