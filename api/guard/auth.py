"""Who is calling: ``Authorization: Bearer <key>`` to a :class:`Principal` on every request.

A pure ASGI middleware (no body buffering, websockets untouched) puts the principal in
``scope["state"]["principal"]``, so handlers read ``request.state.principal``:

- no Authorization header: :data:`PUBLIC`, with no database work at all (public reads are the
  hot path);
- a valid key: its role and scope, looked up by SHA-256 hash (:mod:`geo.keys`, a read only:
  its use is recorded on the primary in the background, :class:`KeyUses`) and remembered by
  this worker for ``HVERDAG_AUTH_CACHE_S`` seconds. A revocation reaches every worker at once
  (api.guard.revocations forgets the key when PostgreSQL notifies it), and a write checks its
  key again in its own transaction (api.graphql.context);
- a header that is not ``Bearer <key>``, a key of the wrong shape (refused without asking the
  database), or an unknown or revoked key: **HTTP 401** before any handler runs, on every path,
  with ``WWW-Authenticate: Bearer error="invalid_token"`` and a GraphQL-shaped body
  (``{"errors": [{"message": …, "extensions": {"code": "UNAUTHENTICATED", "reason": …}}]}``).
  A client that sent a credential learns it is wrong instead of silently reading as the public;
- each such failure is counted against the client address's failed-authentication bucket
  (api.guard.ratelimit.FailureLimit); once it is empty, a key not already known to be good
  gets **HTTP 429** without a lookup, so made-up keys cannot keep the database busy.

An operation that needs a key and got none (every mutation, ``auditLog``) is a GraphQL error
with ``extensions.code`` UNAUTHENTICATED in an HTTP 200 answer, like every other field error:
the request itself was well-formed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from api.guard.ratelimit import FailureLimit
from geo.keys import ApiKey, find_key, hash_key, record_use, well_formed
from geo.vocab import Role
from geo.writes import Actor

logger = logging.getLogger("hverdag.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Lookups a worker remembers at most (a flood of made-up keys cannot grow it further).
CACHE_ENTRIES = 10_000


@dataclass(frozen=True)
class Principal:
    """The caller: an API key's id, role and scope; ``role`` None is the public."""

    key_id: int | None = None
    role: Role | None = None
    municipality_number: str | None = None
    organisation_id: int | None = None
    label: str | None = None

    @property
    def public(self) -> bool:
        return self.role is None

    def actor(self) -> Actor | None:
        """The same caller for geo's write functions; None for the public."""
        if self.role is None:
            return None
        return Actor(
            key_id=self.key_id,
            label=self.label or f"key {self.key_id}",
            role=self.role,
            municipality_number=self.municipality_number,
            organisation_id=self.organisation_id,
        )


PUBLIC = Principal()


def principal_of(key: ApiKey) -> Principal:
    return Principal(
        key_id=key.id,
        role=key.role,
        municipality_number=key.municipality_number,
        organisation_id=key.organisation_id,
        label=key.label,
    )


class KeyCache:
    """A worker's recent lookups by key hash (never the key), found or not, each for ``ttl``."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._entries: dict[bytes, tuple[float, Principal | None]] = {}

    def get(self, digest: bytes) -> tuple[bool, Principal | None]:
        """(known, principal): known is False when there is nothing fresh for ``digest``."""
        entry = self._entries.get(digest)
        if entry is None or entry[0] <= self.clock():
            return False, None
        return True, entry[1]

    def forget_key(self, key_id: int) -> int:
        """Drop what is remembered for key ``key_id`` (it was revoked); how many entries."""
        gone = [
            digest
            for digest, (_, principal) in self._entries.items()
            if principal is not None and principal.key_id == key_id
        ]
        for digest in gone:
            del self._entries[digest]
        return len(gone)

    def clear(self) -> None:
        self._entries.clear()

    def put(self, digest: bytes, principal: Principal | None) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= CACHE_ENTRIES:
            now = self.clock()
            self._entries = {k: e for k, e in self._entries.items() if e[0] > now}
            if len(self._entries) >= CACHE_ENTRIES:
                self._entries.clear()
        self._entries[digest] = (self.clock() + self.ttl, principal)


def _bearer(headers: list[tuple[bytes, bytes]]) -> tuple[bool, str | None]:
    """(present, token): token None when the header is not ``Bearer <token>``."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return True, None
            return True, token.strip()
    return False, None


class KeyUses:
    """Which keys were used, recorded in ``api_key.last_used_at`` in the background on the
    primary: a request never waits for it, and a read-only database (a replica, or a primary
    in recovery) fails only this, logged, never the request. One write at a time; the ids seen
    meanwhile go into the next."""

    def __init__(self) -> None:
        self.pending: set[int] = set()
        self.task: asyncio.Task[None] | None = None

    def note(self, engine: AsyncEngine, key_id: int) -> None:
        self.pending.add(key_id)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._record(engine))

    async def _record(self, engine: AsyncEngine) -> None:
        while self.pending:
            ids = sorted(self.pending)
            self.pending.clear()
            try:
                async with engine.begin() as conn:
                    await conn.run_sync(record_use, ids)
            except (SQLAlchemyError, OSError) as exc:
                detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
                logger.warning(
                    "could not record the use of API keys %s: %s",
                    ids,
                    detail[0] if detail else type(exc).__name__,
                )

    async def drain(self) -> None:
        """Wait for the recording under way (the app's shutdown)."""
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)


class AuthMiddleware:
    """``failures``: the limit on failed authentications per address (api.guard.ratelimit);
    once an address has used it up, a key this worker does not already know to be good gets a
    429 without a lookup."""

    def __init__(
        self,
        app: ASGIApp,
        cache_seconds: float = 30.0,
        *,
        cache: KeyCache | None = None,
        failures: FailureLimit | None = None,
        uses: KeyUses | None = None,
    ) -> None:
        self.app = app
        self.cache = cache if cache is not None else KeyCache(cache_seconds)
        self.failures = failures
        self.uses = uses if uses is not None else KeyUses()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan; websockets (none are offered) stay public
            if scope["type"] == "websocket":
                scope.setdefault("state", {})["principal"] = PUBLIC
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        present, token = _bearer(scope.get("headers", []))
        if not present:
            state["principal"] = PUBLIC
            await self.app(scope, receive, send)
            return
        digest = hash_key(token) if token is not None and well_formed(token) else None
        known, principal = self.cache.get(digest) if digest is not None else (False, None)
        if known and principal is not None:
            state["principal"] = principal
            await self.app(scope, receive, send)
            return
        if self.failures is not None and await self.failures.refused(scope, send):
            return
        if token is None:
            await self._failed(scope, send, "the Authorization header must be `Bearer <key>`")
            return
        try:
            if not known and digest is not None:
                principal = await self._lookup(state["engine"], token, digest)
        except (SQLAlchemyError, OSError):
            logger.exception("API key lookup failed")
            await _answer(
                send,
                503,
                "UNAVAILABLE",
                "the key could not be checked: the database is unavailable; try again",
            )
            return
        if principal is None:
            await self._failed(
                scope,
                send,
                "the API key is unknown or revoked"
                if digest is not None
                else "that is not an API key of this service (hv_…)",
            )
            return
        state["principal"] = principal
        await self.app(scope, receive, send)

    async def _failed(self, scope: Scope, send: Send, reason: str) -> None:
        if self.failures is not None:
            await self.failures.failed(scope)
        await _refuse(send, reason)

    async def _lookup(self, engine: AsyncEngine, token: str, digest: bytes) -> Principal | None:
        """The database's answer for a well-formed key (only such a key is ever looked up)."""
        async with engine.connect() as conn:
            key = await conn.run_sync(find_key, token)
        principal = None if key is None else principal_of(key)
        self.cache.put(digest, principal)
        if key is not None:
            self.uses.note(engine, key.id)
        return principal


async def _refuse(send: Send, reason: str) -> None:
    await _answer(
        send,
        401,
        "UNAUTHENTICATED",
        reason,
        [(b"www-authenticate", b'Bearer error="invalid_token"')],
    )


async def _answer(
    send: Send,
    status: int,
    code: str,
    reason: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """A GraphQL-shaped error body, so clients read every refusal the same way."""
    body = orjson.dumps(
        {
            "errors": [
                {
                    "message": f"{code.capitalize()}: {reason}",
                    "extensions": {"code": code, "reason": reason},
                }
            ]
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
