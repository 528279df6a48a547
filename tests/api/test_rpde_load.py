"""``hverdag load rpde`` on hverdag's own SessionSeries feed, served by a real `hverdag serve`
on the demo: loaded into a database with the real data but no directory, it gives the same
activities (their texts, category, languages, prices, ages, weekly sessions, cancelled dates
and point); a second run reads only the empty page where the first stopped and writes nothing;
an activity archived at the source is archived by the next run; the FacilityUse feed gives the
same venues free for volunteers (name, type, windows, booking URL, point). Run through the
command line, as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from geo.db import drop_database, sync_engine
from geo.queries.feeds import offered_venue_conditions
from geo.registry import feed_next_url
from geo.settings import PROJECT_ROOT
from geo.tables import activity, activity_exception, activity_schedule, venue, venue_availability
from tests.api.running import serving
from tests.conftest import _clone

#: The feed rounds coordinates to 6 decimals (about 10 cm), and they pass through WGS84.
METRES = 0.2


@pytest.fixture
def source_url(server: Any, demo_template_url: URL) -> Iterator[URL]:
    url = _clone(server, demo_template_url, "rpde_source")
    yield url
    drop_database(url)


def _load(target: URL, feed: str) -> str:
    """`hverdag load rpde FEED` against ``target``; its summary line."""
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "load", "rpde", feed, "--source", "hverdag-feed"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "HVERDAG_DATABASE_URL": target.render_as_string(hide_password=False)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def _activities(
    conn: sa.Connection, where: Any, key: sa.ColumnElement[Any]
) -> dict[str, tuple[Any, ...]]:
    """Activities by ``key`` (the source's id, the feed item's id): what they are, as the feed
    can say it."""
    sessions = (
        sa.select(
            sa.func.array_agg(
                sa.func.concat_ws(
                    " ",
                    activity_schedule.c.weekday,
                    activity_schedule.c.starts,
                    activity_schedule.c.ends,
                    activity_schedule.c.valid_from,
                    activity_schedule.c.valid_to,
                )
            )
        )
        .where(activity_schedule.c.activity_id == activity.c.id)
        .scalar_subquery()
    )
    cancelled = (
        sa.select(sa.func.array_agg(activity_exception.c.on_date))
        .where(activity_exception.c.activity_id == activity.c.id)
        .scalar_subquery()
    )
    rows = conn.execute(
        sa.select(
            sa.cast(key, sa.Text).label("key"),
            activity.c.title,
            activity.c.description,
            activity.c.category,
            activity.c.languages,
            activity.c.free,
            activity.c.cost_nok,
            activity.c.min_age,
            activity.c.max_age,
            activity.c.municipality_number,
            sa.func.ST_X(activity.c.geom).label("x"),
            sa.func.ST_Y(activity.c.geom).label("y"),
            sessions.label("sessions"),
            cancelled.label("cancelled"),
        ).where(where)
    )
    found = {}
    for row in rows:
        found[row.key] = (
            row.title,
            sorted(row.sessions or []),
            row.description,
            row.category,
            row.languages,
            row.free,
            row.cost_nok,
            row.min_age,
            row.max_age,
            row.municipality_number,
            sorted(row.cancelled or []),
            (row.x, row.y),
        )
    return found


def _same(source: dict[str, tuple[Any, ...]], loaded: dict[str, tuple[Any, ...]]) -> None:
    assert set(source) == set(loaded)
    for key, row in source.items():
        (sx, sy), (lx, ly) = row[-1], loaded[key][-1]
        assert abs(sx - lx) <= METRES, key
        assert abs(sy - ly) <= METRES, key
        assert row[:-1] == loaded[key][:-1], key


def _venues(conn: sa.Connection, where: Any, key: Any) -> dict[str, tuple[Any, ...]]:
    windows = (
        sa.select(
            sa.func.array_agg(
                sa.func.concat_ws(
                    " ",
                    venue_availability.c.weekday,
                    venue_availability.c.starts,
                    venue_availability.c.ends,
                )
            )
        )
        .where(venue_availability.c.venue_id == venue.c.id)
        .scalar_subquery()
    )
    rows = conn.execute(
        sa.select(
            sa.cast(key, sa.Text).label("key"),
            venue.c.name,
            venue.c.description,
            venue.c.venue_type,
            venue.c.price_model,
            venue.c.booking_url,
            venue.c.municipality_number,
            windows.label("windows"),
            sa.func.ST_X(venue.c.geom).label("x"),
            sa.func.ST_Y(venue.c.geom).label("y"),
        ).where(where)
    )
    return {
        row.key: (
            row.name,
            row.description,
            row.venue_type,
            row.price_model,
            row.booking_url,
            row.municipality_number,
            sorted(row.windows or []),
            (row.x, row.y),
        )
        for row in rows
    }


def test_hverdags_own_feed_loads_resumes_and_archives(source_url, fresh_loaded_url, tmp_path):
    source = sync_engine(source_url, poolclass=sa.pool.NullPool)
    target = sync_engine(fresh_loaded_url, poolclass=sa.pool.NullPool)
    in_feed = sa.and_(
        activity.c.archived_at.is_(None),
        activity.c.status == "ACTIVE",
        sa.exists().where(activity_schedule.c.activity_id == activity.c.id),
    )
    loaded = activity.c.source == "hverdag-feed"
    try:
        with serving(source_url, tmp_path, rate_limit_enabled="false") as running:
            feed = f"{running.base}/feeds/session-series"
            first = _load(fresh_loaded_url, feed)
            with source.connect() as conn:
                expected = _activities(conn, in_feed, activity.c.id)
            with target.connect() as conn:
                _same(expected, _activities(conn, loaded, activity.c.external_id))
                stopped = feed_next_url(conn, feed)
            assert len(expected) > 1000
            assert first.startswith(f"rpde: {len(expected)} inserted, 0 updated")

            assert _load(fresh_loaded_url, feed).startswith("rpde: 0 inserted, 0 updated, 0 unch")
            with target.connect() as conn:
                assert feed_next_url(conn, feed) == stopped

            with source.begin() as conn:
                gone = conn.execute(
                    sa.update(activity)
                    .where(
                        activity.c.id
                        == sa.select(sa.func.min(activity.c.id)).where(in_feed).scalar_subquery()
                    )
                    .values(archived_at=sa.func.now())
                    .returning(activity.c.title)
                ).scalar_one()
            assert _load(fresh_loaded_url, feed).startswith("rpde: 0 inserted, 1 updated")
            with target.connect() as conn:
                archived = (
                    conn.execute(
                        sa.select(activity.c.title).where(
                            loaded, activity.c.archived_at.isnot(None)
                        )
                    )
                    .scalars()
                    .all()
                )
                assert archived == [gone]
                assert feed_next_url(conn, feed) != stopped

            # The venues free for volunteers, from the FacilityUse feed.
            facilities = f"{running.base}/feeds/facility-uses"
            _load(fresh_loaded_url, facilities)
            with source.connect() as conn:
                offered = _venues(conn, sa.and_(*offered_venue_conditions()), venue.c.id)
            with target.connect() as conn:
                _same(offered, _venues(conn, venue.c.source == "hverdag-feed", venue.c.external_id))
            assert offered
    finally:
        source.dispose()
        target.dispose()
