"""Child rows (availability windows, schedules, exceptions) kept in step with their parent
without rewriting what did not change; shared by the loaders and the write API."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY


def _ids(ids: Iterable[int]) -> sa.BindParameter[list[int]]:
    """One array parameter (``= ANY(:ids)``), however many ids."""
    return sa.literal(sorted(ids), ARRAY(sa.BigInteger))


def sync_children(
    conn: sa.Connection,
    table: sa.Table,
    parent: str,
    columns: Sequence[str],
    wanted: dict[int, list[tuple[Any, ...]]],
) -> set[int]:
    """Make each parent's child rows equal ``wanted[parent]`` (tuples of ``columns``), touching
    only the parents whose rows differ; returns those parents' ids."""
    if not wanted:
        return set()
    parent_column = table.c[parent]
    have: dict[int, Counter[tuple[Any, ...]]] = {}
    rows = conn.execute(
        sa.select(parent_column, *(table.c[c] for c in columns)).where(
            parent_column == sa.any_(_ids(wanted))
        )
    )
    for row in rows:
        have.setdefault(row[0], Counter())[tuple(row[1:])] += 1
    changed = {
        pid for pid, children in wanted.items() if Counter(children) != have.get(pid, Counter())
    }
    if changed:
        conn.execute(sa.delete(table).where(parent_column == sa.any_(_ids(changed))))
        inserts = [
            {parent: pid, **dict(zip(columns, child, strict=True))}
            for pid in sorted(changed)
            for child in wanted[pid]
        ]
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
        .values(version=table.c.version + 1, updated_at=sa.func.now())
    )
    return int(result.rowcount)
