"""The schema extension that gives every GraphQL error ``extensions.code`` (the errors themselves
are :mod:`api.errors`).

- An :class:`ApiError` raised in a resolver keeps its message; its code and details go to
  ``extensions`` (``{"code": "BAD_USER_INPUT", "field": "at.lat", ...}``).
- Errors before execution — syntax, validation, variable coercion (``lon: "abc"``, NaN) — are
  the client's: ``BAD_USER_INPUT`` with graphql-core's message, also as ``extensions.reason``.
  So is an argument that does not coerce during execution, which graphql-core reports at its
  field: an explicit null (``$v: null``) for a non-null argument that has a default (the
  spec's field error; validation lets a nullable variable in only because of the default).
  ``extensions.field`` names the argument (``groupBy``, ``near.radiusMeters``).
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
import re
import uuid
from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

from graphql.validation import ASTValidationRule, ValidationContext
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult as StrawberryExecutionResult

from api.errors import INTERNAL_MESSAGE, ApiError, ErrorCode, outage_code
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, ValueNode

logger = logging.getLogger("hverdag.api")

#: What graphql-core's parser says when it stops at its token or nesting limit.
_PARSER_LIMITS = ("tokens. Parsing aborted.", "nested too deeply. Parsing aborted.")
#: How graphql-core's argument coercion (``execution.values.coerce_argument``) names the
#: argument, and the place inside it, of a value that does not coerce.
_ARGUMENT_ERROR = re.compile(
    r"Argument '(?P<name>[_A-Za-z][_0-9A-Za-z]*)' (?:has invalid value(?: at (?P<at>[^:]+))?:"
    r"|of (?:non-null|required) type )"
)


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
        if (field := _argument_of(original)) is not None:
            return _rebuild(
                error,
                error.message,
                {"code": ErrorCode.BAD_USER_INPUT.value, "field": field, "reason": error.message},
            )
    return _mask(error, original, context)


def _argument_of(original: GraphQLError | None) -> str | None:
    """The argument (``near.radiusMeters`` for a field inside it) whose value graphql-core
    could not coerce when it came to the field, if that is what ``original`` reports: its own
    error about an argument's value node, not a resolver's or a serializer's."""
    if original is None or original.original_error is not None or original.path is not None:
        return None
    if not original.nodes or not all(isinstance(n, ValueNode) for n in original.nodes):
        return None
    found = _ARGUMENT_ERROR.match(original.message)
    if found is None:
        return None
    return found["name"] + (found["at"] or "").strip()  # ".radiusMeters", "[0]" or ""


def _mask(error: GraphQLError, original: BaseException | None, context: object) -> GraphQLError:
    request_id = _request_id(context)
    code: str = ErrorCode.INTERNAL_SERVER_ERROR.value
    message = INTERNAL_MESSAGE
    if original is not None and (outage := outage_code(original)) is not None:
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
