"""`auditLog(entity, id)`: every write of one row, for admins."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from api.errors import Forbidden
from api.graphql.mutations.common import actor_of, db_id
from geo.vocab import Role
from geo.writes.audit import audit_trail

if TYPE_CHECKING:
    from api.graphql.context import Context


@strawberry.enum(description="The kinds of row the audit trail records.")
class AuditEntity(Enum):
    VENUE = "Venue"
    ACTIVITY = "Activity"
    IMMIGRANT_COUNCIL = "ImmigrantCouncil"
    VENUE_ACCESS_REPORT = "VenueAccessReport"
    AREA_INITIATIVE = "AreaInitiative"


@strawberry.type(
    description="One write: who (the API key), when, what, and the row before "
    "and after (JSON, the loader's column names; null before a "
    "create)."
)
class AuditEntry:
    at: datetime
    actor_key_id: int | None = strawberry.field(description="The API key's id (`keys list`).")
    actor: str = strawberry.field(description="The API key's label.")
    action: str = strawberry.field(
        description="create, update, archive, restore, import, translate or remove translation."
    )
    before: JSON | None
    after: JSON | None


async def resolve_audit_log(
    info: strawberry.Info[Context, None],
    entity: AuditEntity,
    id: Annotated[strawberry.ID, strawberry.argument(description="The row's global id.")],
) -> list[AuditEntry]:
    if actor_of(info.context).role is not Role.ADMIN:
        raise Forbidden("the audit log is for ADMIN keys", reason="not an admin key")
    entries = await info.context.run(audit_trail, entity.value, db_id(id, entity.value, "id"))
    return [
        AuditEntry(
            at=e.at,
            actor_key_id=e.actor_key_id,
            actor=e.actor,
            action=e.action,
            before=e.before,
            after=e.after,
        )
        for e in entries
    ]
