"""Writing translations: set (create or replace) and remove one field's text in one language.

Who may: whoever may edit the entry (an activity's organisation editor, a venue's or an area
initiative's municipality editor, an admin). Versions: a new translation is set without one
(CONFLICT when one exists already), a replacement or removal at the translation's version; a
translator may also name the entry's version they read (``original_version``), and a CONFLICT
says when the original has moved on since. A translation records the entry's version and the
digest of the original text it translates (geo/queries/translations.py: what makes it outdated).
Each write leaves an audit row on the entry (entity ``Activity``, ``Venue``, ``AreaInitiative``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from geo import validation
from geo.queries.rows import AnyRow
from geo.queries.translations import digest_of
from geo.tables import TRANSLATED_FIELDS, TRANSLATION_TABLES, metadata
from geo.writes import Actor, Conflict, Invalid, NotFound, WriteError, scope
from geo.writes.audit import record_change

#: How the audit trail and errors name each kind of entry.
ENTITIES = {"activity": "Activity", "venue": "Venue", "area_initiative": "AreaInitiative"}
MAX_TRANSLATION = validation.MAX_DESCRIPTION
MAX_MADE_BY = 200


class TranslationConflict(WriteError):  # noqa: N818 - named after its code
    """The translation is not at the version the writer read (or exists, when it read none)."""

    code = "CONFLICT"

    def __init__(self, what: str, given: int | None, current: int) -> None:
        read = "no translation" if given is None else f"version {given}"
        super().__init__(
            f"{what} is at version {current}, and you read {read}: read it again, and send "
            "its version with your change",
            currentVersion=current,
            givenVersion=given,
        )


@dataclass(frozen=True)
class TranslationWrite:
    kind: str
    entry_id: int
    field: str
    language: str
    text: str | None = None
    machine_translated: bool = False
    made_by: str | None = None
    #: The translation's version the writer read; None: there is none yet.
    version: int | None = None
    #: The entry's version the translator read; None: the current one.
    original_version: int | None = None


def _entry(conn: sa.Connection, write: TranslationWrite) -> AnyRow:
    table = metadata.tables[write.kind]
    columns = [table.c.id, table.c.version, *(table.c[f] for f in TRANSLATED_FIELDS[write.kind])]
    scope_column = (
        table.c.organisation_id if write.kind == "activity" else table.c.municipality_number
    )
    row = conn.execute(
        sa.select(*columns, scope_column.label("scope")).where(table.c.id == write.entry_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no {ENTITIES[write.kind]} with id {write.entry_id}")
    return row


def _check_scope(actor: Actor, kind: str, entry: AnyRow) -> None:
    if kind == "activity":
        scope.organisation_row(actor, entry.scope, "activities")
    else:
        scope.municipality_row(actor, entry.scope, f"{kind.replace('_', ' ')}s")


def _existing(conn: sa.Connection, write: TranslationWrite) -> dict[str, Any] | None:
    t = TRANSLATION_TABLES[write.kind]
    row = conn.execute(
        sa.select(t)
        .where(
            t.c.entry_id == write.entry_id,
            t.c.field == write.field,
            t.c.language == write.language,
        )
        .with_for_update()
    ).one_or_none()
    return None if row is None else dict(row._mapping)


def _record(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {k: v for k, v in row.items() if k not in ("id", "created_at", "updated_at")}


def _checked(write: TranslationWrite) -> TranslationWrite:
    if write.field not in TRANSLATED_FIELDS[write.kind]:
        raise Invalid(
            "field",
            f"{ENTITIES[write.kind]} translates {', '.join(TRANSLATED_FIELDS[write.kind])}",
        )
    try:
        language = validation.language(write.language, "language")
        text = (
            None
            if write.text is None
            else validation.required_text(write.text, "text", max_length=MAX_TRANSLATION)
        )
        made_by = validation.optional_text(write.made_by, "made_by", max_length=MAX_MADE_BY)
    except validation.FieldError as error:
        raise Invalid(error.field, error.reason) from None
    return TranslationWrite(
        write.kind,
        write.entry_id,
        write.field,
        language,
        text,
        write.machine_translated,
        made_by,
        write.version,
        write.original_version,
    )


def set_translation(conn: sa.Connection, actor: Actor, write: TranslationWrite) -> int:
    """Create or replace one translation; its new version."""
    write = _checked(write)
    entry = _entry(conn, write)
    _check_scope(actor, write.kind, entry)
    entity = ENTITIES[write.kind]
    if write.original_version is not None and write.original_version != entry.version:
        raise Conflict(entity, write.entry_id, write.original_version, entry.version)
    original = getattr(entry, write.field)
    if original is None:
        raise Invalid("field", f"{entity} {write.entry_id} has no {write.field} to translate")
    existing = _existing(conn, write)
    what = f"the {write.language} {write.field} of {entity} {write.entry_id}"
    if existing is None and write.version is not None:
        raise NotFound(f"{what} has no translation: set it without a version")
    if existing is not None and write.version != existing["version"]:
        raise TranslationConflict(what, write.version, existing["version"])
    t = TRANSLATION_TABLES[write.kind]
    values = {
        "text": write.text,
        "machine_translated": write.machine_translated,
        "made_by": write.made_by or actor.label,
        "original_version": entry.version,
        "original_digest": digest_of(original),
    }
    if existing is None:
        stmt: Any = sa.insert(t).values(
            entry_id=write.entry_id, field=write.field, language=write.language, **values
        )
    else:
        stmt = (
            sa.update(t)
            .where(t.c.id == existing["id"])
            .values(**values, version=t.c.version + 1, updated_at=sa.func.now())
        )
    after = dict(conn.execute(stmt.returning(*t.c)).one()._mapping)
    record_change(
        conn, actor, entity, write.entry_id, "translate", _record(existing), _record(after)
    )
    return int(after["version"])


def remove_translation(conn: sa.Connection, actor: Actor, write: TranslationWrite) -> None:
    """Remove one translation at its version."""
    write = _checked(write)
    entry = _entry(conn, write)
    _check_scope(actor, write.kind, entry)
    entity = ENTITIES[write.kind]
    existing = _existing(conn, write)
    what = f"the {write.language} {write.field} of {entity} {write.entry_id}"
    if existing is None:
        raise NotFound(f"{what} has no translation")
    if write.version != existing["version"]:
        raise TranslationConflict(what, write.version, existing["version"])
    t = TRANSLATION_TABLES[write.kind]
    conn.execute(sa.delete(t).where(t.c.id == existing["id"]))
    record_change(
        conn, actor, entity, write.entry_id, "remove translation", _record(existing), None
    )
