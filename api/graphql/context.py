"""The per-request GraphQL context: the request, the engine, and the request's DataLoaders.

Resolvers never build SQL: they call plain ``geo.queries`` functions through :meth:`Context.run`,
which checks a connection out of the async engine's pool and runs the sync function on it
(``AsyncConnection.run_sync``). Nested fields of lists load through the DataLoaders, which
batch every key asked for in one tick into one statement.
"""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from strawberry.dataloader import DataLoader

from api import cpu
from api.checks import reader_languages
from api.errors import Unauthenticated
from api.graphql.relay import MAX_PAGE_SIZE
from api.guard.auth import PUBLIC, Principal
from api.guard.reports import ReportGuard
from geo.freshness import stale_before
from geo.keys import lock_live_key
from geo.languages import reading_order
from geo.queries.activities import (
    ActivityRow,
    ScheduleRow,
    activities_by_ids,
    activities_by_venue,
    activities_of_municipalities,
    schedules_by_activity,
)
from geo.queries.areas import InitiativeRow, initiatives_by_keys
from geo.queries.calendar import CalendarActivity, calendars_by_ids
from geo.queries.councils import CouncilRow, councils_by_ids, councils_by_municipality
from geo.queries.counties import CountyRow, counties_by_number
from geo.queries.listing import GroupPage
from geo.queries.municipalities import (
    MunicipalityRow,
    municipalities_by_county,
    municipalities_by_number,
    municipality_boundary_texts,
    parsed_boundaries,
)
from geo.queries.organisations import OrganisationRow, organisations_by_ids
from geo.queries.problem_reports import open_report_counts
from geo.queries.translations import TranslationRow, translations_on_driver
from geo.queries.venues import (
    AvailabilityRow,
    VenueRow,
    availability_by_venue,
    venues_by_ids,
    venues_of_municipalities,
)
from geo.reader import DriverConnection, Reader, RequestReads
from geo.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")

#: HVERDAG_STALE_AFTER_DAYS's default, for contexts made without the settings (tests).
DEFAULT_STALE_AFTER_DAYS: int = Settings.model_fields["stale_after_days"].default
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

BoundaryKey = tuple[str, float | None]
#: Most GeoJSON text parsed on the event loop (a fraction of a millisecond); more goes to a
#: worker thread (api.cpu).
INLINE_GEOJSON_CHARS = 100_000
#: (municipality number, page size): the first page of a municipality's list.
GroupKey = tuple[str, int]
K = TypeVar("K")
V = TypeVar("V")


@dataclass
class Loaders:
    municipality: DataLoader[str, MunicipalityRow | None]
    county: DataLoader[str, CountyRow | None]
    municipalities_by_county: DataLoader[str, list[MunicipalityRow]]
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
    #: An activity with what its sessions' dates need (geo.sessions): ``nextSessions``.
    calendar: DataLoader[int, CalendarActivity | None]


@dataclass
class Context:
    #: The primary: writes go here.
    engine: AsyncEngine
    request: Request | None = None
    request_id: str = field(default_factory=lambda: secrets.token_hex(16))
    #: Where :meth:`run` reads: a read replica when one is configured, else ``engine``.
    read_engine: AsyncEngine | None = None
    #: Who is calling (api.guard.auth): the public unless a valid key came with the request.
    principal: Principal = PUBLIC
    #: The largest `first` of a page (HVERDAG_MAX_PAGE_SIZE).
    max_page_size: int = MAX_PAGE_SIZE
    #: Where :meth:`run_on_driver` reads: autocommit connections to the read engine's server
    #: (geo.db.autocommit_engine); without one, the read engine's own, switched for the call.
    autocommit_engine: AsyncEngine | None = None
    #: The process's reader (the app's lifespan makes one); without one, a reader of this
    #: context's own engines.
    reader_of_process: Reader | None = None
    #: HVERDAG_STALE_AFTER_DAYS; ``as_of``, the date staleness is judged on (None: now; tests
    #: pass one rather than waiting).
    stale_after_days: int = DEFAULT_STALE_AFTER_DAYS
    as_of: datetime | None = None
    #: The problem reports' bucket and sender hash (api.guard.reports); None: not limited.
    report_guard: ReportGuard | None = None
    #: strawberry's response in the making: a resolver may set its status and headers.
    response: Response | None = None
    #: HVERDAG_WEBHOOK_ALLOW_LOOPBACK: webhook URLs on this machine accepted (tests).
    webhook_allow_loopback: bool = False
    #: The reader's languages once a resolver has asked (the `lang` argument of a root field,
    #: else Accept-Language): nested entries follow the root's.
    languages: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.read_engine is None:
            self.read_engine = self.engine

    @property
    def reader(self) -> AsyncEngine:
        """The engine reads go to (the replica, or the primary)."""
        assert self.read_engine is not None  # set in __post_init__
        return self.read_engine

    def reader_languages(self, lang: list[str] | None) -> tuple[str, ...]:
        """The reader's languages: the ``lang`` argument (checked), else the one a root field
        of this request was given (so nested entries follow it), else Accept-Language's."""
        if lang is None and self.languages is not None:
            return self.languages
        header = None if self.request is None else self.request.headers.get("accept-language")
        self.languages = reader_languages(lang, header)
        return self.languages

    def reading_order(self, lang: list[str] | None) -> tuple[str, ...]:
        """The tags to look for translations in, best first (geo.languages.reading_order)."""
        return reading_order(self.reader_languages(lang))

    @cached_property
    def translations(self) -> DataLoader[tuple[str, int], list[TranslationRow]]:
        """Every translation of an entry, by (kind, id): `translations { … }`."""

        async def load(keys: list[tuple[str, int]]) -> list[list[TranslationRow]]:
            ids: dict[str, list[int]] = {}
            for kind, entry_id in keys:
                ids.setdefault(kind, []).append(entry_id)
            rows = await self.run_on_driver(translations_on_driver, ids)
            found: dict[tuple[str, int], list[TranslationRow]] = {}
            for row in rows:
                found.setdefault((row.kind, row.entry_id), []).append(row)
            return [found.get(key, []) for key in keys]

        return DataLoader(load_fn=load)

    @cached_property
    def translations_in(self) -> DataLoader[tuple[str, int, tuple[str, ...]], list[TranslationRow]]:
        """An entry's translations in some languages, by (kind, id, languages): what localising
        an entry reads, batched across the lists of one request."""

        async def load(
            keys: list[tuple[str, int, tuple[str, ...]]],
        ) -> list[list[TranslationRow]]:
            wanted = sorted({languages for _, _, languages in keys})
            found: dict[tuple[str, int, tuple[str, ...]], list[TranslationRow]] = {}
            for languages in wanted:
                ids: dict[str, list[int]] = {}
                for kind, entry_id, asked in keys:
                    if asked == languages:
                        ids.setdefault(kind, []).append(entry_id)
                for row in await self.run_on_driver(translations_on_driver, ids, languages):
                    found.setdefault((row.kind, row.entry_id, languages), []).append(row)
            return [found.get(key, []) for key in keys]

        return DataLoader(load_fn=load)

    @cached_property
    def stale_before(self) -> datetime:
        """Entries verified before this instant are stale in this request's answers."""
        return stale_before(self.as_of or datetime.now(UTC), self.stale_after_days)

    @cached_property
    def open_reports(self) -> DataLoader[tuple[str, int], int]:
        """How many open problem reports an entry (kind, id) has, batched per request."""

        async def load(keys: list[tuple[str, int]]) -> list[int]:
            found = await self.run(open_report_counts, keys)
            return [found.get(key, 0) for key in keys]

        return DataLoader(load_fn=load)

    @cached_property
    def loaders(self) -> Loaders:
        """The request's DataLoaders, made when a resolver first needs one (a near-me request
        needs none)."""
        return _make_loaders(self)

    @classmethod
    def for_request(
        cls,
        request: Request,
        max_page_size: int = MAX_PAGE_SIZE,
        stale_after_days: int = DEFAULT_STALE_AFTER_DAYS,
        report_guard: ReportGuard | None = None,
        webhook_allow_loopback: bool = False,
    ) -> Context:
        """The engines the app's lifespan left in the request's state; the request id the
        middleware chose (api.guard.requests), else the caller's ``X-Request-ID`` when it is a
        sane token, else a new one; the caller's principal (api.guard.auth)."""
        state = request.scope.get("state", {})
        given = state.get("request_id") or request.headers.get("x-request-id", "")
        engines = {
            "engine": state["engine"],
            "read_engine": state.get("read_engine"),
            "autocommit_engine": state.get("autocommit_engine"),
            "reader_of_process": state.get("reader"),
            "stale_after_days": stale_after_days,
            "report_guard": report_guard,
            "webhook_allow_loopback": webhook_allow_loopback,
        }
        principal = state.get("principal", PUBLIC)
        if _REQUEST_ID.fullmatch(given):
            return cls(
                **engines,
                request=request,
                request_id=given,
                principal=principal,
                max_page_size=max_page_size,
            )
        return cls(**engines, request=request, principal=principal, max_page_size=max_page_size)

    @cached_property
    def reads(self) -> RequestReads:
        """This request's reads (geo.reader): the replica, the outage breaker, the retry, and
        the bound on the connections one request holds."""
        reader = self.reader_of_process or Reader(self.reader, self.autocommit_engine)
        return reader.for_request()

    def heavy_if(self, heavy: bool) -> AbstractAsyncContextManager[None]:
        """Around a read that is heavy when ``heavy`` (a text search, a count of every match, a
        coverage report): :meth:`RequestReads.heavy`; else nothing."""
        return self.reads.heavy() if heavy else nullcontext()

    async def run(
        self, fn: Callable[Concatenate[Connection, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run a plain ``geo`` function on a pooled connection of the read engine (read-only
        use; rolled back; writes use ``engine``, the primary): :meth:`RequestReads.run`."""
        return await self.reads.run(fn, *args, **kwargs)

    async def run_on_driver(
        self,
        fn: Callable[Concatenate[DriverConnection, P], Awaitable[R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """Run an async ``geo`` function on a psycopg connection in autocommit (one round trip
        a statement): :meth:`RequestReads.run_on_driver`."""
        return await self.reads.run_on_driver(fn, *args, **kwargs)

    async def run_primary(
        self, fn: Callable[Concatenate[Connection, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """A read that must see this request's own writes (a mutation's answer): on the
        primary, since a replica may lag behind it."""
        async with self.engine.connect() as conn:
            return await conn.run_sync(fn, *args, **kwargs)

    async def write(
        self, fn: Callable[Concatenate[Connection, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run a ``geo.writes`` function in one transaction: committed when it returns,
        rolled back when it raises (a refused write changes nothing). The caller's key is
        checked first in the same transaction, whatever a worker's cache remembers: a key
        revoked before this write commits makes it UNAUTHENTICATED."""
        async with self.engine.begin() as conn:
            return await conn.run_sync(_as_live_key, self.principal.key_id, fn, *args, **kwargs)


def _as_live_key(
    conn: Connection,
    key_id: int | None,
    fn: Callable[Concatenate[Connection, P], R],
    *args: P.args,
    **kwargs: P.kwargs,
) -> R:
    if key_id is not None and not lock_live_key(conn, key_id):
        raise Unauthenticated(
            "This API key has been revoked",
            reason="the API key is unknown or revoked",
        )
    return fn(conn, *args, **kwargs)


def _make_loaders(ctx: Context) -> Loaders:
    async def load_municipalities(numbers: list[str]) -> list[MunicipalityRow | None]:
        found = await ctx.run(municipalities_by_number, numbers)
        return [found.get(n) for n in numbers]

    async def load_counties(numbers: list[str]) -> list[CountyRow | None]:
        found = await ctx.run(counties_by_number, numbers)
        return [found.get(n) for n in numbers]

    async def load_by_county(numbers: list[str]) -> list[list[MunicipalityRow]]:
        found = await ctx.run(municipalities_by_county, numbers)
        return [found.get(n, []) for n in numbers]

    async def load_boundaries(keys: list[BoundaryKey]) -> list[dict[str, Any] | None]:
        # One statement per distinct tolerance (a query asks for one or two at most).
        by_tolerance: dict[float | None, list[str]] = defaultdict(list)
        for number, tolerance in keys:
            by_tolerance[tolerance].append(number)
        found: dict[BoundaryKey, dict[str, Any]] = {}
        for tolerance, numbers in by_tolerance.items():
            texts = await ctx.run(municipality_boundary_texts, numbers, tolerance)
            if sum(len(text) for text in texts.values()) > INLINE_GEOJSON_CHARS:
                # Megabytes of GeoJSON for a few full boundaries: parsed off the loop.
                shapes = await cpu.run(parsed_boundaries, texts)
            else:
                shapes = parsed_boundaries(texts)
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


def _by_key(
    ctx: Context, fn: Callable[..., dict[K, V]], default: Callable[[], Any] = lambda: None
) -> DataLoader[K, Any]:
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
        calendar=_by_key(ctx, calendars_by_ids),
    )
