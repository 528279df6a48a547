"""`changes(since:)` and by-name lists: keyset pages that lose and repeat nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from geo.filters import DirectoryFilter
from geo.queries.activities import activities_by_name, count_activities
from geo.queries.changes import changes, count_changes
from geo.queries.listing import NameKey
from geo.tables import activity, venue

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
POINT = sa.func.ST_SetSRID(sa.func.ST_MakePoint(262000.0, 6650000.0), 25833)


def _seed(conn: sa.Connection) -> None:
    """Rows before and after T0, with several sharing one timestamp, one archived."""
    for i in range(12):
        stamp = T0 + timedelta(minutes=i // 4)  # four rows per timestamp
        conn.execute(
            activity.insert().values(
                title=f"Aktivitet {11 - i:02d}",
                category="SPORTS",
                geom=POINT,
                source="t",
                updated_at=stamp,
                archived_at=stamp if i == 5 else None,
            )
        )
    conn.execute(
        venue.insert().values(
            name="Gammel",
            owner_type="STATE",
            venue_type="OFFICE",
            geom=POINT,
            source="t",
            updated_at=T0 - timedelta(days=1),
        )
    )
    conn.execute(
        venue.insert().values(
            name="Ny",
            owner_type="STATE",
            venue_type="OFFICE",
            geom=POINT,
            source="t",
            updated_at=T0,
        )
    )


def test_changes_walks_every_row_since_once_in_order(fresh_engine: sa.Engine) -> None:
    with fresh_engine.begin() as conn:
        _seed(conn)
        seen, after = [], None
        while True:
            page, more = changes(conn, T0, first=3, after=after)
            seen += page
            if not more:
                break
            after = page[-1].key
        assert len(seen) == 13 == count_changes(conn, T0)  # the day-old venue is not included
        assert [c.key for c in seen] == sorted(c.key for c in seen)
        assert len({(c.entity, c.id) for c in seen}) == 13
        assert [c.archived for c in seen].count(True) == 1
        assert {c.entity for c in seen} == {"activity", "venue"}


def test_activities_by_name_pages_in_name_order_without_archived(fresh_engine: sa.Engine) -> None:
    with fresh_engine.begin() as conn:
        _seed(conn)
        titles, after = [], None
        while True:
            rows, more = activities_by_name(conn, DirectoryFilter(), first=5, after=after)
            titles += [r.title for r in rows]
            if not more:
                break
            after = NameKey(rows[-1].title, rows[-1].id)
        assert titles == sorted(titles)
        assert len(titles) == 11 == count_activities(conn, DirectoryFilter())
        assert "Aktivitet 06" not in titles  # i == 5 was archived
