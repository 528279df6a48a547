"""geo.keys: keys bound to their role's scope, found by hash only, revoked for good."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from geo.db import sync_engine
from geo.keys import (
    REVOKED_CHANNEL,
    SHOWN,
    ApiKeyError,
    create_key,
    find_key,
    hash_key,
    list_keys,
    lock_live_key,
    record_use,
    revoke_key,
    well_formed,
)
from geo.tables import api_key
from geo.vocab import Role


@pytest.fixture
def conn(fresh_demo_url):
    engine = sync_engine(fresh_demo_url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def test_a_key_is_shown_once_and_stored_as_its_hash(conn):
    secret, key = create_key(conn, "municipality_editor", label="Oslo", municipality_number="301")
    assert well_formed(secret)
    assert (key.role, key.municipality_number, key.organisation_id) == (
        Role.MUNICIPALITY_EDITOR,
        "0301",
        None,
    )
    assert key.prefix == secret[:SHOWN]
    stored = conn.execute(sa.select(api_key.c.key_hash)).scalar_one()
    assert stored == hash_key(secret)
    found = find_key(conn, secret)
    assert found is not None
    assert found.id == key.id
    assert found.last_used_at is None  # finding only reads; the API records use apart
    record_use(conn, [key.id])
    assert find_key(conn, secret).last_used_at is not None
    other, _ = create_key(conn, Role.ADMIN, label="x")
    assert other != secret


@pytest.mark.parametrize(
    ("role", "scope", "message"),
    [
        (Role.MUNICIPALITY_EDITOR, {}, "needs --municipality"),
        (Role.MUNICIPALITY_EDITOR, {"municipality_number": "9999"}, "no municipality 9999"),
        (Role.ORGANISATION_EDITOR, {"organisation_number": "864139443"}, "mod-11"),
        (Role.ORGANISATION_EDITOR, {"organisation_number": "974760673"}, "no organisation"),
        (Role.ORGANISATION_EDITOR, {"municipality_number": "0301"}, "needs --organisation"),
        (Role.ANALYST, {"municipality_number": "0301"}, "has no scope"),
        ("OWNER", {}, "not one of"),
    ],
)
def test_a_key_needs_exactly_its_roles_scope(conn, role, scope, message):
    with pytest.raises(ApiKeyError, match=message):
        create_key(conn, role, label="x", **scope)
    assert list_keys(conn) == []


def test_revoked_unknown_and_malformed_keys_are_not_found(conn):
    secret, key = create_key(
        conn, Role.ORGANISATION_EDITOR, label="Røde Kors", organisation_number="864139442"
    )
    assert key.organisation_id is not None
    assert find_key(conn, "hv_" + "x" * 43) is None
    assert find_key(conn, secret[:-1]) is None
    assert find_key(conn, secret + "x") is None
    revoked = revoke_key(conn, key.prefix + "…")  # as `keys list` shows it
    assert revoked.revoked_at is not None
    assert find_key(conn, secret) is None
    assert revoke_key(conn, str(key.id)).revoked_at == revoked.revoked_at  # stays revoked
    with pytest.raises(ApiKeyError, match="no key"):
        revoke_key(conn, "hv_nothing")


def test_finding_a_key_works_in_a_read_only_transaction(conn):
    """A read-only server (a replica, or a primary in read-only mode) can check keys."""
    secret, key = create_key(conn, Role.ANALYST, label="read only")
    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
    assert find_key(conn, secret).id == key.id


def test_a_revoked_key_is_not_live_and_its_revocation_is_announced(fresh_demo_url, conn):
    _, key = create_key(conn, Role.ANALYST, label="announced")
    assert lock_live_key(conn, key.id)
    listener = sync_engine(fresh_demo_url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with listener.connect() as listening:
            listening.exec_driver_sql(f"LISTEN {REVOKED_CHANNEL}")
            revoke_key(conn, str(key.id))
            assert not lock_live_key(conn, key.id)
            conn.commit()  # NOTIFY is delivered on commit
            driver = listening.connection.driver_connection
            notes = list(driver.notifies(timeout=10, stop_after=1))
    finally:
        listener.dispose()
    assert [(n.channel, n.payload) for n in notes] == [(REVOKED_CHANNEL, str(key.id))]


def test_a_revocation_waits_for_a_write_that_checked_the_key(fresh_demo_url):
    """lock_live_key holds the key's row until the write's transaction ends: a revocation in
    the meantime waits for it (here it gives up after 200 ms), and goes through after."""
    engine = sync_engine(fresh_demo_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            _, key = create_key(conn, Role.ADMIN, label="in use")
        with engine.connect() as writing, engine.connect() as revoking:
            writing.begin()
            assert lock_live_key(writing, key.id)
            revoking.begin()
            revoking.exec_driver_sql("SET LOCAL lock_timeout = '200ms'")
            with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                revoke_key(revoking, str(key.id))
            revoking.rollback()
            writing.commit()
            with revoking.begin():
                assert revoke_key(revoking, str(key.id)).revoked_at is not None
    finally:
        engine.dispose()
