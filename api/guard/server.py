"""The limits uvicorn does not set by itself, in the server ``hverdag serve`` runs.

uvicorn's httptools protocol reads a request head (request line and headers) without a bound on
its size or on the time it takes to arrive: an 8 MB ``Authorization`` header is read whole, and
a client that sends one header line a second holds its connection, and the memory of everything
it sent, for as long as it likes. :class:`GuardedHttpProtocol` is that protocol with both bounds:

- **size**: more than ``HVERDAG_MAX_HEADER_BYTES`` of an unfinished head gets a 431 and the
  connection is closed (on a kept-alive connection, at most one more socket read of the next
  request's first bytes can slip past the count);
- **time**: a head not complete ``HVERDAG_HEADER_TIMEOUT_S`` after the connection opened (or
  after the first byte of a kept-alive connection's next request) gets a 408 and the connection
  is closed; a connection that sent nothing at all is just closed.

The idle time between requests on a kept-alive connection is uvicorn's own
``timeout_keep_alive`` (``HVERDAG_KEEP_ALIVE_S``). The body's size is the app's limit
(api.guard.requests.BodySizeLimit). :func:`uvicorn_options` and :func:`uvicorn_arguments` are
the one place these and the proxy-header options are turned into uvicorn's, for ``uvicorn.run``
and for uvicorn's command line alike (api/cli.py).

A refused connection is closed the way nginx's lingering close does it: the answer is sent, the
sending side shut (FIN), and whatever the client still sends is read and dropped for up to
:data:`LINGER_S` before the socket is closed, so the client reads the answer instead of a reset.
"""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.errors import ErrorCode
from geo.settings import Settings, load_settings

logger = logging.getLogger("hverdag.api")

#: How long a refused connection's further bytes are read and dropped before it is closed.
LINGER_S = 2.0

PROTOCOL = "api.guard.server:GuardedHttpProtocol"


@lru_cache(maxsize=1)
def _limits() -> tuple[int, float]:
    """(HVERDAG_MAX_HEADER_BYTES, HVERDAG_HEADER_TIMEOUT_S) of this process's environment, which
    is also where each worker's app reads its settings."""
    settings = load_settings()
    return settings.max_header_bytes, settings.header_timeout_s


def _answer(status: int, phrase: str, code: ErrorCode, reason: str, **details: Any) -> bytes:
    extensions = {"code": code.value, "reason": reason, **details}
    body = orjson.dumps({"errors": [{"message": reason, "extensions": extensions}]})
    head = (
        f"HTTP/1.1 {status} {phrase}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bound on a request head's size and arrival time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_head_bytes, self.head_timeout_s = _limits()
        #: A request head has begun (or the connection is new) and is not complete yet.
        self.head_open = True
        self.head_bytes = 0
        self.head_timer: asyncio.TimerHandle | None = None
        self.refused = False
        self.linger_timer: asyncio.TimerHandle | None = None

    # --- the timer -------------------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if not self.head_open or self.transport.is_closing():
            return
        if self.flow.read_paused:
            # uvicorn itself stopped reading (pipelined requests queue up): the head cannot
            # arrive until it reads again, so the client is not to blame.
            self._arm_head_timer()
            return
        if self.head_bytes == 0:
            self.transport.close()  # nothing was asked: nothing to answer
            return
        reason = f"The request's headers did not arrive within {self.head_timeout_s:g} s"
        self._refuse(
            _answer(408, "Request Timeout", ErrorCode.BAD_USER_INPUT, reason),
            f"request head not complete after {self.head_timeout_s:g} s",
        )

    # --- refusing ----------------------------------------------------------------------------

    def _refuse(self, answer: bytes, why: str) -> None:
        self.refused = True
        self.head_open = False
        self._cancel_head_timer()
        self._unset_keepalive_if_required()
        client = "%s:%d" % self.client if self.client else "?"  # noqa: UP031 - uvicorn's form
        logger.info("%s - connection closed: %s", client, why)
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined head behind a response still being sent: no room for an answer.
            self.transport.close()
            return
        self.transport.write(answer)
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.linger_timer = self.loop.call_later(LINGER_S, self.transport.close)
        else:
            self.transport.close()

    # --- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        if self.linger_timer is not None:
            self.linger_timer.cancel()
            self.linger_timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return  # lingering: read and dropped
        counted = self.head_open  # the whole read belongs to an unfinished head
        super().data_received(data)
        if counted and self.head_open and not self.transport.is_closing():
            self.head_bytes += len(data)
            if self.head_bytes > self.max_head_bytes:
                reason = f"The request's headers are larger than {self.max_head_bytes:,} bytes"
                self._refuse(
                    _answer(
                        431,
                        "Request Header Fields Too Large",
                        ErrorCode.BAD_USER_INPUT,
                        reason,
                        limit=self.max_head_bytes,
                    ),
                    f"request head over {self.max_head_bytes} bytes",
                )

    # --- httptools' callbacks ------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self.head_open:  # the next request on a kept-alive (or pipelined) connection
            self.head_open = True
            self.head_bytes = 0
            self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self.head_open = False
        self._cancel_head_timer()
        super().on_headers_complete()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The server's limits and proxy handling as ``uvicorn.run``'s keyword arguments.

    uvicorn trusts ``X-Forwarded-For`` from 127.0.0.1 by default and rewrites the client's
    address from it: any local client (or a local proxy's clients) could pick their rate-limit
    bucket. Off unless ``HVERDAG_FORWARDED_ALLOW_IPS`` names the trusted proxies."""
    options: dict[str, Any] = {
        "http": PROTOCOL,
        "timeout_keep_alive": settings.keep_alive_s,
        # The same bound for uvicorn's h11 protocol, should it be chosen instead.
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "proxy_headers": bool(settings.forwarded_allow_ips),
    }
    if settings.forwarded_allow_ips:
        options["forwarded_allow_ips"] = settings.forwarded_allow_ips
    return options


def uvicorn_arguments(settings: Settings) -> list[str]:
    """:func:`uvicorn_options` as uvicorn's command-line arguments."""
    options = uvicorn_options(settings)
    arguments = [
        "--http",
        options["http"],
        "--timeout-keep-alive",
        str(options["timeout_keep_alive"]),
        "--h11-max-incomplete-event-size",
        str(options["h11_max_incomplete_event_size"]),
        "--proxy-headers" if options["proxy_headers"] else "--no-proxy-headers",
    ]
    if "forwarded_allow_ips" in options:
        arguments += ["--forwarded-allow-ips", options["forwarded_allow_ips"]]
    return arguments
