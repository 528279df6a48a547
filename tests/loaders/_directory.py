"""Helpers for the venue and activity loader tests: edited copies of the fixture CSVs, snapshots
of what the loaders write, and the organisations the fixtures refer to."""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa

from geo.tables import (
    activity,
    activity_exception,
    activity_schedule,
    organisation,
    venue,
    venue_availability,
)
from loaders.organisations import load_organisations
from tests.conftest import FIXTURES

VENUES_CSV = FIXTURES / "venues.csv"
ACTIVITIES_CSV = FIXTURES / "activities.csv"
ORGANISATIONS_CSV = FIXTURES / "organisations.csv"
BRREG_JSON = FIXTURES / "brreg-enheter.json"


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    return path


def edited(source: Path, target: Path, index: int, **cells: str) -> Path:
    """A copy of ``source`` with ``cells`` changed in data row ``index`` (line ``index + 2``)."""
    rows = read_rows(source)
    rows[index].update(cells)
    return write_rows(target, rows)


def load_fixture_organisations(conn: sa.Connection) -> None:
    load_organisations(conn, BRREG_JSON)
    load_organisations(conn, ORGANISATIONS_CSV)


#: Moved by every load that carries a row (a load verifies it), changed or not: not content.
VERIFICATION = frozenset({"last_verified_at", "verified_by"})


def rows_of(conn: sa.Connection, table: sa.Table) -> list[tuple]:
    columns = [c for c in table.c if c.name not in VERIFICATION]
    return [tuple(r) for r in conn.execute(sa.select(*columns).order_by(table.c.id))]


def snapshot(conn: sa.Connection) -> dict[str, list[tuple]]:
    """Every row the directory loaders write, with ids, versions and timestamps (not when
    they were last verified: see test_freshness)."""
    return {
        t.name: rows_of(conn, t)
        for t in (
            organisation,
            venue,
            venue_availability,
            activity,
            activity_schedule,
            activity_exception,
        )
    }
