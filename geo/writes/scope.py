"""Who may write what (the issue's roles): one rule per kind of row, checked before a change (on
the row as it is) and after it (on the row as it would be)."""

from __future__ import annotations

from geo.vocab import CouncilLevel, Role
from geo.writes import Actor, Forbidden

_READ_ONLY = f"a {Role.ANALYST.value} key reads everything but writes nothing"


def municipality_row(actor: Actor, number: str | None, what: str) -> None:
    """Venues and councils: an admin, or the editor of the municipality the row lies in."""
    if actor.role is Role.ADMIN:
        return
    if actor.role is Role.ANALYST:
        raise Forbidden(_READ_ONLY)
    if actor.role is not Role.MUNICIPALITY_EDITOR:
        raise Forbidden(
            f"{what} are written by their municipality's editor, not by a {actor.role.value} key"
        )
    if number != actor.municipality_number:
        where = f"municipality {number}" if number else "no municipality"
        raise Forbidden(
            f"this key edits {what} of municipality {actor.municipality_number}; "
            f"this one is in {where}",
            municipality=number,
        )


def council_row(actor: Actor, level: str | None, number: str | None) -> None:
    """Councils: a county council an admin's; any other an admin's, or the editor's of the
    municipality it serves (as venues). A municipality editor's refusal names ``level``."""
    if level == CouncilLevel.COUNTY and actor.role is Role.MUNICIPALITY_EDITOR:
        raise Forbidden(
            f"county councils are written by {Role.ADMIN.value} keys; this key edits the "
            f"councils of municipality {actor.municipality_number}",
            field="level",
            reason="a county council",
        )
    municipality_row(actor, number, "councils")


def organisation_row(actor: Actor, organisation_id: int | None, what: str) -> None:
    """Activities and access reports: an admin, or the editor of the organisation they are of."""
    if actor.role is Role.ADMIN:
        return
    if actor.role is Role.ANALYST:
        raise Forbidden(_READ_ONLY)
    if actor.role is not Role.ORGANISATION_EDITOR:
        raise Forbidden(
            f"{what} are written by their organisation's editor, not by a {actor.role.value} key"
        )
    if organisation_id != actor.organisation_id:
        raise Forbidden(f"this key edits {what} of its own organisation only")


def admin(actor: Actor, what: str) -> None:
    if actor.role is not Role.ADMIN:
        raise Forbidden(f"{what} is for {Role.ADMIN.value} keys")
