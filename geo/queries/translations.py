"""Translations of the directory's texts: which exist, which are outdated, which a reader gets.

A translation is outdated when the original it was made from is no longer the original: its
``original_digest`` (md5 of the original text then) differs from the md5 of the text now. So an
edit that leaves the text alone (a new time, a new venue) outdates nothing, and an edit of the
title outdates the title's translations only. md5 here is a fingerprint, not a security
measure; PostgreSQL's ``md5()`` and :func:`digest_of` agree on UTF-8 text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from geo.languages import ORIGINAL_LANGUAGE, first_available
from geo.queries.driver import driver_statement, run_statement_as
from geo.queries.rows import filled_without_init, in_field_order
from geo.tables import TRANSLATED_FIELDS, TRANSLATION_TABLES, metadata

#: The kinds of entry with translations, as their tables are named.
ENTRY_KINDS = tuple(TRANSLATED_FIELDS)


@dataclass(frozen=True)
class TranslationRow:
    kind: str
    entry_id: int
    field: str
    language: str
    text: str
    machine_translated: bool
    made_by: str
    original_version: int
    outdated: bool
    version: int
    #: None where it was not read (a near-me page's translations).
    updated_at: datetime | None


def digest_of(text: str | None) -> str | None:
    """What ``original_digest`` holds for an original ``text`` (None for no text)."""
    return None if text is None else hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324


def _original(kind: str, field: str) -> sa.Column[Any]:
    return metadata.tables[kind].c[field]


def _leg(kind: str, *, by_language: bool) -> sa.Select[Any]:
    """One kind's translations of the entries ``{kind}_ids`` (and in ``languages``)."""
    t = TRANSLATION_TABLES[kind]
    entry = metadata.tables[kind]
    original_digest = sa.case(
        *(
            (t.c.field == field, sa.func.md5(_original(kind, field)))
            for field in TRANSLATED_FIELDS[kind]
        )
    )
    conditions = [
        t.c.entry_id == sa.func.any(sa.bindparam(f"{kind}_ids", type_=ARRAY(sa.BigInteger)))
    ]
    if by_language:
        conditions.append(
            t.c.language == sa.func.any(sa.bindparam("languages", type_=ARRAY(sa.Text)))
        )
    columns = {
        "kind": sa.literal(kind, sa.Text).label("kind"),
        "entry_id": t.c.entry_id,
        "field": t.c.field,
        "language": t.c.language,
        "text": t.c.text,
        "machine_translated": t.c.machine_translated,
        "made_by": t.c.made_by,
        "original_version": t.c.original_version,
        "outdated": t.c.original_digest.is_distinct_from(original_digest).label("outdated"),
        "version": t.c.version,
        "updated_at": t.c.updated_at,
    }
    return (
        sa.select(*in_field_order(TranslationRow, list(columns.values())))
        .select_from(t.join(entry, entry.c.id == t.c.entry_id))
        .where(*conditions)
    )


@lru_cache(maxsize=16)
def translations_statement(kinds: tuple[str, ...], *, by_language: bool) -> sa.Select[Any]:
    """The translations of entries of ``kinds``, one leg per kind, in one round trip; bound:
    ``{kind}_ids`` per kind, and ``languages`` when ``by_language``."""
    legs = [_leg(kind, by_language=by_language) for kind in kinds]
    rows = (legs[0] if len(legs) == 1 else sa.union_all(*legs)).subquery("translation")
    return sa.select(*rows.c).order_by(rows.c.kind, rows.c.entry_id, rows.c.field, rows.c.language)


def _values(ids: Mapping[str, Sequence[int]], languages: Sequence[str] | None) -> dict[str, Any]:
    values: dict[str, Any] = {f"{kind}_ids": list(entry_ids) for kind, entry_ids in ids.items()}
    if languages is not None:
        values["languages"] = list(languages)
    return values


async def translations_on_driver(
    conn: psycopg.AsyncConnection[Any],
    ids: Mapping[str, Sequence[int]],
    languages: Sequence[str] | None = None,
) -> list[TranslationRow]:
    """The translations of the entries ``ids`` (by kind), only in ``languages`` when given."""
    kinds = tuple(kind for kind in ENTRY_KINDS if ids.get(kind))
    if not kinds:
        return []
    statement = driver_statement(translations_statement(kinds, by_language=languages is not None))
    rows = await run_statement_as(conn, statement, _values(ids, languages), TranslationRow)
    return [row for (row,) in rows]


def translations(
    conn: sa.Connection, ids: Mapping[str, Sequence[int]], languages: Sequence[str] | None = None
) -> list[TranslationRow]:
    """:func:`translations_on_driver` through SQLAlchemy (tests, exports, the primary)."""
    kinds = tuple(kind for kind in ENTRY_KINDS if ids.get(kind))
    if not kinds:
        return []
    stmt = translations_statement(kinds, by_language=languages is not None)
    return [TranslationRow(**row._mapping) for row in conn.execute(stmt, _values(ids, languages))]


#: What :func:`with_translations` reads of a translation, in order (a JSON array per row).
COMPACT_FIELDS = (
    "field",
    "language",
    "text",
    "machine_translated",
    "made_by",
    "original_version",
    "original_digest",
    "version",
)


@lru_cache(maxsize=256)
def with_translations(stmt: sa.Select[Any], kind: str) -> sa.Select[Any]:
    """``stmt`` (a near-me statement selecting from ``kind``'s table) with its rows'
    ``translations`` column: every translation of the row, a JSON array of
    :data:`COMPACT_FIELDS` arrays that migration 0005's triggers keep, read from the row the
    statement reads anyway (no other table, no other round trip). Whether one is outdated is for
    the caller to tell, from the original it has (:func:`compact_rows`)."""
    return stmt.add_columns(metadata.tables[kind].c.translations.label("translations"))


_FIELD, _LANGUAGE = COMPACT_FIELDS.index("field"), COMPACT_FIELDS.index("language")


def language_rank(order: Sequence[str]) -> dict[str, int]:
    """Each language of a reader's ``order`` by its place in it (for :func:`compact_choice`)."""
    return {language: position for position, language in enumerate(order)}


def compact_choice(
    kind: str,
    entry: Any,
    found: Sequence[Sequence[Any]],
    rank: Mapping[str, int],
    fields: Collection[str] | None = None,
) -> dict[str, TranslationRow]:
    """Of :func:`with_translations`' arrays of one entry, per field the one a reader gets
    whose languages ``rank`` orders (:func:`language_rank`), as a row (outdated where the
    entry's original, its attribute per field, is not the one translated); only those are
    built (a page's hot path), and only of ``fields`` when given (what a selection reads)."""
    best: dict[str, Sequence[Any]] = {}
    for values in found:
        position = rank.get(values[_LANGUAGE])
        if position is None or (fields is not None and values[_FIELD] not in fields):
            continue
        held = best.get(values[_FIELD])
        if held is None or position < rank[held[_LANGUAGE]]:
            best[values[_FIELD]] = values
    chosen = {}
    for field, values in best.items():
        item = dict(zip(COMPACT_FIELDS, values, strict=True))
        item["outdated"] = item.pop("original_digest") != digest_of(getattr(entry, field))
        item.update(kind=kind, entry_id=entry.id, updated_at=None)
        chosen[field] = filled_without_init(TranslationRow, item)
    return chosen


Chosen = dict[tuple[str, int], dict[str, TranslationRow]]


def chosen_texts(rows: Sequence[TranslationRow], order: Sequence[str]) -> Chosen:
    """For each entry (kind, id), per field, the translation a reader of ``order`` gets: the
    first of ``order`` that has one (a field none has is answered by the original)."""
    by_field: dict[tuple[str, int, str], dict[str, TranslationRow]] = {}
    for row in rows:
        by_field.setdefault((row.kind, row.entry_id, row.field), {})[row.language] = row
    chosen: Chosen = {}
    for (kind, entry_id, field), by_language in by_field.items():
        language = first_available(order, by_language)
        if language is not None:
            chosen.setdefault((kind, entry_id), {})[field] = by_language[language]
    return chosen


def translated_text(
    kind: str, field: str, entry_id: ColumnElement[int], order: Sequence[str]
) -> tuple[ColumnElement[str], ColumnElement[str]]:
    """For a bulk read (an export): ``field``'s text in the first language of ``order`` that
    has it, else the original, and that text's language (nb for the original; null when there
    is no text). Correlated subqueries on the translations' unique (entry, field, language)
    index; ``order`` is fixed in the statement."""
    t = TRANSLATION_TABLES[kind].alias(f"{field}_translation")
    original = _original(kind, field)
    rank = sa.func.array_position(sa.literal(list(order), ARRAY(sa.Text)), t.c.language)
    best = (
        sa.select(t.c.text, t.c.language)
        .where(t.c.entry_id == entry_id, t.c.field == field, t.c.language.in_(list(order)))
        .order_by(rank)
        .limit(1)
    )
    chosen_text = best.with_only_columns(t.c.text).scalar_subquery()
    chosen_language = best.with_only_columns(t.c.language).scalar_subquery()
    text = sa.func.coalesce(chosen_text, original)
    language = sa.case(
        (original.is_(None), sa.null()), else_=sa.func.coalesce(chosen_language, ORIGINAL_LANGUAGE)
    )
    return text, language
