"""Writing venues: create, update, archive and restore one, or import a municipality's file.

A venue's municipality comes from its point (spatial join), never from the caller: an editor
for 0301 can neither place a venue elsewhere nor move one of its venues out, and its import
can touch no other municipality's row. The fields are checked by the loader's own code
(:mod:`geo.records.venues`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert

from geo import validation as v
from geo.children import sync_children, touch
from geo.crs import STORAGE_SRID, to_storage, to_wgs84
from geo.records import Fields
from geo.records.venues import WINDOW_COLUMNS, Window, availability_windows, venue_fields
from geo.references import MAX_EXTERNAL_ID, organisation_ref, resolve
from geo.spatial_join import municipalities_of_points
from geo.tables import UNAUDITED_COLUMNS, data_columns, organisation, venue, venue_availability
from geo.upsert import BATCH, upsert
from geo.writes import Actor, Forbidden, Invalid, NotFound, WriteError, scope
from geo.writes.audit import record_change, record_changes
from geo.writes.versions import check_version, update_at_version

ENTITY = "Venue"
WHAT = "venues"
#: Source of the venues made one at a time through the API (imports name their own).
API_SOURCE = "api"
#: Most rows one import may hold: larger uploads go through `hverdag load venues`.
MAX_IMPORT_ROWS = 5000
_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def _window_text(weekday: int, starts: Any, ends: Any) -> str:
    return f"{_WEEKDAYS[weekday - 1]} {starts:%H:%M}-{ends:%H:%M}"


def venue_records(conn: sa.Connection, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Venues as records by the table's columns (the point as lat/lon, availability as text), with
    id, version, municipality and archive stamp: what an update starts from and the audit keeps."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    columns = [c for c in data_columns(venue) if c.name not in {"geom", *UNAUDITED_COLUMNS}]
    rows = conn.execute(
        sa.select(
            *columns, sa.func.ST_X(venue.c.geom).label("x"), sa.func.ST_Y(venue.c.geom).label("y")
        ).where(venue.c.id.in_(ids))
    )
    records: dict[int, dict[str, Any]] = {}
    for row in rows:
        record = {k: val for k, val in row._mapping.items() if k not in {"x", "y"}}
        record["lat"], record["lon"] = (round(c, 7) for c in to_wgs84(row.x, row.y))
        record["availability"] = []
        records[row.id] = record
    for window in conn.execute(
        sa.select(
            venue_availability.c.venue_id,
            venue_availability.c.weekday,
            venue_availability.c.starts,
            venue_availability.c.ends,
        )
        .where(venue_availability.c.venue_id.in_(ids))
        .order_by(
            venue_availability.c.venue_id, venue_availability.c.weekday, venue_availability.c.starts
        )
    ):
        records[window.venue_id]["availability"].append(
            _window_text(window.weekday, window.starts, window.ends)
        )
    return records


def _record(conn: sa.Connection, venue_id: int) -> dict[str, Any]:
    found = venue_records(conn, [venue_id]).get(venue_id)
    if found is None:
        raise NotFound(f"no venue with id {venue_id}")
    return found


@dataclass
class _Checked:
    values: dict[str, Any]
    windows: list[Window]
    point: tuple[float, float]  # EPSG:25833


def _check(record: Fields) -> _Checked:
    """The record's columns, windows and point; :class:`Invalid` names its first wrong field
    and lists every one (``fields``) for an import's report."""
    try:
        checked = v.each_field(
            {
                "values": lambda: venue_fields(record),
                "windows": lambda: availability_windows(record.get("availability")),
                "lat_lon": lambda: v.lat_lon(record.get("lat"), record.get("lon")),
            }
        )
    except v.FieldError as error:
        invalid = Invalid(error.field, error.reason)
        invalid.fields = [(each.field, each.reason) for each in error.errors]
        raise invalid from None
    values, windows, lat_lon = checked["values"], checked["windows"], checked["lat_lon"]
    if lat_lon is None:
        raise Invalid("location", "is required: a venue needs its point")
    return _Checked(values, windows, to_storage(*lat_lon))


def _geom(point: tuple[float, float]) -> sa.ColumnElement[Any]:
    return sa.func.ST_SetSRID(sa.func.ST_MakePoint(*point), STORAGE_SRID)


def _municipality_of(conn: sa.Connection, point: tuple[float, float]) -> str:
    (number,) = municipalities_of_points(conn, [point])
    if number is None:
        raise Invalid(
            "location",
            "lies outside every loaded municipality (at sea, abroad, or lat and lon swapped?)",
        )
    return number


def _replace_windows(conn: sa.Connection, venue_id: int, windows: list[Window]) -> None:
    sync_children(conn, venue_availability, "venue_id", WINDOW_COLUMNS, {venue_id: windows})


def create_venue(conn: sa.Connection, actor: Actor, record: Fields) -> int:
    """A new venue from a record (the table's columns, lat/lon, availability); its id."""
    checked = _check(record)
    number = _municipality_of(conn, checked.point)
    scope.municipality_row(actor, number, WHAT)
    venue_id = int(
        conn.execute(
            sa.insert(venue)
            .values(
                **checked.values,
                geom=_geom(checked.point),
                municipality_number=number,
                source=API_SOURCE,
            )
            .returning(venue.c.id)
        ).scalar_one()
    )
    _replace_windows(conn, venue_id, checked.windows)
    record_change(conn, actor, ENTITY, venue_id, "create", None, _record(conn, venue_id))
    return venue_id


def update_venue(
    conn: sa.Connection, actor: Actor, venue_id: int, version: int, changes: Mapping[str, Any]
) -> int:
    """Apply ``changes`` (only the fields given; None clears one) at ``version``."""
    before = _record(conn, venue_id)
    scope.municipality_row(actor, before["municipality_number"], WHAT)
    check_version(conn, venue, ENTITY, venue_id, version)
    if before["archived_at"] is not None:
        raise WriteError(
            f"venue {venue_id} is archived: restore it before changing it", reason="archived"
        )
    checked = _check({**before, **changes})
    number = _municipality_of(conn, checked.point)
    scope.municipality_row(actor, number, WHAT)
    update_at_version(
        conn,
        venue,
        ENTITY,
        venue_id,
        version,
        {**checked.values, "geom": _geom(checked.point), "municipality_number": number},
    )
    _replace_windows(conn, venue_id, checked.windows)
    record_change(conn, actor, ENTITY, venue_id, "update", before, _record(conn, venue_id))
    return venue_id


def set_venue_archived(
    conn: sa.Connection, actor: Actor, venue_id: int, version: int, archived: bool
) -> int:
    """Archive (a tombstone: never deleted) or restore a venue at ``version``."""
    before = _record(conn, venue_id)
    scope.municipality_row(actor, before["municipality_number"], WHAT)
    check_version(conn, venue, ENTITY, venue_id, version)
    if (before["archived_at"] is not None) == archived:
        raise WriteError(
            f"venue {venue_id} is {'already' if archived else 'not'} archived",
            reason="archived" if archived else "not archived",
        )
    update_at_version(
        conn, venue, ENTITY, venue_id, version, {"archived_at": sa.func.now() if archived else None}
    )
    record_change(
        conn,
        actor,
        ENTITY,
        venue_id,
        "archive" if archived else "restore",
        before,
        _record(conn, venue_id),
    )
    return venue_id


# --- import -------------------------------------------------------------------------------------


class ImportRecord(Fields, Protocol):
    """A row or feature of an uploaded file: its label ("line 3", "feature 2") and fields."""

    label: str


@dataclass(frozen=True)
class Problem:
    row: str
    field: str
    reason: str


@dataclass
class ImportResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    ids: list[int] = field(default_factory=list)


@dataclass
class _Item:
    label: str
    row: dict[str, Any]
    windows: list[Window]
    point: tuple[float, float]


def _parse_rows(
    records: Sequence[ImportRecord], source: str, problems: list[Problem]
) -> tuple[list[_Item], list[Any]]:
    items, owners = [], []
    seen: dict[str, str] = {}
    for record in records:
        try:
            external_id = v.required_text(
                record.get("external_id"), "external_id", max_length=MAX_EXTERNAL_ID
            )
            if external_id in seen:
                raise v.FieldError("external_id", f"{external_id!r} is also on {seen[external_id]}")
            seen[external_id] = record.label
            checked = _check(record)
            owner = organisation_ref(
                record, "owner_organisation_number", "owner_organisation_external_id", source
            )
        except v.FieldError as error:
            problems.extend(Problem(record.label, e.field, e.reason) for e in error.errors)
            continue
        except Invalid as error:
            problems.extend(
                Problem(record.label, field, reason)
                for field, reason in error.fields
                or [(error.details["field"], error.details["reason"])]
            )
            continue
        items.append(
            _Item(
                record.label,
                {**checked.values, "source": source, "external_id": external_id},
                checked.windows,
                checked.point,
            )
        )
        owners.append(owner)
    return items, owners


def _resolve_owners(
    conn: sa.Connection, items: list[_Item], owners: list[Any], problems: list[Problem]
) -> None:
    found = resolve(conn, organisation, [organisation.c.id], [o for o in owners if o])
    for item, owner in zip(items, owners, strict=True):
        hit = found.find(owner) if owner is not None else None
        if owner is not None and hit is None:
            problems.append(
                Problem(item.label, owner.field, f"no organisation {owner.text!r} is loaded")
            )
        item.row["owner_organisation_id"] = hit.id if hit is not None else None


def _existing(
    conn: sa.Connection, source: str, items: list[_Item], *, lock: bool
) -> dict[str, Any]:
    """The venues the rows' external ids already name, by external id; with ``lock``, locked
    (``FOR UPDATE``, in external-id order: the order every import takes its locks in) and so
    as they will stay until this transaction ends."""
    query = (
        sa.select(venue.c.external_id, venue.c.id, venue.c.municipality_number, venue.c.archived_at)
        .where(
            venue.c.source == source,
            venue.c.external_id == sa.any_(_texts(i.row["external_id"] for i in items)),
        )
        .order_by(venue.c.external_id)
    )
    if lock:
        query = query.with_for_update()
    return {row.external_id: row for row in conn.execute(query)}


def _texts(values: Iterable[str]) -> sa.BindParameter[list[str]]:
    return sa.literal(sorted(values), ARRAY(sa.Text))


def _archived(items: list[_Item], existing: Mapping[str, Any]) -> list[Problem]:
    """The rows that name an archived venue: refused, as updateVenue refuses to change one."""
    return [
        Problem(
            item.label,
            "external_id",
            f"venue {found.id} ({item.row['external_id']!r}) is archived: restore it "
            "(restoreVenue) before importing it again, or leave the row out",
        )
        for item in items
        if (found := existing.get(item.row["external_id"])) is not None
        and found.archived_at is not None
    ]


def _check_places(
    conn: sa.Connection, actor: Actor, items: list[_Item], source: str, problems: list[Problem]
) -> list[Problem]:
    """Set each row's municipality; the rows out of the actor's scope (by the new point, or
    by the municipality of the row the same external id already names); the rows that name an
    archived venue go to ``problems``."""
    numbers = municipalities_of_points(conn, [i.point for i in items])
    placed = []
    for item, number in zip(items, numbers, strict=True):
        if number is None:
            problems.append(
                Problem(item.label, "lat", "the point lies outside every loaded municipality")
            )
            continue
        item.row["municipality_number"] = number
        placed.append(item)
    existing = _existing(conn, source, items, lock=False)
    problems.extend(_archived(items, existing))
    return _out_of_scope(actor, placed, existing)


def _out_of_scope(actor: Actor, items: list[_Item], existing: Mapping[str, Any]) -> list[Problem]:
    """The rows the actor may not write: by their new point's municipality, or by the
    municipality of the venue their external id already names."""
    refused: list[Problem] = []
    for item in items:
        number = item.row["municipality_number"]
        found = existing.get(item.row["external_id"])
        for place in (number, found.municipality_number if found is not None else number):
            try:
                scope.municipality_row(actor, place, WHAT)
            except Forbidden as error:
                refused.append(Problem(item.label, "lat", error.message))
                break
    return refused


@dataclass(frozen=True)
class PreparedImport:
    """An import's rows checked as far as they can be without the database: what
    :func:`prepare_import` found, for :func:`write_import`."""

    source: str
    items: list[_Item]
    owners: list[Any]
    problems: list[Problem]


def prepare_import(actor: Actor, records: Sequence[ImportRecord], source: str) -> PreparedImport:
    """The checks of :func:`import_venues` that need no database (the key's scope, the source,
    the row count, every row's fields): CPU work that grows with the file, which the API runs
    off its event loop."""
    scope.municipality_row(actor, actor.municipality_number, WHAT)
    try:
        source = v.required_text(source, "source", max_length=200)
    except v.FieldError as error:
        raise Invalid(error.field, error.reason) from None
    if not records:
        raise Invalid("content", "has no rows")
    if len(records) > MAX_IMPORT_ROWS:
        raise Invalid("content", f"has {len(records)} rows; at most {MAX_IMPORT_ROWS} per import")
    problems: list[Problem] = []
    items, owners = _parse_rows(records, source, problems)
    return PreparedImport(source, items, owners, problems)


def import_venues(
    conn: sa.Connection, actor: Actor, records: Sequence[ImportRecord], source: str
) -> ImportResult:
    """Upsert every row by (source, external_id), all or nothing: one bad row and nothing is
    written; the error lists every bad row (``problems``) with its field and reason."""
    return write_import(conn, actor, prepare_import(actor, records, source))


def write_import(conn: sa.Connection, actor: Actor, prepared: PreparedImport) -> ImportResult:
    """The rest of :func:`import_venues` after :func:`prepare_import`: the owners and the places
    (database), then the write."""
    items, problems = prepared.items, list(prepared.problems)
    _resolve_owners(conn, items, prepared.owners, problems)
    _refuse(_check_places(conn, actor, items, prepared.source, problems), problems)
    return _write_import(conn, actor, items, prepared.source)


def _refuse(refused: list[Problem], problems: list[Problem]) -> None:
    """FORBIDDEN for rows out of scope, else BAD_USER_INPUT for bad rows; each listing every
    such row and field, up to :data:`geo.validation.MAX_REPORTED` (``more`` counts the
    rest)."""
    if refused:
        raise Forbidden(
            f"{_rows(refused)} outside this key's municipality; nothing was imported",
            **_listed(refused),
        )
    if problems:
        raise WriteError(
            f"{_rows(problems)} invalid; nothing was imported",
            reason=f"{problems[0].row}, {problems[0].field}: {problems[0].reason}",
            **_listed(problems),
        )


def _rows(problems: list[Problem]) -> str:
    rows = len({p.row for p in problems})
    fields = "" if rows == len(problems) else f" ({len(problems)} problems)"
    return ("1 row is" if rows == 1 else f"{rows} rows are") + fields


def _listed(problems: list[Problem]) -> dict[str, Any]:
    """``problems``: the first MAX_REPORTED (row, field, reason); ``more``: how many others."""
    return {
        "problems": [
            {"row": p.row, "field": p.field, "reason": p.reason} for p in problems[: v.MAX_REPORTED]
        ],
        "more": max(0, len(problems) - v.MAX_REPORTED),
    }


def _write_import(
    conn: sa.Connection, actor: Actor, items: list[_Item], source: str
) -> ImportResult:
    """Write the rows; an audit row for each venue the import created (``create``) or changed
    (``import``, with the venue as it was), none for one it left as it was.

    What the audit says is what this transaction did, even while other imports of the same
    rows run: the new rows are inserted first (``ON CONFLICT DO NOTHING``: an insert of the
    same key by another transaction is waited for, then found there), so the ids returned are
    the ones this import created; every other row is then locked and read (its ``before``, as
    it stays until the commit), and only then updated where it differs. Rows are taken in
    external-id order, so two imports take their locks in one order and cannot deadlock.
    """
    for item in items:
        item.row["geom"] = _geom(item.point)
    ordered = sorted((i.row for i in items), key=lambda row: row["external_id"])
    created = _insert_new(conn, ordered)
    existing = _existing(conn, source, items, lock=True)
    # Moved or archived by another writer since the checks before the write: refused the same.
    _refuse(_out_of_scope(actor, items, existing), _archived(items, existing))
    before = venue_records(conn, (row.id for row in existing.values() if row.id not in created))
    counts = upsert(conn, venue, [i.row for i in items])
    touch(
        conn,
        venue,
        sync_children(
            conn,
            venue_availability,
            "venue_id",
            WINDOW_COLUMNS,
            {vid: i.windows for vid, i in zip(counts.ids, items, strict=True)},
        ),
    )
    after = venue_records(conn, counts.ids)
    result = ImportResult(ids=counts.ids)
    changes: list[tuple[int, str, dict[str, Any] | None, dict[str, Any] | None]] = []
    for vid in counts.ids:
        if vid in created:
            result.inserted += 1
            changes.append((vid, "create", None, after[vid]))
        elif before[vid]["version"] != after[vid]["version"]:
            result.updated += 1
            changes.append((vid, "import", before[vid], after[vid]))
        else:
            result.unchanged += 1
    record_changes(conn, actor, ENTITY, changes)
    return result


def _insert_new(conn: sa.Connection, rows: list[dict[str, Any]]) -> set[int]:
    """Insert the rows whose key no committed row has; the ids of those this call inserted."""
    created: set[int] = set()
    for start in range(0, len(rows), BATCH):
        statement = (
            insert(venue)
            .values(rows[start : start + BATCH])
            .on_conflict_do_nothing(index_elements=[venue.c.source, venue.c.external_id])
            .returning(venue.c.id)
        )
        created.update(conn.execute(statement).scalars())
    return created
