"""How an API type's attributes are built from a geo row, and from which of its columns.

One table per type (e.g. ``Activity``'s in api/graphql/types/activity.py) serves both paths:
``from_row`` builds every attribute from a whole row (strawberry's path), and the compiled path
(api.graphql.compiled) renders the fields of its selection straight from the rows, in one pass
(no API object in between), after geo selected only the columns those fields need (a near-me
answer of four fields read 30 columns, the private contact fields among them). A selection
reading anything the table does not know (a resolver that checks the caller, like
``contact``) is not :meth:`RowTable.readable`: API objects from whole rows, as before.
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
    """A type's attributes built from a row: ``fields`` by attribute name; ``resolvers``: the
    value of each resolver of the object alone (``id``) from the row, by its Python name."""

    def __init__(self, fields: Mapping[str, RowField], resolvers: Mapping[str, RowField]) -> None:
        self._fields = dict(fields)
        self._items = tuple(self._fields.items())
        self._readable = {**self._fields, **resolvers}

    def values(self, row: Any, **given: Any) -> dict[str, Any]:
        """Every attribute from a whole row; ``given`` ones as they are (a location already
        transformed in a batch)."""
        values = {name: field.build(row) for name, field in self._items if name not in given}
        values.update(given)
        return values

    def readable(self, reads: Collection[str]) -> bool:
        """Whether every field and resolver a selection reads (by Python name) can be read
        from a row."""
        return all(name in self._readable for name in reads)

    def reader(self, name: str) -> Callable[[Any], Any]:
        """The value of the field or resolver ``name`` from a row that holds its columns."""
        return self._readable[name].build

    def columns(self, reads: Collection[str]) -> frozenset[str]:
        """The row columns those fields and resolvers are built from."""
        return frozenset(c for name in reads for c in self._readable[name].columns)
