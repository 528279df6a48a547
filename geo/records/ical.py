"""iCalendar (RFC 5545) read as activities: each ``VEVENT`` (or each group of hverdag's own
events, below) becomes one activity with weekly schedule lines and cancelled dates, checked
without the database (docs/standards.md, "Reading iCalendar").

What the schedule model holds, and so what is read:

- a single timed event: a one-off session (a schedule line valid on that day only);
- ``RRULE:FREQ=WEEKLY`` (``INTERVAL=1``, ``BYDAY`` plain weekdays, ``WKST`` ignored) ending
  with ``UNTIL`` or ``COUNT``: one line per weekday, valid from ``DTSTART``'s day to the last;
- ``EXDATE``: cancelled days (those on Norway's public holidays are dropped: every schedule
  skips them already); an override (``RECURRENCE-ID``) with ``STATUS:CANCELLED`` likewise.

Times are stored as Europe/Oslo wall-clock time. Everything else is refused with the event's
UID and SUMMARY and the property, never approximated: other frequencies, intervals and ``BY…``
parts, ``RDATE``, a moved or changed single occurrence, an all-day event, floating time (a
``DTSTART`` with no timezone) or an unknown ``TZID``, a series whose Norwegian time would move
at daylight saving (set in UTC, or in a zone whose rules differ), a session past midnight, an
``RRULE`` with neither ``UNTIL`` nor ``COUNT`` (issue 16 names it bad input), a series longer
than ten years, a date before :data:`EARLIEST` (1970 is a zero date, not a session). A
cancelled event (``STATUS:CANCELLED``) is left out, so its activity is archived like a removed
one. A calendar with no events at all is refused (a feed answering empty by mistake would
archive every activity).

hverdag's own export writes one ``VEVENT`` per schedule line (UID
``hverdag-activity-<id>-<day>-<time>-<from>@hverdag``): those of one activity are read back as
one activity again, keyed ``hverdag-activity-<id>``, so an export loads as the same schedule.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from icalendar import Calendar, Component

from geo import validation as v
from geo.records.activities import Session, activity_fields
from geo.references import MAX_EXTERNAL_ID
from geo.sessions import OSLO, public_holidays
from geo.vocab import NORWEGIAN, ActivityCategory

#: Sessions before this day are refused: a zero or placeholder date, not a session.
EARLIEST = date(2000, 1, 1)
#: Most events one calendar may hold, and most sessions one COUNT may name.
MAX_EVENTS = 5000
MAX_COUNT = 1000
#: Longest series read, in days (ten years): a farther UNTIL is a typo or a hostile file.
MAX_SERIES_DAYS = 3653
#: An event without a recognised CATEGORIES gets this category, unless the run names another.
DEFAULT_CATEGORY = ActivityCategory.MEETING_PLACE

_BYDAY = {"MO": 1, "TU": 2, "WE": 3, "TH": 4, "FR": 5, "SA": 6, "SU": 7}
_RULE_PARTS = {"FREQ", "BYDAY", "UNTIL", "COUNT", "WKST", "INTERVAL"}
_OWN_UID = re.compile(r"^(hverdag-activity-\d+)-(MO|TU|WE|TH|FR|SA|SU)-\d{4}-[0-9a-z-]+@hverdag$")
#: The activity's columns a calendar says; the others (languages, target groups, ages, price,
#: registration, …) are the organisation's to set with updateActivity, and a re-load keeps them.
CALENDAR_COLUMNS = ("title", "description", "url", "category")
#: The activity's columns -> the event's property their errors are about.
_PROPERTIES = {
    "title": "SUMMARY",
    "description": "DESCRIPTION",
    "url": "URL",
    "category": "CATEGORIES",
}
#: Category names a calendar may carry: hverdag's own names and their Norwegian terms.
_CATEGORY_NAMES = {c.value.casefold(): c for c in ActivityCategory} | {
    term.strip().casefold(): ActivityCategory(name)
    for name, terms in NORWEGIAN.items()
    if name in ActivityCategory.__members__
    for term in [terms, terms.split(",")[0]]
}


@dataclass(frozen=True)
class Problem:
    """One refused event: which (UID and SUMMARY), which property, why."""

    record: str
    field: str
    reason: str


class CalendarError(ValueError):
    """The text is no iCalendar file at all (not one event's fault)."""


@dataclass
class CalendarEvent:
    """One activity read from a calendar: its key, row fields, place and schedule."""

    key: str  # the UID (hverdag's own events: their activity's part)
    label: str  # "UID x (SUMMARY)", for errors
    fields: dict[str, Any]
    point: tuple[float, float] | None  # WGS84 lat, lon (GEO)
    location: str | None  # LOCATION, matched against the venues
    #: CATEGORIES named the category (else it is the run's default, for a new activity only)
    category_named: bool = False
    sessions: list[Session] = field(default_factory=list)
    cancelled: list[date] = field(default_factory=list)


@dataclass
class ReadCalendar:
    events: list[CalendarEvent]
    problems: list[Problem]
    warnings: list[str]
    total: int = 0  # events in the calendar (not counting changed occurrences)


class _Refused(Exception):  # noqa: N818 - a control-flow signal, caught in this module
    def __init__(self, prop: str, reason: str) -> None:
        super().__init__(reason)
        self.prop, self.reason = prop, reason


def parse_calendar(text: str) -> Calendar:
    """The text as one VCALENDAR; :class:`CalendarError` saying why not."""
    stripped = text.strip()
    if not stripped.upper().startswith("BEGIN:VCALENDAR"):
        raise CalendarError("is not an iCalendar file: it does not start with BEGIN:VCALENDAR")
    if not stripped.upper().endswith("END:VCALENDAR"):
        raise CalendarError(
            "is truncated: it does not end with END:VCALENDAR (a download cut short?)"
        )
    try:
        return Calendar.from_ical(stripped)
    except ValueError as error:
        raise CalendarError(f"is not valid iCalendar: {str(error)[:300]}") from None


def read_calendar(text: str, category: ActivityCategory = DEFAULT_CATEGORY) -> ReadCalendar:
    """Every event of ``text`` as an activity, and every problem of every event.
    :class:`CalendarError` when the text is no calendar at all."""
    calendar = parse_calendar(text)
    masters: list[Component] = []
    overrides: dict[str, list[Component]] = {}
    for event in calendar.walk("VEVENT"):
        if "RECURRENCE-ID" in event:
            overrides.setdefault(str(_get(event, "UID", "")).strip(), []).append(event)
        else:
            masters.append(event)
    if len(masters) > MAX_EVENTS:
        raise CalendarError(f"has {len(masters)} events; at most {MAX_EVENTS} per load")
    if not masters:
        raise CalendarError("has no events (VEVENT)")
    read = ReadCalendar([], [], [], total=len(masters))
    by_key: dict[str, CalendarEvent] = {}
    seen: set[str] = set()
    for event in masters:
        label = _label(event)
        changes = overrides.pop(str(_get(event, "UID", "")).strip(), [])
        try:
            uid = _uid(event)
            if uid in seen:
                raise _Refused("UID", "another event of this calendar has the same UID")
            seen.add(uid)
            if str(_get(event, "STATUS", "")).upper() == "CANCELLED":
                read.warnings.append(f"{label}: cancelled (STATUS:CANCELLED), not loaded")
                continue
            one = _activity(event, label, uid, category, changes, read.warnings)
        except _Refused as refused:
            read.problems.append(Problem(label, refused.prop, refused.reason))
            continue
        problem = _merge(by_key, one)
        if problem is not None:
            read.problems.append(problem)
    for uid, orphans in overrides.items():
        read.problems.append(
            Problem(_label(orphans[0]), "RECURRENCE-ID", f"no event with the UID {uid!r} to change")
        )
    read.events = list(by_key.values())
    return read


def _get(event: Component, name: str, default: Any = None) -> Any:
    """A property's value (icalendar's own types, read by what each property holds)."""
    return event.get(name, default)


def _label(event: Component) -> str:
    uid = str(_get(event, "UID", "")).strip() or "(no UID)"
    summary = str(_get(event, "SUMMARY", "")).strip()
    return f"UID {uid[:MAX_EXTERNAL_ID]}" + (f" ({summary[:80]})" if summary else "")


def _uid(event: Component) -> str:
    uid = str(_get(event, "UID", "")).strip()
    if not uid:
        raise _Refused("UID", "is required: it is what a later load of the feed finds it by")
    if len(uid) > MAX_EXTERNAL_ID:
        raise _Refused("UID", f"is longer than {MAX_EXTERNAL_ID} characters")
    return uid


def _merge(by_key: dict[str, CalendarEvent], one: CalendarEvent) -> Problem | None:
    """hverdag's own events of one activity become one activity again."""
    other = by_key.get(one.key)
    if other is None:
        by_key[one.key] = one
        return None
    if other.fields != one.fields:
        return Problem(one.label, "SUMMARY", f"differs from the other events of {one.key}")
    both = set(one.cancelled) | set(other.cancelled)
    for mine, theirs in ((one, other), (other, one)):
        for day in set(theirs.cancelled) - set(mine.cancelled):
            if day in _days_of(mine.sessions, day):
                return Problem(
                    one.label,
                    "EXDATE",
                    f"{day} is cancelled in one line of {one.key} but not in another on the same "
                    "day: hverdag cancels whole days",
                )
    other.sessions += [s for s in one.sessions if s not in other.sessions]
    other.cancelled = sorted(both)
    return None


def _days_of(sessions: list[Session], day: date) -> set[date]:
    """``{day}`` when one of ``sessions`` falls on it, else the empty set."""
    for weekday, _, _, first, last in sessions:
        if weekday == day.isoweekday() and (first or day) <= day <= (last or day):
            return {day}
    return set()


def _public_url(event: Component, label: str, warnings: list[str]) -> str | None:
    """The event's URL when readers elsewhere can follow it; one on this machine or a local
    network (``http://localhost:8000/a/12``: an export from a development server) is left
    out with a warning: the event itself is good."""
    text = _text(event, "URL")
    try:
        return v.url(text, "URL")
    except v.FieldError as error:
        warnings.append(
            f"{label}: URL left out: {error.errors[0].reason if error.errors else error}"
        )
        return None


def _activity(
    event: Component,
    label: str,
    uid: str,
    category: ActivityCategory,
    overrides: list[Component],
    warnings: list[str],
) -> CalendarEvent:
    for problem in getattr(event, "errors", []) or []:
        prop, reason = problem if isinstance(problem, tuple) else ("VEVENT", str(problem))
        raise _Refused(str(prop), f"cannot be read: {reason}")
    named = _category(event)
    record = {
        "title": _text(event, "SUMMARY"),
        "description": _text(event, "DESCRIPTION"),
        "url": _public_url(event, label, warnings),
        "category": (named or category).value,
    }
    try:
        checked = activity_fields(record)
    except v.FieldError as error:
        first = error.errors[0] if error.errors else error
        raise _Refused(_PROPERTIES.get(first.field, first.field), first.reason) from None
    fields = {column: checked[column] for column in CALENDAR_COLUMNS}
    starts, ends, given = _times(event)
    sessions = _sessions(event, starts, ends, given)
    cancelled = _cancelled(event, starts, sessions, overrides)
    own = _OWN_UID.match(uid)
    return CalendarEvent(
        key=own.group(1) if own else uid,
        label=label,
        fields=fields,
        point=_geo(event),
        location=_text(event, "LOCATION"),
        sessions=sessions,
        cancelled=cancelled,
        category_named=named is not None,
    )


def _text(event: Component, name: str) -> str | None:
    value = event.get(name)
    if value is None:
        return None
    return str(value).strip() or None


def _category(event: Component) -> ActivityCategory | None:
    """The first of the event's CATEGORIES that is one of hverdag's."""
    value = _get(event, "CATEGORIES")
    for each in value if isinstance(value, list) else [value] if value is not None else []:
        for name in getattr(each, "cats", [each]):
            found = _CATEGORY_NAMES.get(str(name).strip().casefold())
            if found is not None:
                return found
    return None


def _local(value: Any, prop: str, tzid: str | None = None) -> datetime:
    """A DATE-TIME with a timezone (TZID, or UTC) as Europe/Oslo wall-clock time."""
    if not isinstance(value, datetime):
        raise _Refused(
            prop,
            "is a date without a time (an all-day event): hverdag's schedule holds sessions "
            "with a start and an end time",
        )
    if value.tzinfo is None and tzid:
        raise _Refused(
            prop,
            f"TZID={tzid} is no timezone hverdag knows (the calendar has no VTIMEZONE for it "
            "and it is no IANA name): give TZID=Europe/Oslo",
        )
    if value.tzinfo is None:
        raise _Refused(
            prop,
            f"{value:%Y-%m-%dT%H:%M} has no timezone (floating time): give a TZID (e.g. "
            "TZID=Europe/Oslo) or UTC (a final Z), so the session's time is certain",
        )
    local = value.astimezone(OSLO)
    if local.date() < EARLIEST:
        raise _Refused(prop, f"{local:%Y-%m-%d} is before {EARLIEST} (a zero or placeholder date?)")
    return local


def _moment(event: Component, prop: str) -> Any:
    """A DTSTART-like property's value, its TZID checked."""
    with _reading(prop):
        value = _get(event, prop)
        return _local(value.dt, prop, value.params.get("TZID")), value.dt


@contextmanager
def _reading(prop: str) -> Iterator[None]:
    try:
        yield
    except (ValueError, TypeError, AttributeError) as error:
        raise _Refused(prop, f"cannot be read: {error}") from None


def _times(event: Component) -> tuple[datetime, datetime, datetime]:
    """The first session's start and end in Europe/Oslo, and its start as the event gave it."""
    if "DTSTART" not in event:
        raise _Refused("DTSTART", "is required")
    starts, given = _moment(event, "DTSTART")
    if "DTEND" in event:
        ends, _ = _moment(event, "DTEND")
        prop = "DTEND"
    elif "DURATION" in event:
        with _reading("DURATION"):
            duration = _get(event, "DURATION").dt
        if not isinstance(duration, timedelta):
            raise _Refused("DURATION", "is not a duration")
        ends, prop = (starts + duration).astimezone(OSLO), "DURATION"
    else:
        raise _Refused("DTEND", "is required (or DURATION): a session has an end")
    if ends <= starts:
        raise _Refused(prop, "must end after DTSTART")
    if ends.date() != starts.date():
        raise _Refused(
            prop, "ends on another day (Norwegian time): hverdag's sessions end the day they start"
        )
    return starts, ends, given


def _sessions(event: Component, starts: datetime, ends: datetime, given: datetime) -> list[Session]:
    """The schedule lines of the event (``given``: DTSTART in the event's own timezone)."""
    day = starts.date()
    if "RDATE" in event:
        raise _Refused(
            "RDATE", "extra dates are not a weekly schedule: give each one its own event"
        )
    rules = _get(event, "RRULE")
    if rules is None:
        one: Session = (day.isoweekday(), starts.time(), ends.time(), day, day)
        return [one]
    if isinstance(rules, list):
        raise _Refused("RRULE", "one RRULE per event: give each rule its own event")
    parts = {key.upper(): value for key, value in dict(rules).items()}
    unknown = sorted(set(parts) - _RULE_PARTS)
    if unknown:
        raise _Refused(
            "RRULE", f"{', '.join(unknown)} is not a plain weekly rule hverdag's schedule can hold"
        )
    if [str(f).upper() for f in parts.get("FREQ", [])] != ["WEEKLY"]:
        raise _Refused("RRULE", "only FREQ=WEEKLY is a weekly schedule")
    if [int(i) for i in parts.get("INTERVAL", [1])] != [1]:
        raise _Refused("RRULE", "INTERVAL must be 1: every other week is not a weekly schedule")
    named = _weekdays(parts.get("BYDAY"), given.date())
    if given.isoweekday() not in named:
        raise _Refused("RRULE", "DTSTART falls on a day its BYDAY does not name")
    # BYDAY names the event's own timezone's days: Norwegian days may be one later or earlier.
    shift = (day - given.date()).days
    weekdays = {(w - 1 + shift) % 7 + 1 for w in named}
    last = _last_day(parts, starts, weekdays)
    if last < day:
        raise _Refused("RRULE", "ends before DTSTART")
    if (last - day).days > MAX_SERIES_DAYS:
        raise _Refused(
            "RRULE", f"runs for more than {MAX_SERIES_DAYS // 365} years: give a nearer UNTIL"
        )
    _check_norwegian_time(given, starts, day, last)
    lines: list[Session] = [(wd, starts.time(), ends.time(), day, last) for wd in sorted(weekdays)]
    return lines


def _check_norwegian_time(given: datetime, starts: datetime, first: date, last: date) -> None:
    """A series keeps its wall-clock time in its own timezone (RFC 5545); hverdag keeps it in
    Norway's. A series in UTC, or in a zone whose daylight saving differs from Norway's, has
    sessions at another Norwegian time part of the year: refused, not moved by an hour.
    Checked week by week (daylight saving rules differ by at least a week)."""
    zone = given.tzinfo
    if getattr(zone, "key", None) == "Europe/Oslo":
        return
    wall = given.replace(tzinfo=None).time()
    day = given.date()
    while day <= given.date() + (last - first):
        there = datetime.combine(day, wall, tzinfo=zone).astimezone(OSLO)
        if there.time() != starts.time():
            raise _Refused(
                "DTSTART",
                f"the series is set in {given.tzname() or zone} and falls at {there:%H:%M} "
                f"Norwegian time on {there:%Y-%m-%d}, not {starts:%H:%M}: hverdag keeps one "
                "Norwegian time a week; give DTSTART with TZID=Europe/Oslo",
            )
        day += timedelta(days=7)


def _weekdays(byday: Any, day: date) -> set[int]:
    if not byday:
        return {day.isoweekday()}
    days: set[int] = set()
    for each in byday:
        text = str(each).upper()
        if text not in _BYDAY:
            raise _Refused("RRULE", f"BYDAY={text}: a weekday of a month or year is not weekly")
        days.add(_BYDAY[text])
    return days


def _last_day(parts: dict[str, Any], starts: datetime, weekdays: set[int]) -> date:
    if "UNTIL" in parts:
        until = parts["UNTIL"][0]
        if isinstance(until, datetime):
            if until.tzinfo is None:
                until = until.replace(tzinfo=starts.tzinfo)
            return until.astimezone(OSLO).date()
        return until if isinstance(until, date) else starts.date()
    if "COUNT" not in parts:
        raise _Refused(
            "RRULE",
            "has neither UNTIL nor COUNT: a series without an end is refused; give its last "
            "day (UNTIL) or its number of sessions (COUNT)",
        )
    count = int(parts["COUNT"][0])
    if not 1 <= count <= MAX_COUNT:
        raise _Refused("RRULE", f"COUNT must be from 1 to {MAX_COUNT}")
    day, seen = starts.date(), 0
    while True:  # the COUNT-th day on one of the weekdays, DTSTART's day the first
        seen += day.isoweekday() in weekdays
        if seen == count:
            return day
        day += timedelta(days=1)


def _cancelled(
    event: Component, starts: datetime, sessions: list[Session], overrides: list[Component]
) -> list[date]:
    """EXDATEs and cancelled overrides on days a line runs, less public holidays (which
    every schedule skips already). A changed occurrence cannot be held: refused."""
    days: set[date] = set()
    exdates = _get(event, "EXDATE")
    with _reading("EXDATE"):
        for group in exdates if isinstance(exdates, list) else [exdates] if exdates else []:
            for each in group.dts:
                value = each.dt
                if isinstance(value, datetime):
                    days.add(_local(value, "EXDATE").date())
                else:
                    days.add(value)
    for override in overrides:
        with _reading("RECURRENCE-ID"):
            moved = _get(override, "RECURRENCE-ID").dt
        on = _local(moved, "RECURRENCE-ID").date() if isinstance(moved, datetime) else moved
        if str(_get(override, "STATUS", "")).upper() != "CANCELLED":
            raise _Refused(
                "RECURRENCE-ID",
                f"the session of {on} is changed or moved, which a weekly schedule cannot "
                "hold: cancel it (EXDATE) and give the new time its own event",
            )
        days.add(on)
    if not days:
        return []
    holidays = public_holidays(min(days), max(days))
    return sorted(d for d in days if d not in holidays and _days_of(sessions, d))


def _geo(event: Component) -> tuple[float, float] | None:
    value = _get(event, "GEO")
    if value is None:
        return None
    try:
        point = v.lat_lon(value.latitude, value.longitude)
    except (AttributeError, v.FieldError) as error:
        raise _Refused("GEO", f"is not a latitude;longitude: {error}") from None
    return point
