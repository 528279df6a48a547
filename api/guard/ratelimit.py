"""Rate limiting: a token bucket per API key, or per client address for callers without a key.

Pure ASGI. The authentication middleware runs before this one and leaves the caller in
``scope["state"]["principal"]``: an object with ``key_id`` (int or None) and ``role`` (a
:class:`geo.vocab.Role`, or None for the public). Without a principal the caller is public.
A caller with a key is limited by its key (wherever it calls from), at its role's rate; any
other caller by its address, at the PUBLIC rate.

Each bucket holds up to ``rate × HVERDAG_RATE_LIMIT_BURST_S`` tokens and refills at the role's
rate (HVERDAG_RATE_LIMIT_PER_MINUTE); a request takes one. An empty bucket answers 429 with
``Retry-After`` (whole seconds until a token is back) and a GraphQL-shaped body whose
``extensions.code`` is RATE_LIMITED. /healthz and /readyz are never limited.

The buckets live in the process: with several workers or nodes each has its own, and the
effective limit is the per-process limit times the number of processes a caller's requests are
spread over (docs/reliability.md says what to use instead).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import ErrorCode
from api.guard.requests import send_error
from geo.settings import Settings

PUBLIC = "PUBLIC"
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/"})
#: The map page's own files: static, cacheable, no database work.
EXEMPT_PREFIXES = ("/static/", "/vendor/")
#: Vector tiles come dozens at a time whenever a map pans or zooms: their own bucket, at this
#: many times the caller's rate, so a person using the map is never refused while GraphQL
#: keeps its rate.
TILES_PREFIX, TILE_RATE_FACTOR = "/tiles/", 20
#: Most buckets kept; the least recently used go first (an idle bucket is full anyway).
MAX_BUCKETS = 100_000


@dataclass
class Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Token buckets by key, bounded in number (least recently used dropped first)."""

    def __init__(
        self, max_buckets: int = MAX_BUCKETS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_buckets = max_buckets
        self.clock = clock
        self.buckets: OrderedDict[Any, Bucket] = OrderedDict()

    def take(self, key: Any, per_second: float, capacity: float) -> float:
        """Take one token: 0.0 when granted, else the seconds until one is back."""
        now = self.clock()
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = Bucket(tokens=capacity, updated=now)
            if len(self.buckets) > self.max_buckets:
                self.buckets.popitem(last=False)
        else:
            self.buckets.move_to_end(key)
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * per_second)
            bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / per_second


def client_address(scope: Scope, forwarded_for_hops: int) -> str:
    """The caller's address: the TCP peer's, or with N trusted proxies in front the Nth
    address from the right of X-Forwarded-For (the one the outermost trusted proxy saw)."""
    peer = scope.get("client")
    address = peer[0] if peer else "unknown"
    if forwarded_for_hops <= 0:
        return str(address)
    values = [
        value.decode("latin-1")
        for key, value in scope.get("headers", ())
        if key == b"x-forwarded-for"
    ]
    chain = [part.strip() for value in values for part in value.split(",") if part.strip()]
    if not chain:
        return str(address)
    return chain[-forwarded_for_hops] if len(chain) >= forwarded_for_hops else chain[0]


def principal_of(scope: Scope) -> tuple[int | None, str]:
    """(key id or None, role name) of the authenticated caller; (None, PUBLIC) for anyone
    else. Read defensively: the auth middleware may be absent."""
    state = scope.get("state") or {}
    principal = state.get("principal") if isinstance(state, dict) else None
    if principal is None:
        return None, PUBLIC
    key_id = getattr(principal, "key_id", None)
    role = getattr(principal, "role", None)
    name = role if isinstance(role, str) else getattr(role, "value", None)  # a Role is a str
    if isinstance(key_id, bool) or not isinstance(key_id, int):
        key_id = None
    return key_id, (str(name) if name else PUBLIC)


class RateLimit:
    """429 RATE_LIMITED with Retry-After once a caller's bucket is empty."""

    def __init__(
        self, app: ASGIApp, settings: Settings, buckets: TokenBuckets | None = None
    ) -> None:
        self.app = app
        self.per_minute = settings.rate_limit_per_minute
        self.burst_s = settings.rate_limit_burst_s
        self.hops = settings.forwarded_for_hops
        self.buckets = buckets if buckets is not None else TokenBuckets()

    def rate(self, role: str) -> int:
        return self.per_minute.get(role, self.per_minute.get(PUBLIC, 0))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        key_id, role = principal_of(scope)
        per_minute = self.rate(role)
        if per_minute <= 0:  # unlimited
            await self.app(scope, receive, send)
            return
        bucket: tuple[object, ...] = (
            ("key", key_id) if key_id is not None else ("address", client_address(scope, self.hops))
        )
        if path.startswith(TILES_PREFIX):
            bucket, per_minute = ("tiles", *bucket), per_minute * TILE_RATE_FACTOR
        per_second = per_minute / 60
        wait = self.buckets.take(bucket, per_second, max(1.0, per_second * self.burst_s))
        if wait == 0:
            await self.app(scope, receive, send)
            return
        retry_after = max(1, math.ceil(wait))
        who = "this API key" if key_id is not None else "this address"
        request_id = (scope.get("state") or {}).get("request_id")
        message = (
            f"Too many requests from {who}: {per_minute} a minute for {role}; "
            f"try again in {retry_after} s"
        )
        await send_error(
            send,
            429,
            ErrorCode.RATE_LIMITED,
            message,
            headers={"retry-after": str(retry_after)},
            reason=message,
            retryAfter=retry_after,
            limitPerMinute=per_minute,
            **({"requestId": request_id} if request_id else {}),
        )
