"""Delivering webhooks: sign each change, POST it to its subscriber, record how it went.

Runs under `hverdag serve` (a task in each worker's lifespan) or as `hverdag deliver`; any
number of workers share the outbox (geo.outbox leases deliveries with SKIP LOCKED). Each
request:

- ``POST`` the JSON body to the subscription's URL, redirects not followed;
- ``Hverdag-Event-Id``: the event's id (the same on every attempt: drop duplicates by it);
- ``Hverdag-Signature: t=<unix seconds>,v1=<hex>``: HMAC-SHA256 with the subscription's secret
  over ``<t>.<body>`` (docs/webhooks.md has the check in Python and JavaScript); the timestamp
  lets a subscriber refuse a replay;
- any 2xx is a success; anything else, a timeout or no connection is a failure, retried with
  exponential back-off, and a subscription failing HVERDAG_WEBHOOK_PAUSE_AFTER times running
  is paused;
- the host is resolved before each request and every address it has must be public: a name
  that points at this machine or a private network (at registration or later, by a changed
  DNS record) is a failure, never a request. The request then goes to the address that was
  checked (its name kept for TLS and ``Host``), so a second lookup cannot point it elsewhere.
  HVERDAG_WEBHOOK_ALLOW_LOOPBACK turns this off (tests, development).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from api.checks import NodeType, b64encode_text
from api.errors import BadUserInput
from geo.outbox import Due, lease_due, record_failure, record_success
from geo.settings import Settings

logger = logging.getLogger("hverdag.delivery")

SIGNATURE_HEADER = "Hverdag-Signature"
EVENT_HEADER = "Hverdag-Event-Id"
#: A batch of deliveries one worker leases at a time.
BATCH = 20
#: The longest pause after the outbox could not be read (the database down or not migrated).
MAX_ERROR_PAUSE_S = 30.0
#: How a delivery worker's connections are named (pg_stat_activity): not the API's reads.
APPLICATION_NAME = "hverdag-webhooks"
_NODE_TYPES = {"ACTIVITY": NodeType.ACTIVITY, "VENUE": NodeType.VENUE, "COUNCIL": NodeType.COUNCIL}
_LOOPBACK_NAMES = {"localhost"}


def delivery_url(url: URL | str) -> URL:
    """The database URL a delivery worker connects with: named :data:`APPLICATION_NAME`."""
    return make_url(url).update_query_dict({"application_name": APPLICATION_NAME})


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Hverdag-Signature`` value of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now: float, tolerance_s: int = 300) -> bool:
    """What a subscriber checks (docs/webhooks.md): the signature over the body as received,
    and a timestamp within ``tolerance_s`` of its clock."""
    try:
        parts = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def body_of(due: Due) -> bytes:
    """The event as JSON: what changed and how, never the entry's fields (fetch it with
    ``node(id:)``, as the caller's key may read it: no private field leaves by webhook)."""
    node_type = _NODE_TYPES[due.entry_kind]
    return orjson.dumps(
        {
            "id": str(due.event_id),
            "type": f"{due.entry_kind.lower()}.{due.action}",
            "occurredAt": due.occurred_at.isoformat(),
            "entry": {
                "kind": due.entry_kind,
                "id": b64encode_text(f"{node_type}:{due.entry_id}"),
                "version": due.version,
                "municipality": due.municipality_number,
            },
        }
    )


def check_url(url: str, allow_loopback: bool, field: str = "input.url") -> str:
    """An HTTPS URL of a public host; BAD_USER_INPUT otherwise. With ``allow_loopback``
    (tests, development) also http:// and https:// to this machine or a private address."""
    parts = urlsplit(url)
    if len(url) > 2000 or not parts.hostname or parts.username or parts.password:
        raise BadUserInput(f"{url[:100]!r} is not a usable URL", field=field, reason="not a URL")
    host = parts.hostname
    try:
        address: Any = ipaddress.ip_address(host)
    except ValueError:
        address = None
    local = host in _LOOPBACK_NAMES or (
        address is not None and (address.is_loopback or address.is_private or address.is_link_local)
    )
    if local and not allow_loopback:
        raise BadUserInput(
            f"webhooks go to public hosts, not {host}",
            field=field,
            reason="a local or private address",
        )
    if parts.scheme == "https" or (parts.scheme == "http" and local and allow_loopback):
        return url
    raise BadUserInput(
        f"webhook URLs are HTTPS, not {parts.scheme or 'schemeless'}",
        field=field,
        reason="not HTTPS",
    )


#: A host name's addresses (for a port): the system's resolver unless a test gives its own.
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve_host(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone is not the address
    return ip.is_global and not ip.is_multicast


class Deliverer:
    """One worker: leases due deliveries, posts them one by one, records each outcome."""

    def __init__(
        self, engine: AsyncEngine, settings: Settings, resolve: Resolver = resolve_host
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.resolve = resolve
        # The lease outlasts a request: a worker never holds one it may not finish.
        self.lease = timedelta(seconds=settings.webhook_timeout_s * 2 + 5)

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        async with httpx.AsyncClient(
            timeout=self.settings.webhook_timeout_s, follow_redirects=False
        ) as client:
            pause = self.settings.webhook_poll_s
            while not stop.is_set():
                try:
                    sent = await self.deliver_batch(client)
                    pause = self.settings.webhook_poll_s
                except Exception as error:  # the database down or not migrated: wait longer
                    # One line, no traceback: Python 3.11 parses source to draw a traceback's
                    # carets, which races with another thread's ast.parse (SystemError).
                    pause = min(MAX_ERROR_PAUSE_S, pause * 2)
                    logger.warning(
                        "webhook delivery: the outbox cannot be read (%s: %s); again in %.1f s",
                        type(error).__name__,
                        str(error).splitlines()[0] if str(error) else "",
                        pause,
                    )
                    sent = 0
                if sent == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), pause)

    async def deliver_batch(self, client: httpx.AsyncClient) -> int:
        """Lease a batch and deliver it; how many were attempted."""
        async with self.engine.begin() as conn:
            batch = await conn.run_sync(lease_due, BATCH, self.lease)
        for due in batch:
            error = await self._post(client, due)
            async with self.engine.begin() as conn:
                if error is None:
                    await conn.run_sync(record_success, due)
                else:
                    paused = await conn.run_sync(
                        record_failure,
                        due,
                        error,
                        base_s=self.settings.webhook_retry_base_s,
                        most_s=self.settings.webhook_retry_max_s,
                        pause_after=self.settings.webhook_pause_after,
                    )
                    if paused:
                        logger.warning(
                            "webhook subscription %s paused: %s", due.subscription_id, error
                        )
        return len(batch)

    async def _post(self, client: httpx.AsyncClient, due: Due) -> str | None:
        """None when the subscriber took it (2xx); else what went wrong."""
        body = body_of(due)
        headers = {
            "content-type": "application/json",
            "user-agent": "hverdag-webhooks",
            EVENT_HEADER: str(due.event_id),
            SIGNATURE_HEADER: sign(due.secret, int(time.time()), body),
        }
        target = await self._public_target(due.url)
        if isinstance(target, str):
            return target
        url, extensions = target
        if extensions:
            headers["host"] = urlsplit(due.url).netloc
        try:
            response = await client.post(url, content=body, headers=headers, extensions=extensions)
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {error}"
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}: {response.text[:200]}"

    async def _public_target(self, url: str) -> tuple[str, dict[str, Any]] | str:
        """Where to send a delivery for ``url``: the URL with its host replaced by the public
        address it was checked to have, and the request's extensions (the name for TLS);
        else why not (a failure to record, no request made)."""
        if self.settings.webhook_allow_loopback:
            return url, {}
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            addresses = await self.resolve(host, parts.port or 443)
        except OSError as error:
            return f"cannot resolve {host}: {error}"
        private = sorted({a for a in addresses if not _is_public(a)})
        if not addresses or private:
            found = ", ".join(private) or "no address"
            return f"not delivered: {host} resolves to a non-public address ({found})"
        address = addresses[0]
        netloc = f"[{address}]" if ":" in address else address
        if parts.port is not None:
            netloc = f"{netloc}:{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc)), {"sni_hostname": host}
