"""The three kinds of entry the public sees and editors vouch for (activities, venues, councils):
their tables, and who answers for each (its scope), in one place for verification, problem
reports and the quality figures."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from geo.tables import activity, immigrant_council, venue
from geo.vocab import EntryKind
from geo.writes import Actor, scope

TABLES: dict[EntryKind, sa.Table] = {
    EntryKind.ACTIVITY: activity,
    EntryKind.VENUE: venue,
    EntryKind.COUNCIL: immigrant_council,
}
#: How a kind is named in messages and in scope refusals.
PLURALS = {
    EntryKind.ACTIVITY: "activities",
    EntryKind.VENUE: "venues",
    EntryKind.COUNCIL: "councils",
}


@dataclass(frozen=True)
class EntryOwner:
    """An entry and what decides who answers for it."""

    kind: EntryKind
    id: int
    version: int
    archived_at: datetime | None
    municipality_number: str | None
    organisation_id: int | None
    #: A council's level (a county council is an admin's).
    level: str | None
    name: str


def _owner_columns(kind: EntryKind) -> list[sa.ColumnElement[Any]]:
    t = TABLES[kind]
    organisation = {
        EntryKind.ACTIVITY: activity.c.organisation_id,
        EntryKind.VENUE: venue.c.owner_organisation_id,
        EntryKind.COUNCIL: sa.null(),
    }[kind]
    level: sa.ColumnElement[Any] = (
        immigrant_council.c.level if kind is EntryKind.COUNCIL else sa.null()
    )
    name = activity.c.title if kind is EntryKind.ACTIVITY else t.c.name
    return [
        t.c.id,
        t.c.version,
        t.c.archived_at,
        t.c.municipality_number,
        organisation.label("organisation_id"),
        level.label("level"),
        name.label("name"),
    ]


def entry_owners(
    conn: sa.Connection, kind: EntryKind, ids: Iterable[int], *, lock: bool = False
) -> dict[int, EntryOwner]:
    """The entries of ``kind`` among ``ids`` that exist (locked for update with ``lock``)."""
    stmt = sa.select(*_owner_columns(kind)).where(TABLES[kind].c.id.in_(sorted(set(ids))))
    if lock:
        stmt = stmt.order_by(TABLES[kind].c.id).with_for_update()
    return {row.id: EntryOwner(kind=kind, **row._mapping) for row in conn.execute(stmt)}


def check_answers_for(actor: Actor, entry: EntryOwner) -> None:
    """FORBIDDEN unless ``actor`` may write ``entry`` (the rules of geo.writes.scope): a venue
    or council its municipality's editor, an activity its organisation's."""
    if entry.kind is EntryKind.ACTIVITY:
        scope.organisation_row(actor, entry.organisation_id, PLURALS[entry.kind])
    elif entry.kind is EntryKind.COUNCIL:
        scope.council_row(actor, entry.level, entry.municipality_number)
    else:
        scope.municipality_row(actor, entry.municipality_number, PLURALS[entry.kind])


def actor_tag(actor: Actor) -> str:
    """Who verified, as the public may see it: the kind of key and its scope, no label (a
    key's label may name a person)."""
    if actor.municipality_number is not None:
        return f"{actor.role.value} {actor.municipality_number}"
    if actor.organisation_id is not None:
        return f"{actor.role.value} {actor.organisation_id}"
    return actor.role.value
