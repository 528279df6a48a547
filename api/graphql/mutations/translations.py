"""`setTranslation` and `removeTranslation`: one text of an activity, venue or area initiative in
one language (geo/writes/translations.py: who may, versions, the audit row)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from api.checks import decode_global_id
from api.errors import BadUserInput
from api.graphql.mutations.common import InputNames, actor_of, write
from api.graphql.types.translation import TranslatedField, Translation, translation_of
from geo.languages import normalised_tag
from geo.queries.translations import translations
from geo.writes.translations import (
    ENTITIES,
    TranslationWrite,
    remove_translation,
    set_translation,
)

if TYPE_CHECKING:
    from api.graphql.context import Context

#: global id type name → the kind of entry (its table).
_KINDS = {entity: kind for kind, entity in ENTITIES.items()}
_NAMES = InputNames(
    columns={"entry": "entry_id"},
    paths={
        "field": "input.field",
        "language": "input.language",
        "text": "input.text",
        "made_by": "input.madeBy",
        "entry_id": "input.entry",
    },
)


@strawberry.input(description="One text of an entry in one language.")
class TranslationInput:
    entry: strawberry.ID = strawberry.field(
        description="The activity's, venue's or area initiative's global id."
    )
    field: TranslatedField
    language: str = strawberry.field(description="BCP 47 tag (normalised: prs → fa-AF).")
    text: str = strawberry.field(description="The translated text (at most 5,000 characters).")
    machine_translated: bool | None = strawberry.field(
        default=None, description="Made by a machine (readers are told so); null: no."
    )
    made_by: str | None = strawberry.field(
        default=None, description="Who made it (a translator, a service); default: the key's label."
    )
    version: int | None = strawberry.field(
        default=None,
        description=(
            "The translation's version you read, to replace it; null to add one that does not "
            "exist yet (a CONFLICT when it does)."
        ),
    )
    original_version: int | None = strawberry.field(
        default=None,
        description=(
            "The entry's version whose text you translated: a CONFLICT when the entry has "
            "changed since (read the original again). Null: the current one."
        ),
    )


@strawberry.input(description="Which translation to remove, at its version.")
class RemoveTranslationInput:
    entry: strawberry.ID
    field: TranslatedField
    language: str
    version: int = strawberry.field(description="The translation's version you read.")


@strawberry.type(description="The translation as it is after the write (null once removed).")
class TranslationPayload:
    translation: Translation | None


def _entry(global_id: str) -> tuple[str, int]:
    type_name, key = decode_global_id(global_id)
    kind = _KINDS.get(type_name)
    if kind is None or not key.isdigit() or len(key) > 18:
        raise BadUserInput(
            f"{global_id!r} is not the id of an activity, a venue or an area initiative",
            field="input.entry",
        )
    return kind, int(key)


async def _payload(context: Context, request: TranslationWrite) -> TranslationPayload:
    rows = await context.run_primary(translations, {request.kind: [request.entry_id]})
    for row in rows:
        if row.field == request.field and row.language == request.language:
            return TranslationPayload(translation=translation_of(row))
    return TranslationPayload(translation=None)


async def resolve_set_translation(
    info: strawberry.Info[Context, None], input: TranslationInput
) -> TranslationPayload:
    actor = actor_of(info.context)
    kind, entry_id = _entry(input.entry)
    request = TranslationWrite(
        kind=kind,
        entry_id=entry_id,
        field=input.field.value,
        language=input.language,
        text=input.text,
        machine_translated=bool(input.machine_translated),
        made_by=input.made_by,
        version=input.version,
        original_version=input.original_version,
    )
    await write(info.context, actor, _NAMES, set_translation, request)
    return await _payload(info.context, _normalised(request))


async def resolve_remove_translation(
    info: strawberry.Info[Context, None],
    input: Annotated[RemoveTranslationInput, strawberry.argument()],
) -> TranslationPayload:
    actor = actor_of(info.context)
    kind, entry_id = _entry(input.entry)
    request = TranslationWrite(
        kind=kind,
        entry_id=entry_id,
        field=input.field.value,
        language=input.language,
        version=input.version,
    )
    await write(info.context, actor, _NAMES, remove_translation, request)
    return TranslationPayload(translation=None)


def _normalised(request: TranslationWrite) -> TranslationWrite:
    """The request with its language as stored (the write checked it already)."""
    return TranslationWrite(
        request.kind, request.entry_id, request.field, normalised_tag(request.language)
    )
