"""The per-request GraphQL context: the request, the engine, and the request's DataLoaders.

Resolvers never build SQL: they call plain ``geo.queries`` functions through :meth:`Context.run`,
which checks a connection out of the async engine's pool and runs the sync function on it
(``AsyncConnection.run_sync``). Nested fields of lists load through the DataLoaders, which
batch every key asked for in one tick into one statement.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from strawberry.dataloader import DataLoader

from api.errors import Unavailable
from api.relay import MAX_PAGE_SIZE
from geo.db import outage_breaker
from geo.queries.activities import (
    ActivityRow,
    ScheduleRow,
    activities_by_ids,
    activities_by_venue,
    activities_of_municipalities,
    schedules_by_activity,
)
from geo.queries.areas import InitiativeRow, initiatives_by_keys
from geo.queries.councils import CouncilRow, councils_by_ids, councils_by_municipality
from geo.queries.counties import County, counties_by_number
from geo.queries.listing import GroupPage
from geo.queries.municipalities import (
    Municipality,
    municipalities_by_county,
    municipalities_by_number,
    municipality_boundaries,
)
from geo.queries.organisations import OrganisationRow, organisations_by_ids
from geo.queries.venues import (
    AvailabilityRow,
    VenueRow,
    availability_by_venue,
    venues_by_ids,
    venues_of_municipalities,
)

P = ParamSpec("P")
R = TypeVar("R")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

BoundaryKey = tuple[str, float | None]
#: (municipality number, page size): the first page of a municipality's list.
GroupKey = tuple[str, int]
K = TypeVar("K")
V = TypeVar("V")


@dataclass
class Loaders:
    municipality: DataLoader[str, Municipality | None]
    county: DataLoader[str, County | None]
    municipalities_by_county: DataLoader[str, list[Municipality]]
    #: (municipality number, simplify tolerance in metres or None) -> GeoJSON geometry.
    boundary: DataLoader[BoundaryKey, dict[str, Any] | None]
    directory: DirectoryLoaders = field(init=False)


@dataclass
class DirectoryLoaders:
    """Batched loads of the directory's rows and their children, one statement per batch."""

    activity: DataLoader[int, ActivityRow | None]
    venue: DataLoader[int, VenueRow | None]
    organisation: DataLoader[int, OrganisationRow | None]
    council: DataLoader[int, CouncilRow | None]
    initiative: DataLoader[int, InitiativeRow | None]
    initiative_by_slug: DataLoader[str, InitiativeRow | None]
    schedules: DataLoader[int, list[ScheduleRow]]
    availability: DataLoader[int, list[AvailabilityRow]]
    activities_at_venue: DataLoader[int, list[ActivityRow]]
    councils_of_municipality: DataLoader[str, list[CouncilRow]]
    venues_of_municipality: DataLoader[GroupKey, GroupPage[VenueRow]]
    activities_of_municipality: DataLoader[GroupKey, GroupPage[ActivityRow]]


@dataclass
class Context:
    engine: AsyncEngine
    request: Request | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: The largest `first` of a page (HVERDAG_MAX_PAGE_SIZE).
    max_page_size: int = MAX_PAGE_SIZE
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = _make_loaders(self)

    @classmethod
    def for_request(cls, engine: AsyncEngine, request: Request,
                    max_page_size: int = MAX_PAGE_SIZE) -> Context:
        """The request id the middleware chose (api.middleware), else the caller's
        ``X-Request-ID`` when it is a sane token, else a new one."""
        given = request.scope.get("state", {}).get("request_id") or \
            request.headers.get("x-request-id", "")
        if _REQUEST_ID.fullmatch(given):
            return cls(engine=engine, request=request, request_id=given,
                       max_page_size=max_page_size)
        return cls(engine=engine, request=request, max_page_size=max_page_size)

    async def run(
        self, fn: Callable[Concatenate[Connection, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run a plain ``geo`` function on a pooled connection (read-only use; rolled back).
        UNAVAILABLE at once while the database is known to be down (geo.db.OutageBreaker)."""
        breaker = outage_breaker(self.engine)
        if breaker is not None and not breaker.may_try():
            raise Unavailable("The database is unavailable; try again shortly",
                              requestId=self.request_id)
        async with self.engine.connect() as conn:
            if breaker is not None and breaker.open:
                breaker.succeeded()  # a pooled connection passed its pre-ping: it is up
            return await conn.run_sync(fn, *args, **kwargs)


def _make_loaders(ctx: Context) -> Loaders:
    async def load_municipalities(numbers: list[str]) -> list[Municipality | None]:
        found = await ctx.run(municipalities_by_number, numbers)
        return [found.get(n) for n in numbers]

    async def load_counties(numbers: list[str]) -> list[County | None]:
        found = await ctx.run(counties_by_number, numbers)
        return [found.get(n) for n in numbers]

    async def load_by_county(numbers: list[str]) -> list[list[Municipality]]:
        found = await ctx.run(municipalities_by_county, numbers)
        return [found.get(n, []) for n in numbers]

    async def load_boundaries(keys: list[BoundaryKey]) -> list[dict[str, Any] | None]:
        # One statement per distinct tolerance (a query asks for one or two at most).
        by_tolerance: dict[float | None, list[str]] = defaultdict(list)
        for number, tolerance in keys:
            by_tolerance[tolerance].append(number)
        found: dict[BoundaryKey, dict[str, Any]] = {}
        for tolerance, numbers in by_tolerance.items():
            shapes = await ctx.run(municipality_boundaries, numbers, tolerance)
            found.update({(number, tolerance): shape for number, shape in shapes.items()})
        return [found.get(key) for key in keys]

    loaders = Loaders(
        municipality=DataLoader(load_fn=load_municipalities),
        county=DataLoader(load_fn=load_counties),
        municipalities_by_county=DataLoader(load_fn=load_by_county),
        boundary=DataLoader(load_fn=load_boundaries),
    )
    loaders.directory = _directory_loaders(ctx)
    return loaders


def _by_key(ctx: Context, fn: Callable[..., dict[K, V]],
            default: Callable[[], Any] = lambda: None) -> DataLoader[K, Any]:
    """A DataLoader over a geo function that maps a list of keys to found rows."""
    async def load(keys: list[K]) -> list[Any]:
        found = await ctx.run(fn, keys)
        return [found.get(key, default()) for key in keys]

    return DataLoader(load_fn=load)


def _first_pages(ctx: Context, fn: Callable[..., dict[str, Any]]) -> DataLoader[GroupKey, Any]:
    """First pages of several municipalities' lists: one statement per distinct page size."""
    async def load(keys: list[GroupKey]) -> list[Any]:
        sizes: dict[int, list[str]] = defaultdict(list)
        for number, size in keys:
            sizes[size].append(number)
        found: dict[GroupKey, Any] = {}
        for size, numbers in sizes.items():
            pages = await ctx.run(fn, numbers, size)
            found.update({(n, size): page for n, page in pages.items()})
        return [found[key] for key in keys]

    return DataLoader(load_fn=load)


def _initiatives_by(ctx: Context, attribute: str) -> DataLoader[Any, InitiativeRow | None]:
    async def load(keys: list[Any]) -> list[InitiativeRow | None]:
        kwargs = {"ids": keys} if attribute == "id" else {"slugs": keys}
        rows = await ctx.run(initiatives_by_keys, **kwargs)
        found = {getattr(row, attribute): row for row in rows}
        return [found.get(key) for key in keys]

    return DataLoader(load_fn=load)


def _directory_loaders(ctx: Context) -> DirectoryLoaders:
    return DirectoryLoaders(
        activity=_by_key(ctx, activities_by_ids),
        venue=_by_key(ctx, venues_by_ids),
        organisation=_by_key(ctx, organisations_by_ids),
        council=_by_key(ctx, councils_by_ids),
        initiative=_initiatives_by(ctx, "id"),
        initiative_by_slug=_initiatives_by(ctx, "slug"),
        schedules=_by_key(ctx, schedules_by_activity, list),
        availability=_by_key(ctx, availability_by_venue, list),
        activities_at_venue=_by_key(ctx, activities_by_venue, list),
        councils_of_municipality=_by_key(ctx, councils_by_municipality, list),
        venues_of_municipality=_first_pages(ctx, venues_of_municipalities),
        activities_of_municipality=_first_pages(ctx, activities_of_municipalities),
    )
