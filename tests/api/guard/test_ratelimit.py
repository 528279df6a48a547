"""Rate limiting: token buckets per API key and per client address, limits per role."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest

from api.app import create_app
from api.guard.ratelimit import RateLimit, TokenBuckets, client_address, principal_of
from geo.settings import load_settings
from geo.vocab import Role
from tests.api.conftest import http_client

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_refills_at_the_rate_up_to_its_size():
    clock = Clock()
    buckets = TokenBuckets(clock=clock)
    assert [buckets.take("a", 2.0, 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a", 2.0, 3) == pytest.approx(0.5)
    clock.now += 0.5
    assert buckets.take("a", 2.0, 3) == 0.0
    clock.now += 100  # refills to its size, not beyond
    assert [buckets.take("a", 2.0, 3) for _ in range(4)][-1] > 0
    assert buckets.take("b", 2.0, 3) == 0.0  # another key has its own bucket


def test_buckets_are_bounded():
    buckets = TokenBuckets(max_buckets=10, clock=Clock())
    for key in range(50):
        buckets.take(key, 1.0, 1)
    assert len(buckets.buckets) == 10
    assert list(buckets.buckets)[-1] == 49


def _scope(client=("10.0.0.9", 5555), forwarded=None, principal=None):
    headers = [(b"x-forwarded-for", v.encode()) for v in forwarded or []]
    state = {} if principal is None else {"principal": principal}
    return {"type": "http", "client": client, "headers": headers, "state": state}


def test_client_address_and_forwarded_for():
    assert client_address(_scope(forwarded=["1.1.1.1"]), 0) == "10.0.0.9"  # off by default
    assert client_address(_scope(forwarded=["6.6.6.6, 2.2.2.2"]), 1) == "2.2.2.2"
    assert client_address(_scope(forwarded=["6.6.6.6, 2.2.2.2", "3.3.3.3"]), 2) == "2.2.2.2"
    assert client_address(_scope(forwarded=["2.2.2.2"]), 3) == "2.2.2.2"
    assert client_address(_scope(), 1) == "10.0.0.9"
    assert client_address(_scope(client=None), 0) == "unknown"


def test_principal_is_read_defensively():
    assert principal_of(_scope()) == (None, "PUBLIC")
    assert principal_of({"type": "http"}) == (None, "PUBLIC")
    assert principal_of(_scope(principal=SimpleNamespace(key_id=7, role=Role.ANALYST))) == (
        7,
        "ANALYST",
    )
    assert principal_of(_scope(principal=SimpleNamespace(key_id=None, role=None))) == (
        None,
        "PUBLIC",
    )
    assert principal_of(_scope(principal=object())) == (None, "PUBLIC")
    assert principal_of(_scope(principal=SimpleNamespace(key_id="7", role="ADMIN"))) == (
        None,
        "ADMIN",
    )


async def _ok(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _limited_app(clock, principals):
    """RateLimit behind a stand-in for the auth middleware: the `key` header picks a principal."""
    settings = load_settings(
        rate_limit_per_minute={"PUBLIC": 60, "ANALYST": 600, "ADMIN": 0}, rate_limit_burst_s=2
    )
    limit = RateLimit(_ok, settings, buckets=TokenBuckets(clock=clock))

    async def auth(scope, receive, send):
        key = dict(scope["headers"]).get(b"key")
        if key is not None:
            scope.setdefault("state", {})["principal"] = principals[key.decode()]
        await limit(scope, receive, send)

    return auth


def _client(app, address="10.1.1.1"):
    transport = httpx.ASGITransport(app=app, client=(address, 1234))
    return httpx.AsyncClient(transport=transport, base_url="http://hverdag.test")


async def test_limits_per_address_and_per_key_at_the_role_rate():
    clock = Clock()
    app = _limited_app(
        clock,
        {
            "analyst": SimpleNamespace(key_id=1, role=Role.ANALYST),
            "other-analyst": SimpleNamespace(key_id=2, role=Role.ANALYST),
            "admin": SimpleNamespace(key_id=3, role=Role.ADMIN),
        },
    )
    async with _client(app) as one, _client(app, "10.2.2.2") as two:
        # PUBLIC: 60 a minute, a 2 s burst: 2 requests, then 429 for a second.
        assert [(await one.get("/graphql")).status_code for _ in range(3)] == [200, 200, 429]
        refused = await one.get("/graphql")
        assert refused.headers["retry-after"] == "1"
        (error,) = refused.json()["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["retryAfter"] == 1
        assert "60 a minute" in error["message"]
        # Another address has its own bucket; the health checks are never limited.
        assert (await two.get("/graphql")).status_code == 200
        assert (await one.get("/healthz")).status_code == 200
        assert (await one.get("/readyz")).status_code == 200
        # A key is limited by its key (not the address), at its role's rate: 600 a minute,
        # 20 at once; another key of the same role has its own bucket; ADMIN's 0 is unlimited.
        statuses = [
            (await one.get("/graphql", headers={"key": "analyst"})).status_code for _ in range(21)
        ]
        assert statuses == [200] * 20 + [429]
        assert (await two.get("/graphql", headers={"key": "other-analyst"})).status_code == 200
        assert {
            (await one.get("/graphql", headers={"key": "admin"})).status_code for _ in range(50)
        } == {200}
        clock.now += 1
        assert (await one.get("/graphql")).status_code == 200


async def test_rate_limit_in_the_app(api_settings):
    settings = api_settings.model_copy(
        update={
            "rate_limit_enabled": True,
            "rate_limit_per_minute": {"PUBLIC": 6},
            "rate_limit_burst_s": 20,
        }
    )
    async with http_client(create_app(settings)) as client:
        query = {"query": '{ county(number: "03") { name } }'}
        answers = [await client.post("/graphql", json=query) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].json() == {"data": {"county": {"name": "Oslo"}}}
    assert int(answers[2].headers["retry-after"]) == 10
    error = answers[2].json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["requestId"] == answers[2].headers["x-request-id"]


async def test_the_map_page_and_its_tiles_fit_a_person_using_the_map():
    """The page and its files are not limited; tiles have their own bucket at 20 × the rate
    (a map asks for dozens at each pan), and using it leaves GraphQL's bucket untouched."""
    clock = Clock()
    app = _limited_app(clock, {})
    async with _client(app) as client:
        # PUBLIC: 60 a minute, a 2 s burst: tiles get 20 × that, 40 at once.
        tiles = [
            (await client.get(f"/tiles/venues/12/2169/{y}.mvt")).status_code for y in range(41)
        ]
        assert tiles == [200] * 40 + [429]
        assert {
            (await client.get(path)).status_code
            for path in ("/", "/static/map.js", "/vendor/maplibre-gl.js") * 30
        } == {200}
        assert [(await client.get("/graphql")).status_code for _ in range(3)] == [200, 200, 429]
