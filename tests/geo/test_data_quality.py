"""`data_quality` against counts written independently: every live row read into Python and
counted there, by municipality, county and organisation, on the demo data with some rows made
stale, archived, ended, incomplete and reported."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from geo.db import sync_engine
from geo.freshness import stale_before
from geo.queries.data_quality import DataQualityGroupBy, data_quality
from geo.tables import (
    activity,
    activity_schedule,
    immigrant_council,
    problem_report,
    venue,
    venue_availability,
)

AS_OF = datetime(2027, 1, 10, tzinfo=UTC)
LINE = stale_before(AS_OF, 180)


@pytest.fixture(scope="module")
def engine(server: Any, demo_template_url: URL) -> Iterator[sa.Engine]:
    from tests.conftest import _clone

    url = _clone(server, demo_template_url, "quality")
    engine = sync_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        _disturb(conn)
    yield engine
    engine.dispose()
    from geo.db import drop_database

    drop_database(url)


def _disturb(conn: sa.Connection) -> None:
    """Make every figure non-trivial: every 3rd row verified long ago, every 7th activity
    without languages or contact, every 11th ended, every 13th archived, reports on some."""
    long_ago = LINE - timedelta(days=30)
    recent = LINE + timedelta(days=30)
    for table in (activity, venue, immigrant_council):
        conn.execute(
            sa.update(table).values(
                last_verified_at=sa.case((table.c.id % 3 == 0, long_ago), else_=recent)
            )
        )
        conn.execute(sa.update(table).where(table.c.id % 13 == 0).values(archived_at=sa.func.now()))
    conn.execute(
        sa.update(activity)
        .where(activity.c.id % 7 == 0)
        .values(languages=[], contact_email=None, contact_phone=None, url=None)
    )
    conn.execute(sa.update(activity).where(activity.c.id % 11 == 0).values(status="ENDED"))
    conn.execute(sa.delete(activity_schedule).where(activity_schedule.c.activity_id % 5 == 0))
    conn.execute(sa.update(venue).where(venue.c.id % 4 == 0).values(booking_url=None))
    for kind, table, step in (
        ("ACTIVITY", activity, 9),
        ("VENUE", venue, 6),
        ("COUNCIL", immigrant_council, 2),
    ):
        ids = conn.execute(sa.select(table.c.id).where(table.c.id % step == 1)).scalars().all()
        for position, row_id in enumerate(ids):
            conn.execute(
                sa.insert(problem_report).values(
                    entry_kind=kind,
                    entry_id=row_id,
                    kind="OTHER",
                    message="check",
                    reporter_hash=b"\x00" * 32,
                    # every 4th resolved: not counted
                    **(
                        {
                            "status": "RESOLVED",
                            "outcome": "FIXED",
                            "resolved_at": sa.func.now(),
                        }
                        if position % 4 == 0
                        else {}
                    ),
                )
            )


def _expected(conn: sa.Connection, group: DataQualityGroupBy) -> dict[str | None, dict[str, int]]:
    """The figures counted in Python from plain rows."""
    open_reports = Counter(
        (r.entry_kind, r.entry_id)
        for r in conn.execute(
            sa.select(problem_report.c.entry_kind, problem_report.c.entry_id).where(
                problem_report.c.status == "OPEN"
            )
        )
    )
    scheduled = set(conn.execute(sa.select(activity_schedule.c.activity_id)).scalars())
    windowed = set(conn.execute(sa.select(venue_availability.c.venue_id)).scalars())
    entries: list[dict[str, Any]] = []
    for a in conn.execute(sa.select(activity)):
        if a.archived_at is None and a.status == "ACTIVE":
            entries.append(
                {
                    "kind": "ACTIVITY",
                    "municipality": a.municipality_number,
                    "organisation": a.organisation_id,
                    "county": a.municipality_number and a.municipality_number[:2],
                    "stale": a.last_verified_at < LINE,
                    "reports": open_reports[("ACTIVITY", a.id)],
                    "no_schedule": a.id not in scheduled,
                    "no_contact": not (a.contact_email or a.contact_phone or a.url),
                    "no_languages": not a.languages,
                }
            )
    for v in conn.execute(sa.select(venue)):
        if v.archived_at is None:
            entries.append(
                {
                    "kind": "VENUE",
                    "municipality": v.municipality_number,
                    "organisation": v.owner_organisation_id,
                    "county": v.municipality_number and v.municipality_number[:2],
                    "stale": v.last_verified_at < LINE,
                    "reports": open_reports[("VENUE", v.id)],
                    "no_schedule": v.id not in windowed,
                    "no_contact": not (v.contact_email or v.contact_phone or v.booking_url),
                    "no_languages": False,
                }
            )
    for c in conn.execute(sa.select(immigrant_council)):
        if c.archived_at is None and c.status == "ACTIVE":
            entries.append(
                {
                    "kind": "COUNCIL",
                    "municipality": c.municipality_number,
                    "organisation": None,
                    "county": c.county_number
                    or (c.municipality_number and c.municipality_number[:2]),
                    "stale": c.last_verified_at < LINE,
                    "reports": open_reports[("COUNCIL", c.id)],
                    "no_schedule": False,
                    "no_contact": c.website is None,
                    "no_languages": False,
                }
            )
    figures: dict[str | None, dict[str, int]] = defaultdict(Counter)  # type: ignore[arg-type]
    for e in entries:
        key = e[group.value.lower()]
        f = figures[None if key is None else str(key)]
        f["entries"] += 1
        f[{"ACTIVITY": "activities", "VENUE": "venues", "COUNCIL": "councils"}[e["kind"]]] += 1
        f["stale"] += e["stale"]
        f["open_problem_reports"] += e["reports"]
        f["missing_schedule"] += e["no_schedule"]
        f["missing_contact"] += e["no_contact"]
        f["missing_languages"] += e["no_languages"]
    return figures


FIELDS = (
    "entries",
    "activities",
    "venues",
    "councils",
    "stale",
    "open_problem_reports",
    "missing_schedule",
    "missing_contact",
    "missing_languages",
)


@pytest.mark.parametrize("group", list(DataQualityGroupBy))
def test_every_group_matches_the_counts_made_in_python(
    engine: sa.Engine, group: DataQualityGroupBy
) -> None:
    with engine.connect() as conn:
        got = data_quality(conn, group, LINE)
        expected = _expected(conn, group)
    assert {row.key for row in got} == set(expected)
    for row in got:
        assert {f: getattr(row, f) for f in FIELDS} == {
            f: expected[row.key].get(f, 0) for f in FIELDS
        }, row.key
    totals = {f: sum(getattr(row, f) for row in got) for f in FIELDS}
    # The figures are not all zero: the disturbance reached every one of them.
    assert all(totals[f] > 0 for f in FIELDS), totals


def test_one_group_alone_is_that_group_of_all(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        everything = {
            row.key: row for row in data_quality(conn, DataQualityGroupBy.MUNICIPALITY, LINE)
        }
        oslo = data_quality(conn, DataQualityGroupBy.MUNICIPALITY, LINE, only="0301")
    assert oslo == [everything["0301"]]
    assert oslo[0].name == "Oslo"


def test_staleness_moves_with_the_line(engine: sa.Engine) -> None:
    """A year later everything not verified since is stale; a line far back, nothing is."""
    with engine.connect() as conn:
        later = data_quality(
            conn, DataQualityGroupBy.COUNTY, stale_before(AS_OF + timedelta(days=400), 180)
        )
        earlier = data_quality(conn, DataQualityGroupBy.COUNTY, LINE - timedelta(days=400))
    assert all(row.stale == row.entries for row in later)
    assert all(row.stale == 0 for row in earlier)
