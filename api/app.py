"""The HTTP app: GraphQL at ``/graphql``, liveness at ``/healthz``, readiness at ``/readyz``,
the exports under ``/export/``, Prometheus metrics at ``/metrics`` (docs/operations.md).

Run it with ``uvicorn api.app:create_app --factory``: nothing is built at import time. The
async engines are created when the app starts (lifespan) and disposed when it stops: the
primary's, and a read replica's when ``HVERDAG_DATABASE_READ_URL`` is set (docs/scaling.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, TypedDict, cast

import orjson
from cross_web import HTTPException
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.types import ExecutionResult

from api.delivery import Deliverer, delivery_url
from api.errors import ErrorCode
from api.graphql.compiled import CompiledQueries
from api.graphql.context import DEFAULT_STALE_AFTER_DAYS, Context
from api.graphql.metrics import operation_counter
from api.graphql.relay import MAX_PAGE_SIZE
from api.graphql.schema import build_schema, compiled_queries
from api.graphql.transport import (
    GRAPHQL_RESPONSE_JSON,
    DocumentRefused,
    PersistedDocuments,
    answer_media_type,
    load_trusted_documents,
    request_error_status,
)
from api.guard.auth import AuthMiddleware, KeyCache, KeyUses
from api.guard.caching import HttpCache
from api.guard.logs import configure_logging
from api.guard.metrics import Metrics, MetricsMiddleware
from api.guard.ratelimit import FailureLimit, RateLimit, limiter_of
from api.guard.reports import ReportGuard
from api.guard.requests import BodySizeLimit, RequestGuard
from api.guard.revocations import listen_for_revocations
from api.http.exports import export_routes
from api.http.labels import label_routes
from api.http.ogc import ogc_routes
from api.http.standards import standards_routes
from api.http.tiles import tile_routes
from api.http.web import MIN_COMPRESS, graphiql_html, web_routes
from geo.db import (
    Database,
    async_engine,
    autocommit_engine,
    current_revision,
    head_revision,
    read_engine,
)
from geo.reader import Reader, ReadLimits
from geo.settings import Settings, load_settings

logger = logging.getLogger("hverdag.api")


class State(TypedDict):
    engine: AsyncEngine
    #: Read-only work (GraphQL queries, exports): a replica's engine, or ``engine`` itself.
    read_engine: AsyncEngine
    #: The near-me reads' autocommit connections to ``read_engine``'s server.
    autocommit_engine: AsyncEngine
    #: Every read goes through it (geo.reader): GraphQL, exports, HSDS, tiles, OGC API.
    reader: Reader
    #: HVERDAG_STALE_AFTER_DAYS, for the HTTP endpoints' `stale` and `freshOnly`.
    stale_after_days: int


ERROR_CODES = frozenset(code.value for code in ErrorCode)
_SHAPE = 'The request body must be a JSON object such as {"query": "...", "variables": {...}}'


class GraphQLApp(GraphQL[Context, None]):
    """strawberry's ASGI view with hverdag's context and a 400 for every malformed body; a
    request the compiled path (api.graphql.compiled) can answer skips strawberry's execution."""

    compiled: CompiledQueries | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """strawberry's view, but a refused request (malformed body, wrong method…) answers
        JSON with ``extensions.code`` like every other error, not strawberry's plain text;
        and a POST the compiled path can answer never reaches strawberry. Every answer then
        gets its media type, status and Cache-Control (:meth:`_finish`)."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        response = None
        try:
            if self.compiled is not None and scope["method"] == "POST":
                response = await self._compiled_response(request, self.compiled)
            if response is None:  # strawberry's own way (with the body read above, if it was)
                try:
                    response = await self.run(request)
                except HTTPException as exc:
                    response = http_error(exc.status_code, exc.reason)
        except DocumentRefused as refused:
            response = self._refused(request, refused)
        self._finish(request, response)
        await response(scope, receive, send)

    def _refused(self, request: Request, refused: DocumentRefused) -> Response:
        """A persisted-query refusal, answered like any other request error."""
        answer = self._answer_shape(
            request,
            {
                "data": None,
                "errors": [{"message": refused.message, "extensions": refused.extensions()}],
            },
        )
        return Response(orjson.dumps(answer), media_type="application/json")

    @staticmethod
    def _answer_shape(request: Request, answer: dict[str, Any]) -> dict[str, Any]:
        """``answer`` as the client's media type wants it: under graphql-response+json a
        request error has no ``data`` and a 4xx status (noted for :meth:`_finish`)."""
        request.state.graphql_errors = bool(answer.get("errors"))
        status = request_error_status(answer)
        if status is not None and answer_media_type(request.headers.get("accept")) == (
            GRAPHQL_RESPONSE_JSON
        ):
            request.state.graphql_status = status
            return {k: v for k, v in answer.items() if k != "data"}
        return answer

    def _finish(self, request: Request, response: Response) -> None:
        """The answer's media type (the one the client accepts), its status under
        graphql-response+json, and its Cache-Control: the public's error-free GET answers are
        left to api.guard.caching (public, with an ETag); anything else is ``no-store``."""
        state = request.scope.get("state", {})
        if response.media_type == "text/html" or response.headers.get(
            "content-type", ""
        ).startswith("text/html"):
            response.headers["cache-control"] = "no-cache"  # the explorer's page
            return
        media = answer_media_type(request.headers.get("accept"))
        if media == GRAPHQL_RESPONSE_JSON:
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
        if (status := state.get("graphql_status")) is not None:
            response.status_code = status
        # Translated texts follow Accept-Language when no `lang` is given (docs/languages.md).
        response.headers.add_vary_header("Accept-Language")
        cacheable = (
            request.method == "GET"
            and response.status_code == 200
            and not state.get("graphql_errors", True)
        )
        if not cacheable:
            response.headers["cache-control"] = "no-store"

    async def _compiled_response(
        self, request: Request, compiled: CompiledQueries
    ) -> Response | None:
        if _media_type(request.headers.get("content-type", "")) != "application/json":
            return None
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return None
        if not isinstance(body, dict):
            return None
        query, name, variables, extensions = (
            body.get("query"),
            body.get("operationName"),
            body.get("variables"),
            body.get("extensions"),
        )
        if not (
            isinstance(query, str | None)
            and isinstance(name, str | None)
            and isinstance(variables, dict | None)
            and isinstance(extensions, dict | None)
        ):
            return None
        query = self.documents.document_for(query, extensions)
        if query is None:
            return None
        plan = compiled.plan(query, name)
        if plan is None:
            return None
        context = Context.for_request(
            request,
            max_page_size=self.max_page_size,
            stale_after_days=self.stale_after_days,
            report_guard=self.report_guard,
            webhook_allow_loopback=self.webhook_allow_loopback,
        )
        answer = await compiled.answer(plan, variables, context)
        if answer is None:
            if self.metrics is not None:
                self.metrics.fallbacks.inc()
            return None
        if self.metrics is not None:  # what operation_counter counts on strawberry's path
            self.metrics.count_operation("query", plan.field_node.name.value)
        return Response(
            orjson.dumps(self._answer_shape(request, answer)),
            media_type="application/json",
            headers={"x-request-id": context.request_id},
        )

    metrics: Metrics | None = None

    #: The documents requests may name by hash (automatic persisted queries, trusted documents).
    documents: PersistedDocuments = PersistedDocuments()

    #: HVERDAG_MAX_PAGE_SIZE, handed to each request's context.
    max_page_size: int = MAX_PAGE_SIZE
    #: HVERDAG_STALE_AFTER_DAYS, handed to each request's context.
    stale_after_days: int = DEFAULT_STALE_AFTER_DAYS
    #: The problem reports' bucket (api.guard.reports).
    report_guard: ReportGuard | None = None
    #: HVERDAG_WEBHOOK_ALLOW_LOOPBACK, handed to each request's context.
    webhook_allow_loopback: bool = False

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        assert isinstance(request, Request)  # no websocket protocols are offered
        context = Context.for_request(
            request,
            max_page_size=self.max_page_size,
            stale_after_days=self.stale_after_days,
            report_guard=self.report_guard,
            webhook_allow_loopback=self.webhook_allow_loopback,
        )
        if isinstance(response, Response):
            response.headers["x-request-id"] = context.request_id
            context.response = response
        return context

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET with only a persisted query's hash is a query, not a browser wanting the page.
        return super().should_render_graphql_ide(request) and (
            request.query_params.get("extensions") is None
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        # The explorer from the app's own npm assets (/vendor/), not strawberry's CDN page.
        return HTMLResponse(graphiql_html())

    def decode_json(self, data: str | bytes) -> object:
        try:
            return json.loads(data)
        except (UnicodeDecodeError, RecursionError) as exc:
            raise HTTPException(400, "Unable to parse request body as UTF-8 JSON") from exc

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        if self.metrics is not None and result.errors:
            self.metrics.count_errors(result.errors, ERROR_CODES)
        answer = await super().process_result(request, result)
        return cast(GraphQLHTTPResponse, self._answer_shape(request, dict(answer)))

    async def parse_http_body(self, request: Any) -> Any:
        # strawberry assumes a JSON body is an object (or a batch list) and would fail with a
        # 500 on `5`, `"text"` or `null`; check the shape first.
        if request.method == "POST":
            content_type, _ = parse_content_type(request.content_type or "")
            if "application/json" in content_type:
                body = self.parse_json(await request.get_body())
                if not isinstance(body, dict | list):
                    raise HTTPException(400, _SHAPE)
                if isinstance(body, dict) and not isinstance(body.get("operationName"), str | None):
                    raise HTTPException(400, "`operationName` must be a string or null")
        data = await super().parse_http_body(request)
        if isinstance(data, GraphQLRequestData):  # the document a hash names, or a refusal
            data.query = self.documents.document_for(data.query, data.extensions)
        return data


@lru_cache(maxsize=64)
def _media_type(content_type: str) -> str:
    """The media type of a Content-Type header (clients send a few distinct ones; parsing one
    takes as long as the rest of the request's dispatch)."""
    return parse_content_type(content_type)[0]


def http_error(status: int, reason: str) -> Response:
    """A GraphQL-shaped JSON error for a request refused before GraphQL ran."""
    code = ErrorCode.NOT_FOUND if status == 404 else ErrorCode.BAD_USER_INPUT
    return JSONResponse(
        {"errors": [{"message": reason, "extensions": {"code": code.value, "reason": reason}}]},
        status_code=status,
    )


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
        """200 when the database (and the read replica, if one is configured) answers and its
        migrations are at head; else 503 and why."""
        engines = {"database": request.state.engine}
        if request.state.read_engine is not request.state.engine:
            engines["read replica"] = request.state.read_engine
        current: str | None = None
        for name, engine in engines.items():
            try:
                async with asyncio.timeout(limit):
                    async with engine.connect() as conn:
                        current = await conn.run_sync(current_revision)
            except TimeoutError:
                return _unready(f"the {name} did not answer within {limit:g} s")
            except Exception as exc:  # any failure to connect means not ready
                return _unready(f"the {name} is unreachable: {_reason(exc)}")
            if not head:
                head.append(await asyncio.to_thread(head_revision))
            if current != head[0]:
                return _unready(
                    f"migrations are not at head: the {name} is at {current}, "
                    f"the code at {head[0]}; run `hverdag db migrate`"
                )
        return JSONResponse({"status": "ready", "revision": current})

    return readyz


def _unready(reason: str) -> Response:
    return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)


def _freeze_startup_objects() -> None:
    """Take what exists at startup (modules, the schema, the engine: objects that live as long
    as the process) out of the garbage collector's full collections, which otherwise rescan
    them all every few thousand requests and stall a request (docs/performance.md). Once per
    process."""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


def _read_limits(settings: Settings) -> ReadLimits:
    # The read pool holds 2 × pool_size connections (its size and as many in overflow): the
    # requests' extra connections may take half of it, the other half stays for first ones.
    return ReadLimits(
        per_request=settings.request_connections,
        shared_extra=settings.pool_size,
        heavy=settings.heavy_reads,
    )


def create_app(settings: Settings | None = None) -> Starlette:
    """The ASGI app. Reads the environment when ``settings`` is not given.

    Without a database URL it connects to the embedded cluster's socket (``hverdag serve``
    starts that cluster; this factory never does).
    """
    settings = settings if settings is not None else load_settings()
    configure_logging(settings)
    metrics = Metrics() if settings.metrics else None
    schema = build_schema(settings, [] if metrics is None else [operation_counter(metrics)])
    graphql = GraphQLApp(
        schema,
        graphql_ide="graphiql" if settings.graphql_explorer else None,
        subscription_protocols=(),
        # Files for the bulk mutations (the GraphQL multipart request convention). Such a
        # request is one a browser may send cross-site without asking, but every mutation
        # needs an Authorization header, which no cross-site form can add (docs/writes.md).
        multipart_uploads_enabled=True,
    )
    graphql.metrics = metrics
    graphql.max_page_size = settings.max_page_size
    graphql.stale_after_days = settings.stale_after_days
    graphql.webhook_allow_loopback = settings.webhook_allow_loopback
    if settings.compiled_queries:
        graphql.compiled = compiled_queries(schema, settings)
    graphql.documents = PersistedDocuments(
        enabled=settings.persisted_queries,
        max_entries=settings.persisted_query_entries,
        max_document_bytes=settings.max_document_bytes,
        trusted=(
            load_trusted_documents(settings.trusted_documents)
            if settings.trusted_documents is not None
            else None
        ),
    )

    # The worker's API key lookups: forgotten at once when a key is revoked (the listener below),
    # and the keys' use recorded in the background.
    key_cache, key_uses = KeyCache(settings.auth_cache_s), KeyUses()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        database = Database.from_settings(settings, start=False)
        engine = async_engine(database.url, settings)
        settled = asyncio.Event()
        listener = asyncio.create_task(
            listen_for_revocations(
                database.url,
                key_cache,
                connect_timeout_s=settings.connect_timeout_s,
                settled=settled,
            ),
            name="hverdag-key-revocations",
        )
        # Serve once listening (or once that failed: it keeps trying in the background), so no
        # key is cached before the listener's first connection empties the cache; a database
        # that does not answer delays startup by the connect timeout at most.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(settings.connect_timeout_s + 0.5):
                await settled.wait()
        reader = read_engine(settings, engine)
        autocommit = autocommit_engine(settings, reader)
        if metrics is not None:
            metrics.watch_pools(
                {"primary": engine, "autocommit": autocommit}
                if reader is engine
                else {"primary": engine, "read": reader, "autocommit": autocommit}
            )
        _freeze_startup_objects()
        stop_delivery = asyncio.Event()
        # Its own small engine and name: its polls are not the API's reads, nor take its pool.
        delivery_engine = (
            async_engine(delivery_url(database.url), settings.model_copy(update={"pool_size": 1}))
            if settings.webhook_delivery
            else None
        )
        delivery = (
            asyncio.create_task(
                Deliverer(delivery_engine, settings).run_forever(stop_delivery),
                name="hverdag-webhooks",
            )
            if delivery_engine is not None
            else None
        )
        try:
            yield {
                "engine": engine,
                "read_engine": reader,
                "autocommit_engine": autocommit,
                "reader": Reader(reader, autocommit, _read_limits(settings)),
                "stale_after_days": settings.stale_after_days,
            }
        finally:
            stop_delivery.set()
            if delivery is not None and delivery_engine is not None:
                # A delivery in flight finishes (its timeout bounds the wait); a lease it could
                # not record runs out and the change goes again: at least once.
                await asyncio.gather(delivery, return_exceptions=True)
                await delivery_engine.dispose()
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
            await key_uses.drain()
            await autocommit.dispose()
            if reader is not engine:
                await reader.dispose()
            await engine.dispose()

    # One limiter for the requests and the failed authentications: this process's buckets, or
    # Redis's shared ones (HVERDAG_REDIS_URL).
    limiter = limiter_of(settings) if settings.rate_limit_enabled else None
    graphql.report_guard = ReportGuard.of(settings, limiter)
    failures = FailureLimit.of(settings, limiter) if limiter is not None else None
    middleware = [
        # Everything the app sends (the page, the API's JSON, exports as they stream, tiles)
        # gzip-compressed for a client that accepts it; /static and /vendor send their own
        # precompressed bytes (api/http/web.py), which this leaves alone.
        Middleware(GZipMiddleware, minimum_size=MIN_COMPRESS, compresslevel=6),
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            # If-None-Match and ETag: a web app revalidating an answer itself (docs/api.md).
            allow_headers=["content-type", "authorization", "x-request-id", "if-none-match"],
            expose_headers=[
                "x-request-id",
                "retry-after",
                "ratelimit",
                "ratelimit-policy",
                "etag",
            ],
            max_age=600,
        ),
        # docs/reliability.md. API-key authentication goes between the guard and
        # the rate limit: the limit reads the principal it leaves in the scope.
        Middleware(RequestGuard),
        Middleware(AuthMiddleware, cache=key_cache, failures=failures, uses=key_uses),
        *([Middleware(RateLimit, settings=settings, limiter=limiter)] if limiter else []),
        Middleware(HttpCache, max_age_s=settings.cache_max_age_s),
        Middleware(
            BodySizeLimit,
            max_bytes=settings.max_body_bytes,
            max_upload_bytes=settings.max_upload_bytes,
        ),
    ]
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", _readyz(settings), methods=["GET"]),
        *export_routes(settings),
        *tile_routes(),
        *ogc_routes(),
        *label_routes(),
        # --- open standards (issue 16): iCalendar, RPDE feeds, schema.org pages, DCAT ---
        *standards_routes(settings),
        # --- end of open standards ---
        *web_routes(settings),
    ]
    if metrics is not None:
        middleware.insert(0, Middleware(MetricsMiddleware, metrics=metrics))
        routes.append(Route("/metrics", metrics.endpoint, methods=["GET"]))
    return Starlette(
        middleware=middleware,
        routes=routes,
        lifespan=lifespan,
        exception_handlers={StarletteHTTPException: _http_exception},
    )
