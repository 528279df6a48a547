"""School holidays per municipality from a CSV the operator keeps (``hverdag load
school-holidays FILE``); an activity that ``pauses_in_school_holidays`` has no sessions in them
(geo/sessions.py).

Columns (docs/loaders.md): ``municipality`` (four digits, loaded), ``name`` (e.g. "Høstferie"),
``first_day`` and ``last_day`` (ISO dates, inclusive), ``source`` (where the dates come from: the
municipality's published school calendar). The file is the whole calendar of the
municipalities it names: their earlier rows are replaced, other municipalities' are kept.
Holidays of one municipality must not overlap. All or nothing: the first bad line stops the
load, named with its field and reason.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from geo.tables import municipality, school_holiday
from loaders.report import LoadError, LoadReport
from loaders.tabular import read_csv

REQUIRED = {"municipality", "name", "first_day", "last_day", "source"}  # source may be empty
# when ``--source`` gives one for the whole file
#: Dates before or after these are typing mistakes, not school years.
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


def _bad(line: int, field: str, reason: str, path: Path) -> LoadError:
    return LoadError(reason, record=f"line {line}", field=field, path=path.name)


def _day(value: str, field: str, line: int, path: Path) -> date:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise _bad(line, field, f"{value!r} is not a date like 2026-10-05", path) from None
    if not EARLIEST <= day <= LATEST:
        raise _bad(line, field, f"{day} is outside {EARLIEST}..{LATEST}", path)
    return day


def _parse(line: int, row: dict[str, str], path: Path, fallback: str | None) -> dict[str, Any]:
    if fallback and not (row.get("source") or "").strip():
        row = {**row, "source": fallback}
    number = (row.get("municipality") or "").strip()
    if len(number) != 4 or not number.isdigit():
        raise _bad(line, "municipality", f"{number!r} is not a municipality number", path)
    for name in ("name", "source"):
        if not (row.get(name) or "").strip():
            raise _bad(line, name, f"{name} is required", path)
    first = _day(row["first_day"], "first_day", line, path)
    last = _day(row["last_day"], "last_day", line, path)
    if last < first:
        raise _bad(line, "last_day", f"{last} is before first_day {first}", path)
    return {
        "municipality_number": number,
        "first_day": first,
        "last_day": last,
        "name": row["name"].strip(),
        "source": row["source"].strip(),
    }


def _check_overlaps(rows: list[tuple[int, dict[str, Any]]], path: Path) -> None:
    ordered = sorted(rows, key=lambda r: (r[1]["municipality_number"], r[1]["first_day"]))
    for (line_a, a), (line_b, b) in itertools.pairwise(ordered):
        same = a["municipality_number"] == b["municipality_number"]
        if same and b["first_day"] <= a["last_day"]:
            raise _bad(
                max(line_a, line_b),
                "first_day",
                f"overlaps line {min(line_a, line_b)} "
                f"({a['name']} {a['first_day']}..{a['last_day']})",
                path,
            )


def load_school_holidays(
    conn: sa.Connection,
    path: Path,
    *,
    source: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    """Replace the school holidays of the file's municipalities (one transaction: the
    caller's)."""
    records = read_csv(path, required=REQUIRED)
    rows = [(line, _parse(line, row, path, source)) for line, row in records]
    _check_overlaps(rows, path)
    numbers = {row["municipality_number"] for _, row in rows}
    known = set(
        conn.execute(
            sa.select(municipality.c.number).where(municipality.c.number.in_(sorted(numbers)))
        ).scalars()
    )
    for line, row in rows:
        if row["municipality_number"] not in known:
            raise LoadError(
                f"municipality {row['municipality_number']} is not loaded",
                record=f"line {line}",
                field="municipality",
                path=path.name,
                code="UNKNOWN_MUNICIPALITY",
            )
    removed = conn.execute(
        sa.delete(school_holiday).where(school_holiday.c.municipality_number.in_(sorted(numbers)))
    ).rowcount
    if rows:
        conn.execute(sa.insert(school_holiday), [row for _, row in rows])
    if progress:
        progress(len(rows), len(rows))
    report = LoadReport("school holidays", inserted=len(rows))
    if removed:
        report.warnings.append(f"replaced {removed} earlier rows of {len(numbers)} municipalities")
    return report
