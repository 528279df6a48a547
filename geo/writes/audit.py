"""The audit trail: one row per write (who, when, which row, what it was before and after),
written in the write's own transaction, so there is no change without its record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from geo.tables import audit_log
from geo.writes import Actor


def jsonable(value: Any) -> Any:
    """A row's value as JSON: dates and times as ISO text, amounts as text (exact)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def record_change(
    conn: sa.Connection,
    actor: Actor,
    entity: str,
    entity_id: int,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    conn.execute(
        sa.insert(audit_log).values(
            actor_key_id=actor.key_id,
            actor=actor.label,
            entity=entity,
            entity_id=str(entity_id),
            action=action,
            before=None if before is None else jsonable(before),
            after=None if after is None else jsonable(after),
        )
    )


def record_changes(
    conn: sa.Connection,
    actor: Actor,
    entity: str,
    changes: list[tuple[int, str, dict[str, Any] | None, dict[str, Any] | None]],
) -> None:
    """:func:`record_change` for many rows at once, ``(entity_id, action, before, after)``
    each: one multi-row insert, where an import's row-by-row audit took most of its time."""
    if not changes:
        return
    conn.execute(
        sa.insert(audit_log),
        [
            {
                "actor_key_id": actor.key_id,
                "actor": actor.label,
                "entity": entity,
                "entity_id": str(entity_id),
                "action": action,
                "before": None if before is None else jsonable(before),
                "after": None if after is None else jsonable(after),
            }
            for entity_id, action, before, after in changes
        ],
    )


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor_key_id: int | None
    actor: str
    entity: str
    entity_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def audit_trail(conn: sa.Connection, entity: str, entity_id: int) -> list[AuditEntry]:
    """Every recorded write of one row, oldest first."""
    rows = conn.execute(
        sa.select(audit_log)
        .where(audit_log.c.entity == entity, audit_log.c.entity_id == str(entity_id))
        .order_by(audit_log.c.at, audit_log.c.id)
    )
    return [AuditEntry(**r._mapping) for r in rows]
