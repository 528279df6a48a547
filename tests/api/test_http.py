"""The HTTP app: /graphql over POST and GET, malformed bodies, /healthz and /readyz."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest

from api.app import create_app
from geo.db import create_database, drop_database
from geo.settings import load_settings
from tests.api.conftest import bad_input, http_client

pytestmark = pytest.mark.anyio

WHERE_AM_I = """query WhereAmI {
  whereAmI(at: {lat: 59.9420, lon: 10.8920}) {
    municipality { number name population immigrantShare }
    county { number name }
  }
}"""

MY_MUNICIPALITY = """query MyMunicipality {
  municipality(number: "0301") {
    number name population immigrantPopulation immigrantShare areaKm2
    centroid { lat lon }
    boundary(simplifyMeters: 100)
  }
}"""


async def test_the_contract_operations(client):
    response = await client.post("/graphql", json={"query": WHERE_AM_I})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert "errors" not in body
    assert body["data"]["whereAmI"]["municipality"]["number"] == "0301"
    assert body["data"]["whereAmI"]["county"] == {"number": "03", "name": "Oslo"}
    response = await client.post("/graphql", json={"query": MY_MUNICIPALITY})
    oslo = response.json()["data"]["municipality"]
    assert oslo["boundary"]["type"] == "MultiPolygon"
    assert oslo["areaKm2"] == pytest.approx(454, abs=2)


async def test_get_with_variables_and_request_id(client):
    response = await client.get(
        "/graphql",
        params={
            "query": "query ($n: String!) { municipality(number: $n) { name } }",
            "variables": '{"n": "4601"}',
        },
        headers={"x-request-id": "probe-42"},
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"municipality": {"name": "Bergen"}}}
    assert response.headers["x-request-id"] == "probe-42"


async def test_graphiql_for_browsers(client, api_settings):
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    quiet = create_app(api_settings.model_copy(update={"graphql_explorer": False}))
    async with http_client(quiet) as other:
        assert (await other.get("/graphql", headers={"accept": "text/html"})).status_code == 404


RAW_VARIABLES = (
    '{"query": "query ($lat: Float!, $lon: Float!) { whereAmI(at: {lat: $lat, '
    'lon: $lon}) { county { name } } }", "variables": {"lat": 59.9, "lon": %s}}'
)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", '"abc"', "1e999"])
async def test_non_finite_numbers_in_raw_json(client, value):
    response = await client.post(
        "/graphql", content=RAW_VARIABLES % value, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    error = bad_input(response.json())
    assert "$lon" in error["message"]


async def test_bad_input_over_http_is_200_with_a_reason(client):
    response = await client.post(
        "/graphql", json={"query": "{ whereAmI(at: {lat: 91, lon: 10}) { county { name } } }"}
    )
    assert response.status_code == 200
    error = bad_input(response.json())
    assert error["extensions"]["field"] == "at.lat"
    response = await client.post(
        "/graphql", json={"query": "{ municipalities(first: 1000) { totalCount } }"}
    )
    assert bad_input(response.json())["extensions"]["field"] == "first"


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"{not json", "application/json", "JSON"),
        (b"", "application/json", "JSON"),
        (b"\xff\xfe\x00garbage", "application/json", "JSON"),
        (b"5", "application/json", "JSON object"),
        (b'"query { counties { name } }"', "application/json", "JSON object"),
        (b"null", "application/json", "JSON object"),
        (b"[]", "application/json", "Batching"),
        (b'{"variables": {}}', "application/json", "No GraphQL query"),
        (b'{"query": 5}', "application/json", "query"),
        (b'{"query": "{ counties { name } }", "variables": "x"}', "application/json", "variables"),
        (
            b'{"query": "{ counties { name } }", "operationName": 5}',
            "application/json",
            "operationName",
        ),
        (b'{"query": "{ counties { name } }", "extensions": []}', "application/json", "extensions"),
        (b"query { counties { name } }", "text/plain", "content type"),
        (b"[" * 100_000, "application/json", "JSON"),
    ],
)
async def test_malformed_bodies_are_400(client, body, content_type, reason):
    response = await client.post("/graphql", content=body, headers={"content-type": content_type})
    assert response.status_code == 400, response.text
    assert reason.lower() in response.text.lower()
    assert "Traceback" not in response.text


async def test_mutation_over_get_and_unknown_methods(client):
    assert (
        await client.put("/graphql", json={"query": "{ counties { name } }"})
    ).status_code == 405
    response = await client.get(
        "/graphql", params={"query": "{ counties { name } }", "variables": "{oops"}
    )
    assert response.status_code == 400


async def test_masked_error_over_http(client, monkeypatch):
    def explode(*args):
        raise ValueError("internal path /srv/secret")

    monkeypatch.setattr("api.graphql.types.county.list_counties", explode)
    response = await client.post(
        "/graphql", json={"query": "{ counties { name } }"}, headers={"x-request-id": "trace-me"}
    )
    assert response.status_code == 200
    (error,) = response.json()["errors"]
    assert error["message"] == "Internal error"
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "trace-me"}
    assert "secret" not in response.text


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_on_the_migrated_database(client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


@pytest.mark.parametrize("where", ["missing database", "dead socket"])
async def test_readyz_unavailable_answers_quickly(loaded_url, where, tmp_path):
    url = (
        loaded_url.set(database="hverdag_no_such_database")
        if where == "missing database"
        else loaded_url.set(query={"host": str(tmp_path / "nothing-listens-here")})
    )
    # A connection attempt may take this long: the answers below must not wait for it.
    settings = load_settings(
        database_url=url.render_as_string(hide_password=False), connect_timeout_s=60
    )
    async with http_client(create_app(settings)) as unready:
        started = time.monotonic()
        response = await unready.get("/readyz")
        elapsed = time.monotonic() - started
        assert (await unready.get("/healthz")).status_code == 200
        graphql = await unready.post("/graphql", json={"query": "{ counties { name } }"})
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "unreachable" in response.json()["reason"]
    # Told at once (7 ms quiet; bound 700x that), not after the 60 s connection attempt.
    assert elapsed < 5
    assert graphql.status_code == 200
    assert graphql.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"


async def test_readyz_unmigrated_database(server):
    url = server.with_database(f"hverdag_test_unmigrated_{uuid.uuid4().hex[:8]}").url
    create_database(url)
    try:
        settings = load_settings(database_url=url.render_as_string(hide_password=False))
        async with http_client(create_app(settings)) as unready:
            response = await unready.get("/readyz")
    finally:
        drop_database(url)
    assert response.status_code == 503
    assert "migrations are not at head" in response.json()["reason"]


async def test_browsers_on_other_origins_may_call_the_api(client) -> None:
    """Open data: a third-party web app's preflight is allowed (no credentials involved)."""
    response = await client.options(
        "/graphql",
        headers={
            "origin": "https://app.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"


_READY_WITHOUT_ALEMBIC = """
import asyncio, sys
from api.app import create_app
from tests.api.conftest import http_client

async def ready() -> int:
    async with http_client(create_app()) as client:
        return (await client.get("/readyz")).status_code

print(asyncio.run(ready()), sorted(m for m in sys.modules if m.split(".")[0] == "alembic"))
"""


def test_a_worker_never_loads_the_migration_tool(loaded_url) -> None:
    """A worker only reads revisions (/readyz): neither building the app nor answering
    /readyz imports Alembic (~10 MB a worker)."""
    env = {
        **os.environ,
        "HVERDAG_LOG_LEVEL": "warning",
        "HVERDAG_DATABASE_URL": loaded_url.render_as_string(hide_password=False),
    }
    out = subprocess.run(
        [sys.executable, "-c", _READY_WITHOUT_ALEMBIC],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert out.stdout.strip() == "200 []", out.stdout + out.stderr
