"""Prometheus metrics at ``/metrics`` (switch off with ``HVERDAG_METRICS=false``).

- ``hverdag_http_requests_total{method,route,status}`` and
  ``hverdag_http_request_duration_seconds{method,route}``: every HTTP request, by the route's
  template (``/export/{name:path}``, never the raw path, so the label set stays small); the
  duration runs until the last byte was sent (a streamed export's whole download).
- ``hverdag_graphql_operations_total{type,field}``: GraphQL operations by type (query,
  mutation) and root field (``nearby``, ``coverage``); names outside the schema count as
  ``(invalid)``.
- ``hverdag_graphql_errors_total{code}``: errors by ``extensions.code``.
- ``hverdag_db_pool_connections{engine,state}``, ``hverdag_db_pool_size{engine}``,
  ``hverdag_db_pool_overflow{engine}``: the database pools (``primary``, and ``read`` when a
  read replica is configured), read when Prometheus scrapes, so they cost requests nothing.

Each app has its own registry (nothing global: tests build many apps). Each worker process
counts its own requests, so with ``--workers N`` a scrape sees one worker's share: run one
worker per container and scale containers (docs/operations.md).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "(unmatched)"
INVALID = "(invalid)"
#: Seconds: from a cached lookup (1 ms) to a long export.
BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _PoolCollector(Collector):
    """The pools' state at scrape time."""

    def __init__(self) -> None:
        self.engines: dict[str, AsyncEngine] = {}

    def collect(self) -> Iterable[Metric]:
        connections = GaugeMetricFamily(
            "hverdag_db_pool_connections",
            "Pooled database connections by state.",
            labels=["engine", "state"],
        )
        size = GaugeMetricFamily(
            "hverdag_db_pool_size", "Connections the pool keeps (its size).", labels=["engine"]
        )
        overflow = GaugeMetricFamily(
            "hverdag_db_pool_overflow",
            "Connections open beyond the pool's size (negative: not yet opened).",
            labels=["engine"],
        )
        for name, engine in self.engines.items():
            pool: Any = engine.sync_engine.pool
            connections.add_metric([name, "checked_out"], pool.checkedout())
            connections.add_metric([name, "idle"], pool.checkedin())
            size.add_metric([name], pool.size())
            overflow.add_metric([name], pool.overflow())
        yield from (connections, size, overflow)


class Metrics:
    """One app's registry and its instruments."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "hverdag_http_requests",
            "HTTP requests answered.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hverdag_http_request_duration_seconds",
            "Time from a request's arrival to its response's last byte.",
            ["method", "route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.operations = Counter(
            "hverdag_graphql_operations",
            "GraphQL operations, by type and root field.",
            ["type", "field"],
            registry=self.registry,
        )
        self.errors = Counter(
            "hverdag_graphql_errors",
            "GraphQL errors, by extensions.code.",
            ["code"],
            registry=self.registry,
        )
        self.fallbacks = Counter(
            "hverdag_graphql_compiled_fallbacks",
            "Planned near-me requests the compiled path gave up on (strawberry answered them).",
            registry=self.registry,
        )
        self.pools = _PoolCollector()
        self.registry.register(self.pools)
        # labels() takes a lock and hashes its arguments: keep the children.
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._operation_children: dict[tuple[str, str], Any] = {}

    def watch_pools(self, engines: Mapping[str, AsyncEngine]) -> None:
        self.pools.engines = dict(engines)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def count_operation(self, operation_type: str, field: str) -> None:
        child = self._operation_children.get((operation_type, field))
        if child is None:
            child = self.operations.labels(operation_type, field)
            self._operation_children[(operation_type, field)] = child
        child.inc()

    def count_errors(self, errors: Iterable[Any], codes: Collection[str]) -> None:
        for error in errors:
            code = (getattr(error, "extensions", None) or {}).get("code")
            self.errors.labels(code if code in codes else "OTHER").inc()

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Counts and times every HTTP request (a plain ASGI middleware: no per-request task)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server sends when the app fails before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", UNMATCHED)
            self.metrics.observe_request(
                scope["method"], route, status, time.perf_counter() - started
            )
