"""Steps the directory loaders (venues, activities, organisations from CSV) share: parse every
record before writing anything, refuse duplicates, resolve references to rows already loaded,
and derive municipalities from points. References (geo/references.py) and child rows
(geo/children.py) are shared with the write API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa

from geo import validation as v
from geo.references import MAX_EXTERNAL_ID, resolve
from geo.spatial_join import municipalities_of_points
from geo.tables import organisation
from loaders.pointfile import Record
from loaders.report import LoadError, Problems


class Parsed(Protocol):
    label: str
    row: dict[str, Any]


P = TypeVar("P", bound=Parsed)


def parse_records(
    records: Iterable[Record], parse: Callable[[Record], P | None], file_name: str
) -> tuple[list[P], Problems]:
    """Parse every record: the good ones, and the problems of the bad ones (each wrong field).

    The caller checks the good ones against the database too, adding to the same problems, and
    then raises them (:meth:`Problems.check`): the refusal names every bad record, the earliest
    first whatever made it bad. ``parse`` returns None for a record to skip.
    """
    parsed: list[P] = []
    problems = Problems(file_name)
    for position, record in enumerate(records):
        problems.place(record.label, position)
        try:
            item = parse(record)
        except v.FieldError as error:
            problems.add_fields(error, record.label)
            continue
        if item is not None:
            parsed.append(item)
    return parsed, problems


def _refuse(error: LoadError, problems: Problems | None) -> None:
    """Add ``error`` to ``problems``, or raise it when the caller collects none."""
    if problems is None:
        raise error
    problems.add(error)


def source_of(record: Record, given: str | None, default: str) -> str:
    """The caller's source, else the record's ``source`` column, else the default."""
    return given or v.required_text(record.get("source") or default, "source", max_length=200)


def external_id(record: Record, name: str = "external_id") -> str:
    return v.required_text(record.get(name), name, max_length=MAX_EXTERNAL_ID)


def check_duplicates(
    items: Sequence[Parsed], file_name: str, problems: Problems | None = None
) -> None:
    """Each (source, external_id) once per file: the error names both records."""
    seen: dict[tuple[str, str], str] = {}
    for item in items:
        key = (item.row["source"], item.row["external_id"])
        if key in seen:
            _refuse(
                LoadError(
                    f"external_id {key[1]!r} appears on {seen[key]} and on {item.label}",
                    record=item.label,
                    field="external_id",
                    code="DUPLICATE",
                    path=file_name,
                ),
                problems,
            )
            continue
        seen[key] = item.label


def check_duplicate_values(
    items: Sequence[Parsed], column: str, file_name: str, problems: Problems | None = None
) -> None:
    seen: dict[Any, str] = {}
    for item in items:
        value = item.row.get(column)
        if value is not None and value in seen:
            _refuse(
                LoadError(
                    f"{column} {value} appears on {seen[value]} and on {item.label}",
                    record=item.label,
                    field=column,
                    code="DUPLICATE",
                    path=file_name,
                ),
                problems,
            )
        seen.setdefault(value, item.label)


def join_municipalities(
    conn: sa.Connection,
    items: Sequence[Parsed],
    points: Sequence[tuple[float, float]],
    fields: Sequence[str],
    file_name: str,
    problems: Problems | None = None,
) -> None:
    """Set each row's municipality from its point; a point outside all of them is an error."""
    numbers = municipalities_of_points(conn, list(points))
    for item, number, point_field in zip(items, numbers, fields, strict=True):
        if number is None:
            _refuse(
                LoadError(
                    "the point lies outside every loaded municipality (at sea, abroad, "
                    "or lat and lon swapped?)",
                    record=item.label,
                    field=point_field,
                    code="OUTSIDE_MUNICIPALITIES",
                    path=file_name,
                ),
                problems,
            )
        item.row["municipality_number"] = number


def resolve_organisations(
    conn: sa.Connection,
    items: Sequence[Any],
    attribute: str,
    column: str,
    file_name: str,
    problems: Problems | None = None,
) -> None:
    """Set ``row[column]`` to the id of the organisation each item's ``attribute`` names."""
    refs = [getattr(i, attribute) for i in items if getattr(i, attribute) is not None]
    found = resolve(conn, organisation, [organisation.c.id], refs)
    for item in items:
        ref = getattr(item, attribute)
        hit = found.find(ref) if ref is not None else None
        if ref is not None and hit is None:
            what = (
                f"no organisation with number {ref.number}"
                if ref.number
                else f"no organisation {ref.text!r} in source "
                f"{' or '.join(repr(k[0]) for k in ref.keys)}"
            )
            _refuse(
                LoadError(
                    f"{what} is loaded; load the organisations first",
                    record=item.label,
                    field=ref.field,
                    code="UNKNOWN_ORGANISATION",
                    path=file_name,
                ),
                problems,
            )
        item.row[column] = hit.id if hit is not None else None
