"""Every worker hears of a revoked API key at once: PostgreSQL LISTEN/NOTIFY.

``hverdag keys revoke`` notifies :data:`geo.keys.REVOKED_CHANNEL` with the key's id in the
revoking transaction (delivered when it commits). Each worker runs :func:`listen_for_revocations`
as a task of the app's lifespan, on a psycopg connection of its own to the primary, in
autocommit, and drops the key from its lookup cache (api.guard.auth.KeyCache) when it hears.

When the connection fails (the database restarts, a network cut) the task connects again, with
a backoff from 0.5 s doubling to 30 s, and on every (re)connection it empties the whole cache:
a revocation sent while nobody listened is not lost, the next request looks its key up again.
A connection that goes silent is noticed by a ``SELECT 1`` after every :data:`HEARTBEAT_S`
without a notification. While the task cannot connect, the cache's own expiry
(``HVERDAG_AUTH_CACHE_S``) is the bound; writes never depend on it (they check their key in
their own transaction).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import psycopg
from sqlalchemy.engine import URL

from api.guard.auth import KeyCache
from geo.keys import REVOKED_CHANNEL

logger = logging.getLogger("hverdag.api")

#: The listener's application_name, in pg_stat_activity.
APPLICATION_NAME = "hverdag-key-revocations"
HEARTBEAT_S = 30.0
FIRST_RETRY_S, LAST_RETRY_S = 0.5, 30.0


def conninfo(url: URL) -> str:
    """libpq's form of a SQLAlchemy URL (the embedded cluster's socket rides in its query)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def listen_for_revocations(
    url: URL,
    cache: KeyCache,
    *,
    connect_timeout_s: float = 2.0,
    settled: asyncio.Event | None = None,
) -> None:
    """Forget revoked keys in ``cache`` as PostgreSQL announces them, until cancelled.
    ``settled`` is set once the first attempt to listen has succeeded or failed (the app
    starts serving then)."""
    delay = FIRST_RETRY_S
    failing = False
    options: dict[str, Any] = {
        "autocommit": True,
        "application_name": APPLICATION_NAME,
        "connect_timeout": max(1, round(connect_timeout_s)),
    }
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(conninfo(url), **options) as conn:
                await conn.execute(f"LISTEN {REVOKED_CHANNEL}")
                cache.clear()  # anything revoked while nobody listened
                if failing:
                    logger.warning("listening for API key revocations again")
                failing, delay = False, FIRST_RETRY_S
                if settled is not None:
                    settled.set()
                while True:
                    async for note in conn.notifies(timeout=HEARTBEAT_S):
                        _forget(cache, note.payload)
                    await conn.execute("SELECT 1")  # silent for a while: still there?
        except (psycopg.Error, OSError) as exc:
            if not failing:
                first = str(exc).strip().splitlines()
                logger.warning(
                    "not listening for API key revocations (%s: %s); trying again, and a "
                    "worker's cached keys expire after HVERDAG_AUTH_CACHE_S meanwhile",
                    type(exc).__name__,
                    first[0] if first else "",
                )
                failing = True
            if settled is not None:
                settled.set()
        await asyncio.sleep(delay)
        delay = min(LAST_RETRY_S, delay * 2)


def _forget(cache: KeyCache, payload: str) -> None:
    try:
        key_id = int(payload)
    except ValueError:
        logger.warning("ignored a revocation notice that names no key id: %r", payload[:40])
        return
    cache.forget_key(key_id)
