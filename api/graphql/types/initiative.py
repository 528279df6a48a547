"""The AreaInitiative type (områdesatsing) and the `areaInitiatives` / `areaInitiative` queries."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Annotated, ClassVar

import strawberry
from strawberry.scalars import JSON

from api.checks import SLUG, NodeType, decode_global_id
from api.checks import simplify_meters as checked_tolerance
from api.errors import BadUserInput
from api.graphql.relay import NodeKind
from api.graphql.types.entry import DirectoryEntry, municipality_of, stamps
from api.graphql.types.translation import (
    Lang,
    LocalizedText,
    Translation,
    localize,
    text_of,
    translations_of,
)
from geo.queries.areas import InitiativeRow, all_initiatives, initiative_boundaries
from geo.queries.translations import TranslationRow

if TYPE_CHECKING:
    from api.graphql.context import Context
    from api.graphql.types.municipality import Municipality


@strawberry.type(
    description=(
        "An area initiative (områdesatsing): a part of a city where the state and the "
        "municipality work together on living conditions, e.g. Groruddalen."
    )
)
class AreaInitiative(DirectoryEntry):
    NODE_TYPE: ClassVar[str] = NodeType.AREA_INITIATIVE

    db_id: strawberry.Private[int]
    municipality_number: strawberry.Private[str | None]
    slug: str = strawberry.field(description='Stable short name, e.g. "groruddalen".')
    name: str
    description: str | None
    period_start: date | None
    period_end: date | None
    TRANSLATION_KIND: ClassVar[str] = "area_initiative"
    #: The translations the reader gets, by field (api.graphql.types.translation.localize).
    translated: strawberry.Private[Mapping[str, TranslationRow] | None] = None

    @strawberry.field(description="`description` with its language and state.")
    def description_text(self) -> LocalizedText | None:
        return text_of(self, "description", self.description)

    @strawberry.field(description="Every translation of its description, by language.")
    async def translations(self, info: strawberry.Info[Context, None]) -> list[Translation]:
        return await translations_of(info, self)

    def node_type_name(self) -> str:
        return self.NODE_TYPE

    def node_key(self) -> str:
        return str(self.db_id)

    @classmethod
    def from_row(cls, row: InitiativeRow) -> AreaInitiative:
        return cls(
            db_id=row.id,
            municipality_number=row.municipality_number,
            slug=row.slug,
            name=row.name,
            description=row.description,
            period_start=row.period_start,
            period_end=row.period_end,
            **stamps(row),
        )

    @strawberry.field(description="The municipality it lies in.")
    async def municipality(
        self, info: strawberry.Info[Context, None]
    ) -> Annotated[Municipality, strawberry.lazy("api.graphql.types.municipality")] | None:
        return await municipality_of(info, self.municipality_number)

    @strawberry.field(description="Its area as GeoJSON (RFC 7946), the union of its districts.")
    async def boundary(
        self,
        info: strawberry.Info[Context, None],
        simplify_meters: Annotated[
            float | None,
            strawberry.argument(
                description="Simplify first, with this tolerance in metres (0-10000)."
            ),
        ] = None,
    ) -> JSON | None:
        shapes = await info.context.run(
            initiative_boundaries, [self.db_id], checked_tolerance(simplify_meters)
        )
        return shapes.get(self.db_id)


async def resolve_area_initiatives(
    info: strawberry.Info[Context, None], lang: Lang = None
) -> list[AreaInitiative]:
    info.context.reading_order(lang)  # checked before any read
    found = [AreaInitiative.from_row(r) for r in await info.context.run(all_initiatives)]
    await localize(info.context, found, lang)
    return found


async def find_initiative(context: Context, key: str) -> InitiativeRow | None:
    """By global id or by slug ("groruddalen"); BAD_USER_INPUT for anything else."""
    if SLUG.fullmatch(key):
        return await context.loaders.directory.initiative_by_slug.load(key)
    type_name, db_key = decode_global_id(key)
    if type_name != AreaInitiative.NODE_TYPE or not db_key.isdigit():
        raise BadUserInput(f"{key!r} is not an area initiative's id or slug", field="id")
    return await context.loaders.directory.initiative.load(int(db_key))


async def resolve_area_initiative(
    info: strawberry.Info[Context, None],
    id: Annotated[
        strawberry.ID,
        strawberry.argument(description='A global id, or the slug, e.g. "groruddalen".'),
    ],
    lang: Lang = None,
) -> AreaInitiative | None:
    info.context.reading_order(lang)  # checked before any read
    row = await find_initiative(info.context, str(id))
    if row is None:
        return None
    found = AreaInitiative.from_row(row)
    await localize(info.context, [found], lang)
    return found


async def _fetch_node(context: Context, key: str) -> AreaInitiative | None:
    row = await context.loaders.directory.initiative.load(int(key))
    return None if row is None else AreaInitiative.from_row(row)


INITIATIVE_NODE = NodeKind(AreaInitiative.NODE_TYPE, re.compile(r"[0-9]{1,18}"), _fetch_node)
