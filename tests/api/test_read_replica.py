"""HVERDAG_DATABASE_READ_URL: GraphQL queries and exports read from the replica's URL, the
primary is left to writes; /readyz checks both.

Two ways to see which engine ran a query, both on the test cluster: each URL carries its own
``application_name``, which pg_stat_activity shows for the connections each engine opened; and
a replica that is a separate database with one difference in its data shows whose data the
answer came from.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from api.app import create_app
from api.graphql.context import Context
from geo.db import sync_engine
from geo.keys import create_key
from geo.settings import Settings, load_settings
from geo.tables import api_key, municipality
from tests.api.conftest import compiled_of, http_client

pytestmark = pytest.mark.anyio

WHERE_AM_I = "{ whereAmI(at: {lat: 59.942, lon: 10.892}) { municipality { name } } }"


def named(url: URL, application: str) -> str:
    return url.update_query_dict({"application_name": application}).render_as_string(
        hide_password=False
    )


def settings_for(primary: str, read: str | None) -> Settings:
    return load_settings(database_url=primary, database_read_url=read)


def sessions(url: URL, *applications: str) -> dict[str, int]:
    """How many connections each application holds in ``url``'s database."""
    activity = sa.table("pg_stat_activity", sa.column("application_name"), sa.column("datname"))
    engine = sync_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(activity.c.application_name, sa.func.count())
                .where(
                    activity.c.datname == url.database,
                    activity.c.application_name.in_(applications),
                )
                .group_by(activity.c.application_name)
            ).all()
    finally:
        engine.dispose()
    return dict(rows)


async def test_queries_and_exports_use_the_read_url(loaded_url: URL):
    tag = uuid.uuid4().hex[:8]
    primary, read = f"hverdag-primary-{tag}", f"hverdag-read-{tag}"
    settings = settings_for(named(loaded_url, primary), named(loaded_url, read))
    async with http_client(create_app(settings)) as client:
        answer = await client.post("/graphql", json={"query": WHERE_AM_I})
        assert answer.json() == {"data": {"whereAmI": {"municipality": {"name": "Oslo"}}}}
        export = await client.get("/export/hsds/organizations.json")
        assert export.status_code == 200
        assert export.json()
        seen = sessions(loaded_url, primary, read)
        assert seen.get(read, 0) >= 1, seen
        assert primary not in seen, f"the primary was used for reads: {seen}"
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert sessions(loaded_url, primary, read).get(primary, 0) >= 1


async def test_answers_come_from_the_replica(loaded_url: URL, fresh_demo_url: URL):
    engine = sync_engine(fresh_demo_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(
                municipality.update()
                .where(municipality.c.number == "0301")
                .values(name="Oslo (replika)")
            )
    finally:
        engine.dispose()
    replica = fresh_demo_url.render_as_string(hide_password=False)
    settings = settings_for(loaded_url.render_as_string(hide_password=False), replica)
    async with http_client(create_app(settings)) as client:
        answer = await client.post("/graphql", json={"query": WHERE_AM_I})
        exported = await client.get("/export/activities.csv", params={"municipality": "0301"})
    assert answer.json()["data"]["whereAmI"]["municipality"]["name"] == "Oslo (replika)"
    assert exported.status_code == 200
    assert "Oslo (replika)" in exported.content.decode("utf-8-sig")


async def test_without_a_read_url_everything_uses_the_primary(api_settings: Settings):
    assert api_settings.database_read_url is None
    async with http_client(create_app(api_settings)) as client:
        answer = await client.post("/graphql", json={"query": WHERE_AM_I})
    assert answer.json()["data"]["whereAmI"]["municipality"]["name"] == "Oslo"


async def test_context_reads_from_the_read_engine_and_keeps_the_primary_for_writes(engine: Any):
    assert Context(engine=engine).read_engine is engine
    other = object()
    context = Context(engine=engine, read_engine=other)  # type: ignore[arg-type]
    assert context.engine is engine
    assert context.read_engine is other


async def test_readyz_reports_an_unreachable_replica(loaded_url: URL):
    settings = settings_for(
        loaded_url.render_as_string(hide_password=False),
        named(loaded_url.set(database="no_such_database"), "x"),
    )
    async with http_client(create_app(settings)) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["reason"].startswith("the read replica is unreachable")


async def test_the_compiled_nearby_path_reads_from_the_replica_and_is_counted(loaded_url: URL):
    tag = uuid.uuid4().hex[:8]
    primary, read = f"hverdag-primary-{tag}", f"hverdag-read-{tag}"
    settings = settings_for(named(loaded_url, primary), named(loaded_url, read))
    near = "query($at: LatLonInput!) { nearby(at: $at, first: 3) { edges { distanceMeters } } }"
    app = create_app(settings)
    async with http_client(app) as client:
        answer = (
            await client.post(
                "/graphql",
                json={"query": near, "variables": {"at": {"lat": 59.9139, "lon": 10.7522}}},
            )
        ).json()
        assert len(answer["data"]["nearby"]["edges"]) == 3
        seen = sessions(loaded_url, primary, read)
        assert seen.get(read, 0) >= 1, seen
        assert primary not in seen, f"the primary was used for reads: {seen}"
        metrics = (await client.get("/metrics")).text
    assert 'hverdag_graphql_operations_total{field="nearby",type="query"} 1.0' in metrics
    assert compiled_of(app).answered == 1  # by the compiled path, not strawberry's


async def test_a_mutation_answers_from_the_primary_it_wrote_to(
    loaded_url: URL, fresh_demo_url: URL
):
    """With a replica that lags (here: another database, without the new row), a mutation's
    answer still shows what it wrote: it is read back from the primary."""
    engine = sync_engine(fresh_demo_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            secret, _ = create_key(
                conn, "MUNICIPALITY_EDITOR", label="replica test", municipality_number="0301"
            )
    finally:
        engine.dispose()
    settings = settings_for(
        fresh_demo_url.render_as_string(hide_password=False),
        loaded_url.render_as_string(hide_password=False),
    )
    create = (
        'mutation { createVenue(input: {name: "Replika-testrom", venueType: LIBRARY, '
        "ownerType: MUNICIPALITY, location: {lat: 59.9419, lon: 10.8925}}) "
        "{ venue { name version municipality { number } } } }"
    )
    async with http_client(create_app(settings)) as client:
        answer = (
            await client.post(
                "/graphql", json={"query": create}, headers={"authorization": f"Bearer {secret}"}
            )
        ).json()
    assert "errors" not in answer, answer
    assert answer["data"]["createVenue"]["venue"] == {
        "name": "Replika-testrom",
        "version": 1,
        "municipality": {"number": "0301"},
    }


async def test_a_key_is_checked_on_a_read_only_database(fresh_demo_url: URL, caplog):
    """Serving from a read-only server (a replica the API was pointed at, a primary in
    recovery): a key's first lookup only reads, so it answers; recording the key's use, a
    write, fails in the background and is logged, never the request (it answered 503)."""
    engine = sync_engine(fresh_demo_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            secret, key = create_key(conn, "ANALYST", label="read-only server")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            name = conn.dialect.identifier_preparer.quote(str(fresh_demo_url.database))
            conn.exec_driver_sql(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
        url = fresh_demo_url.render_as_string(hide_password=False)
        async with http_client(create_app(load_settings(database_url=url))) as client:
            answer = await client.post(
                "/graphql",
                json={"query": WHERE_AM_I},
                headers={"authorization": f"Bearer {secret}"},
            )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"data": {"whereAmI": {"municipality": {"name": "Oslo"}}}}
        assert any("could not record the use of API keys" in r.getMessage() for r in caplog.records)
        with engine.connect() as conn:
            used = conn.execute(
                sa.select(api_key.c.last_used_at).where(api_key.c.id == key.id)
            ).scalar_one()
        assert used is None
    finally:
        engine.dispose()
