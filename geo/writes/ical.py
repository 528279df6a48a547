"""Loading an iCalendar feed as one organisation's activities (``hverdag load ical`` and the
``importCalendar`` mutation): all or nothing, audited, idempotent.

Each activity keeps its source (``ical:`` and the feed's URL or name) and its event's UID as
``external_id``: a second load of the same feed finds them again and changes nothing (no new
version, no audit row), a changed event updates its activity, an event gone from the feed
archives its activity (only those of the same source and organisation), and an event back in
the feed restores it. The place is the event's ``GEO`` point, or the venue its ``LOCATION``
names (:func:`_match_venues`); a point outside every loaded municipality is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from geoalchemy2.shape import from_shape
from shapely.geometry import Point

from geo import validation as v
from geo.children import sync_children, touch
from geo.crs import STORAGE_SRID, to_storage
from geo.records.activities import SESSION_COLUMNS
from geo.records.ical import CalendarEvent, Problem, ReadCalendar
from geo.spatial_join import municipalities_of_points
from geo.tables import activity, activity_exception, activity_schedule, organisation, venue
from geo.upsert import upsert
from geo.vocab import Role
from geo.writes import Actor, Invalid, WriteError, scope
from geo.writes.activities import ENTITY, WHAT, activity_records
from geo.writes.audit import record_changes

SOURCE_PREFIX = "ical:"
#: A LOCATION's venue and the event's GEO farther apart than this are not the same place.
VENUE_REACH_M = 250.0


@dataclass
class CalendarImport:
    """A calendar read and checked without the database, for :func:`import_calendar`."""

    source: str
    #: None: the key's own organisation (an organisation editor's).
    organisation_number: str | None
    read: ReadCalendar


@dataclass
class CalendarResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    archived: int = 0
    #: The activities of the feed, in its order, then those archived.
    ids: list[int] = field(default_factory=list)
    archived_ids: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_may_import(actor: Actor) -> None:
    """An admin, or an organisation's editor (which organisation is checked in
    :func:`import_calendar`): FORBIDDEN for any other key, before its file is read."""
    if actor.role is not Role.ADMIN:
        scope.organisation_row(actor, actor.organisation_id, WHAT)


def prepare_calendar(
    actor: Actor, read: ReadCalendar, source: str, organisation_number: str | None
) -> CalendarImport:
    """The run's own arguments checked: the key's role (:func:`check_may_import`), the source
    (the feed's URL or name) and the organisation number."""
    check_may_import(actor)
    try:
        name = v.required_text(source, "source", max_length=500)
    except v.FieldError as error:
        raise Invalid(error.field, error.reason) from None
    number = None if organisation_number is None else organisation_number.strip()
    if number is not None and not (len(number) == 9 and number.isdigit()):
        raise Invalid("organisation", f"{number!r} is not a 9-digit organisation number")
    return CalendarImport(source_key(name), number, read)


def source_key(source: str) -> str:
    """The ``source`` column of a feed's activities."""
    return SOURCE_PREFIX + source


def _organisation_id(conn: sa.Connection, actor: Actor, number: str | None) -> int:
    if number is None:
        if actor.organisation_id is None:
            raise Invalid("organisation", "is required: whose activities the calendar holds")
        return actor.organisation_id
    found = conn.execute(
        sa.select(organisation.c.id).where(organisation.c.organisation_number == number)
    ).first()
    if found is None:
        raise Invalid(
            "organisation", f"no organisation {number} is loaded (load organisations first)"
        )
    return int(found.id)


def import_calendar(conn: sa.Connection, actor: Actor, prepared: CalendarImport) -> CalendarResult:
    """Write the calendar's activities for the organisation, all or nothing: a refusal lists
    every bad event (``problems``: record, field, reason) and nothing is written."""
    organisation_id = _organisation_id(conn, actor, prepared.organisation_number)
    scope.organisation_row(actor, organisation_id, WHAT)
    # One load of a feed at a time: what it counts and audits is what it did.
    conn.execute(
        sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(prepared.source, 0)))
    )
    existing = _existing(conn, prepared.source)
    rows = _checked_rows(conn, prepared, organisation_id, existing)
    before = activity_records(conn, (row.id for row in existing.values()))
    ids = _write_rows(conn, rows, prepared.read.events)
    archived = _archive_removed(conn, prepared.source, organisation_id, ids)
    result = CalendarResult(ids=ids, archived_ids=archived, warnings=prepared.read.warnings)
    _audit(conn, actor, before, result)
    return result


def _checked_rows(
    conn: sa.Connection, prepared: CalendarImport, organisation_id: int, existing: dict[str, Any]
) -> list[dict[str, Any]]:
    """The events' rows; every problem of the calendar and the database refused at once."""
    events = prepared.read.events
    problems = list(prepared.read.problems)
    for event in events:
        found = existing.get(event.key)
        if found is not None and found.organisation_id != organisation_id:
            problems.append(
                Problem(event.label, "UID", "was loaded from this feed for another organisation")
            )
    rows = _rows(conn, events, prepared.source, organisation_id, existing, problems)
    _refuse(problems, prepared.read.total)
    return rows


def _write_rows(
    conn: sa.Connection, rows: list[dict[str, Any]], events: list[CalendarEvent]
) -> list[int]:
    """Upsert the rows and their schedules and cancelled days; their ids, in order."""
    counts = upsert(conn, activity, rows)
    pairs = list(zip(counts.ids, events, strict=True))
    changed = sync_children(
        conn, activity_schedule, "activity_id", SESSION_COLUMNS, {a: e.sessions for a, e in pairs}
    )
    changed |= sync_children(
        conn,
        activity_exception,
        "activity_id",
        ("on_date",),
        {a: [(d,) for d in e.cancelled] for a, e in pairs},
    )
    touch(conn, activity, changed)
    return counts.ids


def _audit(
    conn: sa.Connection, actor: Actor, before: dict[int, dict[str, Any]], result: CalendarResult
) -> None:
    """Count what the load did and leave an audit row for each change: ``create``, ``import``
    (a new version), ``archive``; none for an activity left as it was."""
    after = activity_records(conn, [*result.ids, *result.archived_ids])
    changes: list[tuple[int, str, dict[str, Any] | None, dict[str, Any] | None]] = []
    for aid in result.ids:
        if aid not in before:
            result.created += 1
            changes.append((aid, "create", None, after[aid]))
        elif before[aid]["version"] != after[aid]["version"]:
            result.updated += 1
            changes.append((aid, "import", before[aid], after[aid]))
        else:
            result.unchanged += 1
    for aid in result.archived_ids:
        result.archived += 1
        changes.append((aid, "archive", before[aid], after[aid]))
    record_changes(conn, actor, ENTITY, changes)


def _refuse(problems: Sequence[Problem], total: int) -> None:
    if not problems:
        return
    bad = len({p.record for p in problems})
    listed = [
        {"record": p.record, "field": p.field, "reason": p.reason}
        for p in problems[: v.MAX_REPORTED]
    ]
    raise WriteError(
        f"{bad} of {total} events {'is' if bad == 1 else 'are'} invalid; nothing was loaded",
        reason=f"{problems[0].record}, {problems[0].field}: {problems[0].reason}",
        problems=listed,
        more=max(0, len(problems) - v.MAX_REPORTED),
    )


def _existing(conn: sa.Connection, source: str) -> dict[str, Any]:
    """The feed's activities already loaded (archived too), locked until the commit, by
    external_id: their id, organisation and category."""
    rows = conn.execute(
        sa.select(
            activity.c.id, activity.c.external_id, activity.c.organisation_id, activity.c.category
        )
        .where(activity.c.source == source)
        .order_by(activity.c.id)
        .with_for_update()
    )
    return {r.external_id: r for r in rows}


def _archive_removed(
    conn: sa.Connection, source: str, organisation_id: int, kept: list[int]
) -> list[int]:
    """Archive the live activities of this feed and organisation the feed no longer has."""
    statement = (
        sa.update(activity)
        .where(
            activity.c.source == source,
            activity.c.organisation_id == organisation_id,
            activity.c.archived_at.is_(None),
            activity.c.id.not_in(kept) if kept else sa.true(),
        )
        .values(archived_at=sa.func.now(), version=activity.c.version + 1, updated_at=sa.func.now())
        .returning(activity.c.id)
    )
    return sorted(int(i) for i in conn.execute(statement).scalars())


def _rows(
    conn: sa.Connection,
    events: list[CalendarEvent],
    source: str,
    organisation_id: int,
    existing: dict[str, Any],
    problems: list[Problem],
) -> list[dict[str, Any]]:
    """Each event's activity row, placed; a problem for an event that cannot be. An event
    whose CATEGORIES name none of hverdag's keeps its activity's category."""
    venues = _match_venues(conn, events, problems)
    points: list[tuple[float, float]] = []
    for event in events:
        hit = venues.get(event.key)
        if hit is not None:
            points.append((hit.x, hit.y))
        elif event.point is not None:
            points.append(to_storage(*event.point))
        else:
            points.append((0.0, 0.0))  # refused already; keeps the lists aligned
    numbers = municipalities_of_points(conn, points)
    rows = []
    for event, point, number in zip(events, points, numbers, strict=True):
        hit = venues.get(event.key)
        placed = hit is not None or event.point is not None
        if placed and number is None:
            problems.append(
                Problem(
                    event.label,
                    "LOCATION" if hit is not None else "GEO",
                    "lies outside every loaded municipality (outside Norway, at sea, or "
                    "latitude and longitude swapped?)",
                )
            )
        kept = existing.get(event.key)
        category = {} if event.category_named or kept is None else {"category": kept.category}
        rows.append(
            {
                **event.fields,
                **category,
                "source": source,
                "external_id": event.key,
                "organisation_id": organisation_id,
                "venue_id": hit.id if hit is not None else None,
                "geom": from_shape(Point(point), srid=STORAGE_SRID),
                "municipality_number": number,
                "archived_at": None,
            }
        )
    return rows


def _normal(text: str) -> str:
    return " ".join(text.split()).lower()


def _match_venues(
    conn: sa.Connection, events: list[CalendarEvent], problems: list[Problem]
) -> dict[str, Any]:
    """The venue each event's LOCATION names: a live venue whose name is the LOCATION or its
    first comma-separated part (case and spacing aside); several of one name are told apart
    by their address in the LOCATION, then by being within :data:`VENUE_REACH_M` of GEO. An
    event with GEO whose LOCATION names no venue keeps its own point."""
    names = {
        _normal(part)
        for e in events
        if e.location
        for part in (e.location, e.location.split(",")[0])
    }
    by_name: dict[str, list[Any]] = {}
    if names:
        normal_name = sa.func.lower(
            sa.func.regexp_replace(sa.func.btrim(venue.c.name), r"\s+", " ", "g")
        )
        for row in conn.execute(
            sa.select(
                venue.c.id,
                venue.c.address,
                normal_name.label("key"),
                sa.func.ST_X(venue.c.geom).label("x"),
                sa.func.ST_Y(venue.c.geom).label("y"),
            )
            .where(normal_name.in_(sorted(names)), venue.c.archived_at.is_(None))
            .order_by(venue.c.id)
        ):
            by_name.setdefault(row.key, []).append(row)
    found: dict[str, Any] = {}
    for event in events:
        if not event.location:
            if event.point is None:
                problems.append(
                    Problem(event.label, "GEO", "the event has neither GEO nor a LOCATION")
                )
            continue
        whole, first = _normal(event.location), _normal(event.location.split(",")[0])
        candidates = by_name.get(whole) or by_name.get(first) or []
        if len(candidates) > 1:
            candidates = [c for c in candidates if c.address and _normal(c.address) in whole] or (
                candidates
            )
        if event.point is not None:
            x, y = to_storage(*event.point)
            candidates = [
                c for c in candidates if (c.x - x) ** 2 + (c.y - y) ** 2 <= VENUE_REACH_M**2
            ]
        if len(candidates) == 1:
            found[event.key] = candidates[0]
        elif len(candidates) > 1:
            problems.append(
                Problem(
                    event.label,
                    "LOCATION",
                    f"{event.location!r} names {len(candidates)} venues: add the address "
                    "(name, address) or GEO",
                )
            )
        elif event.point is None:
            problems.append(
                Problem(
                    event.label,
                    "LOCATION",
                    f"{event.location!r} names no known venue and the event has no GEO: give "
                    "GEO, or the venue's name as hverdag has it",
                )
            )
    return found
