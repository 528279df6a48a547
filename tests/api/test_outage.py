"""A dead database never hangs a request, and the service recovers by itself when it returns.

Runs on a dedicated embedded cluster of its own (stopped and started here), never on the
cluster the other tests share.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from api.app import create_app
from api.graphql.context import Context
from geo.cluster import EmbeddedCluster
from geo.db import async_engine, autocommit_engine, migrate, outage_breaker
from geo.queries.counties import counties
from geo.settings import load_settings
from tests.api.conftest import served

pytestmark = pytest.mark.anyio

QUERY = {"query": '{ county(number: "03") { name } municipalities(first: 1) { totalCount } }'}
#: On the other pool: the compiled near-me path's autocommit connections.
NEAR = {
    "query": "query($at: LatLonInput!) { nearby(at: $at) { edges { distanceMeters } } }",
    "variables": {"at": {"lat": 59.9139, "lon": 10.7522}},
}


@pytest.fixture(scope="module")
def own_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedCluster, URL]]:
    cluster = EmbeddedCluster(tmp_path_factory.mktemp("outage-cluster"))
    cluster.start()
    url = make_url(cluster.url("hverdag_outage"))
    try:
        migrate(url)
        yield cluster, url
    finally:
        cluster.stop()
        shutil.rmtree(cluster.base, ignore_errors=True)


async def _timed(client, method: str, path: str, **kwargs) -> tuple[float, object]:
    started = time.monotonic()
    response = await client.request(method, path, **kwargs)
    return time.monotonic() - started, response


def _code(response) -> str | None:
    errors = response.json().get("errors")
    return errors[0]["extensions"]["code"] if errors else None


async def test_outage_fails_fast_and_recovers_without_a_restart(own_cluster):
    cluster, url = own_cluster
    settings = load_settings(
        database_url=url.render_as_string(hide_password=False),
        rate_limit_enabled=False,
        pool_size=4,
        # Waiting for the pool would take this long: far above the bounds below.
        pool_timeout_s=60,
    )
    async with served(create_app(settings)) as (client, state):
        assert (await client.get("/readyz")).status_code == 200
        healthy = await client.post("/graphql", json=QUERY)
        assert healthy.json() == {"data": {"county": None, "municipalities": {"totalCount": 0}}}

        # A query in flight when the server stops gets UNAVAILABLE too, not a hang.
        in_flight = asyncio.ensure_future(client.post("/graphql", json=QUERY))
        await asyncio.to_thread(cluster.stop)
        stopped = await in_flight
        assert stopped.status_code == 200
        assert _code(stopped) in (None, "UNAVAILABLE")

        # Down: more callers than the pool has connections; none waits for the others.
        answers = await asyncio.gather(
            *(_timed(client, "POST", "/graphql", json=QUERY) for _ in range(12))
        )
        assert {_code(response) for _, response in answers} == {"UNAVAILABLE"}
        assert max(elapsed for elapsed, _ in answers) < 5
        # Once one attempt has failed, the others are told without trying the database (the
        # outage breaker), the near-me reads' own pool included. Its clock stands still here,
        # so at most one caller is let through to try, however slow the machine.
        attempts: list[object] = []
        names = ("engine", "read_engine", "autocommit_engine")
        engines = {id(state[n].sync_engine): state[n].sync_engine for n in names}.values()
        for engine in engines:
            sa.event.listen(engine, "do_connect", lambda *args: attempts.append(args))
        breaker = outage_breaker(state["read_engine"])
        assert breaker is not None
        assert breaker is outage_breaker(state["autocommit_engine"])
        assert breaker.open
        now = time.monotonic()
        breaker.clock = lambda: now
        later = [await client.post("/graphql", json=body) for body in [QUERY, NEAR] * 5]
        breaker.clock = time.monotonic
        assert {_code(response) for response in later} == {"UNAVAILABLE"}
        assert len(attempts) <= 1, "each caller tried the database itself"
        assert all(r.json()["errors"][0]["extensions"]["requestId"] for _, r in answers)
        elapsed, ready = await _timed(client, "GET", "/readyz")
        assert ready.status_code == 503
        # Told at once (5 ms quiet; bound 1,000x that), not queued for the 60 s pool wait.
        assert elapsed < 5
        assert (await client.get("/healthz")).status_code == 200

        # Back: the same app (same engine and pool) serves again within seconds.
        await asyncio.to_thread(cluster.start)
        returned = time.monotonic()
        while True:
            response = await client.post("/graphql", json=QUERY)
            if _code(response) is None:
                break
            assert _code(response) == "UNAVAILABLE"
            assert time.monotonic() - returned < 30, "not recovered 30 s after the database"
            await asyncio.sleep(0.1)
        assert response.json()["data"]["municipalities"] == {"totalCount": 0}
        assert (await client.post("/graphql", json=NEAR)).json() == {
            "data": {"nearby": {"edges": []}}
        }
        assert (await client.get("/readyz")).status_code == 200


async def test_a_working_pooled_connection_closes_the_breaker(loaded_url):
    engine = async_engine(loaded_url, load_settings())
    try:
        context = Context(engine=engine)
        assert len(await context.run(counties)) > 0  # one connection now waits in the pool
        breaker = outage_breaker(engine)
        breaker.failed()  # a blip: one attempt failed, the pooled connection is fine
        breaker.next_try = 0.0
        assert len(await context.run(counties)) > 0  # the trial, on the pooled connection
        assert not breaker.open
    finally:
        await engine.dispose()


async def test_near_me_reads_use_autocommit_connections_as_they_are(loaded_url):
    """The autocommit pool's connections are used without switching them (nor a rollback on
    return), and the read engine's pool is not touched; a context without that pool switches
    a connection of the read engine's for the call and back after it."""
    settings = load_settings()
    engine = async_engine(loaded_url, settings)
    autocommit = autocommit_engine(settings, engine)
    seen: list = []

    async def probe(conn):
        seen.append((conn.autocommit, conn))
        return len(seen)

    try:
        assert outage_breaker(autocommit) is outage_breaker(engine)
        context = Context(engine=engine, autocommit_engine=autocommit)
        assert [await context.run_on_driver(probe) for _ in range(2)] == [1, 2]
        assert [on for on, _ in seen] == [True, True]
        assert seen[0][1] is seen[1][1]  # one pooled connection, back in the pool
        assert seen[0][1].autocommit  # ... as it was lent: not switched back
        assert engine.sync_engine.pool.checkedin() == 0  # the read pool never connected

        seen.clear()
        assert await Context(engine=engine).run_on_driver(probe) == 1
        assert seen[0][0] is True  # switched for the call
        assert seen[0][1].autocommit is False  # and back, in the read engine's pool
        assert engine.sync_engine.pool.checkedin() == 1
    finally:
        await autocommit.dispose()
        await engine.dispose()
