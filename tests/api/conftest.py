"""Fixtures for the API tests: the schema, an async engine on the shared loaded database, a
helper that executes GraphQL with a fresh per-request context, and an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import strawberry
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.routing import Route

from api.app import GraphQLApp, create_app
from api.graphql.compiled import CompiledQueries
from api.graphql.context import Context
from api.graphql.schema import build_schema
from api.guard.auth import Principal
from geo.db import async_engine, drop_database, sync_engine
from geo.queries import driver
from geo.queries import nearby as nearby_queries
from geo.settings import Settings, load_settings
from tests.api.writes_support import make_keys
from tests.conftest import _clone


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def schema() -> strawberry.Schema:
    return build_schema()


@pytest.fixture(scope="session")
def api_settings(loaded_url: URL) -> Settings:
    # No rate limit: the tests call many times a second from one address (test_ratelimit
    # tests the limit).
    return load_settings(
        database_url=loaded_url.render_as_string(hide_password=False),
        graphql_explorer=True,
        rate_limit_enabled=False,
    )


@pytest.fixture
async def engine(api_settings: Settings) -> AsyncIterator[AsyncEngine]:
    assert api_settings.database_url
    engine = async_engine(api_settings.database_url, api_settings)
    yield engine
    await engine.dispose()


class Executor:
    """Runs GraphQL like one HTTP request would: a new Context (and DataLoaders) per call."""

    def __init__(self, schema: strawberry.Schema, engine: AsyncEngine) -> None:
        self.schema = schema
        self.engine = engine

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> strawberry.types.ExecutionResult:
        return await self.schema.execute(
            query, variable_values=variables, context_value=Context(engine=self.engine)
        )

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        result = await self(query, variables)
        assert result.errors is None, [e.formatted for e in result.errors]
        return result.data


@pytest.fixture
def gql(schema: strawberry.Schema, engine: AsyncEngine) -> Executor:
    return Executor(schema, engine)


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)


@pytest.fixture
def count_statements(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StatementCounter]:
    """Every statement sent: through SQLAlchemy (its cursor event) and straight through psycopg
    (geo.queries.driver's runners, which SQLAlchemy does not see)."""
    counter = StatementCounter()
    for name in ("run_statement", "run_statement_as"):
        original = getattr(driver, name)

        async def counted(
            conn: Any,
            statement: driver.DriverStatement,
            *args: Any,
            original: Any = original,
            **kwargs: Any,
        ) -> Any:
            counter(conn, None, statement.sql)
            return await original(conn, statement, *args, **kwargs)

        for module in (driver, nearby_queries):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, counted)
    sa.event.listen(engine.sync_engine, "before_cursor_execute", counter)
    yield counter
    sa.event.remove(engine.sync_engine, "before_cursor_execute", counter)


@asynccontextmanager
async def served(app: Starlette) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, Any]]]:
    """An httpx client for ``app`` with its lifespan run, as a server would run it: the state
    the lifespan yields goes into every request's scope. Yields the client and that state
    (the app's engines)."""
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope: Any, receive: Any, send: Any) -> None:
            scope["state"] = dict(state or {})
            await app(scope, receive, send)

        transport = httpx.ASGITransport(app=with_state, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://hverdag.test", timeout=10
        ) as client:
            yield client, dict(state or {})


@asynccontextmanager
async def http_client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """:func:`served`'s client alone."""
    async with served(app) as (client, _):
        yield client


@pytest.fixture
async def client(api_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(create_app(api_settings)) as test_client:
        yield test_client


def bad_input(result: Any) -> dict[str, Any]:
    """The one error of a result, checked to be a BAD_USER_INPUT with a reason."""
    errors = result.errors if hasattr(result, "errors") else result["errors"]
    assert errors, result
    assert len(errors) == 1, errors
    error = errors[0] if isinstance(errors[0], dict) else errors[0].formatted
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"]["reason"], error
    assert "Traceback" not in str(error)
    return error


# --- the write API: a writable clone of the demo data per test module, and a key per role ---


@pytest.fixture(scope="module")
def write_url(server: Any, demo_template_url: URL) -> Iterator[URL]:
    url = _clone(server, demo_template_url, "writes")
    yield url
    drop_database(url)


@pytest.fixture(scope="module")
def write_engine(write_url: URL) -> Iterator[sa.Engine]:
    engine = sync_engine(write_url, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
async def async_write_engine(write_url: URL) -> AsyncIterator[AsyncEngine]:
    url = write_url.render_as_string(hide_password=False)
    engine = async_engine(url, load_settings(database_url=url))
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
def keys(write_engine: sa.Engine) -> dict[str, tuple[str, Principal]]:
    """(secret, principal) per name: admin, analyst, oslo (editor 0301), bergen (editor 4601),
    red_cross and save_the_children (organisation editors)."""
    return make_keys(write_engine)


def compiled_of(app: Starlette) -> CompiledQueries:
    """The app's compiled path (api.graphql.compiled), to read its counters."""
    for route in app.routes:
        if isinstance(route, Route) and isinstance(route.app, GraphQLApp) and route.app.compiled:
            return route.app.compiled
    raise AssertionError("the app has no compiled path")
