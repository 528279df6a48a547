"""Turning selected rows into plain dataclasses: one place for the column-to-field mapping."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import Any, TypeAlias, TypeVar

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

T = TypeVar("T")
#: A row or a SELECT of any number of columns of any types: SQLAlchemy 2.1 types them by their
#: columns (``Row[int, str]``), and ``Row[Any]`` is a row of one column.
AnyRow: TypeAlias = "sa.Row[*tuple[Any, ...]]"
AnySelect: TypeAlias = "sa.Select[*tuple[Any, ...]]"


def point_xy(geom: ColumnElement[Any]) -> list[ColumnElement[float]]:
    """x and y of a stored point (EPSG:25833); the API turns them into lat/lon in Python."""
    return [sa.func.ST_X(geom).label("x"), sa.func.ST_Y(geom).label("y")]


@cache
def _field_names(cls: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def in_field_order(
    cls: type[Any], columns: Sequence[ColumnElement[Any]]
) -> list[ColumnElement[Any]]:
    """``columns`` in the order of ``cls``'s fields, any others after them: a row selected in
    this order builds ``cls`` from its first values as they come (geo.queries.driver)."""
    # A class is hashable; mypy 2 takes type objects for unhashable against lru_cache's Hashable.
    names = _field_names(cls)  # type: ignore[arg-type]
    order = {name: position for position, name in enumerate(names)}
    return sorted(columns, key=lambda column: order.get(column.name, len(order)))


def filled_without_init(cls: type[T], values: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> T:
    """``cls(**values)`` for a dataclass whose ``__init__`` only assigns its fields (no
    ``__post_init__``, no slots), built *without calling* ``__init__``: the new instance's
    ``__dict__`` is filled at once, skipping the constructor's keyword matching and one
    assignment per field (a near-me answer makes ~100 such objects; the cost of each way is in
    docs/performance.md). ``values`` must name every field: tests check that the objects built
    so equal their constructed twins."""
    instance = object.__new__(cls)
    instance.__dict__.update(values)
    return instance


def to_dataclass(cls: type[T], row: AnyRow) -> T:
    """Build ``cls`` from the row's columns of the same names."""
    return from_mapping(cls, row._mapping)


def from_mapping(cls: type[T], mapping: Mapping[Any, Any]) -> T:
    """Build ``cls`` from a mapping of column names (a SQLAlchemy row's, or psycopg's dict)."""
    return cls(**{name: mapping[name] for name in _field_names(cls)})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Lifecycle:
    """What every directory row carries: provenance and its change stamps."""

    source: str
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    version: int


def grouped(conn: sa.Connection, stmt: AnySelect, cls: type[T], key: str) -> dict[Any, list[T]]:
    """The statement's rows as ``cls``, grouped by the column ``key`` (in the rows' order)."""
    groups: dict[Any, list[T]] = defaultdict(list)
    for row in conn.execute(stmt):
        groups[row._mapping[key]].append(to_dataclass(cls, row))
    return groups
