"""Keeping the RPDE feeds' derived items in step: the ``ScheduledSession`` items (each live
activity's sessions, geo.sessions) and the ``Slot`` items (each live venue's free availability
windows) for the coming weeks, materialised in ``feed_occurrence`` so that each has a stable id
and a ``modified`` stamp (migration 0007) like any row.

:func:`refresh_occurrences` runs from ``hverdag feeds refresh`` (a timer: every few minutes,
and at least daily so the window moves on). It compares what the schedules give now with what
the table holds, and writes only the difference, so a run that finds nothing new changes no
row and no item moves in a feed:

- a session that should exist and does not is inserted; one whose end moved is updated;
- a future session no schedule gives any more (edited, cancelled, a holiday loaded, its
  activity archived) is marked deleted;
- a past session is kept until a week after it ended, then marked deleted;
- a deleted item is purged :data:`KEEP_DELETED` after its deletion (RPDE asks for at least 7
  days), as are ``feed_tombstone`` rows.

Runs take a transaction-level advisory lock, so two at once (two timers, two workers) queue
rather than collide.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from geo.queries.calendar import CalendarActivity, calendar_activities_by_ids, live_scheduled_ids
from geo.queries.feeds import offered_venue_conditions
from geo.sessions import OSLO, WeeklySession, occurrences, skipped_days
from geo.tables import feed_occurrence, feed_tombstone, venue, venue_availability

#: Weeks of sessions and slots the feeds hold ahead of today.
FEED_WEEKS = 8
#: How long a deleted item stays in a feed (RPDE: at least 7 days).
KEEP_DELETED = timedelta(days=8)
#: How long a past session stays before it is marked deleted.
KEEP_PAST = timedelta(days=7)
_BATCH = 1000
_LOCK = 0x68766664  # "hvfd": one advisory lock for feed refreshes

SESSION, SLOT = "ScheduledSession", "Slot"


@dataclass(frozen=True)
class Planned:
    parent_id: int
    starts: datetime
    ends: datetime


@dataclass
class RefreshReport:
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    purged: int = 0

    def summary(self) -> str:
        kinds = (SESSION, SLOT)
        parts = [
            f"{kind}: {self.inserted.get(kind, 0)} new, {self.updated.get(kind, 0)} changed, "
            f"{self.deleted.get(kind, 0)} deleted"
            for kind in kinds
        ]
        return "; ".join(parts) + f"; {self.purged} purged"


def occurrence_id(parent_id: int, starts: datetime) -> str:
    """``{parent}-{local start as YYYYMMDDTHHMM}``: the same session keeps its id."""
    return f"{parent_id}-{starts.astimezone(OSLO):%Y%m%dT%H%M}"


def _window(on: date) -> tuple[date, date]:
    return on, on + timedelta(days=FEED_WEEKS * 7 - 1)


def session_plan(activities: list[CalendarActivity], on: date) -> dict[str, Planned]:
    """The sessions of ``activities`` the feed should hold from ``on``."""
    first, last = _window(on)
    plan: dict[str, Planned] = {}
    for a in activities:
        if not a.live:
            continue
        skipped = skipped_days(
            first,
            last,
            cancelled=a.cancelled,
            school_holidays=a.school_holidays,
            pauses_in_school_holidays=a.pauses_in_school_holidays,
        )
        for o in occurrences(a.sessions, first, last, skipped):
            plan[occurrence_id(a.id, o.starts)] = Planned(a.id, o.starts, o.ends)
    return plan


def _planned_sessions(conn: sa.Connection, on: date) -> Iterator[dict[str, Planned]]:
    ids = live_scheduled_ids(conn)
    for start in range(0, len(ids), _BATCH):
        yield session_plan(calendar_activities_by_ids(conn, ids[start : start + _BATCH]), on)


def _planned_slots(conn: sa.Connection, on: date) -> dict[str, Planned]:
    """The availability windows from ``on`` of each venue in the FacilityUse feed, public
    holidays excepted."""
    first, last = _window(on)
    skipped = skipped_days(first, last)
    windows: dict[int, list[WeeklySession]] = {}
    for row in conn.execute(
        sa.select(
            venue_availability.c.venue_id,
            venue_availability.c.weekday,
            venue_availability.c.starts,
            venue_availability.c.ends,
        )
        .join(venue, venue.c.id == venue_availability.c.venue_id)
        .where(*offered_venue_conditions())
        .order_by(
            venue_availability.c.venue_id, venue_availability.c.weekday, venue_availability.c.starts
        )
    ):
        windows.setdefault(row.venue_id, []).append(
            WeeklySession(row.weekday, row.starts, row.ends)
        )
    plan: dict[str, Planned] = {}
    for venue_id, lines in windows.items():
        for o in occurrences(lines, first, last, skipped):
            plan[occurrence_id(venue_id, o.starts)] = Planned(venue_id, o.starts, o.ends)
    return plan


def _ids(values: list[str]) -> sa.BindParameter[list[str]]:
    return sa.literal(values, ARRAY(sa.Text))


def _apply(
    conn: sa.Connection, kind: str, plan: dict[str, Planned], now: datetime, report: RefreshReport
) -> None:
    today_starts = datetime.combine(now.astimezone(OSLO).date(), datetime.min.time(), OSLO)
    existing = {
        r.id: r
        for r in conn.execute(
            sa.select(
                feed_occurrence.c.id,
                feed_occurrence.c.parent_id,
                feed_occurrence.c.starts,
                feed_occurrence.c.ends,
                feed_occurrence.c.deleted_at,
            ).where(feed_occurrence.c.kind == kind)
        )
    }
    inserts: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    to_delete: list[str] = []
    for item_id, planned in plan.items():
        have = existing.get(item_id)
        if have is None:
            inserts.append(
                {
                    "kind": kind,
                    "id": item_id,
                    "parent_id": planned.parent_id,
                    "starts": planned.starts,
                    "ends": planned.ends,
                }
            )
        elif (
            have.deleted_at is not None
            or have.ends != planned.ends
            or have.starts != planned.starts
        ):
            changed.append({"b_id": item_id, "b_starts": planned.starts, "b_ends": planned.ends})
    for item_id, have in existing.items():
        if item_id in plan or have.deleted_at is not None:
            continue
        if have.starts >= today_starts or have.ends < now - KEEP_PAST:
            to_delete.append(item_id)
    if inserts:
        conn.execute(sa.insert(feed_occurrence), inserts)
    if changed:
        conn.execute(
            sa.update(feed_occurrence)
            .where(feed_occurrence.c.kind == kind, feed_occurrence.c.id == sa.bindparam("b_id"))
            .values(starts=sa.bindparam("b_starts"), ends=sa.bindparam("b_ends"), deleted_at=None),
            changed,
        )
    if to_delete:
        conn.execute(
            sa.update(feed_occurrence)
            .where(feed_occurrence.c.kind == kind, feed_occurrence.c.id == sa.any_(_ids(to_delete)))
            .values(deleted_at=sa.func.now())
        )
    report.inserted[kind] = len(inserts)
    report.updated[kind] = len(changed)
    report.deleted[kind] = len(to_delete)


def refresh_occurrences(conn: sa.Connection, on: date | None = None) -> RefreshReport:
    """Bring ``feed_occurrence`` in step with the schedules and availability as of ``on``
    (today in Norway), in the caller's transaction."""
    now = datetime.now(OSLO)
    on = on or now.date()
    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK)))
    report = RefreshReport()
    sessions: dict[str, Planned] = {}
    for batch in _planned_sessions(conn, on):
        sessions.update(batch)
    _apply(conn, SESSION, sessions, now, report)
    _apply(conn, SLOT, _planned_slots(conn, on), now, report)
    cutoff = sa.func.now() - KEEP_DELETED
    report.purged = conn.execute(
        sa.delete(feed_occurrence).where(feed_occurrence.c.deleted_at < cutoff)
    ).rowcount
    report.purged += conn.execute(
        sa.delete(feed_tombstone).where(feed_tombstone.c.deleted_at < cutoff)
    ).rowcount
    return report
