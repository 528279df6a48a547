"""What the download routes (CSV/GeoJSON exports, HSDS, tiles) answer when they cannot: one JSON
error shape, the cap on exports running at once, and a failure mapped to its status."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from api.errors import ErrorCode, outage_code

logger = logging.getLogger("hverdag.api")

#: Seconds a caller is asked to wait when every export slot is taken.
RETRY_AFTER_S = 5


def json_error(status: int, code: str, reason: str, **details: Any) -> JSONResponse:
    """``{"error": {"code", …details, "reason"}}`` with ``status``."""
    return JSONResponse({"error": {"code": code, **details, "reason": reason}},
                        status_code=status)


def request_id_of(request: Request) -> str:
    """The id the request guard gave this request (api.middleware), else a new one."""
    return request.scope.get("state", {}).get("request_id") or uuid.uuid4().hex


def too_many_exports() -> JSONResponse:
    response = json_error(503, ErrorCode.UNAVAILABLE,
                          "Too many exports are running; try again shortly")
    response.headers["retry-after"] = str(RETRY_AFTER_S)
    return response


def export_failure(exc: Exception, request_id: str, what: str) -> JSONResponse:
    """503/504 for the database's own failures (logged as a warning), else a masked 500 whose
    detail goes to the log under the request id."""
    outage = outage_code(exc)
    if outage is not None:
        code, message = outage
        logger.warning("%s: %s [request %s]: %s", what, code, request_id, exc,
                       extra={"request_id": request_id})
        return json_error(504 if code == ErrorCode.TIMEOUT else 503, code, message,
                          requestId=request_id)
    logger.error("%s failed [request %s]", what, request_id, exc_info=exc,
                 extra={"request_id": request_id})
    return json_error(500, ErrorCode.INTERNAL_SERVER_ERROR, "Internal error",
                      requestId=request_id)
