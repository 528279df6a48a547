"""What the download routes (CSV/GeoJSON exports, HSDS, tiles) answer: one JSON error shape,
the cap on exports running at once, a failure mapped to its status, and the streamed body that
closes its database resources however it ends."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.types import Receive, Scope, Send

from api.errors import ErrorCode, outage_code

logger = logging.getLogger("hverdag.api")

#: Seconds a caller is asked to wait when every export slot is taken.
RETRY_AFTER_S = 5


def json_error(status: int, code: str, reason: str, **details: Any) -> JSONResponse:
    """``{"error": {"code", …details, "reason"}}`` with ``status``."""
    return JSONResponse({"error": {"code": code, **details, "reason": reason}}, status_code=status)


def request_id_of(request: Request) -> str:
    """The id the request guard gave this request (api.guard.requests), else a new one."""
    return request.scope.get("state", {}).get("request_id") or uuid.uuid4().hex


def too_many_exports() -> JSONResponse:
    response = json_error(
        503, ErrorCode.UNAVAILABLE, "Too many exports are running; try again shortly"
    )
    response.headers["retry-after"] = str(RETRY_AFTER_S)
    return response


def export_failure(exc: Exception, request_id: str, what: str) -> JSONResponse:
    """503/504 for the database's own failures (logged as a warning), else a masked 500 whose
    detail goes to the log under the request id."""
    outage = outage_code(exc)
    if outage is not None:
        code, message = outage
        logger.warning(
            "%s: %s [request %s]: %s", what, code, request_id, exc, extra={"request_id": request_id}
        )
        return json_error(
            504 if code == ErrorCode.TIMEOUT else 503, code, message, requestId=request_id
        )
    logger.error(
        "%s failed [request %s]", what, request_id, exc_info=exc, extra={"request_id": request_id}
    )
    return json_error(500, ErrorCode.INTERNAL_SERVER_ERROR, "Internal error", requestId=request_id)


class ClosingStream(StreamingResponse):
    """A download streamed from open database resources: ``close`` runs however the stream ends
    (finished, failed, or the client went away), and a failure after the headers went out is
    logged under the request id (the client can only see its connection cut)."""

    def __init__(
        self,
        body: AsyncIterator[bytes],
        close: Callable[[], Awaitable[None]],
        *,
        what: str,
        media_type: str,
        headers: dict[str, str],
        request_id: str,
    ) -> None:
        self._close = close
        self._what = what
        self.request_id = request_id
        super().__init__(
            self._logged(body),
            media_type=media_type,
            headers={**headers, "x-request-id": request_id},
        )

    async def _logged(self, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        try:
            async for chunk in body:
                yield chunk
        except Exception:
            logger.exception(
                "%s failed mid-stream [request %s]; connection cut",
                self._what,
                self.request_id,
                extra={"request_id": self.request_id},
            )
            raise

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._close()
