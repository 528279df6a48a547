"""What every mutation shares: the caller's key, one transaction per write, errors with codes,
and inputs turned into records in the loaders' column names."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import date
from enum import Enum
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import strawberry

from api.checks import decode_global_id
from api.errors import ApiError, BadUserInput, Unauthenticated
from geo.writes import Actor, WriteError

if TYPE_CHECKING:
    from api.graphql.context import Context

P = ParamSpec("P")
R = TypeVar("R")

#: Where a loader column's value sits in the GraphQL input, when it is not its camelCase name.
_INPUT_PATHS = {
    "lat": "input.location.lat",
    "lon": "input.location.lon",
    "location": "input.location",
    "kommunenummer": "input.municipality",
    "fylkesnummer": "input.county",
    "source": "input.website",
    "venue": "input.venue",
    "organisation": "input.organiser",
}


def _camel(name: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


def input_path(column: str) -> str:
    return _INPUT_PATHS.get(column, f"input.{_camel(column)}")


def actor_of(context: Context) -> Actor:
    actor = context.principal.actor()
    if actor is None:
        raise Unauthenticated(
            "This operation needs an API key: send `Authorization: Bearer <key>`",
            reason="no API key was sent",
        )
    return actor


def api_error(error: WriteError, *, paths: bool = True) -> ApiError:
    details = dict(error.details)
    if paths and "field" in details:
        details["field"] = input_path(details["field"])
    if error.code == "BAD_USER_INPUT":
        return BadUserInput(error.message, **details)
    return ApiError(error.message, error.code, **details)


async def write(
    context: Context, fn: Callable[Concatenate[Any, Actor, P], R], *args: P.args, **kwargs: P.kwargs
) -> R:
    """``fn(conn, actor, …)`` in one transaction; a refusal becomes its coded error."""
    actor = actor_of(context)
    try:
        return await context.write(fn, actor, *args, **kwargs)
    except WriteError as error:
        raise api_error(error) from None


def db_id(global_id: str, type_name: str, field: str) -> int:
    """The database id inside a global id of ``type_name``; BAD_USER_INPUT otherwise."""
    kind, key = decode_global_id(global_id)
    if kind != type_name or not key.isdigit() or len(key) > 18:
        raise BadUserInput(f"{global_id!r} is not the id of a {type_name}", field=field)
    return int(key)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def record_of(
    given: Any, special: dict[str, Callable[[Any], dict[str, Any]]] | None = None
) -> dict[str, Any]:
    """The fields given in a strawberry input (UNSET ones left out) by their Python names, which
    are the loader's column names; ``special`` turns a field into other columns."""
    record: dict[str, Any] = {}
    for f in dataclasses.fields(given):
        value = getattr(given, f.name)
        if value is strawberry.UNSET:
            continue
        if special and f.name in special:
            record.update(special[f.name](value))
        else:
            record[f.name] = _plain(value)
    return record


def location_cells(value: Any) -> dict[str, Any]:
    if value is None:
        return {"lat": None, "lon": None}
    return {"lat": value.lat, "lon": value.lon}
