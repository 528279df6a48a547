"""``GET /export/{venues,activities,councils}.{geojson,csv}``: the directory in bulk, streamed.

The query parameters mirror GraphQL's ``DirectoryFilterInput`` (docs/exports.md): they are read
into a ``DirectoryFilterInput`` and checked by the same :func:`api.types.filters.to_geo_filter`
as the GraphQL lists, so both accept and refuse the same values. A bad value is a 400 with
``{"error": {"code": "BAD_USER_INPUT", "field": <parameter>, "reason": ...}}``; an unknown export
a 404 with ``NOT_FOUND``.

The handler opens a server-side cursor (``geo.queries.export.stream_export``) and fetches the
first batch before answering, so a database that is down or too slow is still a clean JSON
503/504; then the response streams one batch (1000 rows) at a time, and memory stays flat
however many rows there are. A failure after the first bytes cannot change the status any more:
it is logged and the connection is cut, so the client sees an incomplete download rather than a
file that looks whole. Each export holds one database connection (and a snapshot) until the
client has read it all; at most half the pool's connections serve exports at once, and an export
asked for beyond that gets a 503 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from enum import Enum
from typing import Any

import anyio
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from api.errors import BadUserInput, ErrorCode, outage_code
from api.export_formats import CsvWriter, GeoJsonWriter, Writer
from api.types.activity import Activity
from api.types.council import ImmigrantCouncil
from api.types.filters import DirectoryFilterInput, OpenAtInput, WindowInput, to_geo_filter
from api.types.organisation import Organisation
from api.types.venue import Venue
from api.types.vocab import ActivityCategory, OwnerType, PriceModel, TargetGroup, Weekday
from geo.filters import DirectoryFilter
from geo.queries.export import ExportColumn, ExportKind, export_columns, stream_export
from geo.settings import Settings

logger = logging.getLogger("hverdag.api")

#: Exports named in the URL that are planned but not built yet.
NOT_YET = {"coverage": "The coverage export is not available yet: coverage analysis "
                       "(geo.queries.coverage) is still being built."}
FORMATS: dict[str, Callable[[list[ExportColumn], dict[str, str], dict[str, str]], Writer]] = {
    "csv": lambda cols, ids, opts: CsvWriter(cols, ids, **opts),
    "geojson": lambda cols, ids, opts: GeoJsonWriter(cols, ids),
}
#: Columns holding database ids, exported as the API's global ids of these types.
GLOBAL_IDS: dict[ExportKind, dict[str, str]] = {
    ExportKind.ACTIVITIES: {"id": Activity.NODE_TYPE, "organiser_id": Organisation.NODE_TYPE,
                            "venue_id": Venue.NODE_TYPE},
    ExportKind.VENUES: {"id": Venue.NODE_TYPE, "owner_organisation_id": Organisation.NODE_TYPE},
    ExportKind.COUNCILS: {"id": ImmigrantCouncil.NODE_TYPE},
}
#: Most values of one list parameter (repeated or comma-separated).
MAX_VALUES = 50
RETRY_AFTER_S = 5


# --- query parameters -> DirectoryFilterInput -----------------------------------------------

#: Parameters that take a list: parameter -> (DirectoryFilterInput field, enum or None).
_LISTS: dict[str, tuple[str, Any]] = {
    "category": ("categories", ActivityCategory),
    "targetGroup": ("target_groups", TargetGroup),
    "language": ("languages", None),
    "ownerType": ("owner_types", OwnerType),
    "priceModel": ("price_models", PriceModel),
}
_BOOLEANS = {"freeOnly": "free_only", "leisureCardAccepted": "leisure_card_accepted",
             "stepFree": "step_free"}
_SINGLE = {"age", "text", "municipality", "weekday", "time", "from", "to", "on"}
_CSV_OPTIONS = {"sep": {"comma": ",", "semicolon": ";"}, "decimal": {"point": ".", "comma": ","}}
FILTER_PARAMETERS = frozenset({*_LISTS, *_BOOLEANS, *_SINGLE})
#: Where to_geo_filter's field paths (GraphQL names) point among the query parameters.
_FIELD_OF_INPUT = {"categories": "category", "targetGroups": "targetGroup",
                   "languages": "language", "ownerTypes": "ownerType",
                   "priceModels": "priceModel", "openAt": "time", "during": "from",
                   "during.to": "to", "freeOnly": "freeOnly", "stepFree": "stepFree",
                   "leisureCardAccepted": "leisureCardAccepted"}
_WEEKDAY_ABBREVIATIONS = {member.name[:3]: member.name for member in Weekday}  # type: ignore[attr-defined]


def _one(params: QueryParams, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise BadUserInput(f"give {name} once, not {len(values)} times", field=name)
    return values[0].strip() if values and values[0].strip() else None


def _many(params: QueryParams, name: str) -> list[str]:
    values = [part.strip() for value in params.getlist(name) for part in value.split(",")]
    values = list(dict.fromkeys(v for v in values if v))
    if len(values) > MAX_VALUES:
        raise BadUserInput(f"at most {MAX_VALUES} values of {name}", field=name)
    return values


def _member(enum: Any, value: str, name: str) -> Enum:
    try:
        return enum[value.upper()]  # type: ignore[no-any-return]
    except KeyError:
        allowed = ", ".join(member.name for member in enum)
        raise BadUserInput(f"{value!r} is not a {name}; one of {allowed}", field=name) from None


def _boolean(value: str, name: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise BadUserInput(f"{name} is true or false, got {value!r}", field=name)


def _parsed(value: str, name: str, parse: Callable[[str], Any], example: str) -> Any:
    try:
        return parse(value)
    except ValueError:
        raise BadUserInput(f"{name} must look like {example}, got {value!r}",
                           field=name) from None


def _weekday(value: str) -> Enum:
    name = _WEEKDAY_ABBREVIATIONS.get(value.upper(), value)
    return _member(Weekday, name, "weekday")


def _window(params: QueryParams) -> dict[str, Any]:
    """``weekday`` + ``time`` is GraphQL's ``openAt``; ``weekday`` + ``from`` + ``to`` its
    ``during``; ``on`` (a date) picks the schedules valid then."""
    weekday, at = _one(params, "weekday"), _one(params, "time")
    starts, ends, on = _one(params, "from"), _one(params, "to"), _one(params, "on")
    if weekday is None:
        for name, value in (("time", at), ("from", starts), ("to", ends), ("on", on)):
            if value is not None:
                raise BadUserInput(f"{name} needs a weekday", field="weekday")
        return {}
    day = _weekday(weekday)
    on_date = None if on is None else _parsed(on, "on", date.fromisoformat, '"2025-03-04"')
    if at is not None and (starts is not None or ends is not None):
        raise BadUserInput("give time (running then) or from and to (running some time in "
                           "between), not both", field="time")
    if at is not None:
        return {"open_at": OpenAtInput(weekday=day, time=_parsed(
            at, "time", time.fromisoformat, '"18:00"'), on=on_date)}
    if starts is None or ends is None:
        raise BadUserInput("with a weekday, give time, or both from and to",
                           field="time" if starts is None and ends is None
                           else "to" if ends is None else "from")
    return {"during": WindowInput(
        weekday=day, from_=_parsed(starts, "from", time.fromisoformat, '"17:00"'),
        to=_parsed(ends, "to", time.fromisoformat, '"21:00"'), on=on_date)}


def filter_input(params: QueryParams) -> DirectoryFilterInput:
    """The query parameters as the GraphQL filter input (nothing checked beyond types)."""
    values: dict[str, Any] = {}
    for name, (attribute, enum) in _LISTS.items():
        given = _many(params, name)
        if given:
            values[attribute] = [_member(enum, v, name) for v in given] if enum else given
    for name, attribute in _BOOLEANS.items():
        value = _one(params, name)
        if value is not None:
            values[attribute] = _boolean(value, name)
    if (age := _one(params, "age")) is not None:
        values["age"] = _parsed(age, "age", int, "12")
    for name in ("text", "municipality"):
        if (value := _one(params, name)) is not None:
            values[name] = value
    values.update(_window(params))
    return DirectoryFilterInput(**values)


def _parameter_of(field: str) -> str:
    path = field.removeprefix("filter.")
    return _FIELD_OF_INPUT.get(path) or _FIELD_OF_INPUT.get(path.split(".")[0], path)


def directory_filter(params: QueryParams) -> DirectoryFilter:
    """Parse and validate the filter parameters through GraphQL's own checks; the error's
    ``field`` names the query parameter."""
    try:
        return to_geo_filter(filter_input(params))
    except BadUserInput as error:
        field_name = error.details.get("field")
        if isinstance(field_name, str):
            error.details["field"] = _parameter_of(field_name)
        raise


def _csv_options(params: QueryParams, fmt: str) -> dict[str, str]:
    given = {name: _one(params, name) for name in _CSV_OPTIONS}
    if fmt != "csv":
        for name, value in given.items():
            if value is not None:
                raise BadUserInput(f"{name} applies to CSV only", field=name)
        return {}
    options: dict[str, str] = {}
    for (name, choices), key in zip(_CSV_OPTIONS.items(), ("separator", "decimal"),
                                    strict=True):
        value = given[name]
        if value is None:
            continue
        if value.lower() not in choices:
            raise BadUserInput(f"{name} is one of {', '.join(choices)}; got {value!r}",
                               field=name)
        options[key] = choices[value.lower()]
    if options.get("decimal") == "," and options.get("separator", ",") == ",":
        raise BadUserInput("decimal=comma needs sep=semicolon", field="decimal")
    return options


def _check_known(params: QueryParams) -> None:
    for name in params:
        if name not in FILTER_PARAMETERS and name not in _CSV_OPTIONS:
            known = ", ".join(sorted([*FILTER_PARAMETERS, *_CSV_OPTIONS]))
            raise BadUserInput(f"unknown parameter {name!r}; known: {known}", field=name)


# --- responses --------------------------------------------------------------------------------

def _error(status: int, code: str, reason: str, **details: Any) -> JSONResponse:
    return JSONResponse({"error": {"code": code, **details, "reason": reason}},
                        status_code=status)


def _bad_input(error: BadUserInput) -> JSONResponse:
    return JSONResponse({"error": error.extensions()}, status_code=400)


@dataclass
class _OpenExport:
    """A connection with an open cursor, its first batch fetched; closed exactly once."""

    conn: AsyncConnection
    batches: AsyncIterator[Sequence[Any]]
    first: Sequence[Any]
    release: Callable[[], None]
    closed: bool = field(default=False)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with anyio.CancelScope(shield=True):
            try:
                try:
                    await self.batches.aclose()  # type: ignore[attr-defined]
                finally:
                    await self.conn.close()
            finally:
                self.release()


class _ExportResponse(StreamingResponse):
    """A StreamingResponse that closes the cursor and connection however the stream ends
    (finished, failed, or the client went away)."""

    def __init__(self, export: _OpenExport, writer: Writer, headers: dict[str, str],
                 request_id: str) -> None:
        self.export = export
        self.writer = writer
        self.request_id = request_id
        super().__init__(self._body(), media_type=writer.media_type,
                         headers={**headers, "x-request-id": request_id})

    async def _body(self) -> AsyncIterator[bytes]:
        writer, export = self.writer, self.export
        try:
            yield writer.head() + writer.rows(export.first)
            async for batch in export.batches:
                yield writer.rows(batch)
            yield writer.tail()
        except Exception:
            logger.exception("export failed mid-stream [request %s]; connection cut",
                             self.request_id)
            raise

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.export.close()


def _parse(name: str) -> tuple[ExportKind, str] | Response:
    what, dot, fmt = name.rpartition(".")
    if not dot or fmt not in FORMATS:
        return _error(404, ErrorCode.NOT_FOUND, f"No export {name!r}: ask for "
                      f"/export/{{{'|'.join([*ExportKind, *NOT_YET])}}}.{{csv|geojson}}")
    if what in NOT_YET:
        return _error(404, ErrorCode.NOT_FOUND, NOT_YET[what])
    if what not in set(ExportKind):
        return _error(404, ErrorCode.NOT_FOUND, f"No export of {what!r}; there are "
                      f"{', '.join(ExportKind)}")
    return ExportKind(what), fmt


def export_routes(settings: Settings) -> list[Route]:
    """The export route, with a per-process cap on exports running at once."""
    running = asyncio.Semaphore(max(1, settings.pool_size // 2))

    async def export(request: Request) -> Response:
        parsed = _parse(request.path_params["name"])
        if isinstance(parsed, Response):
            return parsed
        kind, fmt = parsed
        try:
            _check_known(request.query_params)
            filt = directory_filter(request.query_params)
            options = _csv_options(request.query_params, fmt)
        except BadUserInput as error:
            return _bad_input(error)
        writer = FORMATS[fmt](export_columns(kind), GLOBAL_IDS[kind], options)
        headers = {"content-disposition":
                   f'attachment; filename="hverdag-{kind}.{writer.extension}"'}
        if request.method == "HEAD":  # link checkers: the headers, without running the export
            return Response(headers=headers, media_type=writer.media_type)
        if running.locked():
            response = _error(503, ErrorCode.UNAVAILABLE,
                              "Too many exports are running; try again shortly")
            response.headers["retry-after"] = str(RETRY_AFTER_S)
            return response
        await running.acquire()
        request_id = uuid.uuid4().hex
        try:
            opened = await _open(request.state.engine, kind, filt, running.release)
        except BaseException as exc:
            running.release()
            if not isinstance(exc, Exception):
                raise
            return _failure(exc, request_id)
        return _ExportResponse(opened, writer, headers, request_id)

    return [Route("/export/{name:path}", export, methods=["GET"])]


async def _open(engine: AsyncEngine, kind: ExportKind, filt: DirectoryFilter,
                release: Callable[[], None]) -> _OpenExport:
    conn = await engine.connect()
    batches = stream_export(conn, kind, filt)
    try:
        first = await anext(batches, [])
    except BaseException:
        with anyio.CancelScope(shield=True):
            try:
                await batches.aclose()  # type: ignore[attr-defined]
            finally:
                await conn.close()
        raise
    return _OpenExport(conn, batches, first, release)


def _failure(exc: Exception, request_id: str) -> Response:
    outage = outage_code(exc)
    if outage is not None:
        code, message = outage
        logger.warning("export: %s [request %s]: %s", code, request_id, exc)
        status = 504 if code == ErrorCode.TIMEOUT else 503
        return _error(status, code, message, requestId=request_id)
    logger.error("export failed [request %s]", request_id, exc_info=exc)
    return _error(500, ErrorCode.INTERNAL_SERVER_ERROR, "Internal error",
                  requestId=request_id)
