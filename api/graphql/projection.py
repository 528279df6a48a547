"""How an API type's attributes are built from a geo row, and from which of its columns.

One table per type (e.g. ``Activity``'s in api/graphql/types/activity.py) serves both paths:
``from_row`` builds every attribute from a whole row (strawberry's path), and the compiled path
(api.graphql.compiled) asks the table which columns the attributes its selection reads need,
has geo select only those (a near-me answer of four fields read 30 columns, the private contact
fields among them), and builds only those attributes. An attribute the table does not know
(a resolver reading the object) makes :meth:`RowTable.columns` answer None: every column.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any


@dataclass(frozen=True)
class RowField:
    """An attribute's value from a row, and the row columns it reads."""

    columns: tuple[str, ...]
    build: Callable[[Any], Any]


def column(name: str, convert: Callable[[Any], Any] | None = None) -> RowField:
    """The attribute is the row's column ``name``, converted by ``convert`` when given."""
    get = attrgetter(name)
    if convert is None:
        return RowField((name,), get)
    return RowField((name,), lambda row: convert(get(row)))


class RowTable:
    """A type's attributes built from a row: ``fields`` by attribute name; ``resolvers``:
    the attributes each resolver of the object alone reads (``id`` reads ``db_id``)."""

    def __init__(
        self, fields: Mapping[str, RowField], resolvers: Mapping[str, tuple[str, ...]]
    ) -> None:
        self._fields = dict(fields)
        self._items = tuple(self._fields.items())
        self._resolvers = dict(resolvers)

    def values(self, row: Any, **given: Any) -> dict[str, Any]:
        """Every attribute from a whole row; ``given`` ones as they are (a location already
        transformed in a batch)."""
        values = {name: field.build(row) for name, field in self._items if name not in given}
        values.update(given)
        return values

    def some_values(self, row: Any, attributes: Collection[str], **given: Any) -> dict[str, Any]:
        """Only ``attributes`` (and ``given``), from a row that may hold only their columns."""
        values = {
            name: self._fields[name].build(row)
            for name in attributes
            if name not in given and name in self._fields
        }
        values.update(given)
        return values

    def attributes(self, reads: Collection[str]) -> frozenset[str] | None:
        """The attributes behind what a selection reads (fields and resolvers by Python
        name); None when one of them is not in the table."""
        out: set[str] = set()
        for name in reads:
            if name in self._fields:
                out.add(name)
            elif name in self._resolvers:
                out.update(self._resolvers[name])
            else:
                return None
        return frozenset(out)

    def columns(self, attributes: Collection[str]) -> frozenset[str]:
        """The row columns those attributes are built from."""
        return frozenset(c for name in attributes for c in self._fields[name].columns)
