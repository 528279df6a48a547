"""Translated texts: what a reader gets (`titleText`, …), every translation (`translations`), and
the step that puts a reader's language into the entries a resolver returns (:func:`localize`).

Localising rewrites the entries' plain text attributes (`title`, `description`, …) in place and
keeps the chosen translations on them, so `title` answers in the reader's language for every
path, the compiled near-me path included (api/graphql/compiled.py reads attributes, and the
`…Text` fields are resolvers of the object alone, which it runs too). `translations` needs a
DataLoader: a query that asks for it takes strawberry's path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import strawberry

from api.graphql.projection import RowField
from geo.languages import ORIGINAL_LANGUAGE, right_to_left
from geo.queries.translations import TranslationRow, chosen_texts

if TYPE_CHECKING:
    from api.graphql.context import Context

LANG_DESCRIPTION = (
    'The reader\'s languages in order, BCP 47 tags (e.g. ["prs", "fa", "en"]); without it, the '
    "request's Accept-Language. Each translatable text answers in the first of them that has "
    "a translation (Dari → Persian, Nynorsk → Bokmål, …), else in the original (Norwegian "
    "bokmål); its `…Text` field says which. docs/languages.md."
)
Lang = Annotated[list[str] | None, strawberry.argument(description=LANG_DESCRIPTION)]


@strawberry.enum(description="The texts of an entry that can be translated.")
class TranslatedField(Enum):
    TITLE = "title"
    DESCRIPTION = "description"
    PRICE_NOTE = "price_note"


@strawberry.type(
    description=(
        "A text as the reader gets it: in which language, and whether it is the original, a "
        'machine translation (say "automatisk oversatt", or show the original beside it) or '
        "an outdated one (the original changed since it was translated)."
    )
)
class LocalizedText:
    text: str
    language: str = strawberry.field(description="The text's language (BCP 47).")
    original: bool = strawberry.field(description="The original text, not a translation.")
    machine_translated: bool
    outdated: bool = strawberry.field(
        description="A translation of an earlier original: kept and served until it is updated."
    )
    right_to_left: bool = strawberry.field(description="Written right to left (set dir=rtl).")


@strawberry.type(description="One translation of one text of an entry.")
class Translation:
    field: TranslatedField
    language: str = strawberry.field(description="BCP 47 tag.")
    text: str
    machine_translated: bool
    made_by: str = strawberry.field(description="Who made it (a translator, a tool, a key).")
    outdated: bool = strawberry.field(
        description="The original has changed since: served, flagged, until updated."
    )
    right_to_left: bool
    original_version: int = strawberry.field(
        description="The entry's version whose text it translates."
    )
    version: int = strawberry.field(description="Its own version, for replacing or removing it.")
    updated_at: datetime


class Translatable(Protocol):
    """What the localised types share (Activity, Venue, AreaInitiative)."""

    TRANSLATION_KIND: str
    db_id: int
    #: None until localised with a translation: every text is the original.
    translated: Mapping[str, TranslationRow] | None


def original_text(text: str | None) -> LocalizedText | None:
    if text is None:
        return None
    return LocalizedText(
        text=text,
        language=ORIGINAL_LANGUAGE,
        original=True,
        machine_translated=False,
        outdated=False,
        right_to_left=False,
    )


def text_of(entry: Any, field: str, text: str | None) -> LocalizedText | None:
    """``field``'s text as the reader got it: its translation, else the original ``text``.
    ``entry``: an API object, or a geo row (:func:`translated_row`; a row without
    ``translated`` is read in its original)."""
    translated = getattr(entry, "translated", None)
    row = None if translated is None else translated.get(field)
    if row is None:
        return original_text(text)
    return LocalizedText(
        text=row.text,
        language=row.language,
        original=False,
        machine_translated=row.machine_translated,
        outdated=row.outdated,
        right_to_left=right_to_left(row.language),
    )


def translation_of(row: TranslationRow) -> Translation:
    return Translation(
        field=TranslatedField(row.field),
        language=row.language,
        text=row.text,
        machine_translated=row.machine_translated,
        made_by=row.made_by,
        outdated=row.outdated,
        right_to_left=right_to_left(row.language),
        original_version=row.original_version,
        version=row.version,
        updated_at=row.updated_at,
    )


async def translations_of(
    info: strawberry.Info[Context, None], entry: Translatable
) -> list[Translation]:
    rows = await info.context.translations.load((entry.TRANSLATION_KIND, entry.db_id))
    return [translation_of(row) for row in rows]


async def localize(context: Context, entries: Sequence[Any], lang: list[str] | None = None) -> None:
    """Put the reader's language (``lang``, else what the request said) into ``entries``:
    those of a translatable type get their translated texts, the others are left alone. The
    request's lists are read together (a DataLoader); nothing is read when the reader reads
    the original."""
    order = context.reading_order(lang)
    translatable = [e for e in entries if hasattr(e, "TRANSLATION_KIND")]
    if not order or not translatable:
        return
    found = await context.translations_in.load_many(
        [(entry.TRANSLATION_KIND, entry.db_id, order) for entry in translatable]
    )
    apply_translations(translatable, chosen_texts([r for rows in found for r in rows], order))


def localized_field(field: str) -> RowField:
    """The ``…Text`` resolver of ``field`` read from a geo row (api.graphql.projection), as
    the API object's resolver reads it: the compiled path renders it without the object."""
    return RowField((field,), lambda row: text_of(row, field, getattr(row, field)))


def translate_row(row: Any, texts: Mapping[str, TranslationRow]) -> None:
    """A geo row of this request, as a reader of other languages gets it, for the compiled
    path: its texts replaced by their translations, which it keeps (``translated``) for the
    ``…Text`` fields. In place: the row is this request's own, and its class stays what the
    compiled path renders it by."""
    vars(row).update({field: chosen.text for field, chosen in texts.items()}, translated=texts)


def apply_translations(
    entries: Sequence[Any], chosen: Mapping[tuple[str, int], dict[str, TranslationRow]]
) -> None:
    for entry in entries:
        texts = chosen.get((entry.TRANSLATION_KIND, entry.db_id))
        if texts:
            entry.translated = texts
            for field, row in texts.items():
                setattr(entry, field, row.text)
