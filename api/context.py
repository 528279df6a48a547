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

from geo.queries.counties import County, counties_by_number
from geo.queries.municipalities import (
    Municipality,
    municipalities_by_county,
    municipalities_by_number,
    municipality_boundaries,
)

P = ParamSpec("P")
R = TypeVar("R")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

BoundaryKey = tuple[str, float | None]


@dataclass
class Loaders:
    municipality: DataLoader[str, Municipality | None]
    county: DataLoader[str, County | None]
    municipalities_by_county: DataLoader[str, list[Municipality]]
    #: (municipality number, simplify tolerance in metres or None) -> GeoJSON geometry.
    boundary: DataLoader[BoundaryKey, dict[str, Any] | None]


@dataclass
class Context:
    engine: AsyncEngine
    request: Request | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = _make_loaders(self)

    @classmethod
    def for_request(cls, engine: AsyncEngine, request: Request) -> Context:
        """Take the caller's ``X-Request-ID`` when it is a sane token, else make one."""
        given = request.headers.get("x-request-id", "")
        if _REQUEST_ID.fullmatch(given):
            return cls(engine=engine, request=request, request_id=given)
        return cls(engine=engine, request=request)

    async def run(
        self, fn: Callable[Concatenate[Connection, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run a plain ``geo`` function on a pooled connection (read-only use; rolled back)."""
        async with self.engine.connect() as conn:
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

    return Loaders(
        municipality=DataLoader(load_fn=load_municipalities),
        county=DataLoader(load_fn=load_counties),
        municipalities_by_county=DataLoader(load_fn=load_by_county),
        boundary=DataLoader(load_fn=load_boundaries),
    )
