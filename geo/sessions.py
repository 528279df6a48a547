"""When an activity's sessions take place: its weekly schedule expanded over a window of dates,
less the days it does not run.

One expansion for every standard hverdag speaks (the iCalendar EXDATEs, the RPDE
``ScheduledSession`` items, GraphQL's ``nextSessions``), so they cannot disagree. An activity
does not run on

- Norway's public holidays (the ``holidays`` package's calendar for Norway: new year, Easter,
  1 and 17 May, Ascension, Whit Monday, Christmas; Sundays are not counted as holidays);
- the dates its organiser cancelled (``activity_exception`` with ``cancelled``);
- its municipality's school holidays, when it ``pauses_in_school_holidays``.

Times are Europe/Oslo wall-clock times, as the schedule stores them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")

#: Most days one expansion spans (a hostile window cannot make it unbounded work).
MAX_WINDOW_DAYS = 400


@dataclass(frozen=True)
class WeeklySession:
    """One line of an activity's schedule (geo.tables.activity_schedule)."""

    weekday: int  # ISO: 1 = Monday
    starts: time
    ends: time
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass(frozen=True)
class HolidaySpan:
    first_day: date
    last_day: date
    name: str

    def covers(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


@dataclass(frozen=True, order=True)
class Occurrence:
    """One session: its local start and end, and the schedule line it comes from."""

    starts: datetime
    ends: datetime
    session: WeeklySession

    @property
    def day(self) -> date:
        return self.starts.date()


@lru_cache(maxsize=32)
def _public_holidays(year: int) -> tuple[tuple[date, str], ...]:
    import holidays  # imported on first use: nothing heavy at import time

    calendar = holidays.country_holidays("NO", years=year, language="no")
    return tuple(sorted(calendar.items()))


def public_holidays(first: date, last: date) -> dict[date, str]:
    """Norway's public holidays from ``first`` to ``last`` inclusive, with their Norwegian
    names."""
    return {
        day: name
        for year in range(first.year, last.year + 1)
        for day, name in _public_holidays(year)
        if first <= day <= last
    }


@dataclass(frozen=True)
class Skipped:
    """Why a scheduled day has no session (for an EXDATE's comment, or a test's message)."""

    day: date
    reason: str


def _local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=OSLO)


def _days(session: WeeklySession, first: date, last: date) -> Iterator[date]:
    start = max(first, session.valid_from or first)
    end = min(last, session.valid_to or last)
    day = start + timedelta(days=(session.weekday - start.isoweekday()) % 7)
    while day <= end:
        yield day
        day += timedelta(days=7)


def skipped_days(
    first: date,
    last: date,
    *,
    cancelled: Iterable[date] = (),
    school_holidays: Iterable[HolidaySpan] = (),
    pauses_in_school_holidays: bool = False,
) -> dict[date, str]:
    """The days from ``first`` to ``last`` on which an activity does not run, with why."""
    skipped = {day: f"helligdag: {name}" for day, name in public_holidays(first, last).items()}
    if pauses_in_school_holidays:
        for span in school_holidays:
            day = max(first, span.first_day)
            while day <= min(last, span.last_day):
                skipped.setdefault(day, f"skoleferie: {span.name}")
                day += timedelta(days=1)
    for day in cancelled:
        if first <= day <= last:
            skipped.setdefault(day, "avlyst")
    return skipped


def scheduled_days(sessions: Iterable[WeeklySession], first: date, last: date) -> set[date]:
    """Every day from ``first`` to ``last`` that some schedule line falls on."""
    return {day for session in sessions for day in _days(session, first, last)}


def occurrences(
    sessions: Iterable[WeeklySession],
    first: date,
    last: date,
    skipped: Mapping[date, str],
) -> list[Occurrence]:
    """The sessions from ``first`` to ``last`` inclusive, less the ``skipped`` days, in order."""
    if (last - first).days > MAX_WINDOW_DAYS:
        raise ValueError(f"a window of at most {MAX_WINDOW_DAYS} days")
    return sorted(
        Occurrence(_local(day, s.starts), _local(day, s.ends), s)
        for s in sessions
        for day in _days(s, first, last)
        if day not in skipped
    )
