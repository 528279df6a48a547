"""Steps the directory loaders (venues, activities, organisations from CSV) share: parse every
record before writing anything, refuse duplicates, resolve references to rows already loaded,
derive municipalities from points, and keep child rows (availability windows, schedules,
exceptions) in step with their parent without rewriting what did not change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from geo import validation as v
from geo.spatial_join import municipalities_of_points
from geo.tables import organisation
from loaders.pointfile import Record
from loaders.report import LoadError

MAX_EXTERNAL_ID = 200


class Parsed(Protocol):
    label: str
    row: dict[str, Any]


P = TypeVar("P", bound=Parsed)


def parse_records(records: Iterable[Record], parse: Callable[[Record], P | None],
                  file_name: str) -> tuple[list[P], LoadError | None]:
    """Parse records until the first bad one: the good ones before it, and its LoadError.

    The caller checks the good ones against the database too, so that the error it reports is
    the first bad record whatever made it bad. ``parse`` returns None for a record to skip.
    """
    parsed: list[P] = []
    for record in records:
        try:
            item = parse(record)
        except v.FieldError as error:
            return parsed, LoadError(error.reason, record=record.label, field=error.field,
                                     path=file_name)
        if item is not None:
            parsed.append(item)
    return parsed, None


def source_of(record: Record, given: str | None, default: str) -> str:
    """The caller's source, else the record's ``source`` column, else the default."""
    return given or v.required_text(record.get("source") or default, "source", max_length=200)


def external_id(record: Record, name: str = "external_id") -> str:
    return v.required_text(record.get(name), name, max_length=MAX_EXTERNAL_ID)


def check_duplicates(items: Sequence[Parsed], file_name: str) -> None:
    """Each (source, external_id) once per file: the error names both records."""
    seen: dict[tuple[str, str], str] = {}
    for item in items:
        key = (item.row["source"], item.row["external_id"])
        if key in seen:
            raise LoadError(f"external_id {key[1]!r} appears on {seen[key]} and on {item.label}",
                            record=item.label, field="external_id", code="DUPLICATE",
                            path=file_name)
        seen[key] = item.label


def check_duplicate_values(items: Sequence[Parsed], column: str, file_name: str) -> None:
    seen: dict[Any, str] = {}
    for item in items:
        value = item.row.get(column)
        if value is not None and value in seen:
            raise LoadError(f"{column} {value} appears on {seen[value]} and on {item.label}",
                            record=item.label, field=column, code="DUPLICATE", path=file_name)
        seen.setdefault(value, item.label)


def join_municipalities(conn: sa.Connection, items: Sequence[Parsed],
                        points: Sequence[tuple[float, float]], fields: Sequence[str],
                        file_name: str) -> None:
    """Set each row's municipality from its point; a point outside all of them is an error."""
    numbers = municipalities_of_points(conn, list(points))
    for item, number, point_field in zip(items, numbers, fields, strict=True):
        if number is None:
            raise LoadError("the point lies outside every loaded municipality (at sea, abroad, "
                            "or lat and lon swapped?)", record=item.label, field=point_field,
                            code="OUTSIDE_MUNICIPALITIES", path=file_name)
        item.row["municipality_number"] = number


# --- references to rows already in the directory ------------------------------------------------

@dataclass(frozen=True)
class Ref:
    """A reference from a record to a row: by organisation number, or by (source, external_id)
    keys tried in order ("source:external_id" first, then the id within the record's source)."""

    field: str
    text: str
    keys: tuple[tuple[str, str], ...] = ()
    number: str | None = None


def external_ref(text: str, default_source: str, field_name: str) -> Ref:
    keys = [(default_source, text)]
    source, sep, key = text.partition(":")
    if sep and source.strip() and key.strip():
        keys.insert(0, (source.strip(), key.strip()))
    return Ref(field_name, text, tuple(keys))


def organisation_ref(record: Record, number_field: str, external_field: str,
                     default_source: str) -> Ref | None:
    """By a mod-11 checked organisation number, else by an external id; None when neither."""
    number = record.get(number_field)
    if number:
        checked = v.organisation_number(number, number_field)
        return Ref(number_field, checked, number=checked)
    text = v.optional_text(record.get(external_field), external_field,
                           max_length=2 * MAX_EXTERNAL_ID)
    return external_ref(text, default_source, external_field) if text else None


@dataclass
class Resolved:
    rows: dict[tuple[str, str], Any] = field(default_factory=dict)
    by_number: dict[str, Any] = field(default_factory=dict)

    def find(self, ref: Ref) -> Any | None:
        if ref.number is not None:
            return self.by_number.get(ref.number)
        return next((self.rows[k] for k in ref.keys if k in self.rows), None)


def resolve(conn: sa.Connection, table: sa.Table, columns: Sequence[sa.ColumnElement[Any]],
            refs: Sequence[Ref]) -> Resolved:
    """One query per kind of key for all references: the rows (with ``columns``) they name."""
    found = Resolved()
    keys = sorted({k for r in refs for k in r.keys})
    if keys:
        stmt = sa.select(table.c.source, table.c.external_id, *columns).where(
            sa.tuple_(table.c.source, table.c.external_id).in_(keys))
        found.rows = {(r.source, r.external_id): r for r in conn.execute(stmt)}
    numbers = sorted({r.number for r in refs if r.number})
    if numbers:
        stmt = sa.select(table.c.organisation_number, *columns).where(
            table.c.organisation_number.in_(numbers))
        found.by_number = {r.organisation_number: r for r in conn.execute(stmt)}
    return found


def resolve_organisations(conn: sa.Connection, items: Sequence[Any], attribute: str,
                          column: str, file_name: str) -> None:
    """Set ``row[column]`` to the id of the organisation each item's ``attribute`` names."""
    refs = [getattr(i, attribute) for i in items if getattr(i, attribute) is not None]
    found = resolve(conn, organisation, [organisation.c.id], refs)
    for item in items:
        ref = getattr(item, attribute)
        hit = found.find(ref) if ref is not None else None
        if ref is not None and hit is None:
            what = (f"no organisation with number {ref.number}" if ref.number
                    else f"no organisation {ref.text!r} in source "
                         f"{' or '.join(repr(k[0]) for k in ref.keys)}")
            raise LoadError(f"{what} is loaded; load the organisations first",
                            record=item.label, field=ref.field, code="UNKNOWN_ORGANISATION",
                            path=file_name)
        item.row[column] = hit.id if hit is not None else None


# --- child rows ---------------------------------------------------------------------------------

def _ids(ids: Iterable[int]) -> sa.BindParameter[list[int]]:
    """One array parameter (``= ANY(:ids)``), however many ids."""
    return sa.literal(sorted(ids), ARRAY(sa.BigInteger))


def sync_children(conn: sa.Connection, table: sa.Table, parent: str, columns: Sequence[str],
                  wanted: dict[int, list[tuple[Any, ...]]]) -> set[int]:
    """Make each parent's child rows equal ``wanted[parent]`` (tuples of ``columns``), touching
    only the parents whose rows differ; returns those parents' ids."""
    if not wanted:
        return set()
    parent_column = table.c[parent]
    have: dict[int, Counter[tuple[Any, ...]]] = {}
    rows = conn.execute(sa.select(parent_column, *(table.c[c] for c in columns))
                        .where(parent_column == sa.any_(_ids(wanted))))
    for row in rows:
        have.setdefault(row[0], Counter())[tuple(row[1:])] += 1
    changed = {pid for pid, children in wanted.items()
               if Counter(children) != have.get(pid, Counter())}
    if changed:
        conn.execute(sa.delete(table).where(parent_column == sa.any_(_ids(changed))))
        inserts = [{parent: pid, **dict(zip(columns, child, strict=True))}
                   for pid in sorted(changed) for child in wanted[pid]]
        if inserts:
            conn.execute(sa.insert(table), inserts)
    return changed


def touch(conn: sa.Connection, table: sa.Table, ids: set[int]) -> int:
    """Bump ``version`` and ``updated_at`` of rows whose children changed, unless this
    transaction already wrote them (inserted or updated: ``updated_at = now()``)."""
    if not ids:
        return 0
    result = conn.execute(
        sa.update(table)
        .where(table.c.id == sa.any_(_ids(ids)), table.c.updated_at != sa.func.now())
        .values(version=table.c.version + 1, updated_at=sa.func.now()))
    return int(result.rowcount)
