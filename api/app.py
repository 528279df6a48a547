"""The HTTP app: GraphQL at ``/graphql``, liveness at ``/healthz``, readiness at ``/readyz``.

Run it with ``uvicorn api.app:create_app --factory``: nothing is built at import time. The
async engine is created when the app starts (lifespan) and disposed when it stops.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypedDict

import orjson
from cross_web import HTTPException
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http.parse_content_type import parse_content_type

from api.context import Context
from api.errors import ErrorCode
from api.exports import export_routes
from api.logs import configure_logging
from api.middleware import BodySizeLimit, RequestGuard
from api.ratelimit import RateLimit
from api.relay import MAX_PAGE_SIZE
from api.schema import build_schema
from geo.db import Database, async_engine, current_revision, head_revision
from geo.settings import Settings, load_settings

logger = logging.getLogger("hverdag.api")


class State(TypedDict):
    engine: AsyncEngine


_SHAPE = 'The request body must be a JSON object such as {"query": "...", "variables": {...}}'


class GraphQLApp(GraphQL[Context, None]):
    """strawberry's ASGI view with hverdag's context and a 400 for every malformed body."""

    #: HVERDAG_MAX_PAGE_SIZE, handed to each request's context.
    max_page_size: int = MAX_PAGE_SIZE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """strawberry's view, but a refused request (malformed body, wrong method…) answers
        JSON with ``extensions.code`` like every other error, not strawberry's plain text."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as exc:
            response = http_error(exc.status_code, exc.reason)
        await response(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket
                          ) -> Context:
        assert isinstance(request, Request)  # no websocket protocols are offered
        context = Context.for_request(request.state.engine, request, self.max_page_size)
        if isinstance(response, Response):
            response.headers["x-request-id"] = context.request_id
        return context

    def decode_json(self, data: str | bytes) -> object:
        try:
            return json.loads(data)
        except (UnicodeDecodeError, RecursionError) as exc:
            raise HTTPException(400, "Unable to parse request body as UTF-8 JSON") from exc

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def parse_http_body(self, request: Any) -> Any:
        # strawberry assumes a JSON body is an object (or a batch list) and would fail with a
        # 500 on `5`, `"text"` or `null`; check the shape first.
        if request.method == "POST":
            content_type, _ = parse_content_type(request.content_type or "")
            if "application/json" in content_type:
                body = self.parse_json(await request.get_body())
                if not isinstance(body, dict | list):
                    raise HTTPException(400, _SHAPE)
                if isinstance(body, dict) and not isinstance(body.get("operationName"),
                                                             str | None):
                    raise HTTPException(400, "`operationName` must be a string or null")
        return await super().parse_http_body(request)


def http_error(status: int, reason: str) -> Response:
    """A GraphQL-shaped JSON error for a request refused before GraphQL ran."""
    code = ErrorCode.NOT_FOUND if status == 404 else ErrorCode.BAD_USER_INPUT
    return JSONResponse({"errors": [{"message": reason, "extensions": {
        "code": code.value, "reason": reason}}]}, status_code=status)


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    response = http_error(exc.status_code, str(exc.detail))
    response.headers.update(exc.headers or {})
    return response


async def healthz(request: Request) -> Response:
    """The process is up (no database involved)."""
    return JSONResponse({"status": "ok"})


def _reason(exc: BaseException) -> str:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(getattr(exc, 'orig', None) or exc).__name__}: {detail[0] if detail else ''}"


def _readyz(settings: Settings) -> Any:
    head: list[str | None] = []
    limit = settings.connect_timeout_s + 0.5

    async def readyz(request: Request) -> Response:
        """200 when the database answers and its migrations are at head; else 503 and why."""
        engine: AsyncEngine = request.state.engine
        try:
            async with asyncio.timeout(limit):
                async with engine.connect() as conn:
                    current = await conn.run_sync(current_revision)
        except TimeoutError:
            return _unready(f"the database did not answer within {limit:g} s")
        except Exception as exc:  # any failure to connect means not ready
            return _unready(f"the database is unreachable: {_reason(exc)}")
        if not head:
            head.append(await asyncio.to_thread(head_revision))
        if current != head[0]:
            return _unready(f"migrations are not at head: the database is at {current}, "
                            f"the code at {head[0]}; run `hverdag db migrate`")
        return JSONResponse({"status": "ready", "revision": current})

    return readyz


def _unready(reason: str) -> Response:
    return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)


def _freeze_startup_objects() -> None:
    """Take what exists at startup (modules, the schema, the engine: ~150,000 objects that live
    as long as the process) out of the garbage collector's full collections, which otherwise
    rescan them all every 1,000-3,000 requests and stall a request for 20-110 ms. Once per
    process."""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


def create_app(settings: Settings | None = None) -> Starlette:
    """The ASGI app. Reads the environment when ``settings`` is not given.

    Without a database URL it connects to the embedded cluster's socket (``hverdag serve``
    starts that cluster; this factory never does).
    """
    settings = settings if settings is not None else load_settings()
    configure_logging(settings)
    graphql = GraphQLApp(
        build_schema(settings),
        graphql_ide="graphiql" if settings.graphql_explorer else None,
        subscription_protocols=(),
    )
    graphql.max_page_size = settings.max_page_size

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        database = Database.from_settings(settings, start=False)
        engine = async_engine(database.url, settings)
        _freeze_startup_objects()
        try:
            yield {"engine": engine}
        finally:
            await engine.dispose()

    return Starlette(
        middleware=[Middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                               allow_methods=["GET", "POST"],
                               allow_headers=["content-type", "authorization", "x-request-id"],
                               expose_headers=["x-request-id", "retry-after"], max_age=600),
                    # docs/reliability.md. API-key authentication goes between the guard and
                    # the rate limit: the limit reads the principal it leaves in the scope.
                    Middleware(RequestGuard),
                    *([Middleware(RateLimit, settings=settings)]
                      if settings.rate_limit_enabled else []),
                    Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)],
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", _readyz(settings), methods=["GET"]),
            *export_routes(settings),
        ],
        lifespan=lifespan,
        exception_handlers={StarletteHTTPException: _http_exception},
    )
