"""Webhook subscriptions as their owners see them, with how delivery goes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from api.checks import b64encode_text
from api.graphql.mutations.common import actor_of
from api.graphql.types.problem_report import EntryKind
from api.graphql.types.vocab import ActivityCategory
from geo.queries.webhooks import DeliveryRow, SubscriptionRow, deliveries, subscriptions

if TYPE_CHECKING:
    from api.graphql.context import Context

TYPE_NAME = "WebhookSubscription"
MAX_DELIVERIES = 100


def subscription_global_id(subscription_id: int) -> str:
    return b64encode_text(f"{TYPE_NAME}:{subscription_id}")


@strawberry.type(description="One change sent (or to be sent) to a subscriber.")
class WebhookDelivery:
    event_id: str = strawberry.field(
        description="The `Hverdag-Event-Id` header: the same on every attempt."
    )
    type: str = strawberry.field(description='"venue.updated", "activity.archived", …')
    entry_id: strawberry.ID
    status: str = strawberry.field(description="PENDING or DELIVERED.")
    attempts: int
    next_attempt_at: datetime | None = strawberry.field(description="When pending.")
    last_error: str | None
    delivered_at: datetime | None

    @classmethod
    def from_row(cls, row: DeliveryRow) -> WebhookDelivery:
        node = {"ACTIVITY": "Activity", "VENUE": "Venue", "COUNCIL": "ImmigrantCouncil"}
        return cls(
            event_id=str(row.event_id),
            type=f"{row.entry_kind.lower()}.{row.action}",
            entry_id=strawberry.ID(b64encode_text(f"{node[row.entry_kind]}:{row.entry_id}")),
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at if row.status == "PENDING" else None,
            last_error=row.last_error,
            delivered_at=row.delivered_at,
        )


@strawberry.type(description="An endpoint told of every change its filter matches.")
class WebhookSubscription:
    db_id: strawberry.Private[int]
    id: strawberry.ID
    url: str
    kinds: list[EntryKind]  # type: ignore[valid-type]
    municipality: str | None
    categories: list[ActivityCategory]  # type: ignore[valid-type]
    created_at: datetime
    paused: bool = strawberry.field(
        description=(
            "Paused after HVERDAG_WEBHOOK_PAUSE_AFTER failures running: changes are kept, and "
            "sent once resumed (`resumeWebhookSubscription`)."
        )
    )
    paused_at: datetime | None
    consecutive_failures: int
    last_error: str | None
    last_error_at: datetime | None
    last_success_at: datetime | None
    pending: int = strawberry.field(description="Deliveries not yet taken by the subscriber.")
    delivered: int

    @classmethod
    def from_row(cls, row: SubscriptionRow) -> WebhookSubscription:
        return cls(
            db_id=row.id,
            id=strawberry.ID(subscription_global_id(row.id)),
            url=row.url,
            kinds=[EntryKind[k] for k in row.kinds],
            municipality=row.municipality_number,
            categories=[ActivityCategory[c] for c in row.categories],
            created_at=row.created_at,
            paused=row.paused_at is not None,
            paused_at=row.paused_at,
            consecutive_failures=row.consecutive_failures,
            last_error=row.last_error,
            last_error_at=row.last_error_at,
            last_success_at=row.last_success_at,
            pending=row.pending,
            delivered=row.delivered,
        )

    @strawberry.field(description="The latest deliveries, newest first.")
    async def deliveries(
        self,
        info: strawberry.Info[Context, None],
        first: Annotated[
            int | None, strawberry.argument(description="At most 100; null: 20.")
        ] = 20,
    ) -> list[WebhookDelivery]:
        size = max(0, min(20 if first is None else first, MAX_DELIVERIES))
        rows = await info.context.run_primary(deliveries, self.db_id, size)
        return [WebhookDelivery.from_row(row) for row in rows]


async def resolve_webhook_subscriptions(
    info: strawberry.Info[Context, None],
) -> list[WebhookSubscription]:
    actor = actor_of(info.context)
    rows = await info.context.run_primary(subscriptions, actor.role, actor.key_id)
    return [WebhookSubscription.from_row(row) for row in rows]
