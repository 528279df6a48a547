"""``GET /export/hsds/…``: the directory as Open Referral HSDS 3.0 (:mod:`geo.queries.hsds`).

- ``/export/hsds/{table}.csv`` and ``/export/hsds/{table}.json``: one HSDS table, as CSV (UTF-8
  without a byte-order mark, a header row, CRLF line ends: for programs, so no spreadsheet
  tweaks) or as a JSON array of records (a missing value is left out, not ``null``). The tables
  are organizations, organization_identifiers, services, locations, addresses,
  service_at_location (singular, as HSDS names its file), schedules and languages.
- ``/export/hsds/datapackage.json``: the tabular data package's descriptor (field types, keys).
- ``/export/hsds/datapackage.zip``: every table's CSV and the descriptor in one zip, read from one
  snapshot (REPEATABLE READ), so the tables agree with each other.

Like the other exports, a response streams batch by batch from a server-side cursor after the
first batch has been read (so a database outage is still a clean 503), and it shares their cap
on exports running at once. See docs/exports.md.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import zipfile
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.errors import BadUserInput, ErrorCode
from api.http.params import reader_languages
from api.http.streaming import (
    ClosingStream,
    export_failure,
    json_error,
    request_id_of,
    too_many_exports,
)
from geo.languages import reading_order
from geo.queries.hsds import RESOURCES, Resource, datapackage
from geo.reader import ReadStream

logger = logging.getLogger("hverdag.api")

PACKAGE = "datapackage"
FORMATS = ("csv", "json")
Batches = AsyncIterator[Sequence[Any]]


# --- writers ------------------------------------------------------------------------------------


def _csv_head(resource: Resource) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([f.name for f in resource.fields])
    return buffer.getvalue().encode()


def _csv_cell(value: Any) -> Any:
    return "" if value is None else value


def _csv_rows(resource: Resource, batch: Sequence[Any]) -> bytes:
    buffer = io.StringIO()
    writerow = csv.writer(buffer, lineterminator="\r\n").writerow
    for row in batch:
        writerow([_csv_cell(v) for v in resource.record(row).values()])
    return buffer.getvalue().encode()


def _json_rows(resource: Resource, batch: Sequence[Any], *, first: bool) -> bytes:
    if not batch:
        return b""
    records = (
        orjson.dumps({k: v for k, v in resource.record(row).items() if v is not None})
        for row in batch
    )
    return (b"\n" if first else b",\n") + b",\n".join(records)


# --- bodies -------------------------------------------------------------------------------------


async def _batches(first: Sequence[Any], rest: Batches) -> Batches:
    yield first
    async for batch in rest:
        yield batch


async def _table_body(resource: Resource, fmt: str, batches: Batches) -> AsyncIterator[bytes]:
    if fmt == "csv":
        yield _csv_head(resource)
        async for batch in batches:
            yield _csv_rows(resource, batch)
        return
    yield b"["
    written = False
    async for batch in batches:
        chunk = _json_rows(resource, batch, first=not written)
        written = written or bool(chunk)
        yield chunk
    yield b"\n]\n"


class _Spool(io.RawIOBase):
    """A write-only, unseekable file that keeps what was written until it is taken: zipfile
    then writes a streaming zip (sizes after each member's data)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        taken, self.parts = b"".join(self.parts), []
        return taken


async def _package_body(
    stream: ReadStream, first: Batches, order: Sequence[str]
) -> AsyncIterator[bytes]:
    spool = _Spool()
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for index, resource in enumerate(RESOURCES.values()):
            batches = first if index == 0 else stream.batches(resource.build(order))
            with package.open(resource.path, "w") as member:
                member.write(_csv_head(resource))
                async for batch in batches:
                    member.write(_csv_rows(resource, batch))
                    yield spool.take()
        package.writestr(f"{PACKAGE}.json", orjson.dumps(datapackage(), option=orjson.OPT_INDENT_2))
    yield spool.take()


# --- the route ----------------------------------------------------------------------------------


class _Open:
    """A read stream (geo.reader: one snapshot) and the cap's slot, released exactly once."""

    def __init__(self, stream: ReadStream, release: Callable[[], None]) -> None:
        self.stream, self.release, self.closed = stream, release, False

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            await self.stream.close()
        finally:
            self.release()


def _choice(name: str) -> tuple[str, str] | Response:
    stem, dot, fmt = name.rpartition(".")
    tables = ", ".join(f"{stem}.{{{'|'.join(FORMATS)}}}" for stem in RESOURCES)
    known = f"{tables}, {PACKAGE}.json, {PACKAGE}.zip"
    if dot and (
        (stem in RESOURCES and fmt in FORMATS) or (stem == PACKAGE and fmt in ("json", "zip"))
    ):
        return stem, fmt
    return json_error(404, ErrorCode.NOT_FOUND, f"No HSDS export {name!r}; there are {known}")


def _media_type(fmt: str) -> str:
    return {"csv": "text/csv; charset=utf-8", "json": "application/json", "zip": "application/zip"}[
        fmt
    ]


def hsds_routes(running: asyncio.Semaphore) -> list[Route]:
    """The HSDS route; ``running`` is the exports' shared cap."""

    async def hsds(request: Request) -> Response:
        choice = _choice(request.path_params["name"])
        if isinstance(choice, Response):
            return choice
        stem, fmt = choice
        unknown = [name for name in request.query_params if name != "lang"]
        if unknown:
            return json_error(
                400,
                ErrorCode.BAD_USER_INPUT,
                f"unknown parameter {unknown[0]!r}: the HSDS exports take only lang",
                field=unknown[0],
            )
        try:
            order = reading_order(reader_languages(request.query_params))
        except BadUserInput as error:
            return JSONResponse({"error": error.extensions()}, status_code=400)
        filename = f"hverdag-hsds-{stem}.{fmt}"
        disposition = {"content-disposition": f'attachment; filename="{filename}"'}
        if stem == PACKAGE and fmt == "json":
            return JSONResponse(datapackage(), headers=disposition)
        if request.method == "HEAD":  # link checkers: the headers, without running the export
            return Response(headers=disposition, media_type=_media_type(fmt))
        if running.locked():
            return too_many_exports()
        await running.acquire()
        request_id = request_id_of(request)
        resource = next(iter(RESOURCES.values())) if stem == PACKAGE else RESOURCES[stem]
        try:
            # One snapshot for every table of the package.
            stream = await request.state.reader.for_request().open_stream(
                lambda conn: resource.build(order), snapshot=True
            )
        except BaseException as exc:
            running.release()
            if not isinstance(exc, Exception):
                raise
            return export_failure(exc, request_id, "HSDS export")
        opened = _Open(stream, running.release)
        all_batches = _batches(stream.first, stream.first_batches)
        body = (
            _package_body(stream, all_batches, order)
            if stem == PACKAGE
            else _table_body(resource, fmt, all_batches)
        )
        return ClosingStream(
            body,
            opened.close,
            what="HSDS export",
            media_type=_media_type(fmt),
            headers={"content-disposition": f'attachment; filename="{filename}"'},
            request_id=request_id,
        )

    return [Route("/export/hsds/{name}", hsds, methods=["GET"])]
