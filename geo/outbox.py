"""The webhook outbox's delivery side: take due deliveries, record how they went.

Deliveries are written by the triggers of migration 0006, in the transaction of the change.
A worker (api.delivery) *leases* a batch: it marks the deliveries taken until a deadline and
commits, so no transaction stays open while it calls subscribers, and a worker killed mid-way
loses nothing: its leases run out and another worker (or itself, restarted) takes them again.
That is at-least-once: a delivery whose answer came but whose success was not recorded goes
out again, with the same event id.

Order per entry: a delivery is due only when no earlier delivery of the same entry to the same
subscription is pending, so a subscriber sees an entry's changes in the order they committed,
even across retries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from geo.tables import webhook_delivery, webhook_event, webhook_subscription

PENDING, DELIVERED = "PENDING", "DELIVERED"
#: The longest error text kept (a subscriber's error page can be large).
MAX_ERROR = 500


@dataclass(frozen=True)
class Due:
    """A leased delivery and what its request needs."""

    delivery_id: int
    subscription_id: int
    url: str
    secret: str
    event_id: int
    entry_kind: str
    entry_id: int
    action: str
    version: int
    municipality_number: str | None
    occurred_at: datetime
    attempts: int


def lease_due(conn: sa.Connection, batch: int, lease: timedelta) -> list[Due]:
    """Up to ``batch`` due deliveries of live, unpaused subscriptions, oldest event first,
    leased for ``lease``: skipped by other workers (SKIP LOCKED) and by later calls until the
    lease runs out."""
    d, s, e = webhook_delivery.c, webhook_subscription.c, webhook_event.c
    now = sa.func.now()
    # An idle worker's question, read-only and cheap (the partial index of due deliveries).
    if (
        conn.execute(
            sa.select(d.id).where(d.status == PENDING, d.next_attempt_at <= now).limit(1)
        ).first()
        is None
    ):
        return []
    earlier = webhook_delivery.alias("earlier")
    due = (
        sa.select(d.id)
        .select_from(webhook_delivery.join(webhook_subscription, s.id == d.subscription_id))
        .where(
            d.status == PENDING,
            d.next_attempt_at <= now,
            sa.or_(d.leased_until.is_(None), d.leased_until < now),
            s.paused_at.is_(None),
            s.deleted_at.is_(None),
            ~sa.exists().where(
                earlier.c.subscription_id == d.subscription_id,
                earlier.c.entry_kind == d.entry_kind,
                earlier.c.entry_id == d.entry_id,
                earlier.c.event_id < d.event_id,
                earlier.c.status == PENDING,
            ),
        )
        .order_by(d.event_id)
        .limit(batch)
        .with_for_update(of=webhook_delivery, skip_locked=True)
    )
    leased = (
        conn.execute(
            sa.update(webhook_delivery)
            .where(d.id.in_(due.scalar_subquery()))
            .values(leased_until=now + lease)
            .returning(d.id)
        )
        .scalars()
        .all()
    )
    if not leased:
        return []
    rows = conn.execute(
        sa.select(
            d.id.label("delivery_id"),
            d.subscription_id,
            s.url,
            s.secret,
            d.event_id,
            d.entry_kind,
            d.entry_id,
            e.action,
            e.version,
            e.municipality_number,
            e.occurred_at,
            d.attempts,
        )
        .select_from(
            webhook_delivery.join(webhook_subscription, s.id == d.subscription_id).join(
                webhook_event, e.id == d.event_id
            )
        )
        .where(d.id.in_(leased))
        .order_by(d.event_id)
    )
    return [Due(**row._mapping) for row in rows]


def record_success(conn: sa.Connection, due: Due) -> None:
    conn.execute(
        sa.update(webhook_delivery)
        .where(webhook_delivery.c.id == due.delivery_id)
        .values(
            status=DELIVERED,
            delivered_at=sa.func.now(),
            attempts=webhook_delivery.c.attempts + 1,
            leased_until=None,
            last_error=None,
        )
    )
    conn.execute(
        sa.update(webhook_subscription)
        .where(webhook_subscription.c.id == due.subscription_id)
        .values(consecutive_failures=0, last_success_at=sa.func.now())
    )


def retry_delay(attempts: int, base_s: float, most_s: float) -> float:
    """Exponential back-off: ``base_s`` after the first failure, doubling, at most ``most_s``."""
    return float(min(most_s, base_s * 2 ** max(0, attempts - 1)))


def record_failure(
    conn: sa.Connection,
    due: Due,
    error: str,
    *,
    base_s: float,
    most_s: float,
    pause_after: int,
) -> bool:
    """Schedule the next attempt with back-off; pause the subscription once it has failed
    ``pause_after`` times running. True when this failure paused it."""
    attempts = due.attempts + 1
    delay = timedelta(seconds=retry_delay(attempts, base_s, most_s))
    text = error[:MAX_ERROR]
    conn.execute(
        sa.update(webhook_delivery)
        .where(webhook_delivery.c.id == due.delivery_id)
        .values(
            attempts=attempts,
            next_attempt_at=sa.func.now() + delay,
            leased_until=None,
            last_error=text,
        )
    )
    failures = conn.execute(
        sa.update(webhook_subscription)
        .where(webhook_subscription.c.id == due.subscription_id)
        .values(
            consecutive_failures=webhook_subscription.c.consecutive_failures + 1,
            last_error=text,
            last_error_at=sa.func.now(),
        )
        .returning(webhook_subscription.c.consecutive_failures)
    ).scalar_one()
    if failures >= pause_after:
        paused = conn.execute(
            sa.update(webhook_subscription)
            .where(
                webhook_subscription.c.id == due.subscription_id,
                webhook_subscription.c.paused_at.is_(None),
            )
            .values(paused_at=sa.func.now())
            .returning(webhook_subscription.c.id)
        ).first()
        return paused is not None
    return False
