"""References from a record to rows already in the directory: an organisation by its number, or
any row by (source, external_id). Shared by the loaders and the write API's bulk import."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from geo import validation as v
from geo.records import Fields

MAX_EXTERNAL_ID = 200


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


def organisation_ref(
    record: Fields, number_field: str, external_field: str, default_source: str
) -> Ref | None:
    """By a mod-11 checked organisation number, else by an external id; None when neither."""
    number = record.get(number_field)
    if number:
        checked = v.organisation_number(number, number_field)
        return Ref(number_field, checked, number=checked)
    text = v.optional_text(
        record.get(external_field), external_field, max_length=2 * MAX_EXTERNAL_ID
    )
    return external_ref(text, default_source, external_field) if text else None


@dataclass
class Resolved:
    rows: dict[tuple[str, str], Any] = field(default_factory=dict)
    by_number: dict[str, Any] = field(default_factory=dict)

    def find(self, ref: Ref) -> Any | None:
        if ref.number is not None:
            return self.by_number.get(ref.number)
        return next((self.rows[k] for k in ref.keys if k in self.rows), None)


def resolve(
    conn: sa.Connection,
    table: sa.Table,
    columns: Sequence[sa.ColumnElement[Any]],
    refs: Sequence[Ref],
) -> Resolved:
    """One query per kind of key for all references: the rows (with ``columns``) they name."""
    found = Resolved()
    keys = sorted({k for r in refs for k in r.keys})
    if keys:
        stmt = sa.select(table.c.source, table.c.external_id, *columns).where(
            sa.tuple_(table.c.source, table.c.external_id).in_(keys)
        )
        found.rows = {(r.source, r.external_id): r for r in conn.execute(stmt)}
    numbers = sorted({r.number for r in refs if r.number})
    if numbers:
        stmt = sa.select(table.c.organisation_number, *columns).where(
            table.c.organisation_number.in_(numbers)
        )
        found.by_number = {r.organisation_number: r for r in conn.execute(stmt)}
    return found
