"""Brønnøysund's register applied to the directory: an organisation's name, address and
status, the activities of one that is gone flagged for review, and how far a feed has been
applied (Brønnøysund's by update id; an RPDE feed, loaders/rpde.py, by its next page's URL).
The parsing of the feeds is the loaders' (loaders/organisation_updates.py, loaders/rpde.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from geo.tables import activity, feed_position, organisation, problem_report, registry_sync
from geo.vocab import ActivityStatus, EntryKind, ProblemKind, ProblemStatus, RegistryStatus

#: The source of a registry's problem reports (geo.tables.problem_report.source).
REGISTRY_SOURCE = "brreg"


def last_update_id(conn: sa.Connection, feed: str) -> int:
    """The last update applied from ``feed`` (0: none yet), locked until the caller commits,
    so two runs of one feed apply each update once."""
    found = conn.execute(
        sa.select(registry_sync.c.last_update_id)
        .where(registry_sync.c.feed == feed)
        .with_for_update()
    ).scalar()
    return int(found or 0)


def set_last_update_id(conn: sa.Connection, feed: str, update_id: int) -> None:
    stmt = sa.dialects.postgresql.insert(registry_sync).values(feed=feed, last_update_id=update_id)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[registry_sync.c.feed],
            set_={"last_update_id": update_id, "updated_at": sa.func.now()},
        )
    )


def feed_next_url(conn: sa.Connection, feed: str) -> str | None:
    """Where the last run of the RPDE feed ``feed`` stopped (None: it has not run)."""
    found = conn.execute(
        sa.select(feed_position.c.next_url).where(feed_position.c.feed == feed)
    ).scalar()
    return None if found is None else str(found)


def move_feed_position(conn: sa.Connection, feed: str, expected: str | None, next_url: str) -> bool:
    """Move ``feed``'s position from ``expected`` to ``next_url`` in the caller's transaction;
    False (nothing moved) when another run moved it meanwhile, so that run's pages are not
    applied twice."""
    stmt = sa.dialects.postgresql.insert(feed_position).values(feed=feed, next_url=next_url)
    if expected is None:
        moved = conn.execute(
            stmt.on_conflict_do_nothing(index_elements=[feed_position.c.feed]).returning(
                feed_position.c.feed
            )
        ).first()
    else:
        moved = conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[feed_position.c.feed],
                set_={"next_url": next_url, "updated_at": sa.func.now()},
                where=feed_position.c.next_url == expected,
            ).returning(feed_position.c.feed)
        ).first()
    return moved is not None


@dataclass(frozen=True)
class KnownOrganisation:
    id: int
    organisation_number: str
    name: str
    registry_status: str | None


def organisations_by_number(
    conn: sa.Connection, numbers: list[str]
) -> dict[str, KnownOrganisation]:
    """The organisations we know among ``numbers``, by organisation number, locked."""
    rows = conn.execute(
        sa.select(
            organisation.c.id,
            organisation.c.organisation_number,
            organisation.c.name,
            organisation.c.registry_status,
        )
        .where(organisation.c.organisation_number.in_(sorted(set(numbers))))
        .order_by(organisation.c.id)
        .with_for_update()
    )
    return {row.organisation_number: KnownOrganisation(**row._mapping) for row in rows}


def change_organisation(
    conn: sa.Connection, organisation_id: int, values: Mapping[str, Any]
) -> bool:
    """Apply ``values`` where they differ (a new version then); True when something changed."""
    o = organisation.c
    written = dict(values)
    if "registry_status" in written:
        written["registry_status_at"] = sa.func.now()
    differs = sa.or_(*(o[k].is_distinct_from(v) for k, v in values.items()))
    changed = conn.execute(
        sa.update(organisation)
        .where(o.id == organisation_id, differs)
        .values(**written, version=o.version + 1, updated_at=sa.func.now())
        .returning(o.id)
    ).first()
    return changed is not None


def flag_activities(conn: sa.Connection, organisation_id: int, message: str) -> int:
    """An open registry report on each live activity of the organisation that has none yet
    (the editors' queue and `hasOpenProblemReport` show it); how many were flagged."""
    already = sa.exists().where(
        problem_report.c.entry_kind == EntryKind.ACTIVITY.value,
        problem_report.c.entry_id == activity.c.id,
        problem_report.c.source == REGISTRY_SOURCE,
        problem_report.c.status == ProblemStatus.OPEN.value,
    )
    live = sa.select(
        sa.literal(EntryKind.ACTIVITY.value),
        activity.c.id,
        sa.literal(REGISTRY_SOURCE),
        sa.literal(ProblemKind.NO_LONGER_RUNS.value),
        sa.literal(message),
    ).where(
        activity.c.organisation_id == organisation_id,
        activity.c.archived_at.is_(None),
        activity.c.status == ActivityStatus.ACTIVE.value,
        ~already,
    )
    inserted = conn.execute(
        sa.insert(problem_report)
        .from_select(["entry_kind", "entry_id", "source", "kind", "message"], live)
        .returning(problem_report.c.id)
    ).all()
    return len(inserted)


#: Statuses that mean the organisation no longer runs anything as registered.
GONE = frozenset(RegistryStatus)
