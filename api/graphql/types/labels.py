"""`vocabularies`: the display labels of every vocabulary, in the reader's language."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from api.errors import BadUserInput
from geo.labels import VOCABULARIES, best_language, label_set

if TYPE_CHECKING:
    from api.graphql.context import Context

LANG_DESCRIPTION = (
    'The reader\'s languages in order, BCP 47 tags (e.g. ["prs", "fa", "en"]); without it, the '
    "request's Accept-Language. The first language with a text answers, else the original "
    "(Norwegian bokmål); docs/languages.md."
)


@strawberry.type(description="One value of a vocabulary and how to show it.")
class VocabularyLabel:
    value: str = strawberry.field(description="The enum value, as the API uses it.")
    label: str = strawberry.field(description="What to show a reader.")
    description: str | None = strawberry.field(
        description="A sentence more, where the label alone may be unclear."
    )


@strawberry.type(description="A vocabulary (a GraphQL enum) with its labels, in enum order.")
class Vocabulary:
    name: str = strawberry.field(description="The enum's name, e.g. ActivityCategory.")
    values: list[VocabularyLabel]


@strawberry.type(description="Every vocabulary's labels in one language.")
class VocabularyLabels:
    language: str = strawberry.field(description="The labels' language (BCP 47).")
    right_to_left: bool = strawberry.field(description="Whether it is written right to left.")
    translation: str = strawberry.field(
        description="Whose labels these are (the project's own translation, reviewed or not)."
    )
    list_separator: str = strawberry.field(
        description=(
            'What joins a list of values in a template (CoverageNote\'s otherKinds): ", ", or '
            '"، " in Arabic script.'
        )
    )
    vocabularies: list[Vocabulary]


def resolve_vocabularies(
    info: strawberry.Info[Context, None],
    lang: Annotated[list[str] | None, strawberry.argument(description=LANG_DESCRIPTION)] = None,
    names: Annotated[
        list[str] | None,
        strawberry.argument(description="Only these vocabularies (enum names); default all."),
    ] = None,
) -> VocabularyLabels:
    unknown = sorted(set(names or ()) - set(VOCABULARIES))
    if unknown:
        raise BadUserInput(
            f"no vocabulary {', '.join(unknown)}; known: {', '.join(VOCABULARIES)}",
            field="names",
        )
    labels = label_set(best_language(info.context.reader_languages(lang)))
    return VocabularyLabels(
        language=labels.language,
        right_to_left=labels.right_to_left,
        translation=labels.translation,
        list_separator=labels.list_separator,
        vocabularies=[
            Vocabulary(
                name=name,
                values=[
                    VocabularyLabel(value=v.value, label=v.label, description=v.description)
                    for v in values
                ],
            )
            for name, values in labels.vocabularies.items()
            if names is None or name in names
        ],
    )
