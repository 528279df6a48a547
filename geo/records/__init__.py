"""Directory records checked field by field: the one place where a venue, an activity or a
council is validated, for the loaders (a CSV line, a GeoJSON feature) and the write API (a
GraphQL input) alike. A record is anything with ``get(name)``; each function returns row values
or raises :class:`geo.validation.FieldError` naming the field.
"""

from __future__ import annotations

from typing import Any, Protocol

from geo import validation as v


class Fields(Protocol):
    """A record's fields by the table's column names (a loader maps a file's other names to
    them); missing: empty or None."""

    def get(self, name: str) -> Any: ...


def text(record: Fields, name: str, max_length: int = v.MAX_SHORT) -> str | None:
    return v.optional_text(record.get(name), name, max_length=max_length)


def flag(record: Fields, name: str) -> bool:
    return bool(v.boolean(record.get(name), name))
