"""Fields about private persons (contact name, e-mail, phone; the free text of access reports):
who may read them. The public and other editors get null (no error: the rest of the object
is public), analysts and admins always get them, and an editor gets those of its own rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

import strawberry

from geo.vocab import Role

if TYPE_CHECKING:
    from api.guard.auth import Principal

_READERS = frozenset({Role.ANALYST, Role.ADMIN})


def may_read_private(
    principal: Principal,
    *,
    municipality_number: str | None = None,
    organisation_id: int | None = None,
) -> bool:
    """Analysts and admins; the editor of the row's municipality or organisation."""
    if principal.role in _READERS:
        return True
    if principal.role is Role.MUNICIPALITY_EDITOR:
        return (
            municipality_number is not None and municipality_number == principal.municipality_number
        )
    if principal.role is Role.ORGANISATION_EDITOR:
        return organisation_id is not None and organisation_id == principal.organisation_id
    return False


@strawberry.type(description="A contact person. Private: see the field that holds it.")
class Contact:
    name: str | None
    email: str | None
    phone: str | None


def contact_or_none(name: str | None, email: str | None, phone: str | None) -> Contact | None:
    if name is None and email is None and phone is None:
        return None
    return Contact(name=name, email=email, phone=phone)
