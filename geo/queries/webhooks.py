"""Webhook subscriptions as their owners see them: filter, state, and how delivery goes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from geo.queries.rows import to_dataclass
from geo.tables import webhook_delivery, webhook_event, webhook_subscription
from geo.vocab import Role


@dataclass(frozen=True)
class SubscriptionRow:
    id: int
    url: str
    kinds: list[str]
    municipality_number: str | None
    categories: list[str]
    created_at: datetime
    paused_at: datetime | None
    consecutive_failures: int
    last_error: str | None
    last_error_at: datetime | None
    last_success_at: datetime | None
    pending: int
    delivered: int


@dataclass(frozen=True)
class DeliveryRow:
    subscription_id: int
    event_id: int
    entry_kind: str
    entry_id: int
    action: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None


def subscriptions(
    conn: sa.Connection, role: Role, key_id: int | None, subscription_id: int | None = None
) -> list[SubscriptionRow]:
    """The live subscriptions a key sees (its own; an admin's: all), with delivery counts."""
    s, d = webhook_subscription.c, webhook_delivery.c

    def counted(status: str) -> sa.ScalarSelect[int]:
        return (
            sa.select(sa.func.count())
            .where(d.subscription_id == s.id, d.status == status)
            .scalar_subquery()
        )

    stmt = (
        sa.select(
            *(c for c in webhook_subscription.c if c.name in SubscriptionRow.__dataclass_fields__),
            counted("PENDING").label("pending"),
            counted("DELIVERED").label("delivered"),
        )
        .where(s.deleted_at.is_(None))
        .order_by(s.id)
    )
    if role is not Role.ADMIN:
        stmt = stmt.where(s.owner_key_id == key_id)
    if subscription_id is not None:
        stmt = stmt.where(s.id == subscription_id)
    return [to_dataclass(SubscriptionRow, row) for row in conn.execute(stmt)]


def deliveries(conn: sa.Connection, subscription_id: int, first: int) -> list[DeliveryRow]:
    """A subscription's latest deliveries, newest first."""
    d, e = webhook_delivery.c, webhook_event.c
    rows = conn.execute(
        sa.select(
            d.subscription_id,
            d.event_id,
            d.entry_kind,
            d.entry_id,
            e.action,
            d.status,
            d.attempts,
            d.next_attempt_at,
            d.last_error,
            d.delivered_at,
        )
        .select_from(webhook_delivery.join(webhook_event, e.id == d.event_id))
        .where(d.subscription_id == subscription_id)
        .order_by(d.event_id.desc())
        .limit(first)
    )
    return [to_dataclass(DeliveryRow, row) for row in rows]
