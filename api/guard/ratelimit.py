"""Rate limiting: a bucket per API key, or per client address for callers without a key.

Pure ASGI. The authentication middleware runs before this one and leaves the caller in
``scope["state"]["principal"]``: an object with ``key_id`` (int or None) and ``role`` (a
:class:`geo.vocab.Role`, or None for the public). Without a principal the caller is public.
A caller with a key is limited by its key (wherever it calls from), at its role's rate; any
other caller by its address, at the PUBLIC rate.

Each bucket holds up to ``rate × HVERDAG_RATE_LIMIT_BURST_S`` requests and refills at the role's
rate (HVERDAG_RATE_LIMIT_PER_MINUTE); a request takes one. An empty bucket answers 429 with
``Retry-After`` (whole seconds until a request is let through again) and a GraphQL-shaped body
whose ``extensions.code`` is RATE_LIMITED. /healthz and /readyz are never limited. Every limited
response, 429 or not, carries the IETF draft's ``RateLimit-Policy`` and ``RateLimit`` fields
(draft-ietf-httpapi-ratelimit-headers-11: ``"public";q=100;w=10`` and ``"public";r=57;t=4``).

Where the buckets live (:class:`Limiter`):

- :class:`LocalLimiter`, the default: token buckets in the process. With several workers or
  nodes each has its own, and a caller whose requests are spread over N processes gets N times
  the rate.
- :class:`RedisLimiter`, with ``HVERDAG_REDIS_URL``: one budget for every process, kept in Redis
  by the ``limits`` library (its sliding-window counter, ``q`` requests per ``w`` seconds: the
  same bucket size and sustained rate). While Redis cannot be reached, each process falls back
  to its own buckets (and tries Redis again every few seconds): limited alone beats unlimited.

Failed authentications have buckets of their own, per client address
(``HVERDAG_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE``; :class:`FailureLimit`, used by
api.guard.auth).
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ErrorCode
from api.guard.requests import send_error
from geo.settings import Settings

logger = logging.getLogger("hverdag.api")

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
#: The policy name of the failed-authentication buckets.
AUTH_FAILURES = "auth-failures"


@dataclass(frozen=True)
class Policy:
    """A bucket's shape: ``per_minute`` sustained, ``burst_s`` seconds' worth at once. Its
    derived figures are computed once (a policy is made once per role and reused)."""

    name: str
    per_minute: int
    burst_s: float

    @cached_property
    def per_second(self) -> float:
        return self.per_minute / 60

    @cached_property
    def capacity(self) -> float:
        return max(1.0, self.per_second * self.burst_s)

    @cached_property
    def quota(self) -> int:
        """The draft's ``q``: requests a full bucket lets through at once."""
        return max(1, math.floor(self.capacity))

    @cached_property
    def window_s(self) -> int:
        """The draft's ``w``: seconds an empty bucket takes to fill."""
        return max(1, math.ceil(self.capacity / self.per_second))

    @cached_property
    def field(self) -> bytes:
        """The ``RateLimit-Policy`` field's value."""
        return f'"{self.name}";q={self.quota};w={self.window_s}'.encode()


@dataclass(frozen=True)
class Decision:
    """One request's verdict and what the caller has left."""

    allowed: bool
    #: The draft's ``r``: requests the caller may still send now.
    remaining: int
    #: The draft's ``t``: seconds until the bucket is full again (on a 429: until a request is
    #: let through again, the same as ``Retry-After``).
    reset_s: int
    #: Whole seconds until a request is let through again (0 when this one was).
    retry_after: int = 0

    def field(self, policy: Policy) -> bytes:
        """The ``RateLimit`` field's value."""
        return f'"{policy.name}";r={self.remaining};t={self.reset_s}'.encode()


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

    def _refilled(self, key: Any, per_second: float, capacity: float) -> Bucket:
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
        return bucket

    def take(self, key: Any, per_second: float, capacity: float) -> float:
        """Take one token: 0.0 when granted, else the seconds until one is back."""
        return self.take_counted(key, per_second, capacity)[0]

    def take_counted(self, key: Any, per_second: float, capacity: float) -> tuple[float, float]:
        """(as :meth:`take`, the tokens left in the bucket)."""
        bucket = self._refilled(key, per_second, capacity)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0, bucket.tokens
        return (1 - bucket.tokens) / per_second, bucket.tokens

    def level(self, key: Any, per_second: float, capacity: float) -> float:
        """The tokens in ``key``'s bucket now, taking none (a bucket never used is full)."""
        bucket = self.buckets.get(key)
        if bucket is None:
            return capacity
        return min(capacity, bucket.tokens + (self.clock() - bucket.updated) * per_second)


class Limiter(Protocol):
    """Where buckets live: ``hit`` takes one request from ``key``'s bucket of ``policy``,
    ``peek`` says what a request would get without taking one."""

    async def hit(self, key: str, policy: Policy) -> Decision: ...

    async def peek(self, key: str, policy: Policy) -> Decision: ...


def _decision(wait: float, tokens: float, policy: Policy) -> Decision:
    if wait > 0:
        retry_after = max(1, math.ceil(wait))
        return Decision(False, 0, retry_after, retry_after)
    full_in = math.ceil(max(0.0, policy.capacity - tokens) / policy.per_second)
    return Decision(True, max(0, math.floor(tokens)), full_in)


class LocalLimiter:
    """Token buckets in this process (the default)."""

    def __init__(self, buckets: TokenBuckets | None = None) -> None:
        self.buckets = buckets if buckets is not None else TokenBuckets()

    async def hit(self, key: str, policy: Policy) -> Decision:
        wait, tokens = self.buckets.take_counted(key, policy.per_second, policy.capacity)
        return _decision(wait, tokens, policy)

    async def peek(self, key: str, policy: Policy) -> Decision:
        tokens = self.buckets.level(key, policy.per_second, policy.capacity)
        wait = 0.0 if tokens >= 1 else (1 - tokens) / policy.per_second
        return _decision(wait, tokens, policy)


def limits_uri(url: str) -> str:
    """HVERDAG_REDIS_URL as the ``limits`` library's asyncio storage URI."""
    if url.startswith("unix://"):
        return "async+redis+unix://" + url.removeprefix("unix://")
    return "async+" + url


class RedisLimiter:
    """One budget for every process that uses the same Redis: the ``limits`` library's
    sliding-window counter of ``policy.quota`` requests per ``policy.window_s`` seconds (two
    round trips a request: the hit, and what is left for the headers). When Redis fails, the
    process's own :class:`LocalLimiter` decides, and Redis is tried again ``retry_s`` later."""

    def __init__(
        self,
        url: str,
        fallback: LocalLimiter | None = None,
        *,
        timeout_s: float = 0.5,
        retry_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from limits.aio.storage import RedisStorage
        from limits.aio.strategies import SlidingWindowCounterRateLimiter

        self.storage = RedisStorage(
            limits_uri(url),
            wrap_exceptions=True,
            implementation="redispy",
            key_prefix="hverdag",
            socket_connect_timeout=timeout_s,
            socket_timeout=timeout_s,
        )
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)
        self.fallback = fallback if fallback is not None else LocalLimiter()
        self.retry_s = retry_s
        self.clock = clock
        self.down_until = 0.0

    async def hit(self, key: str, policy: Policy) -> Decision:
        return await self._decide(key, policy, take=True)

    async def peek(self, key: str, policy: Policy) -> Decision:
        return await self._decide(key, policy, take=False)

    async def _decide(self, key: str, policy: Policy, *, take: bool) -> Decision:
        from limits import RateLimitItemPerSecond
        from limits.errors import StorageError

        if self.down_until and self.clock() < self.down_until:
            return await self._fallback(key, policy, take=take)
        item = RateLimitItemPerSecond(policy.quota, policy.window_s)
        try:
            if take:
                allowed = await self.strategy.hit(item, key)
            else:
                allowed = await self.strategy.test(item, key)
            stats = await self.strategy.get_window_stats(item, key)
        except (StorageError, OSError) as exc:
            if not self.down_until:
                logger.warning(
                    "rate limits: Redis failed (%s: %s); each process limits alone until it "
                    "is back",
                    type(exc).__name__,
                    exc,
                )
            self.down_until = self.clock() + self.retry_s
            return await self._fallback(key, policy, take=take)
        if self.down_until:
            logger.warning("rate limits: Redis is back; the budget is shared again")
            self.down_until = 0.0
        wait = max(0.0, stats.reset_time - time.time())
        if not allowed:
            retry_after = max(1, math.ceil(wait))
            return Decision(False, 0, retry_after, retry_after)
        return Decision(True, stats.remaining, math.ceil(wait))

    async def _fallback(self, key: str, policy: Policy, *, take: bool) -> Decision:
        if take:
            return await self.fallback.hit(key, policy)
        return await self.fallback.peek(key, policy)


def limiter_of(settings: Settings) -> Limiter:
    """The limiter the settings ask for: Redis's shared one, or this process's buckets."""
    if settings.redis_url:
        return RedisLimiter(settings.redis_url)
    return LocalLimiter()


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


def limit_headers(policy: Policy, decision: Decision) -> list[tuple[bytes, bytes]]:
    return [(b"ratelimit-policy", policy.field), (b"ratelimit", decision.field(policy))]


async def refuse(
    scope: Scope, send: Send, policy: Policy, decision: Decision, message: str, **details: Any
) -> None:
    """429 RATE_LIMITED with Retry-After and the RateLimit fields."""
    request_id = (scope.get("state") or {}).get("request_id")
    await send_error(
        send,
        429,
        ErrorCode.RATE_LIMITED,
        message,
        headers={
            "retry-after": str(decision.retry_after),
            **{name.decode(): value.decode() for name, value in limit_headers(policy, decision)},
        },
        reason=message,
        retryAfter=decision.retry_after,
        **details,
        **({"requestId": request_id} if request_id else {}),
    )


class RateLimit:
    """429 RATE_LIMITED with Retry-After once a caller's bucket is empty; the RateLimit fields
    on every limited response."""

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        buckets: TokenBuckets | None = None,
        limiter: Limiter | None = None,
    ) -> None:
        self.app = app
        self.per_minute = settings.rate_limit_per_minute
        self.burst_s = settings.rate_limit_burst_s
        self.hops = settings.forwarded_for_hops
        if limiter is None:
            limiter = LocalLimiter(buckets) if buckets is not None else limiter_of(settings)
        self.limiter = limiter
        self._policies: dict[tuple[str, bool], Policy | None] = {}

    def rate(self, role: str) -> int:
        return self.per_minute.get(role, self.per_minute.get(PUBLIC, 0))

    def policy(self, role: str, tiles: bool) -> Policy | None:
        """The policy of a role's bucket (its tiles' own, 20 × the rate); None: unlimited."""
        key = (role, tiles)
        if key not in self._policies:
            per_minute = self.rate(role) * (TILE_RATE_FACTOR if tiles else 1)
            name = role.lower() + ("-tiles" if tiles else "")
            self._policies[key] = Policy(name, per_minute, self.burst_s) if per_minute > 0 else None
        return self._policies[key]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        key_id, role = principal_of(scope)
        tiles = path.startswith(TILES_PREFIX)
        policy = self.policy(role, tiles)
        if policy is None:  # unlimited
            await self.app(scope, receive, send)
            return
        bucket = (
            f"key:{key_id}" if key_id is not None else f"address:{client_address(scope, self.hops)}"
        )
        if tiles:
            bucket = "tiles:" + bucket
        decision = await self.limiter.hit(bucket, policy)
        if not decision.allowed:
            who = "this API key" if key_id is not None else "this address"
            message = (
                f"Too many requests from {who}: {policy.per_minute} a minute for {role}; "
                f"try again in {decision.retry_after} s"
            )
            await refuse(scope, send, policy, decision, message, limitPerMinute=policy.per_minute)
            return
        fields = limit_headers(policy, decision)

        async def send_with_fields(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *fields]}
            await send(message)

        await self.app(scope, receive, send_with_fields)


@dataclass
class FailureLimit:
    """Failed authentications per client address, in buckets of their own: api.guard.auth asks
    :meth:`refused` before a lookup it would have to make, and :meth:`failed` after a key that
    did not pass."""

    limiter: Limiter
    policy: Policy
    hops: int

    @classmethod
    def of(cls, settings: Settings, limiter: Limiter) -> FailureLimit | None:
        """None when failed authentications are not limited (rate limits off, or a rate of 0)."""
        per_minute = settings.rate_limit_auth_failures_per_minute
        if not settings.rate_limit_enabled or per_minute <= 0:
            return None
        policy = Policy(AUTH_FAILURES, per_minute, settings.rate_limit_burst_s)
        return cls(limiter, policy, settings.forwarded_for_hops)

    def _key(self, scope: Scope) -> str:
        return f"auth-failures:{client_address(scope, self.hops)}"

    async def refused(self, scope: Scope, send: Send) -> bool:
        """True, with a 429 sent, when this address's failures have emptied its bucket."""
        decision = await self.limiter.peek(self._key(scope), self.policy)
        if decision.allowed:
            return False
        message = (
            f"Too many failed authentications from this address: {self.policy.per_minute} a "
            f"minute; try again in {decision.retry_after} s"
        )
        await refuse(scope, send, self.policy, decision, message)
        return True

    async def failed(self, scope: Scope) -> None:
        await self.limiter.hit(self._key(scope), self.policy)
