"""Running a Core statement straight on psycopg, for the few statements on the hot path.

SQLAlchemy builds the SQL (no string-built SQL anywhere); what it costs per execution — the
cache key of the statement, the parameter and result processing, the Row objects — was a third
of the CPU of a near-me request (docs/performance.md). A statement compiled here once runs with
psycopg's own ``execute`` and returns psycopg's dict rows.

Only statements whose parameters and columns need no SQLAlchemy processing qualify (numbers,
text, arrays, dates: psycopg adapts them itself); :func:`driver_statement` refuses the others
with ``ValueError``, so a later change of a column's type cannot silently change a value.

:func:`run_statement` returns dict rows; :func:`run_statement_as` builds a dataclass per row
straight from psycopg's tuple (no dict, no keyword arguments: a third of the time per row).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from operator import itemgetter
from typing import Any, TypeVar

import psycopg
import sqlalchemy as sa
from psycopg.rows import RowMaker, dict_row
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg

from geo.queries.rows import filled_without_init

_DIALECT = pg_psycopg.dialect()
#: Statements compiled for the driver; each statement object is itself built once and cached
#: (geo.queries.nearby), so this holds as many entries as that cache.
COMPILED_CACHE_SIZE = 256
_FLOAT8_OID, _NUMERIC_OID = 701, 1700
T = TypeVar("T")


@dataclass(frozen=True)
class DriverStatement:
    """A statement's SQL in psycopg's ``%(name)s`` style, and the values it fixed when built."""

    sql: str
    fixed: dict[str, Any]
    names: frozenset[str]
    #: The selected columns' names, in order.
    columns: tuple[str, ...]


@lru_cache(maxsize=COMPILED_CACHE_SIZE)
def driver_statement(stmt: sa.Select[Any]) -> DriverStatement:
    """Compile ``stmt`` for psycopg once. Bind parameters with a value (the filter's literals)
    are fixed here, through SQLAlchemy's processing; those without one are filled at run time
    and must need none."""
    compiled = stmt.compile(dialect=_DIALECT)
    run_time = {name for name, value in compiled.params.items() if value is None}
    # An `IN` list is an expanding parameter that SQLAlchemy renders per execution; its values
    # are fixed here, so expand it now (the run-time parameters get a stand-in value for that
    # step and stay placeholders).
    expanded = compiled.construct_expanded_state(dict.fromkeys(run_time, 0))
    fixed: dict[str, Any] = {}
    for name, value in expanded.parameters.items():
        processor = expanded.processors.get(name)
        if name not in run_time:
            fixed[name] = value if processor is None else processor(value)
        elif processor is not None:
            raise ValueError(f"parameter {name!r} needs SQLAlchemy's processing")
    for column in stmt.selected_columns:
        if _needs_processing(column.type):
            raise ValueError(
                f"column {column.name!r} ({column.type}) needs SQLAlchemy's processing"
            )
    return DriverStatement(
        sql=expanded.statement,
        fixed=fixed,
        names=frozenset(expanded.parameters),
        columns=tuple(str(c.name) for c in stmt.selected_columns),
    )


def _needs_processing(column_type: sa.types.TypeEngine[Any]) -> bool:
    """Whether SQLAlchemy would change psycopg's value of a column of this type. An array's
    own processor only makes lists of psycopg's lists; its items decide."""
    if isinstance(column_type, sa.ARRAY):
        return _needs_processing(column_type.item_type)
    impl = column_type.dialect_impl(_DIALECT)
    return impl.result_processor(_DIALECT, _type_oid(column_type)) is not None


def _type_oid(column_type: sa.types.TypeEngine[Any]) -> int | None:
    """The type PostgreSQL returns for a column of this type, where SQLAlchemy's processing
    depends on it (numbers: float8 and numeric come back from psycopg as float and Decimal, as
    SQLAlchemy would return them)."""
    if isinstance(column_type, sa.Float):
        return _FLOAT8_OID
    if isinstance(column_type, sa.Numeric):
        return _NUMERIC_OID
    return None


def _params(statement: DriverStatement, values: dict[str, Any]) -> dict[str, Any]:
    """The statement's fixed values and the run-time ``values`` it names; ValueError for a
    parameter left without one."""
    missing = statement.names - statement.fixed.keys() - values.keys()
    if missing:
        raise ValueError(f"no value for the parameters {sorted(missing)}")
    return {**statement.fixed, **{k: v for k, v in values.items() if k in statement.names}}


async def run_statement(
    conn: psycopg.AsyncConnection[Any], statement: DriverStatement, values: dict[str, Any]
) -> list[dict[str, Any]]:
    """Run a compiled statement with the run-time ``values``; every parameter must be set."""
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(statement.sql, _params(statement, values))
        return await cursor.fetchall()


async def run_statement_as(
    conn: psycopg.AsyncConnection[Any],
    statement: DriverStatement,
    values: dict[str, Any],
    cls: type[T],
    *extra: str,
    partial: bool = False,
) -> list[tuple[Any, ...]]:
    """:func:`run_statement`, each row as ``(cls(…), *extra columns)``: ``cls`` a dataclass built
    from the columns named as its fields, positionally; ``partial``: the statement selects only
    some of its fields, and the objects have only those attributes (a projection: only code
    that reads no other attribute may be given them). The positions come from the compiled
    statement's columns, once: psycopg's ``cursor.description`` would build 30 column objects
    per execution (a tenth of a near-me request's CPU)."""
    # A class is hashable; mypy 2 takes type objects for unhashable against lru_cache's Hashable.
    make = _row_maker(statement.columns, cls, extra, partial)  # type: ignore[arg-type]
    async with conn.cursor(row_factory=lambda _cursor: make) as cursor:
        await cursor.execute(statement.sql, _params(statement, values))
        return await cursor.fetchall()


@lru_cache(maxsize=COMPILED_CACHE_SIZE)
def _row_maker(
    columns: tuple[str, ...], cls: type[T], extra: tuple[str, ...], partial: bool = False
) -> RowMaker[tuple[Any, ...]]:
    names = [f.name for f in fields(cls) if not partial or f.name in columns]  # type: ignore[arg-type]
    missing = [n for n in (*names, *extra) if n not in columns]
    if missing:
        raise ValueError(f"{cls.__name__}: the statement selects no {missing}")
    positions = [columns.index(n) for n in names]
    # Fields first and in order (geo.queries.rows.in_field_order): no picking out needed.
    fields_of = _same if positions == list(range(len(names))) else _picker(positions)
    extras = [columns.index(n) for n in extra]
    build = _partial_builder(cls, names) if partial else _builder(cls, names)

    def make(row: Sequence[Any]) -> tuple[Any, ...]:
        return (build(fields_of(row)), *[row[i] for i in extras])

    return make


def _builder(cls: type[T], names: list[str]) -> Callable[[Sequence[Any]], T]:
    """``cls`` from its fields' values, in order (any values after them are not its). A frozen
    dataclass's ``__init__`` sets each field through ``object.__setattr__`` (29 calls for an
    activity): :func:`geo.queries.rows.filled_without_init` makes an equal object in under half
    the time, where ``__init__`` does nothing more (no ``__post_init__``, no slots)."""
    if hasattr(cls, "__post_init__") or "__slots__" in vars(cls):
        count = len(names)
        return lambda values: cls(*values[:count])

    def build(values: Sequence[Any]) -> T:
        # The fields' values first, maybe more after them (not its own).
        return filled_without_init(cls, zip(names, values, strict=False))

    return build


def _partial_builder(cls: type[T], names: list[str]) -> Callable[[Sequence[Any]], T]:
    """``cls`` with only the attributes ``names`` (a projection's row): never through its
    constructor, which would want every field."""
    if hasattr(cls, "__post_init__") or "__slots__" in vars(cls):
        raise ValueError(f"{cls.__name__} cannot be built with some of its fields")

    def build(values: Sequence[Any]) -> T:
        return filled_without_init(cls, zip(names, values, strict=False))

    return build


def _same(row: Sequence[Any]) -> Sequence[Any]:
    return row


def _picker(positions: list[int]) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """The values at ``positions``, as a sequence (itemgetter of one index gives no tuple)."""
    if len(positions) == 1:
        return lambda row: (row[positions[0]],)
    return itemgetter(*positions)
