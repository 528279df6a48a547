"""What every mutation shares: the caller's key, checked first; one transaction per write; errors
with codes; inputs turned into write records keyed by the database's columns, and those
records' names turned back into the input's in an error; the version argument; archive and
restore."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Concatenate, ParamSpec, TypeVar

import strawberry

from api.checks import decode_global_id
from api.errors import ApiError, BadUserInput, Unauthenticated
from geo.writes import Actor, Invalid, WriteError

if TYPE_CHECKING:
    from api.graphql.context import Context

P = ParamSpec("P")
R = TypeVar("R")

Version = Annotated[
    int,
    strawberry.argument(
        description="The version you read; a stale one is a CONFLICT with `currentVersion`."
    ),
]


def _camel(name: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


@dataclasses.dataclass(frozen=True)
class InputNames:
    """How one input type names its write record's keys (the table's columns; ``lat`` and
    ``lon`` for a point), where not by their camelCase: the record's key of an input field
    (``columns``), and where an error's ``field`` sits in the input (``paths``: the inverse of
    ``columns``, and the names a write function's checks give that are no key of the record)."""

    #: input field (its Python name) → the record's key, when they differ
    columns: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: an error's field → its path in the input, when not ``input.<camelCase>`` of it
    paths: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: an error's field → the word its message starts with, when not the field: frozen
    #: wording the API's messages have always used
    words: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def path(self, field: str) -> str:
        if field in self.paths:
            return self.paths[field]
        by_column = {column: name for name, column in self.columns.items()}
        return f"input.{_camel(by_column.get(field, field))}"


#: A point given as ``location: {lat, lon}``.
LOCATION_PATHS = {
    "lat": "input.location.lat",
    "lon": "input.location.lon",
    "location": "input.location",
}


def actor_of(context: Context) -> Actor:
    """The caller's key as the write functions' actor; UNAUTHENTICATED without one. Every
    mutation resolver calls it first, so a missing key is the answer before any other."""
    actor = context.principal.actor()
    if actor is None:
        raise Unauthenticated(
            "This operation needs an API key: send `Authorization: Bearer <key>`",
            reason="no API key was sent",
        )
    return actor


def api_error(error: WriteError, names: InputNames | None) -> ApiError:
    """A refused write as the API's error; with ``names``, its ``field`` as the input's path
    (and the message's word as the input has always been told it)."""
    details = dict(error.details)
    message = error.message
    if names is not None and "field" in details:
        field = details["field"]
        details["field"] = names.path(field)
        if isinstance(error, Invalid) and field in names.words:
            message = f"{names.words[field]}: {details['reason']}"
    if error.code == "BAD_USER_INPUT":
        return BadUserInput(message, **details)
    return ApiError(message, error.code, **details)


async def write(
    context: Context,
    actor: Actor,
    names: InputNames | None,
    fn: Callable[Concatenate[Any, Actor, P], R],
    *args: P.args,
    **kwargs: P.kwargs,
) -> R:
    """``fn(conn, actor, …)`` in one transaction; a refusal becomes its coded error, its field
    named by ``names`` (None: the field is an argument's name already)."""
    try:
        return await context.write(fn, actor, *args, **kwargs)
    except WriteError as error:
        raise api_error(error, names) from None


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
    given: Any,
    names: InputNames,
    special: Mapping[str, Callable[[Any], dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The fields given in a strawberry input (UNSET ones left out) as a write record: by the
    table's column (``names.columns``, else the field's Python name, which is the column's);
    ``special`` turns a field into other keys."""
    record: dict[str, Any] = {}
    for f in dataclasses.fields(given):
        value = getattr(given, f.name)
        if value is strawberry.UNSET:
            continue
        if special and f.name in special:
            record.update(special[f.name](value))
        else:
            record[names.columns.get(f.name, f.name)] = _plain(value)
    return record


def location_cells(value: Any) -> dict[str, Any]:
    if value is None:
        return {"lat": None, "lon": None}
    return {"lat": value.lat, "lon": value.lon}


# --- archive and restore ------------------------------------------------------------------------

SetArchived = Callable[[Any, Actor, int, int, bool], int]


def archive_and_restore(
    type_name: str,
    id_argument: Any,
    set_archived: SetArchived,
    payload: Callable[[Context, int], Awaitable[Any]],
    payload_type: type,
) -> tuple[Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]]:
    """The ``archive…`` and ``restore…`` resolvers of a type: ``set_archived(conn, actor, id,
    version, archived)`` at the version read, then the payload. ``id_argument`` is the id
    argument's annotation (its description)."""

    def resolver(archived: bool) -> Callable[..., Awaitable[Any]]:
        async def resolve(info: Any, id: Any, version: int) -> Any:
            actor = actor_of(info.context)
            row_id = await write(
                info.context,
                actor,
                None,
                set_archived,
                db_id(id, type_name, "id"),
                version,
                archived,
            )
            return await payload(info.context, row_id)

        # Real objects, not the strings this module's annotations are: strawberry reads them.
        resolve.__annotations__ = {
            "info": strawberry.Info,
            "id": id_argument,
            "version": Version,
            "return": payload_type,
        }
        resolve.__name__ = resolve.__qualname__ = (
            f"resolve_{'archive' if archived else 'restore'}_{_snake(type_name)}"
        )
        return resolve

    return resolver(True), resolver(False)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()
