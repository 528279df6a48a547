"""Rate limiting: token buckets per API key and per client address, limits per role."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest

from api.app import create_app
from api.guard.ratelimit import (
    Policy,
    RateLimit,
    RedisLimiter,
    TokenBuckets,
    client_address,
    limits_uri,
    principal_of,
)
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


async def test_limited_answers_carry_the_ratelimit_fields():
    """draft-ietf-httpapi-ratelimit-headers-11: the policy (q requests, refilled over w
    seconds) and what is left (r now, the bucket full again in t seconds) on every limited
    answer, the 429 included; none on the health checks."""
    clock = Clock()
    app = _limited_app(clock, {})
    async with _client(app) as client:
        first, second, refused = [await client.get("/graphql") for _ in range(3)]
        health = await client.get("/healthz")
    # PUBLIC: 60 a minute, a 2 s burst: a bucket of 2 that fills in 2 s.
    for answer in (first, second, refused):
        assert answer.headers["ratelimit-policy"] == '"public";q=2;w=2'
    assert first.headers["ratelimit"] == '"public";r=1;t=1'
    assert second.headers["ratelimit"] == '"public";r=0;t=2'
    assert refused.status_code == 429
    assert refused.headers["ratelimit"] == '"public";r=0;t=1'
    assert refused.headers["retry-after"] == "1"
    assert "ratelimit" not in health.headers


async def test_two_apps_share_one_budget_through_redis(api_settings, clean_redis):
    """Two app instances (two workers, or two nodes) with HVERDAG_REDIS_URL draw on one budget:
    a caller gets the limit once, not once per process. Without Redis each has its own."""
    query = {"query": '{ county(number: "03") { name } }'}

    def settings(redis_url):
        return api_settings.model_copy(
            update={
                "rate_limit_enabled": True,
                "rate_limit_per_minute": {"PUBLIC": 6},
                "rate_limit_burst_s": 20,  # 2 at once, then one every 10 s
                "redis_url": redis_url,
            }
        )

    async def alternate(redis_url):
        async with (
            http_client(create_app(settings(redis_url))) as one,
            http_client(create_app(settings(redis_url))) as two,
        ):
            return [await client.post("/graphql", json=query) for client in (one, two) * 3]

    shared = await alternate(clean_redis)
    assert [a.status_code for a in shared] == [200, 200, 429, 429, 429, 429]
    assert shared[0].json() == {"data": {"county": {"name": "Oslo"}}}
    assert shared[0].headers["ratelimit-policy"] == '"public";q=2;w=20'
    assert shared[0].headers["ratelimit"].startswith('"public";r=1;t=')
    assert shared[1].headers["ratelimit"].startswith('"public";r=0;t=')
    assert 1 <= int(shared[2].headers["retry-after"]) <= 20
    assert shared[2].json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    separate = await alternate(None)
    assert [a.status_code for a in separate] == [200, 200, 200, 200, 429, 429]


async def test_failed_authentications_share_one_budget_through_redis(write_url, clean_redis):
    url = write_url.render_as_string(hide_password=False)
    settings = load_settings(
        database_url=url,
        redis_url=clean_redis,
        rate_limit_auth_failures_per_minute=6,
        rate_limit_burst_s=20,
    )
    made_up = {"Authorization": "Bearer hv_" + "m" * 43}
    async with (
        http_client(create_app(settings)) as one,
        http_client(create_app(settings)) as two,
    ):
        statuses = [
            (await client.post("/graphql", json={"query": "{ __typename }"}, headers=made_up))
            for client in (one, two, one, two)
        ]
    assert [a.status_code for a in statuses] == [401, 401, 429, 429]


async def test_without_redis_each_process_limits_alone(caplog):
    """Redis unreachable: the process's own buckets decide (limited alone beats unlimited),
    one warning is logged, and Redis is not asked again for a while."""
    limiter = RedisLimiter("unix:///nonexistent/redis.sock", timeout_s=0.2)
    policy = Policy("public", 60, 2)
    decisions = [await limiter.hit("address:10.0.0.1", policy) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]
    assert decisions[2].retry_after == 1
    warnings = [r for r in caplog.records if "Redis failed" in r.getMessage()]
    assert len(warnings) == 1
    assert limiter.down_until > 0


def test_redis_urls_for_the_limits_library():
    assert limits_uri("redis://cache:6379/0") == "async+redis://cache:6379/0"
    assert limits_uri("rediss://cache:6380") == "async+rediss://cache:6380"
    assert limits_uri("unix:///run/redis.sock") == "async+redis+unix:///run/redis.sock"
    with pytest.raises(ValueError, match="redis://"):
        load_settings(redis_url="http://cache")
