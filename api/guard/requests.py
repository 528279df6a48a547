"""Pure-ASGI middleware around every request: a request id, masking of unexpected errors, and
the request body's size limit.

- :class:`RequestGuard` gives each request an id (the caller's ``X-Request-ID`` when it is a
  sane token, else a new one) in ``scope["state"]["request_id"]`` and the ``x-request-id``
  response header. An exception that escapes the app (outside GraphQL, which masks its own) is
  logged with the id and its traceback, and the client gets a JSON 500 with only the id.
- :class:`BodySizeLimit` refuses a body larger than HVERDAG_MAX_BODY_BYTES with a 413: at once
  when ``Content-Length`` says so, else as soon as the chunks read add up to more, so a large
  body is never held in memory whole. A multipart upload from a caller with an API key may be
  as large as HVERDAG_MAX_UPLOAD_BYTES (the public cannot upload: every mutation needs a key).
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import INTERNAL_MESSAGE, ErrorCode

logger = logging.getLogger("hverdag.api")

_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a request header (names are lower-case in ASGI)."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


async def send_error(
    send: Send,
    status: int,
    code: ErrorCode,
    message: str,
    headers: dict[str, str] | None = None,
    **details: Any,
) -> None:
    """A GraphQL-shaped JSON error (``{"errors": [{"message", "extensions": {"code"}}]}``)."""
    body = orjson.dumps(
        {"errors": [{"message": message, "extensions": {"code": code.value, **details}}]}
    )
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """Request ids on every request and response; unexpected exceptions masked and logged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = header(scope, b"x-request-id")
        request_id = (
            given.decode() if given and _REQUEST_ID.fullmatch(given) else secrets.token_hex(16)
        )
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [
                    (k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"
                ]
                message = {**message, "headers": [*headers, (b"x-request-id", request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception(
                "INTERNAL_SERVER_ERROR [request %s] %s %s",
                request_id,
                scope.get("method"),
                scope.get("path"),
                extra={"request_id": request_id},
            )
            if started:
                raise  # too late for a clean answer: the server cuts the connection
            await send_error(
                send_with_id,
                500,
                ErrorCode.INTERNAL_SERVER_ERROR,
                INTERNAL_MESSAGE,
                requestId=request_id,
            )


class BodyTooLarge(Exception):  # noqa: N818 - raised from receive, caught below
    """The body read so far is over the limit."""


class BodySizeLimit:
    """413 for a request body over ``max_bytes``, without reading it whole; a multipart upload
    from a caller with an API key (the only ones a mutation accepts) may reach
    ``max_upload_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max(max_upload_bytes or max_bytes, max_bytes)

    def _limit(self, scope: Scope) -> int:
        content_type = header(scope, b"content-type") or b""
        if not content_type.lower().startswith(b"multipart/form-data"):
            return self.max_bytes
        principal = scope.get("state", {}).get("principal")
        keyed = principal is not None and not getattr(principal, "public", True)
        return self.max_upload_bytes if keyed else self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(send, limit)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(send, limit)

    @staticmethod
    async def _refuse(send: Send, limit: int) -> None:
        reason = f"The request body is larger than {limit:,} bytes"
        await send_error(
            send,
            413,
            ErrorCode.BAD_USER_INPUT,
            reason,
            reason=reason,
            limit=limit,
            headers={"connection": "close"},
        )
