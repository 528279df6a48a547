"""API keys over HTTP: Bearer keys, 401 for a bad one, UNAUTHENTICATED for a mutation without
one, revocation (and the per-worker cache's bound on it), and no plaintext key in the database."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import httpx
import pytest
import sqlalchemy as sa

from api.app import create_app
from api.guard import auth
from api.guard.auth import PUBLIC, AuthMiddleware, KeyCache, Principal
from geo.keys import SHOWN, create_key, find_key, hash_key, revoke_key
from geo.settings import load_settings
from geo.tables import api_key, venue
from geo.vocab import Role
from tests.api.conftest import http_client
from tests.api.writes_support import OSLO

pytestmark = pytest.mark.anyio

CREATE = {
    "query": "mutation ($n: String!, $p: LatLonInput!) { createVenue(input: {name: $n, "
    "venueType: LIBRARY, ownerType: MUNICIPALITY, location: $p}) "
    "{ venue { id municipality { number } } } }"
}
READ = {"query": "{ counties { number } }"}


def _app(write_url, cache_s: float = 0.0):
    url = write_url.render_as_string(hide_password=False)
    return create_app(load_settings(database_url=url, auth_cache_s=cache_s))


def _create(name: str) -> dict:
    return {**CREATE, "variables": {"n": name, "p": OSLO}}


def _count(write_engine, name: str) -> int:
    with write_engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).where(venue.c.name == name)).scalar_one()


async def test_a_key_writes_and_no_key_is_unauthenticated(write_url, write_engine, keys):
    secret = keys["oslo"][0]
    async with http_client(_app(write_url)) as client:
        public = await client.post("/graphql", json=_create("no key"))
        assert public.status_code == 200
        (error,) = public.json()["errors"]
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
        assert _count(write_engine, "no key") == 0
        assert (await client.post("/graphql", json=READ)).json()["data"]["counties"]
        answer = await client.post(
            "/graphql", json=_create("with key"), headers={"Authorization": f"Bearer {secret}"}
        )
        assert answer.status_code == 200
        assert answer.json()["data"]["createVenue"]["venue"]["municipality"] == {"number": "0301"}
        assert _count(write_engine, "with key") == 1
    with write_engine.connect() as conn:
        used = conn.execute(
            sa.select(api_key.c.last_used_at).where(api_key.c.id == keys["oslo"][1].key_id)
        ).scalar_one()
    assert used is not None


@pytest.mark.parametrize(
    "header",
    [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer not-a-key",
        "hv_" + "a" * 43,
        "Bearer hv_" + "a" * 43,  # well-formed, unknown
    ],
)
async def test_a_bad_key_is_refused_with_401(write_url, write_engine, header):
    name = f"bad key {header[:12]}"
    async with http_client(_app(write_url)) as client:
        for body in (_create(name), READ):
            answer = await client.post("/graphql", json=body, headers={"Authorization": header})
            assert answer.status_code == 401
            assert answer.headers["www-authenticate"].startswith("Bearer")
            (error,) = answer.json()["errors"]
            assert error["extensions"]["code"] == "UNAUTHENTICATED"
            assert error["extensions"]["reason"]
        export = await client.get("/export/venues.csv", headers={"Authorization": header})
        assert export.status_code == 401
    assert _count(write_engine, name) == 0


async def test_a_revoked_key_is_refused(write_url, write_engine):
    with write_engine.begin() as conn:
        secret, key = create_key(conn, Role.ADMIN, label="to revoke")
    async with http_client(_app(write_url)) as client:
        headers = {"Authorization": f"Bearer {secret}"}
        assert (
            await client.post("/graphql", json=_create("before revoke"), headers=headers)
        ).status_code == 200
        await asyncio.to_thread(_in_transaction, write_engine, revoke_key, key.prefix)
        answer = await client.post("/graphql", json=_create("after revoke"), headers=headers)
        assert answer.status_code == 401
        assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (_count(write_engine, "before revoke"), _count(write_engine, "after revoke")) == (1, 0)


async def test_a_cached_key_works_until_its_entry_expires(write_url, write_engine):
    """With HVERDAG_AUTH_CACHE_S, a worker that has looked a key up keeps it for that long when
    it is not told of a revocation (here one made in SQL, without the NOTIFY that `hverdag keys
    revoke` sends; tests/api/guard/test_revocation.py has that): the bound for reads."""
    with write_engine.begin() as conn:
        secret, key = create_key(conn, Role.ADMIN, label="cached")
    app = _app(write_url, cache_s=3600)
    async with http_client(app) as client:
        headers = {"Authorization": f"Bearer {secret}"}
        assert (await client.post("/graphql", json=READ, headers=headers)).status_code == 200
        revoke_in_sql = api_key.update().where(api_key.c.id == key.id)
        await asyncio.to_thread(
            _in_transaction,
            write_engine,
            sa.Connection.execute,
            revoke_in_sql.values(revoked_at=sa.func.now()),
        )
        assert (await client.post("/graphql", json=READ, headers=headers)).status_code == 200
        middleware = _auth_middleware(app)
        middleware.cache.clock = lambda: float("inf")  # every entry has expired
        assert (await client.post("/graphql", json=READ, headers=headers)).status_code == 401


def _in_transaction(engine, fn, *args):
    """``fn(conn, *args)`` in a transaction, meant for a thread of its own (as another process
    would write): a sync call on the event loop would block the app's background work, such as
    recording a key's use, which waits for the same row's lock."""
    with engine.begin() as conn:
        return fn(conn, *args)


def _auth_middleware(app) -> AuthMiddleware:
    stack = app.middleware_stack or app.build_middleware_stack()
    app.middleware_stack = stack
    while not isinstance(stack, AuthMiddleware):
        stack = stack.app
    return stack


def test_the_cache_forgets_after_its_ttl():
    now = [0.0]
    cache = KeyCache(30, clock=lambda: now[0])
    principal = Principal(key_id=1, role=Role.ADMIN)
    cache.put(b"k", principal)
    assert cache.get(b"k") == (True, principal)
    now[0] = 29.9
    assert cache.get(b"k") == (True, principal)
    now[0] = 30.0
    assert cache.get(b"k") == (False, None)
    off = KeyCache(0)
    off.put(b"k", principal)
    assert off.get(b"k") == (False, None)


async def test_no_header_is_public_with_no_database_work():
    """The middleware never touches the engine without a header (an engine that fails on any
    use proves it)."""

    class NoEngine:
        def __getattr__(self, name: str):
            raise AssertionError(f"database used: {name}")

    seen = []

    async def app(scope, receive, send):
        seen.append(scope["state"]["principal"])

    middleware = AuthMiddleware(app, cache_seconds=30)
    await middleware({"type": "http", "headers": [], "state": {"engine": NoEngine()}}, None, None)
    assert seen == [PUBLIC]


def test_the_keys_table_holds_no_plaintext_key(write_engine, keys):
    """Every column of every key row, and the audit log, as text: no key in it, only hashes."""
    with write_engine.connect() as conn:
        dumped = "\n".join(
            conn.execute(
                sa.text("SELECT t::text FROM api_key t UNION ALL SELECT a::text FROM audit_log a")
            ).scalars()
        )
    assert dumped
    for secret, _ in keys.values():
        assert secret not in dumped
        assert secret[SHOWN:] not in dumped  # not even the part after the listed prefix
        assert secret[:SHOWN] in dumped  # the listed prefix is there: the grep can find
        assert hash_key(secret).hex() in dumped


async def test_a_key_that_cannot_be_checked_is_a_503(write_url):
    """The database is gone: a request with a key is UNAVAILABLE (never a bare 500), and a
    public read still reaches the app (which answers with its own error)."""
    gone = write_url.set(database="hverdag_no_such_database").render_as_string(hide_password=False)
    app = create_app(load_settings(database_url=gone, auth_cache_s=0))
    async with http_client(app) as client:
        answer = await client.post(
            "/graphql", json=READ, headers={"Authorization": "Bearer hv_" + "b" * 43}
        )
        assert answer.status_code == 503
        assert answer.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
        public = await client.post("/graphql", json=READ)
        assert public.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"


@asynccontextmanager
async def _client_at(app, address: str):
    """As tests.api.conftest.http_client, from the peer ``address``."""
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope, receive, send):
            scope["state"] = dict(state or {})
            await app(scope, receive, send)

        transport = httpx.ASGITransport(app=with_state, client=(address, 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://hverdag.test") as c:
            yield c


async def test_made_up_keys_are_limited_per_address_before_any_lookup(
    write_url, write_engine, keys, monkeypatch
):
    """Failed authentications have a bucket per address (here 2 at once, then one every 10 s):
    past it, made-up keys get 429 without a database lookup, while a key this worker already
    knows keeps working and another address has its own bucket."""
    lookups = []

    def counted(conn, secret):
        lookups.append(secret)
        return find_key(conn, secret)

    monkeypatch.setattr(auth, "find_key", counted)
    url = write_url.render_as_string(hide_password=False)
    app = create_app(
        load_settings(
            database_url=url,
            rate_limit_auth_failures_per_minute=6,
            rate_limit_burst_s=20,
            auth_cache_s=3600,
        )
    )
    good = {"Authorization": f"Bearer {keys['analyst'][0]}"}
    async with _client_at(app, "10.9.9.9") as client, _client_at(app, "10.8.8.8") as other:
        assert (await client.post("/graphql", json=READ, headers=good)).status_code == 200
        made_up = [
            await client.post(
                "/graphql", json=READ, headers={"Authorization": f"Bearer hv_{n:043d}"}
            )
            for n in range(20)
        ]
        assert [a.status_code for a in made_up] == [401, 401] + [429] * 18
        assert len(lookups) == 1 + 2  # the good key once, then two made-up ones, no more
        refused = made_up[-1]
        assert refused.headers["retry-after"] == "10"
        assert refused.headers["ratelimit-policy"] == '"auth-failures";q=2;w=20'
        assert refused.headers["ratelimit"] == '"auth-failures";r=0;t=10'
        (error,) = refused.json()["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        # Malformed keys count as failures too, and are refused before any lookup as well.
        bad = await client.post("/graphql", json=READ, headers={"Authorization": "Bearer x"})
        assert bad.status_code == 429
        # The key this worker knows still works; the public still reads; another address
        # has its own bucket.
        assert (await client.post("/graphql", json=READ, headers=good)).status_code == 200
        assert (await client.post("/graphql", json=READ)).status_code == 200
        elsewhere = await other.post(
            "/graphql", json=READ, headers={"Authorization": "Bearer hv_" + "z" * 43}
        )
        assert elsewhere.status_code == 401
    assert len(lookups) == 1 + 2 + 1


async def test_a_malformed_key_is_refused_without_a_lookup():
    """Only a key of the service's shape (hv_ and 43 characters) is ever looked up: any other
    credential is a 401 with no database work (an engine that fails on any use proves it)."""

    class NoEngine:
        def __getattr__(self, name: str):
            raise AssertionError(f"database used: {name}")

    sent = []

    async def send(message):
        sent.append(message)

    middleware = AuthMiddleware(None, cache_seconds=30)
    for token in ("Bearer not-a-key", "Bearer hv_short", "Bearer hv_" + "a" * 44, "Basic x"):
        scope = {
            "type": "http",
            "headers": [(b"authorization", token.encode())],
            "state": {"engine": NoEngine()},
        }
        await middleware(scope, None, send)
        assert sent[-2]["status"] == 401
