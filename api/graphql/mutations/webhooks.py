"""Subscribing to changes by webhook: create, resume, delete (any key, its own)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from api.checks import municipality_number
from api.delivery import check_url
from api.errors import NotFound
from api.graphql.mutations.common import InputNames, actor_of, db_id, write
from api.graphql.types.problem_report import EntryKind
from api.graphql.types.vocab import ActivityCategory
from api.graphql.types.webhook import TYPE_NAME, WebhookSubscription
from geo import vocab
from geo.queries.webhooks import subscriptions
from geo.writes.webhooks import (
    SubscriptionFilter,
    create_subscription,
    delete_subscription,
    resume_subscription,
)

if TYPE_CHECKING:
    from api.graphql.context import Context

_NAMES = InputNames(paths={"municipality": "input.municipality", "url": "input.url"})
SubscriptionId = Annotated[strawberry.ID, strawberry.argument(description="The subscription.")]


@strawberry.input(
    description=(
        "Where to send changes and which: every filter given must hold (none: every change)."
    )
)
class WebhookSubscriptionInput:
    url: str = strawberry.field(description="An HTTPS URL of a public host.")
    kinds: list[EntryKind] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="ACTIVITY, VENUE, COUNCIL; default all."
    )
    municipality: str | None = strawberry.field(
        default=None, description='Entries in (or moving out of) this municipality, e.g. "0301".'
    )
    categories: list[ActivityCategory] | None = strawberry.field(  # type: ignore[valid-type]
        default=None,
        description="Activities of these categories, venues suiting one (councils: none).",
    )


@strawberry.type(description="The new subscription and its signing secret, shown only now.")
class CreateWebhookSubscriptionPayload:
    subscription: WebhookSubscription
    secret: str = strawberry.field(
        description="HMAC-SHA256 key of the `Hverdag-Signature` header: keep it; not shown again."
    )


@strawberry.type(description="The subscription after the change.")
class WebhookSubscriptionPayload:
    subscription: WebhookSubscription | None = strawberry.field(description="Null once deleted.")


async def _subscription(context: Context, subscription_id: int) -> WebhookSubscription:
    actor = actor_of(context)
    rows = await context.run_primary(subscriptions, actor.role, actor.key_id, subscription_id)
    if not rows:
        raise NotFound(f"no webhook subscription with id {subscription_id} of this key")
    return WebhookSubscription.from_row(rows[0])


async def resolve_create_webhook_subscription(
    info: strawberry.Info[Context, None], input: WebhookSubscriptionInput
) -> CreateWebhookSubscriptionPayload:
    actor = actor_of(info.context)
    url = check_url(input.url.strip(), info.context.webhook_allow_loopback)
    wanted = SubscriptionFilter(
        kinds=tuple(vocab.EntryKind(k.value) for k in input.kinds or ()),
        municipality_number=None
        if input.municipality is None
        else municipality_number(input.municipality, field="input.municipality"),
        categories=tuple(vocab.ActivityCategory(c.value) for c in input.categories or ()),
    )
    subscription_id, secret = await write(
        info.context, actor, _NAMES, create_subscription, url, wanted
    )
    return CreateWebhookSubscriptionPayload(
        subscription=await _subscription(info.context, subscription_id), secret=secret
    )


async def resolve_resume_webhook_subscription(
    info: strawberry.Info[Context, None], id: SubscriptionId
) -> WebhookSubscriptionPayload:
    actor = actor_of(info.context)
    subscription_id = db_id(id, TYPE_NAME, "id")
    await write(info.context, actor, None, resume_subscription, subscription_id)
    return WebhookSubscriptionPayload(
        subscription=await _subscription(info.context, subscription_id)
    )


async def resolve_delete_webhook_subscription(
    info: strawberry.Info[Context, None], id: SubscriptionId
) -> WebhookSubscriptionPayload:
    actor = actor_of(info.context)
    await write(info.context, actor, None, delete_subscription, db_id(id, TYPE_NAME, "id"))
    return WebhookSubscriptionPayload(subscription=None)
