"""`nearby`: activities, venues and councils nearest a point, with `distanceMeters` per edge."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from api.checks import checked_radius
from api.errors import BadUserInput
from api.graphql.inputs import LatLonInput
from api.graphql.relay import DEFAULT_PAGE_SIZE, PageInfo, decode_cursor, encode_cursor, page_size
from api.graphql.types.activity import Activity
from api.graphql.types.council import ImmigrantCouncil
from api.graphql.types.entry import locate_rows, locations_of
from api.graphql.types.filters import DirectoryFilterInput, to_geo_filter
from api.graphql.types.translation import Lang, apply_translations, localize, translate_row
from api.graphql.types.venue import Venue
from api.graphql.types.vocab import PlaceKind
from geo.filters import DirectoryFilter
from geo.queries import nearby as nearby_queries
from geo.queries.activities import ActivityRow
from geo.queries.councils import CouncilRow
from geo.queries.nearby import Hit, NearbyKey, NearbyPage, count_nearby, nearby_on_driver
from geo.queries.rows import filled_without_init
from geo.queries.translations import compact_choice, language_rank
from geo.queries.venues import VenueRow

if TYPE_CHECKING:
    from api.graphql.context import Context

_CONNECTION = "nearby"
# distance (Python's repr of a float, exact), stale (0 or 1), kind rank, id
NEARBY_KEY = re.compile(r"[0-9][0-9.e+-]{0,30}\|[01]\|[0-2]\|[0-9]{1,18}")

NearbyPlace = Annotated[
    Activity | Venue | ImmigrantCouncil,
    strawberry.union("NearbyPlace", description="What `nearby` finds."),
]


def encode_key(key: NearbyKey) -> str:
    return f"{key.distance!r}|{int(key.stale)}|{key.rank}|{key.id}"


def decode_key(text: str | None) -> NearbyKey | None:
    if text is None:
        return None
    distance, stale, rank, row_id = text.split("|")
    try:
        return NearbyKey(float(distance), stale == "1", int(rank), int(row_id))
    except ValueError:
        raise BadUserInput("not a cursor of this list", field="after") from None


def nodes_of(
    hits: list[Hit], projection: Projection | None = None
) -> list[Activity | Venue | ImmigrantCouncil | ActivityRow | VenueRow]:
    """The hits' places as API types, the points among them transformed in one call; with a
    ``projection``, the rows of the kinds it names as they are, for the compiled path to
    render straight from them (located first when their location is read)."""
    rows_of = projection.columns if projection is not None else {}
    located = projection.located if projection is not None else frozenset()
    placed = [
        hit.row
        for hit in hits
        if isinstance(hit.row, ActivityRow | VenueRow) and _KINDS[type(hit.row)] not in rows_of
    ]
    locations = iter(locations_of(placed))
    locate_rows([hit.row for hit in hits if _KINDS.get(type(hit.row)) in located])
    nodes: list[Activity | Venue | ImmigrantCouncil | ActivityRow | VenueRow] = []
    for hit in hits:
        row = hit.row
        if isinstance(row, CouncilRow):
            nodes.append(ImmigrantCouncil.from_row(row))
        elif _KINDS[type(row)] in rows_of:
            nodes.append(row)
        elif isinstance(row, ActivityRow):
            nodes.append(Activity.from_row(row, next(locations)))
        else:
            nodes.append(Venue.from_row(row, next(locations)))
    return nodes


_KINDS: dict[type[Any], nearby_queries.PlaceKind] = {
    ActivityRow: nearby_queries.PlaceKind.ACTIVITY,
    VenueRow: nearby_queries.PlaceKind.VENUE,
}


@dataclass(frozen=True)
class Projection:
    """The kinds whose every field a selection reads can be read from their rows
    (api.graphql.projection): the columns those fields need, and the kinds whose location
    is read."""

    columns: Mapping[nearby_queries.PlaceKind, frozenset[str]]
    located: frozenset[nearby_queries.PlaceKind]


def projection_of(reads: Mapping[str, frozenset[str]]) -> Projection | None:
    """The projection for a selection that reads ``reads`` (Python names of fields and
    resolvers, by GraphQL type name); a kind whose type's table cannot give all its reads keeps
    its whole rows and API objects. None when that is every kind."""
    columns: dict[nearby_queries.PlaceKind, frozenset[str]] = {}
    located: set[nearby_queries.PlaceKind] = set()
    for kind, api_type in _TYPES.items():
        names = reads.get(api_type.__name__, frozenset())
        if api_type.ROW_TABLE.readable(names):
            columns[kind] = api_type.ROW_TABLE.columns(names)
            if "location" in names:
                located.add(kind)
    return Projection(columns, frozenset(located)) if columns else None


_TYPES: dict[nearby_queries.PlaceKind, type[Activity] | type[Venue]] = {
    nearby_queries.PlaceKind.ACTIVITY: Activity,
    nearby_queries.PlaceKind.VENUE: Venue,
}


@strawberry.type(description="A place and how far it is.")
class NearbyEdge:
    #: The hit, whose key the cursor holds (made only when a cursor is asked for).
    hit: strawberry.Private[Hit]
    distance_meters: float = strawberry.field(
        description=(
            "Straight-line distance in metres in the UTM 33N plane (EPSG:25833); for a council, "
            "to the area it serves (0 inside it)."
        )
    )
    node: NearbyPlace

    @strawberry.field(description="Where this edge is in the list: pass it as `after`.")
    def cursor(self) -> str:
        return encode_cursor(_CONNECTION, encode_key(self.hit.key))


@strawberry.type(
    description=(
        "Places nearest first; equally distant ones fresh before stale, then by kind, then id."
    )
)
class NearbyConnection:
    edges: list[NearbyEdge]
    page_info: PageInfo
    query: strawberry.Private[
        tuple[float, float, float, tuple[nearby_queries.PlaceKind, ...], DirectoryFilter]
    ]

    @strawberry.field(
        description="How many places match within the radius in all (counted only when asked for)."
    )
    async def total_count(self, info: strawberry.Info[Context, None]) -> int:
        x, y, radius, kinds, filt = self.query
        async with info.context.heavy_if(True):  # counts every match, not a page
            return await info.context.run(
                count_nearby, x, y, radius_m=radius, kinds=kinds, filt=filt
            )


def _connection(
    hits: list[Hit],
    has_next: bool,
    has_previous: bool,
    query: tuple[float, float, float, tuple[nearby_queries.PlaceKind, ...], DirectoryFilter],
    projection: Projection | None = None,
) -> NearbyConnection:
    # Cursors are made when asked for (NearbyEdge.cursor): most answers never show them.
    edges = [
        filled_without_init(
            NearbyEdge, {"hit": hit, "distance_meters": round(hit.distance_m, 2), "node": node}
        )
        for hit, node in zip(hits, nodes_of(hits, projection), strict=True)
    ]
    return NearbyConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=edges[0].cursor() if edges else None,
            end_cursor=edges[-1].cursor() if edges else None,
        ),
        query=query,
    )


async def resolve_nearby(
    info: strawberry.Info[Context, None],
    at: Annotated[LatLonInput, strawberry.argument(description="Where to look from (WGS84).")],
    radius_meters: Annotated[
        float,
        strawberry.argument(description="How far to look, metres (straight line), at most 100 km."),
    ] = 5000.0,
    first: Annotated[
        int | None, strawberry.argument(description="Page size, at most 100.")
    ] = DEFAULT_PAGE_SIZE,
    after: Annotated[
        str | None, strawberry.argument(description="`endCursor` of the previous page.")
    ] = None,
    kinds: Annotated[
        list[PlaceKind] | None,
        strawberry.argument(  # type: ignore[valid-type]
            description="Which kinds of place; default all."
        ),
    ] = None,
    filter: DirectoryFilterInput | None = None,  # the contract's name
    lang: Lang = None,
) -> NearbyConnection:
    return await nearby_connection(
        info.context,
        at=at,
        radius_meters=radius_meters,
        first=first,
        after=after,
        kinds=kinds,
        filter=filter,
        lang=lang,
    )


async def nearby_connection(
    context: Context,
    *,
    at: LatLonInput,
    radius_meters: float = 5000.0,
    first: int | None = DEFAULT_PAGE_SIZE,
    after: str | None = None,
    kinds: list[PlaceKind] | None = None,  # type: ignore[valid-type]
    filter: DirectoryFilterInput | None = None,
    reads: Mapping[str, frozenset[str]] | None = None,
    lang: list[str] | None = None,
) -> NearbyConnection:
    """`nearby`'s answer from its arguments: the resolver's work, also run by the compiled path
    (api.graphql.compiled), which has no ``info`` and says what its selection ``reads``: then
    only the columns that needs are read (:func:`projection_of`)."""
    x, y = at.to_storage(field="at")
    radius = checked_radius(radius_meters)
    size = page_size(first, context.max_page_size)
    after_key = decode_key(decode_cursor(after, _CONNECTION, NEARBY_KEY))
    wanted = (
        tuple(nearby_queries.PlaceKind[k.name] for k in kinds)
        if kinds
        else tuple(nearby_queries.PlaceKind)
    )
    geo_filter = to_geo_filter(filter, context.stale_before)
    order = context.reading_order(lang)  # checked before any read
    # A text filter's probe reads no translations: its places are localised as API objects.
    probes = bool(order) and geo_filter.text is not None
    projection = None if reads is None or probes else projection_of(reads)
    async with context.heavy_if(geo_filter.text is not None):
        page = await context.run_on_driver(
            nearby_on_driver,
            x,
            y,
            radius_m=radius,
            kinds=wanted,
            filt=geo_filter,
            first=size,
            stale_before=context.stale_before,
            after=after_key,
            columns=None if projection is None else projection.columns,
            languages=order,
        )
    connection = _connection(
        page.hits,
        page.has_next,
        after_key is not None,
        (x, y, radius, wanted, geo_filter),
        projection,
    )
    if page.translations is None:  # not read with the page (a text filter's probe)
        await localize(context, [edge.node for edge in connection.edges], lang)
        return connection
    chosen = _chosen(page, order, {} if projection is None else projection.columns)
    apply_translations(
        [e.node for e in connection.edges if hasattr(e.node, "TRANSLATION_KIND")], chosen
    )
    return connection


def _chosen(
    page: NearbyPage, order: tuple[str, ...], columns: Mapping[nearby_queries.PlaceKind, Any]
) -> dict[tuple[str, int], Any]:
    """The translations each hit's reader gets, read with the page
    (geo.queries.translations.with_translations). A kind read as ``columns`` (a projection:
    rendered from its rows) gets only those of the fields read, put into its rows here."""
    assert page.translations is not None
    chosen = {}
    rank = language_rank(order)
    for hit in page.hits:
        found = page.translations.get((hit.kind, hit.row.id))
        if found:
            kind = hit.kind.value.lower()
            read = columns.get(hit.kind)
            texts = compact_choice(kind, hit.row, found, rank, read)
            if texts:
                chosen[(kind, hit.row.id)] = texts
                if read is not None:
                    translate_row(hit.row, texts)
    return chosen
