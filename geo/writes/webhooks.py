"""Webhook subscriptions: an app or a municipality's system asks to be told of changes.

A subscription belongs to the key that made it: that key (or an admin) lists, resumes and
deletes it. Its filter (entry kinds, a municipality, activity categories) is checked here, its
URL by the caller (the API checks the scheme and host, geo knows nothing of HTTP). Its secret
is made here and shown once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from geo.tables import municipality, webhook_delivery, webhook_subscription
from geo.vocab import ActivityCategory, EntryKind, Role
from geo.writes import Actor, Forbidden, Invalid, NotFound
from geo.writes.audit import record_change

ENTITY = "WebhookSubscription"
#: Subscriptions one key may hold.
MAX_PER_KEY = 20


@dataclass(frozen=True)
class SubscriptionFilter:
    kinds: tuple[EntryKind, ...] = ()
    municipality_number: str | None = None
    categories: tuple[ActivityCategory, ...] = ()


def create_subscription(
    conn: sa.Connection, actor: Actor, url: str, wanted: SubscriptionFilter
) -> tuple[int, str]:
    """A new subscription of ``actor``'s key; its id and secret."""
    if actor.key_id is None:
        raise Forbidden("webhooks are subscribed with an API key")
    held = conn.execute(
        sa.select(sa.func.count()).where(
            webhook_subscription.c.owner_key_id == actor.key_id,
            webhook_subscription.c.deleted_at.is_(None),
        )
    ).scalar_one()
    if held >= MAX_PER_KEY:
        raise Invalid("url", f"a key holds at most {MAX_PER_KEY} subscriptions", held=held)
    number = wanted.municipality_number
    if number is not None and (
        conn.execute(
            sa.select(municipality.c.number).where(municipality.c.number == number)
        ).first()
        is None
    ):
        raise Invalid("municipality", f"no municipality {number!r} is loaded")
    secret = "whsec_" + secrets.token_urlsafe(32)
    subscription_id = int(
        conn.execute(
            sa.insert(webhook_subscription)
            .values(
                url=url,
                secret=secret,
                kinds=sorted(k.value for k in set(wanted.kinds)),
                municipality_number=number,
                categories=sorted(c.value for c in set(wanted.categories)),
                owner_key_id=actor.key_id,
            )
            .returning(webhook_subscription.c.id)
        ).scalar_one()
    )
    record_change(conn, actor, ENTITY, subscription_id, "create", None, {"url": url})
    return subscription_id, secret


def _owned(conn: sa.Connection, actor: Actor, subscription_id: int) -> None:
    owner = conn.execute(
        sa.select(webhook_subscription.c.owner_key_id)
        .where(
            webhook_subscription.c.id == subscription_id,
            webhook_subscription.c.deleted_at.is_(None),
        )
        .with_for_update()
    ).scalar()
    if owner is None or (owner != actor.key_id and actor.role is not Role.ADMIN):
        raise NotFound(f"no webhook subscription with id {subscription_id} of this key")


def resume_subscription(conn: sa.Connection, actor: Actor, subscription_id: int) -> int:
    """Deliver again after a pause; the pending deliveries go out, oldest first."""
    _owned(conn, actor, subscription_id)
    conn.execute(
        sa.update(webhook_subscription)
        .where(webhook_subscription.c.id == subscription_id)
        .values(paused_at=None, consecutive_failures=0)
    )
    record_change(conn, actor, ENTITY, subscription_id, "resume", None, None)
    return subscription_id


def delete_subscription(conn: sa.Connection, actor: Actor, subscription_id: int) -> int:
    """Stop for good: no more events are queued and the pending ones are dropped."""
    _owned(conn, actor, subscription_id)
    conn.execute(
        sa.update(webhook_subscription)
        .where(webhook_subscription.c.id == subscription_id)
        .values(deleted_at=sa.func.now())
    )
    conn.execute(
        sa.delete(webhook_delivery).where(
            webhook_delivery.c.subscription_id == subscription_id,
            webhook_delivery.c.status == "PENDING",
        )
    )
    record_change(conn, actor, ENTITY, subscription_id, "delete", None, None)
    return subscription_id
