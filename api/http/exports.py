"""``GET /export/{activities,venues,councils,coverage}.{csv,geojson}``: bulk data, streamed.

The query parameters are GraphQL's inputs, read and checked by GraphQL's own code
(:mod:`api.http.params`): the directory exports take ``DirectoryFilterInput``'s fields, the
coverage export ``coverage(…)``'s area, target, reach and unit kind. A bad value is a 400 with
``{"error": {"code": "BAD_USER_INPUT", "field": <parameter>, "reason": ...}}``; an unknown export,
or a coverage area that is not loaded, a 404 with ``NOT_FOUND``.

The handler opens a server-side cursor (:mod:`geo.queries.export`) and fetches the first batch
before answering, so a database that is down or too slow is still a clean JSON 503/504; then the
response streams one batch (1000 rows) at a time, and memory stays flat however many rows there
are. A failure after the first bytes cannot change the status any more: it is logged and the
connection is cut, so the client sees an incomplete download rather than a file that looks whole.
Each export holds one database connection (and a snapshot) until the client has read it all; at
most half the pool's connections serve exports at once, and an export asked for beyond that gets
a 503 with ``Retry-After``. See docs/exports.md.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api import cpu
from api.checks import NodeType
from api.errors import BadUserInput, ErrorCode
from api.http.formats import CsvWriter, GeoJsonWriter, Writer
from api.http.hsds import hsds_routes
from api.http.params import (
    COVERAGE_PARAMETERS,
    CSV_PARAMETERS,
    FILTER_PARAMETERS,
    check_known,
    coverage_question,
    csv_options,
    directory_filter,
    reader_languages,
    stale_line,
)
from api.http.streaming import (
    ClosingStream,
    export_failure,
    json_error,
    request_id_of,
    too_many_exports,
)
from geo.languages import reading_order
from geo.queries.coverage import UnknownArea
from geo.queries.export import (
    STATEMENTS,
    ExportColumn,
    ExportKind,
    coverage_statement,
    statement_columns,
)
from geo.reader import ReadStream
from geo.settings import Settings

logger = logging.getLogger("hverdag.api")

COVERAGE = "coverage"
EXPORTS = (*ExportKind, COVERAGE)
FORMATS = ("csv", "geojson")
#: Columns holding database ids, exported as the API's global ids of these types.
GLOBAL_IDS: dict[str, dict[str, str]] = {
    ExportKind.ACTIVITIES: {
        "id": NodeType.ACTIVITY,
        "organiser_id": NodeType.ORGANISATION,
        "venue_id": NodeType.VENUE,
    },
    ExportKind.VENUES: {"id": NodeType.VENUE, "owner_organisation_id": NodeType.ORGANISATION},
    ExportKind.COUNCILS: {"id": NodeType.COUNCIL},
    COVERAGE: {},
}


@dataclass(frozen=True)
class _Job:
    """A checked request: what to export and how to write it."""

    what: str
    fmt: str
    build: Callable[[sa.Connection], sa.Select[Any]]
    options: dict[str, str]
    #: For a 404 when the build finds no such area.
    area_parameter: str | None = None

    def writer(self, columns: list[ExportColumn]) -> Writer:
        ids = GLOBAL_IDS[self.what]
        if self.fmt == "csv":
            return CsvWriter(columns, ids, **self.options)
        return GeoJsonWriter(columns, ids, id_column="code" if self.what == COVERAGE else "id")

    @property
    def media_type(self) -> str:
        return "text/csv; charset=utf-8" if self.fmt == "csv" else "application/geo+json"

    @property
    def filename(self) -> str:
        return f"hverdag-{self.what}.{self.fmt}"


def _job(what: str, fmt: str, params: QueryParams, line: datetime) -> _Job:
    """BAD_USER_INPUT naming the parameter when one is wrong."""
    if what == COVERAGE:
        check_known(params, COVERAGE_PARAMETERS | CSV_PARAMETERS)
        q = coverage_question(params)
        return _Job(
            what,
            fmt,
            lambda conn: coverage_statement(conn, q.area, q.target, q.within_m, q.unit_kind),
            csv_options(params, fmt),
            q.area_parameter,
        )
    check_known(params, FILTER_PARAMETERS | CSV_PARAMETERS | {"lang"})
    filt, statement = directory_filter(params, line), STATEMENTS[ExportKind(what)]
    order = reading_order(reader_languages(params))
    return _Job(what, fmt, lambda conn: statement(filt, order), csv_options(params, fmt))


async def _checked_job(what: str, fmt: str, params: QueryParams, line: datetime) -> _Job:
    """:func:`_job`; a coverage export's in a worker thread (api.cpu), since its area's check
    (a box clipped, densified and transformed) is CPU work, as GraphQL's coverage does it."""
    if what == COVERAGE:
        return await cpu.run(_job, what, fmt, params, line)
    return _job(what, fmt, params, line)


# --- responses --------------------------------------------------------------------------------


def _bad_input(error: BadUserInput) -> JSONResponse:
    return JSONResponse({"error": error.extensions()}, status_code=400)


@dataclass
class _OpenExport:
    """A read stream (geo.reader) with its first batch fetched, and the export cap's slot;
    closed exactly once."""

    stream: ReadStream
    columns: list[ExportColumn]
    release: Callable[[], None]
    closed: bool = field(default=False)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            await self.stream.close()
        finally:
            self.release()


async def _body(export: _OpenExport, writer: Writer) -> AsyncIterator[bytes]:
    yield writer.head() + writer.rows(export.stream.first)
    async for batch in export.stream.first_batches:
        yield writer.rows(batch)
    yield writer.tail()


def _parse(name: str) -> tuple[str, str] | Response:
    what, dot, fmt = name.rpartition(".")
    if not dot or fmt not in FORMATS:
        return json_error(
            404,
            ErrorCode.NOT_FOUND,
            f"No export {name!r}: ask for /export/{{{'|'.join(EXPORTS)}}}.{{{'|'.join(FORMATS)}}}",
        )
    if what not in EXPORTS:
        return json_error(
            404, ErrorCode.NOT_FOUND, f"No export of {what!r}; there are {', '.join(EXPORTS)}"
        )
    return what, fmt


def export_routes(settings: Settings) -> list[Route]:
    """The export route, with a per-process cap on exports running at once."""
    running = asyncio.Semaphore(max(1, settings.pool_size // 2))

    async def export(request: Request) -> Response:
        parsed = _parse(request.path_params["name"])
        if isinstance(parsed, Response):
            return parsed
        try:
            job = await _checked_job(*parsed, request.query_params, stale_line(request))
        except BadUserInput as error:
            return _bad_input(error)
        headers = {"content-disposition": f'attachment; filename="{job.filename}"'}
        if request.method == "HEAD":  # link checkers: the headers, without running the export
            return Response(headers=headers, media_type=job.media_type)
        if running.locked():
            return too_many_exports()
        await running.acquire()
        request_id = request_id_of(request)
        try:
            stream = await request.state.reader.for_request().open_stream(job.build)
        except BaseException as exc:
            running.release()
            if not isinstance(exc, Exception):
                raise
            return _failure(exc, job, request_id)
        assert stream.statement is not None  # open_stream built it
        opened = _OpenExport(stream, statement_columns(stream.statement), running.release)
        writer = job.writer(opened.columns)
        return ClosingStream(
            _body(opened, writer),
            opened.close,
            what="export",
            media_type=writer.media_type,
            headers=headers,
            request_id=request_id,
        )

    # /export/hsds/… first: the catch-all below would take its paths.
    return [*hsds_routes(running), Route("/export/{name:path}", export, methods=["GET"])]


def _failure(exc: Exception, job: _Job, request_id: str) -> Response:
    if isinstance(exc, UnknownArea):
        return json_error(404, ErrorCode.NOT_FOUND, str(exc), field=job.area_parameter)
    return export_failure(exc, request_id, "export")
