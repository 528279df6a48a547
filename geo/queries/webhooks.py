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

    def counted(status: str) -> sa.ScalarSelect[int]:
        return (
            sa.select(sa.func.count())
            .where(
                webhook_delivery.c.subscription_id == webhook_subscription.c.id,
                webhook_delivery.c.status == status,
            )
            .scalar_subquery()
        )

    stmt = (
        sa.select(
            *(c for c in webhook_subscription.c if c.name in SubscriptionRow.__dataclass_fields__),
            counted("PENDING").label("pending"),
            counted("DELIVERED").label("delivered"),
        )
        .where(webhook_subscription.c.deleted_at.is_(None))
        .order_by(webhook_subscription.c.id)
    )
    if role is not Role.ADMIN:
        stmt = stmt.where(webhook_subscription.c.owner_key_id == key_id)
    if subscription_id is not None:
        stmt = stmt.where(webhook_subscription.c.id == subscription_id)
    return [to_dataclass(SubscriptionRow, row) for row in conn.execute(stmt)]


def deliveries(conn: sa.Connection, subscription_id: int, first: int) -> list[DeliveryRow]:
    """A subscription's latest deliveries, newest first."""
    rows = conn.execute(
        sa.select(
            webhook_delivery.c.subscription_id,
            webhook_delivery.c.event_id,
            webhook_delivery.c.entry_kind,
            webhook_delivery.c.entry_id,
            webhook_event.c.action,
            webhook_delivery.c.status,
            webhook_delivery.c.attempts,
            webhook_delivery.c.next_attempt_at,
            webhook_delivery.c.last_error,
            webhook_delivery.c.delivered_at,
        )
        .select_from(
            webhook_delivery.join(webhook_event, webhook_event.c.id == webhook_delivery.c.event_id)
        )
        .where(webhook_delivery.c.subscription_id == subscription_id)
        .order_by(webhook_delivery.c.event_id.desc())
        .limit(first)
    )
    return [to_dataclass(DeliveryRow, row) for row in rows]
