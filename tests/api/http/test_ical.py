"""GET /calendar/…ics: RFC 5545 calendars checked with the standard's own tools: ``icalendar``
parses them and ``recurring-ical-events`` expands every RRULE and EXDATE to exactly the sessions
geo.sessions gives for the same window (public holidays, school holidays and cancelled dates
excepted); UIDs survive an update; the feed's filter and reach hold."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
import recurring_ical_events
import sqlalchemy as sa
from icalendar import Calendar

from api.app import create_app
from api.checks import encode_global_id
from api.http.ical import today, window
from geo.crs import to_storage
from geo.db import sync_engine
from geo.queries.calendar import calendar_activity
from geo.sessions import OSLO, occurrences, public_holidays, skipped_days
from geo.settings import load_settings
from geo.tables import activity, activity_exception, school_holiday
from tests.api.conftest import http_client

pytestmark = pytest.mark.anyio

TOYEN = (59.9149, 10.7766)


def _events(body: bytes) -> list[Any]:
    return list(Calendar.from_ical(body).walk("VEVENT"))


def _expanded(body: bytes, first: date, last: date) -> list[datetime]:
    """Every session start the calendar means, as a calendar application would expand it."""
    cal = Calendar.from_ical(body)
    found = recurring_ical_events.of(cal).between(first, last + timedelta(days=1))
    return sorted(event["DTSTART"].dt.astimezone(OSLO) for event in found)


def _expected(conn: sa.Connection, activity_id: int, first: date, last: date) -> list[datetime]:
    a = calendar_activity(conn, activity_id)
    assert a is not None
    skipped = skipped_days(
        first,
        last,
        cancelled=a.cancelled,
        school_holidays=a.school_holidays,
        pauses_in_school_holidays=a.pauses_in_school_holidays,
    )
    return [o.starts for o in occurrences(a.sessions, first, last, skipped)]


def _scheduled_activity(conn: sa.Connection, weekdays: int = 1) -> int:
    """A live activity with at least ``weekdays`` schedule lines, open-ended."""
    return int(
        conn.execute(
            sa.text(
                "SELECT a.id FROM activity a JOIN activity_schedule s ON s.activity_id = a.id "
                "WHERE a.archived_at IS NULL AND a.status = 'ACTIVE' AND s.valid_to IS NULL "
                "GROUP BY a.id HAVING count(*) >= :n ORDER BY a.id LIMIT 1"
            ),
            {"n": weekdays},
        ).scalar_one()
    )


async def test_one_activity_expands_to_exactly_its_sessions_less_public_holidays(
    client, loaded_conn
):
    activity_id = _scheduled_activity(loaded_conn, weekdays=2)
    response = await client.get(f"/calendar/activities/{activity_id}.ics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    events = _events(response.content)
    lines = loaded_conn.execute(
        sa.text("SELECT count(*) FROM activity_schedule WHERE activity_id = :id"),
        {"id": activity_id},
    ).scalar_one()
    assert len(events) == lines
    for event in events:
        assert event["RRULE"]["FREQ"] == ["WEEKLY"]
        assert event["DTSTART"].params["TZID"] == "Europe/Oslo"
        assert str(event["UID"]).startswith(f"hverdag-activity-{activity_id}-")
    assert len({str(e["UID"]) for e in events}) == len(events)

    first, last = window(today())
    got = _expanded(response.content, first, last)
    assert got == _expected(loaded_conn, activity_id, first, last)
    assert len(got) > 40  # two weekly lines over 56 weeks, less a few holidays
    holidays = public_holidays(first, last)
    assert not [start for start in got if start.date() in holidays]
    # The schedule does fall on public holidays in a year: they became EXDATEs, not sessions.
    weekdays = {start.isoweekday() for start in got}
    assert any(day.isoweekday() in weekdays for day in holidays)


async def test_the_feed_holds_the_filter_and_the_reach(client, loaded_conn):
    lat, lon = TOYEN
    response = await client.get(
        "/calendar/activities.ics",
        params={
            "category": "LANGUAGE_CAFE",
            "near": f"{lat},{lon}",
            "withinMeters": "3000",
            "name": "Språkkafeer nær Tøyen",
        },
    )
    assert response.status_code == 200, response.text
    cal = Calendar.from_ical(response.content)
    assert str(cal["X-WR-CALNAME"]) == "Språkkafeer nær Tøyen"
    ids = {int(str(e["UID"]).split("-")[2]) for e in cal.walk("VEVENT")}
    x, y = to_storage(lat, lon)
    expected = set(
        loaded_conn.execute(
            sa.text(
                "SELECT a.id FROM activity a WHERE a.category = 'LANGUAGE_CAFE' "
                "AND a.archived_at IS NULL AND a.status = 'ACTIVE' "
                "AND ST_DWithin(a.geom, ST_SetSRID(ST_MakePoint(:x, :y), 25833), 3000) "
                "AND EXISTS (SELECT 1 FROM activity_schedule s WHERE s.activity_id = a.id "
                "AND (s.valid_to IS NULL OR s.valid_to >= :first))"
            ),
            {"x": x, "y": y, "first": window(today())[0]},
        ).scalars()
    )
    assert expected, "the demo has language cafés near Tøyen"
    assert ids == expected
    for event in cal.walk("VEVENT"):
        assert event["CATEGORIES"].cats == ["språkkafé"]


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/calendar/activities.ics?near=59.9,10.7", 400, "withinMeters"),
        ("/calendar/activities.ics?withinMeters=300", 400, "near"),
        ("/calendar/activities.ics?near=99,10&withinMeters=300", 400, "near.lat"),
        ("/calendar/activities.ics?category=KNITTING", 400, "category"),
        ("/calendar/activities.ics?colour=red", 400, "colour"),
        ("/calendar/activities/abc.ics", 400, "id"),
        ("/calendar/activities/999999999.ics", 404, "id"),
    ],
)
async def test_bad_requests_are_named(client, path, status, field):
    response = await client.get(path)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == field
    assert error["reason"]


async def test_an_out_of_range_reach_is_named_by_its_own_parameter(client):
    response = await client.get("/calendar/activities.ics?near=59.9,10.7&withinMeters=-5")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "withinMeters"
    assert error["reason"].startswith("withinMeters must be within (0, ")


async def test_school_holidays_cancellations_and_updates(fresh_demo_url):
    """Pausing in school holidays removes exactly their days; a cancelled date goes too; an
    update keeps every UID and raises SEQUENCE, so calendars replace rather than duplicate."""
    engine = sync_engine(fresh_demo_url, poolclass=sa.pool.NullPool)
    first, last = window(today())
    try:
        with engine.begin() as conn:
            activity_id = _scheduled_activity(conn)
            number = conn.execute(
                sa.select(activity.c.municipality_number).where(activity.c.id == activity_id)
            ).scalar_one()
            autumn = (first + timedelta(days=40), first + timedelta(days=54))
            conn.execute(
                sa.insert(school_holiday),
                {
                    "municipality_number": number,
                    "first_day": autumn[0],
                    "last_day": autumn[1],
                    "name": "Testferie",
                    "source": "test",
                },
            )
        settings = load_settings(database_url=fresh_demo_url.render_as_string(hide_password=False))
        async with http_client(create_app(settings)) as client:
            path = f"/calendar/activities/{activity_id}.ics"
            before = (await client.get(path)).content
            in_holiday = [
                d for d in _expanded(before, first, last) if autumn[0] <= d.date() <= autumn[1]
            ]
            assert in_holiday, "the activity runs in the test holiday while it does not pause"
            with engine.begin() as conn:
                conn.execute(
                    sa.update(activity)
                    .where(activity.c.id == activity_id)
                    .values(
                        pauses_in_school_holidays=True,
                        title="Endret tittel",
                        version=activity.c.version + 1,
                    )
                )
                cancelled = _expanded(before, first, last)[-1].date()
                conn.execute(
                    sa.insert(activity_exception),
                    {"activity_id": activity_id, "on_date": cancelled, "cancelled": True},
                )
            after = (await client.get(path)).content
    finally:
        engine.dispose()
    got = _expanded(after, first, last)
    assert not [d for d in got if autumn[0] <= d.date() <= autumn[1]]
    assert cancelled not in {d.date() for d in got}
    assert set(_expanded(before, first, last)) - set(got) == {
        *in_holiday,
        *[d for d in _expanded(before, first, last) if d.date() == cancelled],
    }
    with engine.connect() as conn:
        assert got == _expected(conn, activity_id, first, last)
    old, new = _events(before), _events(after)
    assert {str(e["UID"]) for e in old} == {str(e["UID"]) for e in new}
    assert all(int(e["SEQUENCE"]) == int(new[0]["SEQUENCE"]) for e in new)
    assert int(new[0]["SEQUENCE"]) == int(old[0]["SEQUENCE"]) + 1
    assert str(new[0]["SUMMARY"]) == "Endret tittel"


async def test_next_sessions_are_the_calendars_sessions(client, gql, loaded_conn):
    """GraphQL's nextSessions and the .ics, expanded by recurring-ical-events, give the same
    sessions for the same window."""
    activity_id = _scheduled_activity(loaded_conn, weekdays=2)
    on = today()
    data = await gql.data(
        "query($id: ID!, $from: Date) { node(id: $id) { ... on Activity {"
        " nextSessions(first: 100, from: $from) { start end } } } }",
        {"id": encode_global_id("Activity", str(activity_id)), "from": on.isoformat()},
    )
    got = [datetime.fromisoformat(s["start"]) for s in data["node"]["nextSessions"]]
    body = (await client.get(f"/calendar/activities/{activity_id}.ics")).content
    expanded = [start for start in _expanded(body, on, window(on)[1]) if start.date() >= on]
    assert len(got) == 100
    assert got == expanded[:100]
    ends = [datetime.fromisoformat(s["end"]) for s in data["node"]["nextSessions"]]
    assert all(end > start for start, end in zip(got, ends, strict=True))


async def test_next_sessions_refuses_a_bad_window(gql, loaded_conn):
    activity_id = _scheduled_activity(loaded_conn)
    for arguments, field in (("first: 101", "first"), ('from: "1970-01-01"', "from")):
        result = await gql(
            f'{{ node(id: "{encode_global_id("Activity", str(activity_id))}") '
            f"{{ ... on Activity {{ nextSessions({arguments}) {{ start }} }} }} }}"
        )
        assert result.errors
        assert result.errors[0].extensions["code"] == "BAD_USER_INPUT"
        assert result.errors[0].extensions["field"] == field
