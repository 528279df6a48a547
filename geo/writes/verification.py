"""Verifying entries: an editor confirms an activity, venue or council true as it stands.

Verification moves ``last_verified_at`` and ``verified_by`` only: the entry's content, version
and ``updated_at`` stay (it did not change), and an audit row records who vouched. A batch is
all-or-nothing: one entry that does not exist, is archived, lies outside the key's scope or
moved on from the version given, and none is verified.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from geo.entries import TABLES, actor_tag, check_answers_for, entry_owners
from geo.vocab import EntryKind
from geo.writes import Actor, Conflict, NotFound, WriteError
from geo.writes.audit import record_change

#: Most entries one call verifies.
MAX_BATCH = 500

#: Audit rows name the entry as the other writes do.
ENTITIES = {
    EntryKind.ACTIVITY: "Activity",
    EntryKind.VENUE: "Venue",
    EntryKind.COUNCIL: "ImmigrantCouncil",
}


@dataclass(frozen=True)
class Confirmation:
    """An entry to verify, at the version the editor read (None: whatever it is now)."""

    kind: EntryKind
    id: int
    version: int | None = None


def verify_entries(
    conn: sa.Connection, actor: Actor, confirmations: Sequence[Confirmation]
) -> list[Confirmation]:
    """Mark every entry verified now by ``actor``; the entries, in the order given."""
    if not confirmations:
        raise WriteError("no entries to verify", field="entries", reason="empty")
    if len(confirmations) > MAX_BATCH:
        raise WriteError(
            f"at most {MAX_BATCH} entries a call, not {len(confirmations)}",
            field="entries",
            reason="too many",
        )
    by_kind: dict[EntryKind, list[Confirmation]] = defaultdict(list)
    for confirmation in confirmations:
        by_kind[confirmation.kind].append(confirmation)
    for kind in EntryKind:  # one order of locks for every caller
        wanted = by_kind.get(kind)
        if wanted:
            _verify_kind(conn, actor, kind, wanted)
    return list(confirmations)


def _verify_kind(
    conn: sa.Connection, actor: Actor, kind: EntryKind, wanted: list[Confirmation]
) -> None:
    owners = entry_owners(conn, kind, [c.id for c in wanted], lock=True)
    for confirmation in wanted:
        owner = owners.get(confirmation.id)
        if owner is None:
            raise NotFound(
                f"no {ENTITIES[kind]} with id {confirmation.id}", entryId=confirmation.id
            )
        check_answers_for(actor, owner)
        if owner.archived_at is not None:
            raise WriteError(
                f"{ENTITIES[kind]} {owner.id} is archived: restore it to vouch for it",
                reason="archived",
            )
        if confirmation.version is not None and confirmation.version != owner.version:
            raise Conflict(ENTITIES[kind], owner.id, confirmation.version, owner.version)
    table = TABLES[kind]
    ids = sorted(owners)
    tag = actor_tag(actor)
    verified = conn.execute(
        sa.update(table)
        .where(table.c.id.in_(ids))
        .values(last_verified_at=sa.func.now(), verified_by=tag)
        .returning(table.c.id, table.c.last_verified_at)
    ).all()
    for row in verified:
        record_change(
            conn,
            actor,
            ENTITIES[kind],
            row.id,
            "verify",
            None,
            {"last_verified_at": row.last_verified_at, "verified_by": tag},
        )
