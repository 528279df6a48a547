"""Idempotent upserts by a natural key: what every directory loader writes with.

One statement per batch: ``INSERT … ON CONFLICT (key) DO UPDATE … WHERE the row differs``, so
an unchanged row is neither rewritten nor re-versioned, and ``RETURNING`` tells inserts
(``xmax = 0``) from updates. Rows the statement does not return were unchanged.

A table with ``last_verified_at`` (activities, venues, councils): a load vouches for every row
it carries, changed or not, so each gets ``last_verified_at = now()`` and ``verified_by`` its
source; an unchanged row's version and ``updated_at`` stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

BATCH = 1000
EXTERNAL_KEY = ("source", "external_id")


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    #: Each input row's id, in input order (unchanged rows too), for child tables.
    ids: list[int] = field(default_factory=list)


def upsert(
    conn: sa.Connection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    key: Sequence[str] = EXTERNAL_KEY,
) -> UpsertCounts:
    """Insert new rows, update changed ones (bumping ``version``), leave equal ones alone.

    ``key`` names the columns of a unique constraint; rows must not repeat a key.
    """
    counts = UpsertCounts()
    for start in range(0, len(rows), BATCH):
        _upsert_batch(conn, table, rows[start : start + BATCH], tuple(key), counts)
    return counts


def _key_of(row: Any, key: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(row[k] for k in key)


def _upsert_batch(
    conn: sa.Connection,
    table: sa.Table,
    batch: Sequence[dict[str, Any]],
    key: tuple[str, ...],
    counts: UpsertCounts,
) -> None:
    verifies = "last_verified_at" in table.c
    written = [c for c in batch[0] if c not in key]
    rows = [{**r, "verified_by": r.get("source")} for r in batch] if verifies else list(batch)
    insert_rows = insert(table).values(rows)
    differs = sa.tuple_(*(table.c[c] for c in written)).is_distinct_from(
        sa.tuple_(*(insert_rows.excluded[c] for c in written))
    )
    verified = (
        {"last_verified_at": sa.func.now(), "verified_by": insert_rows.excluded.verified_by}
        if verifies
        else {}
    )
    stmt = insert_rows.on_conflict_do_update(
        index_elements=[table.c[k] for k in key],
        set_={
            **{c: insert_rows.excluded[c] for c in written},
            "version": table.c.version + 1,
            "updated_at": sa.func.now(),
            **verified,
        },
        where=differs,
    ).returning(
        table.c.id,
        *(table.c[k] for k in key),
        (sa.column("xmax", sa.Integer) == 0).label("inserted"),
    )
    returned = {_key_of(row._mapping, key): row for row in conn.execute(stmt)}
    missing = [_key_of(r, key) for r in batch if _key_of(r, key) not in returned]
    existing = _ids_of(conn, table, key, missing)
    if verifies and existing:
        _verify_unchanged(conn, table, sorted(existing.values()))
    for row in batch:
        hit = returned.get(_key_of(row, key))
        if hit is None:
            counts.unchanged += 1
            counts.ids.append(existing[_key_of(row, key)])
        else:
            counts.inserted += int(hit.inserted)
            counts.updated += int(not hit.inserted)
            counts.ids.append(hit.id)


def _ids_of(
    conn: sa.Connection, table: sa.Table, key: tuple[str, ...], keys: list[tuple[Any, ...]]
) -> dict[tuple[Any, ...], int]:
    if not keys:
        return {}
    columns = [table.c[k] for k in key]
    rows = conn.execute(sa.select(table.c.id, *columns).where(sa.tuple_(*columns).in_(keys)))
    return {_key_of(r._mapping, key): r.id for r in rows}


def _verify_unchanged(conn: sa.Connection, table: sa.Table, ids: list[int]) -> None:
    """The load re-imported these rows as they are: that verifies them, by their source."""
    conn.execute(
        sa.update(table)
        .where(table.c.id.in_(ids))
        .values(last_verified_at=sa.func.now(), verified_by=table.c.source)
    )
