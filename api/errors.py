"""Errors the API raises, for GraphQL and the plain HTTP endpoints alike (no framework here).

- An :class:`ApiError` keeps its message for the client; its code and details go to GraphQL's
  ``extensions`` (``{"code": "BAD_USER_INPUT", "field": "at.lat", ...}``) or to the JSON body of
  an HTTP error.
- :func:`outage_code` tells the database's own failures (a timeout, an outage) from bugs.

How GraphQL reports them (masking, codes before execution) is :mod:`api.graphql.errors`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from psycopg import errors as pg_errors
from sqlalchemy import exc as sa_exc

from geo.reader import DatabaseUnavailable


class ErrorCode(StrEnum):
    """The values of ``extensions.code`` (docs/guide-app-developers.md), plus the masked
    internal error."""

    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    CONFLICT = "CONFLICT"
    RATE_LIMITED = "RATE_LIMITED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    #: Automatic persisted queries (Apollo's names): a hash this worker does not know (send the
    #: document with it), or a deployment that takes none.
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
    TIMEOUT = "TIMEOUT"
    UNAVAILABLE = "UNAVAILABLE"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


INTERNAL_MESSAGE = "Internal error"


class ApiError(Exception):
    """An error whose message is meant for the client; ``details`` go to ``extensions``."""

    default_code: str = ErrorCode.INTERNAL_SERVER_ERROR

    def __init__(self, message: str, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code: str = str(code or self.default_code)
        self.details: dict[str, Any] = details

    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, **self.details}


class BadUserInput(ApiError):  # noqa: N818 - named after its code
    """Input the client must change; ``extensions.reason`` repeats the message."""

    default_code = ErrorCode.BAD_USER_INPUT

    def __init__(self, message: str, code: str | None = None, **details: Any) -> None:
        details.setdefault("reason", message)
        super().__init__(message, code, **details)


class NotFound(ApiError):  # noqa: N818 - named after its code
    default_code = ErrorCode.NOT_FOUND


class Forbidden(ApiError):  # noqa: N818 - named after its code
    default_code = ErrorCode.FORBIDDEN


class Unauthenticated(ApiError):  # noqa: N818 - named after its code
    default_code = ErrorCode.UNAUTHENTICATED


class RateLimited(ApiError):  # noqa: N818 - named after its code
    default_code = ErrorCode.RATE_LIMITED


class QueryTooComplex(ApiError):  # noqa: N818 - named after its code
    default_code = ErrorCode.QUERY_TOO_COMPLEX


class Timeout(ApiError):  # noqa: N818 - named after its code
    default_code = ErrorCode.TIMEOUT


class Unavailable(ApiError):  # noqa: N818 - named after its code
    default_code = ErrorCode.UNAVAILABLE


def outage_code(exc: BaseException) -> tuple[str, str] | None:
    """(code, message) of TIMEOUT or UNAVAILABLE for the database's own failures, else None."""
    if isinstance(exc, Unavailable | DatabaseUnavailable):  # known to be down (the breaker)
        return ErrorCode.UNAVAILABLE.value, exc.message
    if isinstance(getattr(exc, "orig", exc), pg_errors.QueryCanceled):
        return ErrorCode.TIMEOUT.value, "The query took too long and was cancelled"
    outage = sa_exc.TimeoutError | sa_exc.OperationalError | pg_errors.OperationalError
    if isinstance(exc, outage) or (
        isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated
    ):
        return ErrorCode.UNAVAILABLE.value, "The database is unavailable; try again shortly"
    return None
