"""iCalendar (RFC 5545): ``GET /calendar/activities/{id}.ics`` (one activity) and
``GET /calendar/activities.ics?…`` (a subscribable feed for the directory's filter, optionally
``near=lat,lon&withinMeters=…``; subscribe to it as ``webcal://…``).

Each line of an activity's weekly schedule is one ``VEVENT`` with a weekly ``RRULE`` and an
``EXDATE`` for every day it does not run (public and, when the activity pauses in them, school
holidays; cancelled dates), as :mod:`geo.sessions` expands them. Its ``UID`` is made of the
activity's id and the line's weekday, start time and first valid day, so a calendar that
refreshes the feed replaces the event instead of adding a second one; ``SEQUENCE`` is the
activity's version. The series spans the window :func:`window` gives (four weeks back, a year
ahead, within the schedule's own validity): a subscription's daily refresh moves it on.
See docs/standards.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api import cpu
from api.checks import NodeType
from api.errors import BadUserInput, ErrorCode
from api.http.params import (
    FILTER_PARAMETERS,
    NEAR_PARAMETERS,
    check_known,
    directory_filter,
    near,
    node_id,
    stale_line,
)
from api.http.streaming import export_failure, json_error, request_id_of
from geo.crs import to_wgs84
from geo.queries.calendar import CalendarActivity, Near, calendar_activities, calendar_activity
from geo.sessions import OSLO, WeeklySession, scheduled_days, skipped_days
from geo.vocab import NORWEGIAN

MEDIA_TYPE = "text/calendar; charset=utf-8"
PRODID = "-//hverdag//hverdag activity calendar//NB"
_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
#: How far back and ahead a calendar's series reach, in days.
DAYS_BACK, DAYS_AHEAD = 28, 365


def today() -> date:
    """Today in Norway."""
    return datetime.now(OSLO).date()


def window(on: date) -> tuple[date, date]:
    """The days a calendar made on ``on`` covers."""
    return on - timedelta(days=DAYS_BACK), on + timedelta(days=DAYS_AHEAD)


def uid(activity_id: int, session: WeeklySession) -> str:
    """Stable as long as the schedule line is: an update replaces, never duplicates."""
    since = session.valid_from.isoformat() if session.valid_from else "open"
    return (
        f"hverdag-activity-{activity_id}-{_BYDAY[session.weekday - 1]}"
        f"-{session.starts:%H%M}-{since}@hverdag"
    )


def _description(a: CalendarActivity, page: str) -> str:
    lines = [a.description or ""]
    if a.organisation_name:
        lines.append(f"Arrangør: {a.organisation_name}")
    lines.append("Gratis" if a.free else f"Pris: {a.cost_nok} kr")
    if a.registration_required:
        lines.append(f"Påmelding: {a.registration_url or 'kreves'}")
    lines.append(page)
    return "\n".join(line for line in lines if line)


def _location(a: CalendarActivity) -> str | None:
    place = " ".join(p for p in (a.postal_code, a.postal_place) if p)
    parts = [p for p in (a.venue_name, a.address, place) if p]
    return ", ".join(parts) or None


def _events(a: CalendarActivity, first: date, last: date, base_url: str) -> Iterable[Event]:
    page = f"{base_url}/a/{a.id}"
    skipped = skipped_days(
        first,
        last,
        cancelled=a.cancelled,
        school_holidays=a.school_holidays,
        pauses_in_school_holidays=a.pauses_in_school_holidays,
    )
    lat, lon = to_wgs84(a.x, a.y)
    stamp = a.updated_at.astimezone(UTC)
    for session in a.sessions:
        days = sorted(scheduled_days([session], first, last))
        if not days:
            continue
        event = Event()
        event.add("uid", uid(a.id, session))
        event.add("dtstamp", stamp)
        event.add("last-modified", stamp)
        event.add("sequence", a.version)
        event.add("summary", a.title)
        event.add("description", _description(a, page))
        event.add("categories", [NORWEGIAN.get(a.category, a.category)])
        event.add("url", page)
        if (where := _location(a)) is not None:
            event.add("location", where)
        event.add("geo", (round(lat, 6), round(lon, 6)))
        event.add("status", "CONFIRMED")
        event.add("dtstart", datetime.combine(days[0], session.starts, tzinfo=OSLO))
        event.add("dtend", datetime.combine(days[0], session.ends, tzinfo=OSLO))
        until = datetime.combine(days[-1], session.starts, tzinfo=OSLO).astimezone(UTC)
        event.add("rrule", {"freq": "weekly", "byday": _BYDAY[session.weekday - 1], "until": until})
        excluded = [
            datetime.combine(day, session.starts, tzinfo=OSLO) for day in days if day in skipped
        ]
        if excluded:
            event.add("exdate", excluded)
        yield event


def calendar_of(
    activities: Iterable[CalendarActivity], on: date, base_url: str, name: str
) -> bytes:
    """An iCalendar document of ``activities``' sessions in the window of ``on``."""
    first, last = window(on)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Europe/Oslo")
    cal.add("refresh-interval", timedelta(days=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "P1D")
    for a in activities:
        for event in _events(a, first, last, base_url):
            cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


def base_url_of(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _ics(body: bytes, filename: str) -> Response:
    return Response(
        body,
        media_type=MEDIA_TYPE,
        headers={"content-disposition": f'inline; filename="{filename}"'},
    )


async def activity_ics(request: Request) -> Response:
    try:
        check_known(request.query_params, ())
        activity_id = node_id(request.path_params["id"], NodeType.ACTIVITY)
    except BadUserInput as error:
        return JSONResponse({"error": error.extensions()}, status_code=400)
    try:
        found = await request.state.reader.for_request().run(calendar_activity, activity_id)
    except Exception as exc:
        return export_failure(exc, request_id_of(request), "calendar")
    if found is None:
        return json_error(404, ErrorCode.NOT_FOUND, f"no activity {activity_id}", field="id")
    if not found.live:
        return json_error(410, ErrorCode.NOT_FOUND, f"activity {activity_id} has ended")
    body = calendar_of([found], today(), base_url_of(request), found.title)
    return _ics(body, f"hverdag-activity-{activity_id}.ics")


async def activities_ics(request: Request) -> Response:
    params = request.query_params
    try:
        check_known(params, FILTER_PARAMETERS | NEAR_PARAMETERS | {"name"})
        filt = directory_filter(params, stale_line(request))
        reach = near(params)
    except BadUserInput as error:
        return JSONResponse({"error": error.extensions()}, status_code=400)
    name = (params.get("name") or "hverdag: aktiviteter")[:200]
    reads = request.state.reader.for_request()
    try:
        # A text search waits for one of the few heavy slots, as GraphQL's does (geo.reader).
        async with reads.heavy() if filt.text is not None else contextlib.nullcontext():
            found = await reads.run(
                calendar_activities, filt, None if reach is None else Near(*reach)
            )
    except Exception as exc:
        return export_failure(exc, request_id_of(request), "calendar")
    # Up to 500 activities' events: CPU that grows with the filter, off the event loop.
    body = await cpu.run(calendar_of, found, today(), base_url_of(request), name)
    return _ics(body, "hverdag-activities.ics")


def calendar_routes() -> list[Route]:
    return [
        Route("/calendar/activities.ics", activities_ics, methods=["GET"]),
        Route("/calendar/activities/{id}.ics", activity_ics, methods=["GET"]),
    ]
