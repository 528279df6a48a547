"""`activities(...)` and `venues(...)`: one kind, nearest first with `near`, by name without."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

import strawberry

from api.checks import checked_radius
from api.graphql.relay import DEFAULT_PAGE_SIZE, PageInfo, decode_cursor, encode_cursor, page_size
from api.graphql.types.activity import Activity
from api.graphql.types.filters import DirectoryFilterInput, NearInput, to_geo_filter
from api.graphql.types.nearby import NEARBY_KEY, decode_key, encode_key
from api.graphql.types.translation import Lang, localize
from api.graphql.types.venue import Venue
from geo.filters import DirectoryFilter
from geo.queries.activities import activities_by_name, count_activities
from geo.queries.listing import GroupPage, NameKey
from geo.queries.nearby import PlaceKind, count_nearby, nearby_on_driver
from geo.queries.venues import count_venues, venues_by_name

if TYPE_CHECKING:
    from api.graphql.context import Context

T = TypeVar("T")
_NAME_KEY = re.compile(r"[0-9]{1,18}\|.{0,1000}", re.DOTALL)


@strawberry.type(description="A row and, when the list was asked `near` a point, its distance.")
class DirectoryEdge(Generic[T]):
    cursor: str
    distance_meters: float | None = strawberry.field(
        description="Straight-line metres from `near.at` (EPSG:25833 plane); null without `near`."
    )
    node: T


@dataclass(frozen=True)
class _Count:
    fn: Callable[..., int]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


@strawberry.type(description="One page of a directory list.")
class DirectoryConnection(Generic[T]):
    edges: list[DirectoryEdge[T]]
    page_info: PageInfo
    counter: strawberry.Private[_Count | int]

    @strawberry.field(description="How many rows match in all (counted only when asked for).")
    async def total_count(self, info: strawberry.Info[Context, None]) -> int:
        if isinstance(self.counter, int):
            return self.counter
        async with info.context.heavy_if(True):  # counts every match, not a page
            return await info.context.run(
                self.counter.fn, *self.counter.args, **self.counter.kwargs
            )


@dataclass(frozen=True)
class _Kind:
    name: str
    place: PlaceKind
    by_name: Callable[..., Any]
    count: Callable[..., int]
    node: Callable[[Any], Any]
    title: Callable[[Any], str]


ACTIVITIES = _Kind(
    "activities",
    PlaceKind.ACTIVITY,
    activities_by_name,
    count_activities,
    Activity.from_row,
    lambda row: row.title,
)
VENUES = _Kind(
    "venues", PlaceKind.VENUE, venues_by_name, count_venues, Venue.from_row, lambda row: row.name
)


def _page_info(edges: list[Any], has_next: bool, has_previous: bool) -> PageInfo:
    return PageInfo(
        has_next_page=has_next,
        has_previous_page=has_previous,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )


async def _near(
    info: strawberry.Info[Context, None],
    kind: _Kind,
    near: NearInput,
    filt: DirectoryFilter,
    size: int,
    after: str | None,
) -> DirectoryConnection[Any]:
    x, y = near.at.to_storage(field="near.at")
    radius = checked_radius(near.radius_meters, field="near.radiusMeters")
    connection = f"{kind.name}:near"
    after_key = decode_key(decode_cursor(after, connection, NEARBY_KEY))
    async with info.context.heavy_if(filt.text is not None):
        page = await info.context.run_on_driver(
            nearby_on_driver,
            x,
            y,
            radius_m=radius,
            kinds=(kind.place,),
            filt=filt,
            first=size,
            stale_before=info.context.stale_before,
            after=after_key,
        )
    edges = [
        DirectoryEdge(
            cursor=encode_cursor(connection, encode_key(hit.key)),
            distance_meters=round(hit.distance_m, 2),
            node=kind.node(hit.row),
        )
        for hit in page.hits
    ]
    counter = _Count(
        count_nearby, (x, y), {"radius_m": radius, "kinds": (kind.place,), "filt": filt}
    )
    return DirectoryConnection(
        edges=edges, counter=counter, page_info=_page_info(edges, page.has_next, after is not None)
    )


def _name_edge(kind: _Kind, row: Any) -> DirectoryEdge[Any]:
    return DirectoryEdge(
        cursor=encode_cursor(kind.name, f"{row.id}|{kind.title(row)}"),
        distance_meters=None,
        node=kind.node(row),
    )


def first_page(kind: _Kind, page: GroupPage[Any]) -> DirectoryConnection[Any]:
    """A connection from a first page loaded in a batch (with its total)."""
    edges = [_name_edge(kind, row) for row in page.rows]
    return DirectoryConnection(
        edges=edges, counter=page.total, page_info=_page_info(edges, page.has_next, False)
    )


async def _by_name(
    info: strawberry.Info[Context, None],
    kind: _Kind,
    filt: DirectoryFilter,
    size: int,
    after: str | None,
) -> DirectoryConnection[Any]:
    key = decode_cursor(after, kind.name, _NAME_KEY)
    after_key = None
    if key is not None:
        row_id, name = key.split("|", 1)
        after_key = NameKey(name, int(row_id))
    async with info.context.heavy_if(filt.text is not None):
        rows, has_next = await info.context.run(kind.by_name, filt, first=size, after=after_key)
    edges = [_name_edge(kind, row) for row in rows]
    return DirectoryConnection(
        edges=edges,
        counter=_Count(kind.count, (filt,), {}),
        page_info=_page_info(edges, has_next, after is not None),
    )


async def municipality_list(
    info: strawberry.Info[Context, None],
    kind: _Kind,
    number: str,
    first: int | None,
    after: str | None,
) -> DirectoryConnection[Any]:
    """A municipality's venues or activities by name: first pages of every municipality in
    the response load in one statement; later pages (with `after`) one by one."""
    size = page_size(first, info.context.max_page_size)
    if after is not None:
        connection = await _by_name(info, kind, DirectoryFilter(municipality=number), size, after)
    else:
        loaders = info.context.loaders.directory
        loader = (
            loaders.venues_of_municipality if kind is VENUES else loaders.activities_of_municipality
        )
        connection = first_page(kind, await loader.load((number, size)))
    await localize(info.context, [edge.node for edge in connection.edges])
    return connection


async def _resolve(
    info: strawberry.Info[Context, None],
    kind: _Kind,
    filter: DirectoryFilterInput | None,
    near: NearInput | None,
    first: int | None,
    after: str | None,
    lang: list[str] | None,
) -> DirectoryConnection[Any]:
    size = page_size(first, info.context.max_page_size)
    filt = to_geo_filter(filter, info.context.stale_before)
    info.context.reading_order(lang)  # checked before any read
    if near is not None:
        connection = await _near(info, kind, near, filt, size, after)
    else:
        connection = await _by_name(info, kind, filt, size, after)
    await localize(info.context, [edge.node for edge in connection.edges], lang)
    return connection


FIRST = Annotated[int | None, strawberry.argument(description="Page size, at most 100.")]
AFTER = Annotated[str | None, strawberry.argument(description="`endCursor` of the last page.")]
NEAR = Annotated[
    NearInput | None,
    strawberry.argument(
        description="Nearest first within a radius of this point; without it, by name."
    ),
]


async def resolve_activities(
    info: strawberry.Info[Context, None],
    filter: DirectoryFilterInput | None = None,
    near: NEAR = None,
    first: FIRST = DEFAULT_PAGE_SIZE,
    after: AFTER = None,
    lang: Lang = None,
) -> DirectoryConnection[Activity]:
    return await _resolve(info, ACTIVITIES, filter, near, first, after, lang)


async def resolve_venues(
    info: strawberry.Info[Context, None],
    filter: DirectoryFilterInput | None = None,
    near: NEAR = None,
    first: FIRST = DEFAULT_PAGE_SIZE,
    after: AFTER = None,
    lang: Lang = None,
) -> DirectoryConnection[Venue]:
    return await _resolve(info, VENUES, filter, near, first, after, lang)
