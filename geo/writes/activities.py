"""Writing activities: create, update, archive and restore, by the organisation that runs them.

An activity held at a venue takes the venue's point exactly; otherwise it has its own. Its
municipality comes from the point. The fields are checked by the loader's own code
(:mod:`geo.records.activities`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from geo import validation as v
from geo.children import sync_children
from geo.crs import STORAGE_SRID, to_storage, to_wgs84
from geo.records import Fields
from geo.records.activities import SESSION_COLUMNS, Session, activity_fields, schedule_sessions
from geo.spatial_join import municipalities_of_points
from geo.tables import (
    UNAUDITED_COLUMNS,
    activity,
    activity_schedule,
    data_columns,
    organisation,
    venue,
)
from geo.writes import Actor, Invalid, NotFound, WriteError, scope
from geo.writes.audit import record_change
from geo.writes.versions import check_version, update_at_version

ENTITY = "Activity"
WHAT = "activities"
API_SOURCE = "api"
_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def _session_text(s: Any) -> str:
    text = f"{_WEEKDAYS[s.weekday - 1]} {s.starts:%H:%M}-{s.ends:%H:%M}"
    if s.valid_from or s.valid_to:
        text += f" {s.valid_from or ''}..{s.valid_to or ''}"
    return text


def activity_records(conn: sa.Connection, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Activities as records by the table's columns (the point as lat/lon, schedule as text),
    with id, version, venue, organisation, municipality and archive stamp."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    columns = [c for c in data_columns(activity) if c.name not in {"geom", *UNAUDITED_COLUMNS}]
    rows = conn.execute(
        sa.select(
            *columns,
            sa.func.ST_X(activity.c.geom).label("x"),
            sa.func.ST_Y(activity.c.geom).label("y"),
        ).where(activity.c.id.in_(ids))
    )
    records: dict[int, dict[str, Any]] = {}
    for row in rows:
        record = {k: val for k, val in row._mapping.items() if k not in {"x", "y"}}
        record["lat"], record["lon"] = (round(c, 7) for c in to_wgs84(row.x, row.y))
        record["schedule"] = []
        records[row.id] = record
    for session in conn.execute(
        sa.select(
            activity_schedule.c.activity_id,
            activity_schedule.c.weekday,
            activity_schedule.c.starts,
            activity_schedule.c.ends,
            activity_schedule.c.valid_from,
            activity_schedule.c.valid_to,
        )
        .where(activity_schedule.c.activity_id.in_(ids))
        .order_by(
            activity_schedule.c.activity_id, activity_schedule.c.weekday, activity_schedule.c.starts
        )
    ):
        records[session.activity_id]["schedule"].append(_session_text(session))
    return records


def _record(conn: sa.Connection, activity_id: int) -> dict[str, Any]:
    found = activity_records(conn, [activity_id]).get(activity_id)
    if found is None:
        raise NotFound(f"no activity with id {activity_id}")
    return found


@dataclass
class _Checked:
    values: dict[str, Any]
    sessions: list[Session]


def _check(conn: sa.Connection, record: Fields) -> _Checked:
    """The fields, the sessions, and the place: at its venue's point, or at its own."""
    try:
        values = activity_fields(record)
        sessions = schedule_sessions(record.get("schedule"))
        lat_lon = v.lat_lon(record.get("lat"), record.get("lon"))
    except v.FieldError as error:
        raise Invalid(error.field, error.reason) from None
    venue_id, organisation_id = record.get("venue_id"), record.get("organisation_id")
    if (
        organisation_id is not None
        and conn.execute(
            sa.select(organisation.c.id).where(organisation.c.id == organisation_id)
        ).first()
        is None
    ):
        raise Invalid("organisation", f"no organisation with id {organisation_id}")
    if venue_id is not None:
        found = conn.execute(
            sa.select(venue.c.geom, venue.c.archived_at).where(venue.c.id == venue_id)
        ).first()
        if found is None or found.archived_at is not None:
            raise Invalid(
                "venue",
                f"no venue with id {venue_id}" + (" (it is archived)" if found is not None else ""),
            )
        geom: Any = found.geom
        x, y = conn.execute(sa.select(sa.func.ST_X(geom), sa.func.ST_Y(geom))).one()
        point: tuple[float, float] = (x, y)
    elif lat_lon is not None:
        point = to_storage(*lat_lon)
        geom = sa.func.ST_SetSRID(sa.func.ST_MakePoint(*point), STORAGE_SRID)
    else:
        raise Invalid("location", "an activity needs a venue or its own location")
    (number,) = municipalities_of_points(conn, [point])
    if number is None:
        raise Invalid("venue" if venue_id else "location", "lies outside every loaded municipality")
    values.update(
        geom=geom, municipality_number=number, venue_id=venue_id, organisation_id=organisation_id
    )
    return _Checked(values, sessions)


def _replace_sessions(conn: sa.Connection, activity_id: int, sessions: list[Session]) -> None:
    sync_children(conn, activity_schedule, "activity_id", SESSION_COLUMNS, {activity_id: sessions})


def create_activity(conn: sa.Connection, actor: Actor, record: Mapping[str, Any]) -> int:
    """A new activity; an organisation's editor makes its own organisation's only (and its
    organisation is the organiser when the record names none)."""
    if record.get("organisation_id") is None and actor.organisation_id is not None:
        record = {**record, "organisation_id": actor.organisation_id}
    checked = _check(conn, record)
    scope.organisation_row(actor, checked.values["organisation_id"], WHAT)
    activity_id = int(
        conn.execute(
            sa.insert(activity).values(**checked.values, source=API_SOURCE).returning(activity.c.id)
        ).scalar_one()
    )
    _replace_sessions(conn, activity_id, checked.sessions)
    record_change(conn, actor, ENTITY, activity_id, "create", None, _record(conn, activity_id))
    return activity_id


def update_activity(
    conn: sa.Connection, actor: Actor, activity_id: int, version: int, changes: Mapping[str, Any]
) -> int:
    before = _record(conn, activity_id)
    scope.organisation_row(actor, before["organisation_id"], WHAT)
    check_version(conn, activity, ENTITY, activity_id, version)
    if before["archived_at"] is not None:
        raise WriteError(
            f"activity {activity_id} is archived: restore it before changing it", reason="archived"
        )
    merged = {**before, **changes}
    if "venue_id" not in changes and ("lat" in changes or "lon" in changes):
        merged["venue_id"] = None  # a new point of its own moves it away from its venue
    checked = _check(conn, merged)
    scope.organisation_row(actor, checked.values["organisation_id"], WHAT)
    update_at_version(conn, activity, ENTITY, activity_id, version, checked.values)
    _replace_sessions(conn, activity_id, checked.sessions)
    record_change(conn, actor, ENTITY, activity_id, "update", before, _record(conn, activity_id))
    return activity_id


def set_activity_archived(
    conn: sa.Connection, actor: Actor, activity_id: int, version: int, archived: bool
) -> int:
    before = _record(conn, activity_id)
    scope.organisation_row(actor, before["organisation_id"], WHAT)
    check_version(conn, activity, ENTITY, activity_id, version)
    if (before["archived_at"] is not None) == archived:
        raise WriteError(
            f"activity {activity_id} is {'already' if archived else 'not'} archived",
            reason="archived" if archived else "not archived",
        )
    update_at_version(
        conn,
        activity,
        ENTITY,
        activity_id,
        version,
        {"archived_at": sa.func.now() if archived else None},
    )
    record_change(
        conn,
        actor,
        ENTITY,
        activity_id,
        "archive" if archived else "restore",
        before,
        _record(conn, activity_id),
    )
    return activity_id
