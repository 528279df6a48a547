"""Problem reports: anyone reports a problem with an entry; its owner resolves it.

A report stores no address of its sender, only a salted hash (the API's rate limit keys on the
same hash); the contact a reporter may leave is private. Resolving "confirmed closed" may
archive the entry in the same transaction, by the rules and with the audit of the entry's own
archive (so a key that may not archive it cannot resolve the report that way either).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from geo.entries import check_answers_for, entry_owners
from geo.tables import MAX_PROBLEM_CONTACT, MAX_PROBLEM_MESSAGE, problem_report
from geo.vocab import EntryKind, ProblemKind, ProblemOutcome, ProblemStatus
from geo.writes import Actor, Invalid, NotFound, WriteError
from geo.writes.activities import set_activity_archived
from geo.writes.audit import record_change
from geo.writes.councils import set_council_archived
from geo.writes.venues import set_venue_archived
from geo.writes.verification import ENTITIES

ENTITY = "ProblemReport"
_ARCHIVE = {
    EntryKind.ACTIVITY: set_activity_archived,
    EntryKind.VENUE: set_venue_archived,
    EntryKind.COUNCIL: set_council_archived,
}


def _text(value: str | None, field: str, most: int, *, required: bool) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise Invalid(field, "must not be empty")
        return None
    if len(text) > most:
        raise Invalid(field, f"at most {most} characters, got {len(text)}")
    return text


def report_problem(
    conn: sa.Connection,
    entry_kind: EntryKind,
    entry_id: int,
    kind: ProblemKind,
    message: str,
    contact: str | None,
    reporter_hash: bytes,
) -> int:
    """A new open report of a live entry; its id."""
    text = _text(message, "message", MAX_PROBLEM_MESSAGE, required=True)
    reach = _text(contact, "contact", MAX_PROBLEM_CONTACT, required=False)
    owner = entry_owners(conn, entry_kind, [entry_id]).get(entry_id)
    if owner is None or owner.archived_at is not None:
        raise NotFound(
            f"no {ENTITIES[entry_kind]} with id {entry_id}"
            + (" (it is archived)" if owner is not None else ""),
            field="entry",
        )
    return int(
        conn.execute(
            sa.insert(problem_report)
            .values(
                entry_kind=entry_kind.value,
                entry_id=entry_id,
                kind=kind.value,
                message=text,
                contact=reach,
                reporter_hash=reporter_hash,
            )
            .returning(problem_report.c.id)
        ).scalar_one()
    )


def _report(conn: sa.Connection, report_id: int) -> dict[str, Any]:
    found = conn.execute(
        sa.select(problem_report).where(problem_report.c.id == report_id).with_for_update()
    ).first()
    if found is None:
        raise NotFound(f"no problem report with id {report_id}")
    return {k: v for k, v in found._mapping.items() if k != "reporter_hash"}


def _audited(report: dict[str, Any]) -> dict[str, Any]:
    """A report as the audit trail keeps it: without the reporter's private contact."""
    return {k: v for k, v in report.items() if k != "contact"}


def resolve_problem_report(
    conn: sa.Connection,
    actor: Actor,
    report_id: int,
    outcome: ProblemOutcome,
    note: str | None,
    archive_entry: bool = False,
) -> int:
    """Close an open report with its outcome, by the entry's editor (or an admin); with
    ``archive_entry`` (outcome CONFIRMED_CLOSED only) the entry is archived too."""
    before = _report(conn, report_id)
    entry_kind = EntryKind(before["entry_kind"])
    owner = entry_owners(conn, entry_kind, [before["entry_id"]]).get(before["entry_id"])
    if owner is None:
        raise NotFound(f"the entry of problem report {report_id} no longer exists")
    check_answers_for(actor, owner)
    if before["status"] != ProblemStatus.OPEN:
        raise WriteError(f"problem report {report_id} is resolved already", reason="resolved")
    if archive_entry:
        if outcome is not ProblemOutcome.CONFIRMED_CLOSED:
            raise Invalid("archiveEntry", "archives only with the outcome CONFIRMED_CLOSED")
        if owner.archived_at is None:
            _ARCHIVE[entry_kind](conn, actor, owner.id, owner.version, True)
    resolution = _text(note, "note", MAX_PROBLEM_MESSAGE, required=False)
    conn.execute(
        sa.update(problem_report)
        .where(problem_report.c.id == report_id)
        .values(
            status=ProblemStatus.RESOLVED.value,
            outcome=outcome.value,
            resolution_note=resolution,
            resolved_by=actor.label,
            resolved_at=sa.func.now(),
        )
    )
    after = _report(conn, report_id)
    record_change(conn, actor, ENTITY, report_id, "resolve", _audited(before), _audited(after))
    return report_id
