"""HTTP caching for every GET: ``Cache-Control`` by kind of answer, a strong ``ETag``,
``If-None-Match`` answered with 304, and ``Vary`` (docs/api.md, "Caching").

A pure-ASGI middleware under authentication (it reads the principal AuthMiddleware leaves in the
scope), so the routes keep to their own business:

- a request with an API key is ``private, no-store`` whatever the route said: what a key may read
  is nobody else's, and no shared cache may keep it;
- the public's 200 answers are ``public, max-age=HVERDAG_CACHE_MAX_AGE_S`` unless the route
  chose its own (the GraphQL view says ``no-store`` for answers with errors; the map page
  ``no-cache``; the vendored assets a year); errors and the operational endpoints
  (``/healthz``, ``/readyz``, ``/metrics``) are ``no-store``;
- an answer of known length (``Content-Length``, up to ``max_buffered`` bytes) is held until
  complete and gets a strong ETag (a SHA-256 of its media type and bytes: byte-identical
  answers, whatever the route); a client that sends it in ``If-None-Match`` gets a 304 without
  the body. A streamed answer (the exports and HSDS files, which send their first rows while
  the database still reads the rest, docs/exports.md) keeps streaming, with its Cache-Control
  but without an ETag: its headers leave before its last byte is known;
- ``Vary: Accept, Authorization`` on every cacheable answer: GraphQL's media type follows Accept,
  and a cache must not hand the public's answer to a key or the other way round.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.guard.requests import header

NO_STORE = "no-store"
PRIVATE = "private, no-store"
#: Paths whose answers are about this process, this instant: never cached.
_OPERATIONAL = ("/healthz", "/readyz", "/metrics")
#: Answers of known length up to this are hashed for their ETag (larger ones pass as they are).
MAX_BUFFERED = 4 * 1024 * 1024
_VARY = ("Accept", "Authorization")


def public_cache_control(max_age_s: int) -> str:
    """What the public's answers carry: a max-age, or revalidation every time (``no-cache``)."""
    return f"public, max-age={max_age_s}" if max_age_s > 0 else "public, no-cache"


def strong_etag(content_type: str, body: bytes) -> str:
    """A hash of the representation: its bytes and its media type (GraphQL's follows Accept)."""
    digest = hashlib.sha256(content_type.encode("latin-1") + b"\n" + body).digest()[:18]
    return '"' + base64.urlsafe_b64encode(digest).decode("ascii") + '"'


def etag_matches(if_none_match: bytes | None, etag: str) -> bool:
    """RFC 9110's weak comparison (as If-None-Match uses): ``W/"x"`` matches ``"x"``."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.decode("latin-1").split(",")}
    return "*" in tags or etag in tags


def _keyed(scope: Scope) -> bool:
    principal = scope.get("state", {}).get("principal")
    if principal is not None:
        return not getattr(principal, "public", True)
    return header(scope, b"authorization") is not None


def _add_vary(headers: MutableHeaders) -> None:
    present = {v.strip().lower() for v in headers.get("vary", "").split(",") if v.strip()}
    for name in _VARY:
        if name.lower() not in present:
            headers.add_vary_header(name)


class HttpCache:
    """Cache-Control, ETag, 304 and Vary for GET and HEAD requests (the module's rules)."""

    def __init__(self, app: ASGIApp, max_age_s: int, max_buffered: int = MAX_BUFFERED) -> None:
        self.app = app
        self.public = public_cache_control(max_age_s)
        self.max_buffered = max_buffered

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        answer = _Answer(self, scope, send)
        await self.app(scope, receive, answer.send)


class _Answer:
    """One response on its way out: its headers fixed, its body held for the ETag if small."""

    def __init__(self, cache: HttpCache, scope: Scope, send: Send) -> None:
        self.cache = cache
        self.scope = scope
        self.downstream = send
        self.start: Message | None = None
        self.chunks: list[bytes] = []
        self.holding = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.holding = self._prepare(message)
            if not self.holding:
                await self.downstream(message)
            else:
                self.start = message
            return
        if not self.holding or message["type"] != "http.response.body":
            await self.downstream(message)
            return
        self.chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            await self._finish()

    def _prepare(self, start: Message) -> bool:
        """Set the headers this answer gets; True when its body is to be held for an ETag."""
        start["headers"] = list(start.get("headers", ()))
        headers = MutableHeaders(scope=start)
        status = start["status"]
        if _keyed(self.scope):
            headers["cache-control"] = PRIVATE
            _add_vary(headers)
            return False
        if status not in (200, 304) or self.scope["path"] in _OPERATIONAL:
            headers.setdefault("cache-control", NO_STORE)
            return False
        control = headers.setdefault("cache-control", self.cache.public)
        if NO_STORE in control:
            return False
        _add_vary(headers)
        length = headers.get("content-length")
        return (
            status == 200
            and "etag" not in headers
            and self.scope["method"] == "GET"
            and length is not None
            and length.isdigit()
            and int(length) <= self.cache.max_buffered
        )

    async def _release(self, body: bytes) -> None:
        assert self.start is not None
        await self.downstream(self.start)
        await self.downstream({"type": "http.response.body", "body": body, "more_body": False})

    async def _finish(self) -> None:
        assert self.start is not None
        body = b"".join(self.chunks)
        headers = MutableHeaders(scope=self.start)
        etag = strong_etag(headers.get("content-type", ""), body)
        headers["etag"] = etag
        if etag_matches(header(self.scope, b"if-none-match"), etag):
            await self._not_modified(headers)
            return
        await self._release(body)

    async def _not_modified(self, headers: MutableHeaders) -> None:
        assert self.start is not None
        for name in ("content-length", "content-type", "content-encoding"):
            if name in headers:
                del headers[name]
        not_modified: dict[str, Any] = {**self.start, "status": 304}
        await self.downstream(not_modified)
        await self.downstream({"type": "http.response.body", "body": b"", "more_body": False})
