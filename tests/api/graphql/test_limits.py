"""Every limit is a setting, and each refusal says which limit with extensions.code: document
size, tokens, page size, cost budget, body size (413 before the body is read whole), the
request timeout (the query is cancelled in PostgreSQL too), introspection switched off."""

from __future__ import annotations

import json
import logging
import time

import pytest
import sqlalchemy as sa
from graphql import get_introspection_query

from api.app import create_app
from api.guard.logs import JsonLinesFormatter
from tests.api.conftest import http_client

pytestmark = pytest.mark.anyio


#: How long the slow statement of the timeout test would run if nothing cancelled it.
STATEMENT_S = 60


def _codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


@pytest.fixture
async def limited(api_settings):
    """A client of an app with small limits."""
    settings = api_settings.model_copy(
        update={
            "max_document_bytes": 2000,
            "max_tokens": 300,
            "max_page_size": 5,
            "max_query_cost": 50,
            "max_body_bytes": 4096,
            "max_query_depth": 4,
            "max_aliases": 3,
        }
    )
    async with http_client(create_app(settings)) as client:
        yield client


async def _post(client, query: str, **extra) -> dict:
    response = await client.post("/graphql", json={"query": query, **extra})
    assert response.status_code == 200, response.text
    return response.json()


async def test_document_size(limited):
    padding = "#" + "x" * 2100 + "\n"
    body = await _post(limited, padding + "{ counties { name } }")
    assert _codes(body) == ["QUERY_TOO_COMPLEX"]
    assert body["errors"][0]["extensions"]["limit"] == 2000
    assert body["data"] is None
    assert "bytes" in body["errors"][0]["message"]


async def test_token_limit(limited):
    fields = " ".join(["a"] * 320)
    body = await _post(limited, "{ counties { " + fields + " } }")
    assert _codes(body) == ["QUERY_TOO_COMPLEX"]
    assert "tokens" in body["errors"][0]["message"]


async def test_page_size_cap_is_the_setting(limited):
    body = await _post(limited, "{ municipalities(first: 6) { edges { node { number } } } }")
    assert _codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["maximum"] == 5
    body = await _post(limited, "{ municipalities(first: 5) { edges { node { number } } } }")
    assert len(body["data"]["municipalities"]["edges"]) == 5


async def test_cost_budget_is_the_setting_and_reports_the_estimate(limited):
    body = await _post(limited, "{ counties { municipalities { number } } }")
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["limit"] == 50
    # counties × (itself + municipalities × (itself + number))
    assert error["extensions"]["estimate"] == 20 * (1 + 60 * (1 + 1))
    body = await _post(limited, "{ counties { number } }")
    assert "errors" not in body


async def test_depth_and_aliases_are_the_settings(limited):
    body = await _post(
        limited,
        '{ municipality(number: "0301") { county { municipalities { county { name } } } } }',
    )
    assert _codes(body) == ["QUERY_TOO_COMPLEX"]
    body = await _post(
        limited,
        '{ a: county(number: "03") { name } b: county(number: "03") '
        '{ name } c: county(number: "03") { name } d: county(number: '
        '"03") { name } }',
    )
    assert _codes(body) == ["QUERY_TOO_COMPLEX"]


async def test_body_size_by_content_length(limited):
    big = json.dumps({"query": "{ counties { name } }", "variables": {"x": "y" * 5000}})
    response = await limited.post(
        "/graphql", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["limit"] == 4096
    assert response.headers["x-request-id"]


async def test_body_size_without_content_length_stops_reading(limited):
    chunks_read = 0

    async def chunks():
        nonlocal chunks_read
        yield b'{"query": "{ counties { name } }", "variables": {"x": "'
        for _ in range(1000):  # 1 MB in all, if it were read whole
            chunks_read += 1
            yield b"y" * 1000
        yield b'"}}'

    response = await limited.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert chunks_read < 20


async def test_introspection_can_be_switched_off(api_settings):
    settings = api_settings.model_copy(update={"graphql_introspection": False})
    async with http_client(create_app(settings)) as client:
        body = await _post(client, get_introspection_query())
        assert set(_codes(body)) == {"FORBIDDEN"}
        assert "introspection" in body["errors"][0]["message"].lower()
        # __typename is not introspection of the schema, and ordinary queries run.
        body = await _post(client, '{ __typename county(number: "03") { name } }')
        assert body["data"] == {"__typename": "Query", "county": {"name": "Oslo"}}


async def test_introspection_is_on_by_default(client):
    body = await _post(client, "{ __schema { queryType { name } } }")
    assert body["data"] == {"__schema": {"queryType": {"name": "Query"}}}


async def test_request_timeout_cancels_the_operation_and_its_query(
    api_settings, monkeypatch, loaded_conn
):
    def slow_counties(conn):
        conn.execute(sa.select(sa.func.pg_sleep(STATEMENT_S)))
        return []

    monkeypatch.setattr("api.graphql.types.county.list_counties", slow_counties)
    settings = api_settings.model_copy(update={"request_timeout_s": 0.5})
    async with http_client(create_app(settings)) as client:
        started = time.monotonic()
        response = await client.post(
            "/graphql",
            json={"query": "{ counties { name } }"},
            headers={"x-request-id": "slow-one"},
        )
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "TIMEOUT"
    assert error["extensions"]["requestId"] == "slow-one"
    # The 0.5 s timeout fired (bound: 10x it), not the sleep (STATEMENT_S, 12x the bound).
    assert 10 * (10 * settings.request_timeout_s) < STATEMENT_S  # the margins hold
    assert elapsed < 10 * settings.request_timeout_s
    # The statement was cancelled in the server too: no pg_sleep is left running.
    sleeping = loaded_conn.execute(
        sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep%' "
            "AND state = 'active' AND pid <> pg_backend_pid()"
        )
    ).scalar_one()
    assert sleeping == 0


NEAR = {
    "query": "query($at: LatLonInput!) { nearby(at: $at, first: 2) { edges { distanceMeters } } }",
    "variables": {"at": {"lat": 59.9139, "lon": 10.7522}},
}


async def test_a_timed_out_near_me_query_leaves_its_pooled_connection_usable(
    api_settings, monkeypatch, loaded_conn
):
    """The near-me statement runs on the autocommit pool, whose connections are not reset on
    return: one cancelled by the request timeout goes back idle, and the next request on the
    same pool is answered."""
    from geo.queries import nearby as geo_nearby

    real = geo_nearby.nearby_on_driver
    calls = []

    async def slow_then_real(conn, *args, **kwargs):
        calls.append(conn)
        if len(calls) <= 2:  # the compiled attempt, then strawberry's own
            await conn.execute("SELECT pg_sleep(5)")
        return await real(conn, *args, **kwargs)

    monkeypatch.setattr("api.graphql.types.nearby.nearby_on_driver", slow_then_real)
    settings = api_settings.model_copy(update={"request_timeout_s": 0.5, "pool_size": 1})
    async with http_client(create_app(settings)) as client:
        timed_out = (await client.post("/graphql", json=NEAR)).json()
        assert timed_out["errors"][0]["extensions"]["code"] == "TIMEOUT"
        answered = (await client.post("/graphql", json=NEAR)).json()
    assert "errors" not in answered, answered
    assert len(answered["data"]["nearby"]["edges"]) == 2
    assert calls[2] is calls[0]  # the one pooled connection, used again
    sleeping = loaded_conn.execute(
        sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep%' "
            "AND state = 'active' AND pid <> pg_backend_pid()"
        )
    ).scalar_one()
    assert sleeping == 0


async def test_error_outside_graphql_is_masked_and_logged_as_a_json_line(
    api_settings, monkeypatch, caplog
):
    from api import app as app_module

    async def broken(request):
        raise RuntimeError("secret: /srv/key")

    monkeypatch.setattr(app_module, "healthz", broken)
    async with http_client(create_app(api_settings)) as client:
        with caplog.at_level(logging.ERROR, logger="hverdag.api"):
            response = await client.get("/healthz", headers={"x-request-id": "boom-1"})
    assert response.status_code == 500
    (error,) = response.json()["errors"]
    assert error == {
        "message": "Internal error",
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "boom-1"},
    }
    assert "secret" not in response.text
    (record,) = [r for r in caplog.records if r.name == "hverdag.api"]
    line = json.loads(JsonLinesFormatter().format(record))
    assert line["request_id"] == "boom-1"
    assert line["level"] == "error"
    assert "RuntimeError: secret: /srv/key" in line["exception"]
    assert set(line) == {"time", "level", "logger", "request_id", "message", "exception"}


async def test_masked_graphql_error_logs_its_request_id(gql, monkeypatch, caplog):
    def explode(conn):
        raise ValueError("hidden")

    monkeypatch.setattr("api.graphql.types.county.list_counties", explode)
    with caplog.at_level(logging.ERROR, logger="hverdag.api"):
        result = await gql("{ counties { name } }")
    request_id = result.errors[0].extensions["requestId"]
    (record,) = [r for r in caplog.records if r.name == "hverdag.api"]
    line = json.loads(JsonLinesFormatter().format(record))
    assert line["request_id"] == request_id
    assert "ValueError: hidden" in line["exception"]
