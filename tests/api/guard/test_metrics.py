"""GET /metrics: request counts and latencies by route and status, GraphQL operations and error
codes, and the database pool, in Prometheus' text format; off with HVERDAG_METRICS=false."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.guard.metrics import Metrics
from geo.db import async_engine
from tests.api.conftest import http_client

pytestmark = pytest.mark.anyio

NEARBY = "{ nearby(at: {lat: 59.9155, lon: 10.772}, radiusMeters: 2000, first: 3) { totalCount } }"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: Any) -> dict[Any, float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_requests_move_the_counters(api_settings):
    async with http_client(create_app(api_settings)) as client:
        before = await scrape(client)
        for _ in range(3):
            response = await client.post("/graphql", json={"query": NEARBY})
            assert response.status_code == 200
            assert "errors" not in response.json()
        assert (await client.get("/export/nothing.csv")).status_code == 404
        assert (await client.get("/no/such/path")).status_code == 404
        after = await scrape(client)

    graphql = {"method": "POST", "route": "/graphql"}
    assert (
        value(after, "hverdag_http_requests_total", status="200", **graphql)
        - value(before, "hverdag_http_requests_total", status="200", **graphql)
        == 3
    )
    assert (
        value(after, "hverdag_http_request_duration_seconds_count", **graphql)
        - value(before, "hverdag_http_request_duration_seconds_count", **graphql)
        == 3
    )
    assert value(after, "hverdag_http_request_duration_seconds_sum", **graphql) > value(
        before, "hverdag_http_request_duration_seconds_sum", **graphql
    )
    # The route's template, never the raw path: the label set stays small.
    assert (
        value(
            after,
            "hverdag_http_requests_total",
            method="GET",
            route="/export/{name:path}",
            status="404",
        )
        == 1
    )
    assert (
        value(after, "hverdag_http_requests_total", method="GET", route="(unmatched)", status="404")
        == 1
    )
    assert (
        value(after, "hverdag_graphql_operations_total", type="query", field="nearby")
        - value(before, "hverdag_graphql_operations_total", type="query", field="nearby")
        == 3
    )


async def test_graphql_errors_are_counted_by_code(api_settings):
    async with http_client(create_app(api_settings)) as client:
        bad = await client.post(
            "/graphql",
            json={"query": "{ nearby(at: {lat: 91, lon: 10}, radiusMeters: 100) { totalCount } }"},
        )
        assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        unknown = await client.post("/graphql", json={"query": "{ noSuchField }"})
        assert unknown.json()["errors"]
        after = await scrape(client)
    assert value(after, "hverdag_graphql_errors_total", code="BAD_USER_INPUT") == 2
    # A field the schema does not have is not a label value of its own.
    assert value(after, "hverdag_graphql_operations_total", type="query", field="(invalid)") == 1
    assert not any(labels and ("field", "noSuchField") in labels for _, labels in after)


async def test_pool_gauges_follow_checked_out_connections(api_settings):
    metrics = Metrics()
    engine = async_engine(api_settings.database_url, api_settings)
    metrics.watch_pools({"primary": engine})
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
            held = samples(_text(metrics))
        released = samples(_text(metrics))
    finally:
        await engine.dispose()
    assert value(held, "hverdag_db_pool_connections", engine="primary", state="checked_out") == 1
    assert (
        value(released, "hverdag_db_pool_connections", engine="primary", state="checked_out") == 0
    )
    assert value(released, "hverdag_db_pool_connections", engine="primary", state="idle") == 1
    assert value(released, "hverdag_db_pool_size", engine="primary") == api_settings.pool_size


async def test_the_app_reports_its_pool(api_settings):
    async with http_client(create_app(api_settings)) as client:
        await client.post("/graphql", json={"query": NEARBY})
        found = await scrape(client)
    assert value(found, "hverdag_db_pool_size", engine="primary") == api_settings.pool_size
    assert value(found, "hverdag_db_pool_connections", engine="primary", state="idle") >= 1


def _text(metrics: Metrics) -> str:
    from prometheus_client.exposition import generate_latest

    return generate_latest(metrics.registry).decode()


async def test_metrics_can_be_switched_off(api_settings):
    settings = api_settings.model_copy(update={"metrics": False})
    async with http_client(create_app(settings)) as client:
        assert (await client.get("/metrics")).status_code == 404
        response = await client.post("/graphql", json={"query": NEARBY})
        assert response.status_code == 200
        assert "errors" not in response.json()
