"""Errors the API raises, and the schema extension that gives every error ``extensions.code``.

- An :class:`ApiError` raised in a resolver keeps its message; its code and details go to
  ``extensions`` (``{"code": "BAD_USER_INPUT", "field": "at.lat", ...}``).
- Errors before execution — syntax, validation, variable coercion (``lon: "abc"``, NaN) — are
  the client's: ``BAD_USER_INPUT`` with graphql-core's message, also as ``extensions.reason``.
  The query depth and alias limits answer ``QUERY_TOO_COMPLEX`` (their rules tag their errors).
- Anything else is a bug or an outage: the client sees ``"Internal error"`` (or, for a database
  timeout or outage, ``TIMEOUT`` / ``UNAVAILABLE``) with a ``requestId``; the log (logger
  ``hverdag.api``) has the traceback under the same id. Nothing of the exception reaches the
  client.

Modelled on strawberry's ``MaskErrors``: it rewrites the result's errors after the operation, and
builds new ``GraphQLError`` objects rather than changing the old ones (validation errors are
shared through the validation cache).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from graphql.validation import ASTValidationRule, ValidationContext
from psycopg import errors as pg_errors
from sqlalchemy import exc as sa_exc
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult as StrawberryExecutionResult

logger = logging.getLogger("hverdag.api")


class ErrorCode(StrEnum):
    """The values of ``extensions.code`` (DESIGN.md), plus the masked internal error."""

    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    CONFLICT = "CONFLICT"
    RATE_LIMITED = "RATE_LIMITED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    TIMEOUT = "TIMEOUT"
    UNAVAILABLE = "UNAVAILABLE"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


INTERNAL_MESSAGE = "Internal error"
#: What graphql-core's parser says when it stops at its token or nesting limit.
_PARSER_LIMITS = ("tokens. Parsing aborted.", "nested too deeply. Parsing aborted.")


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


# --- validation rules that tag their errors -----------------------------------------------------


class _TaggingContext:
    """A ValidationContext stand-in that adds ``extensions.code`` to every error reported."""

    def __init__(self, inner: ValidationContext, code: str) -> None:
        self._inner = inner
        self._code = str(code)

    def report_error(self, error: GraphQLError) -> None:
        self._inner.report_error(
            GraphQLError(
                error.message,
                error.nodes,
                error.source,
                error.positions,
                error.path,
                error.original_error,
                {**(error.extensions or {}), "code": self._code},
            )
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def tag_rule(rule: type[ASTValidationRule], code: str) -> type[ASTValidationRule]:
    """A subclass of ``rule`` whose errors carry ``extensions.code``.

    Build each once (not per request): the validation cache keys on the rule classes.
    """

    class Tagged(rule):  # type: ignore[valid-type, misc]
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(_TaggingContext(context, code))

    Tagged.__name__ = f"{rule.__name__}Tagged"
    Tagged.__qualname__ = Tagged.__name__
    return Tagged


# --- the extension ------------------------------------------------------------------------------


@runtime_checkable
class _HasRequestId(Protocol):
    request_id: str


def _request_id(context: object) -> str:
    if isinstance(context, _HasRequestId):
        return context.request_id
    return uuid.uuid4().hex


def _rebuild(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


def _outage_code(exc: BaseException) -> tuple[str, str] | None:
    """TIMEOUT or UNAVAILABLE for the database's own failures, else None."""
    if isinstance(exc, Unavailable):  # the outage breaker's: the database is known to be down
        return ErrorCode.UNAVAILABLE.value, exc.message
    if isinstance(getattr(exc, "orig", exc), pg_errors.QueryCanceled):
        return ErrorCode.TIMEOUT.value, "The query took too long and was cancelled"
    outage = sa_exc.TimeoutError | sa_exc.OperationalError | pg_errors.OperationalError
    if isinstance(exc, outage) or (
        isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated
    ):
        return ErrorCode.UNAVAILABLE.value, "The database is unavailable; try again shortly"
    return None


def outage_code(exc: BaseException) -> tuple[str, str] | None:
    """(code, message) of TIMEOUT or UNAVAILABLE for the database's own failures, else None;
    for handlers outside GraphQL (the exports)."""
    return _outage_code(exc)


def with_code(error: GraphQLError, context: object) -> GraphQLError:
    """``error`` with ``extensions.code`` (itself when it has one); unexpected ones masked."""
    original = error.original_error
    if isinstance(original, ApiError):
        if original.code == ErrorCode.INTERNAL_SERVER_ERROR:
            return _mask(error, original, context)
        logger.debug("%s at %s: %s", original.code, error.path, original.message)
        return _rebuild(error, original.message, original.extensions())
    if original is None or isinstance(original, GraphQLError):
        if error.extensions and "code" in error.extensions:
            return error
        if error.path is None and any(limit in error.message for limit in _PARSER_LIMITS):
            # graphql-core's parser stopped at a limit (MaxTokensLimiter's): not a typo.
            return _rebuild(
                error,
                error.message,
                {"code": ErrorCode.QUERY_TOO_COMPLEX.value, "reason": error.message},
            )
        if error.path is None:
            # Before execution: the document or the variables. The client's to fix.
            return _rebuild(
                error,
                error.message,
                {"code": ErrorCode.BAD_USER_INPUT.value, "reason": error.message},
            )
    return _mask(error, original, context)


def _mask(error: GraphQLError, original: BaseException | None, context: object) -> GraphQLError:
    request_id = _request_id(context)
    code: str = ErrorCode.INTERNAL_SERVER_ERROR.value
    message = INTERNAL_MESSAGE
    if original is not None and (outage := _outage_code(original)) is not None:
        code, message = outage
        # An outage is not a bug: one line per request, no traceback (a stopped database
        # would otherwise write a traceback for every request until it is back).
        logger.warning(
            "%s [request %s] at %s: %s",
            code,
            request_id,
            ".".join(str(p) for p in error.path or ()) or "(operation)",
            str(original).splitlines()[0] if str(original) else type(original),
            extra={"request_id": request_id},
        )
        return _rebuild(error, message, {"code": code, "requestId": request_id})
    logger.error(
        "%s [request %s] at %s: %s",
        code,
        request_id,
        ".".join(str(p) for p in error.path or ()) or "(operation)",
        error.message,
        exc_info=original if original is not None else error,
        extra={"request_id": request_id},
    )
    return _rebuild(error, message, {"code": code, "requestId": request_id})


def limit_error(
    code: ErrorCode, message: str, context: object, **details: Any
) -> StrawberryExecutionResult:
    """The result of an operation refused or stopped by a limit before it could finish."""
    extensions = {
        "code": code.value,
        "reason": message,
        **details,
        "requestId": _request_id(context),
    }
    logger.info(
        "%s [request %s]: %s",
        code.value,
        extensions["requestId"],
        message,
        extra={"request_id": extensions["requestId"]},
    )
    return StrawberryExecutionResult(
        data=None, errors=[GraphQLError(message, extensions=extensions)]
    )


def with_codes(errors: list[GraphQLError], context: object) -> list[GraphQLError]:
    return [with_code(error, context) for error in errors]


class ErrorCodes(SchemaExtension):
    """Give every error ``extensions.code``; mask and log the unexpected ones."""

    def _process(self, result: object) -> None:
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = with_codes(errors, self.execution_context.context)  # type: ignore[attr-defined]

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if isinstance(result, GraphQLExecutionResult | StrawberryExecutionResult):
            self._process(result)
        elif (initial := getattr(result, "initial_result", None)) is not None:
            self._process(initial)
