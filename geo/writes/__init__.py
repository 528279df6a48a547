"""The write side of the directory: one module per domain type (venues, activities, councils,
access reports), each function one unit of work on the caller's transaction.

Every write function takes the :class:`Actor` (who, with what role and scope), checks the scope
before and after the change, changes a row only at the version the caller read
(``UPDATE … WHERE id = :id AND version = :v``), and leaves one audit row. It raises a
:class:`WriteError` (its ``code`` is the API's ``extensions.code``) and then the caller rolls
the transaction back, so a refused write changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from geo.vocab import Role


@dataclass(frozen=True)
class Actor:
    """Who writes: an API key's id and label, its role and its scope."""

    key_id: int | None
    label: str
    role: Role
    municipality_number: str | None = None
    organisation_id: int | None = None


class WriteError(Exception):
    """A write refused; ``details`` (field, reason, currentVersion, …) go to the client."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Invalid(WriteError):  # noqa: N818 - named after what it says
    """A field's value is wrong; ``field`` is the record's key (the table's column, or
    ``lat``, ``lon``, ``location``, ``venue``, ``organisation``), which the API turns into its
    input's path."""

    def __init__(self, field: str, reason: str, **details: Any) -> None:
        super().__init__(f"{field}: {reason}", field=field, reason=reason, **details)
        #: Every wrong field of the record, (field, reason), when it was checked whole.
        self.fields: list[tuple[str, str]] = []


class Forbidden(WriteError):  # noqa: N818 - named after its code
    code = "FORBIDDEN"


class NotFound(WriteError):  # noqa: N818 - named after its code
    code = "NOT_FOUND"


class Conflict(WriteError):  # noqa: N818 - named after its code
    """The row changed since the caller read it: ``currentVersion`` says to what."""

    code = "CONFLICT"

    def __init__(self, entity: str, entity_id: int, given: int, current: int) -> None:
        super().__init__(
            f"{entity} {entity_id} is at version {current}, not {given}: read it again, "
            "apply your change to what is there now, and send that version",
            currentVersion=current,
            givenVersion=given,
        )
