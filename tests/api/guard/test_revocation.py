"""Revoking a key takes effect at once: a write checks its key in its own transaction, and every
worker forgets a revoked key when PostgreSQL notifies it (api.guard.revocations), however long
its cache would have kept it."""

from __future__ import annotations

import asyncio
import time

import pytest
import sqlalchemy as sa

from api.app import create_app
from api.cli import main
from api.guard.auth import principal_of
from api.guard.revocations import APPLICATION_NAME
from geo.keys import create_key, revoke_key
from geo.settings import load_settings
from geo.tables import audit_log, venue
from geo.vocab import Role
from tests.api.conftest import http_client
from tests.api.writes_support import OSLO, As

pytestmark = pytest.mark.anyio

CREATE = (
    "mutation ($n: String!, $p: LatLonInput!) { createVenue(input: {name: $n, "
    "venueType: LIBRARY, ownerType: MUNICIPALITY, location: $p}) { venue { id } } }"
)
READ = {"query": "{ counties { number } }"}


def _counts(write_engine, name: str) -> tuple[int, int]:
    """(venues called ``name``, audit rows)."""
    with write_engine.connect() as conn:
        venues = conn.execute(sa.select(sa.func.count()).where(venue.c.name == name)).scalar_one()
        audits = conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one()
    return venues, audits


def _key(write_engine, label: str):
    with write_engine.begin() as conn:
        return create_key(conn, Role.ADMIN, label=label)


async def _revoke(write_engine, key_id: int) -> None:
    """``revoke_key`` in a thread of its own, as another process would: the app's background
    work (recording a key's use, which waits for the key's row lock too) goes on meanwhile
    instead of waiting for a sync call on the event loop that waits for it."""

    def revoke() -> None:
        with write_engine.begin() as conn:
            revoke_key(conn, str(key_id))

    await asyncio.to_thread(revoke)


def _app(write_url, **settings):
    url = write_url.render_as_string(hide_password=False)
    return create_app(load_settings(database_url=url, auth_cache_s=3600, **settings))


async def _poll(client, headers, want: int, within: float = 10.0) -> None:
    """Until a read with ``headers`` answers ``want``; fails after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        status = (await client.post("/graphql", json=READ, headers=headers)).status_code
        if status == want:
            return
        assert time.monotonic() < deadline, f"still {status} after {within} s"
        await asyncio.sleep(0.05)


async def test_a_write_with_a_key_revoked_a_moment_before_is_refused(
    schema, write_engine, async_write_engine
):
    """The principal a worker remembered (its cache, or a request already past
    authentication) is not trusted for a write: the write's own transaction finds the key
    revoked and changes nothing."""
    _, key = _key(write_engine, "revoked before writing")
    principal = principal_of(key)
    before = _counts(write_engine, "after revocation")
    with write_engine.begin() as conn:
        revoke_key(conn, str(key.id))
    result = await As(schema, async_write_engine, principal)(
        CREATE, {"n": "after revocation", "p": OSLO}
    )
    (error,) = result.errors
    assert error.formatted["extensions"]["code"] == "UNAUTHENTICATED"
    assert _counts(write_engine, "after revocation") == before


async def test_revoke_then_write_at_once_over_http(write_url, write_engine):
    """A worker that has the key cached for an hour: revoke it, then write with it at once.
    Refused either way it is caught (the worker already heard: 401; or the write's own
    check: UNAUTHENTICATED), and nothing is written."""
    secret, key = _key(write_engine, "revoke then write")
    headers = {"Authorization": f"Bearer {secret}"}
    async with http_client(_app(write_url)) as client:
        assert (await client.post("/graphql", json=READ, headers=headers)).status_code == 200
        before = _counts(write_engine, "written after revoke")
        await _revoke(write_engine, key.id)
        answer = await client.post(
            "/graphql",
            json={"query": CREATE, "variables": {"n": "written after revoke", "p": OSLO}},
            headers=headers,
        )
    (error,) = answer.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert _counts(write_engine, "written after revoke") == before


async def test_keys_revoke_reaches_a_worker_that_cached_the_key(
    write_url, write_engine, monkeypatch, capsys
):
    """`hverdag keys revoke` notifies; the worker that cached the key for an hour refuses it
    within a second or two (polled, with a generous bound)."""
    secret, key = _key(write_engine, "cached for an hour")
    headers = {"Authorization": f"Bearer {secret}"}
    monkeypatch.setenv("HVERDAG_DATABASE_URL", write_url.render_as_string(hide_password=False))
    async with http_client(_app(write_url)) as client:
        assert (await client.post("/graphql", json=READ, headers=headers)).status_code == 200
        assert (await client.post("/graphql", json=READ, headers=headers)).status_code == 200
        assert await asyncio.to_thread(main, ["keys", "revoke", str(key.id)]) == 0
        assert f"revoked key {key.id}" in capsys.readouterr().out
        await _poll(client, headers, 401)


async def test_the_listener_comes_back_after_its_connection_is_cut(write_url, write_engine):
    """The database drops the listener's connection (a restart, say): it connects again, and
    revocations are heard again; one sent while it was away is not lost either (the cache is
    emptied on every reconnection)."""
    database = write_url.database

    def listeners() -> list[int]:
        with write_engine.connect() as conn:
            return list(
                conn.execute(
                    sa.text(
                        "SELECT pid FROM pg_stat_activity "
                        "WHERE application_name = :name AND datname = :db"
                    ),
                    {"name": APPLICATION_NAME, "db": database},
                ).scalars()
            )

    async def listening(other_than: set[int], within: float = 15.0) -> list[int]:
        deadline = time.monotonic() + within
        while True:
            found = [pid for pid in listeners() if pid not in other_than]
            if found:
                return found
            assert time.monotonic() < deadline, "the listener did not connect"
            await asyncio.sleep(0.1)

    first_secret, first = _key(write_engine, "revoked while the listener was away")
    second_secret, second = _key(write_engine, "revoked after it came back")
    early = {"Authorization": f"Bearer {first_secret}"}
    late = {"Authorization": f"Bearer {second_secret}"}
    async with http_client(_app(write_url)) as client:
        pids = await listening(set())
        for headers in (early, late):
            assert (await client.post("/graphql", json=READ, headers=headers)).status_code == 200
        with write_engine.begin() as conn:
            for pid in pids:
                conn.execute(sa.select(sa.func.pg_terminate_backend(pid)))
        # Most likely before the listener is back (it waits 0.5 s): never notified to it.
        await _revoke(write_engine, first.id)
        await listening(set(pids))
        await _poll(client, early, 401)
        assert (await client.post("/graphql", json=READ, headers=late)).status_code == 200
        await _revoke(write_engine, second.id)
        await _poll(client, late, 401)
