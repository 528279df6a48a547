"""iCalendar feeds: ``hverdag load ical URL-or-FILE --organisation ORGNR``.

The feed's events become the organisation's activities (geo.records.ical reads them,
geo.writes.ical writes them: docs/standards.md, "Reading iCalendar"). A URL is fetched with a
timeout and at most ``max_bytes`` read (``HVERDAG_MAX_UPLOAD_BYTES``, the mutation's limit
too); a file likewise. All or nothing: one bad event and nothing is written, every bad event
named with its UID, SUMMARY and property. The run is audited as ``hverdag load ical``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from geo.records.ical import DEFAULT_CATEGORY, CalendarError, read_calendar
from geo.vocab import ActivityCategory, Role
from geo.writes import Actor, WriteError
from geo.writes.ical import import_calendar, prepare_calendar
from loaders.report import LoadError, LoadErrors, LoadReport

#: Who the audit log says loaded it (no API key: the operator at the command line).
CLI_ACTOR = Actor(key_id=None, label="hverdag load ical", role=Role.ADMIN)
FETCH_TIMEOUT_S = 30.0


@dataclass
class CalendarReport(LoadReport):
    archived: int = 0

    def summary(self) -> str:
        return (
            f"{self.what}: {self.inserted} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.archived} archived"
        )


def is_url(location: str) -> bool:
    return location.startswith(("https://", "http://"))


def fetch_calendar(location: str, max_bytes: int) -> bytes:
    """The feed's bytes from a URL (``webcal://`` is read as ``https://``) or a file, at most
    ``max_bytes``: a LoadError naming the feed when it cannot be read or is larger."""
    if location.startswith("webcal://"):
        location = "https://" + location.removeprefix("webcal://")
    if is_url(location):
        return _download(location, max_bytes)
    path = Path(location)
    if not path.is_file():
        raise LoadError("no such file", code="NOT_FOUND", path=location)
    with path.open("rb") as file:
        data = file.read(max_bytes + 1)
    return _capped(data, max_bytes, location)


def _capped(data: bytes, max_bytes: int, location: str) -> bytes:
    if len(data) > max_bytes:
        raise LoadError(
            f"is larger than {max_bytes:,} bytes (HVERDAG_MAX_UPLOAD_BYTES); nothing was read "
            "further",
            code="TOO_LARGE",
            path=location,
        )
    return data


def _download(url: str, max_bytes: int) -> bytes:
    import httpx

    chunks: list[bytes] = []
    size = 0
    try:
        with (
            httpx.Client(timeout=FETCH_TIMEOUT_S, follow_redirects=True) as client,
            client.stream("GET", url, headers={"accept": "text/calendar"}) as response,
        ):
            if response.status_code != 200:
                raise LoadError(
                    f"answered HTTP {response.status_code}", code="FEED_UNAVAILABLE", path=url
                )
            for chunk in response.iter_bytes():
                size += len(chunk)
                chunks.append(chunk)
                if size > max_bytes:
                    break  # stop reading: a hostile feed costs max_bytes, not its size
    except httpx.HTTPError as error:
        reason = str(error) or type(error).__name__
        raise LoadError(f"did not answer: {reason}", code="FEED_UNAVAILABLE", path=url) from None
    return _capped(b"".join(chunks), max_bytes, url)


def decode_calendar(data: bytes, location: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LoadError(
            f"is not UTF-8 text (byte {error.start}): iCalendar is UTF-8",
            code="NOT_ICALENDAR",
            path=location,
        ) from None


def load_ical(
    conn: sa.Connection,
    location: str,
    *,
    organisation: str,
    max_bytes: int,
    source: str | None = None,
    category: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CalendarReport:
    """Load the feed at ``location`` (a URL or a file) as ``organisation``'s activities in the
    caller's transaction. ``source`` names the feed (default: the URL, or the file's name)."""
    name = source or (location if is_url(location) else Path(location).name)
    try:
        default = ActivityCategory(category.upper()) if category else DEFAULT_CATEGORY
    except ValueError:
        allowed = ", ".join(c.value for c in ActivityCategory)
        raise LoadError(f"--category must be one of {allowed}", code="INVALID_OPTION") from None
    text = decode_calendar(fetch_calendar(location, max_bytes), location)
    try:
        read = read_calendar(text, default)
    except CalendarError as error:
        raise LoadError(str(error), code="NOT_ICALENDAR", path=location) from None
    try:
        prepared = prepare_calendar(CLI_ACTOR, read, name, organisation)
        result = import_calendar(conn, CLI_ACTOR, prepared)
    except WriteError as error:
        raise _load_errors(error, location) from None
    report = CalendarReport("activities from iCalendar", warnings=result.warnings)
    report.inserted, report.updated = result.created, result.updated
    report.unchanged, report.archived = result.unchanged, result.archived
    if progress:
        progress(len(result.ids), len(result.ids))
    return report


def _load_errors(error: WriteError, location: str) -> LoadError:
    """A refused load as the loaders' errors: one per bad event, with its property."""
    problems = error.details.get("problems")
    if not problems:
        return LoadError(
            str(error.details.get("reason", error.message)),
            field=error.details.get("field"),
            code=error.code,
            path=location,
        )
    errors = [
        LoadError(p["reason"], record=p["record"], field=p["field"], path=location)
        for p in problems
    ]
    combined = LoadErrors(errors)
    combined.count += int(error.details.get("more", 0))
    combined.more = combined.count - len(combined.errors)
    return combined
