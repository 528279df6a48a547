"""Round trips: the API's ``.ics`` export of an activity, and of a subscribable feed, loaded
(``importCalendar``, as ``hverdag load ical``) into a database without those activities gives
the same schedule: the re-export has the same weekly times, the same series ends and the same
exceptions, and expands to the same sessions; loading it again changes nothing. Also the
command line: a file loaded and loaded again (audited once), and its refusal without
``--organisation``."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import recurring_ical_events
import sqlalchemy as sa
from icalendar import Calendar

from api.app import create_app
from api.cli import main
from api.http.ical import today, window
from geo.settings import load_settings
from geo.tables import activity, activity_exception, activity_schedule, audit_log
from tests.api.conftest import http_client
from tests.api.writes_support import RED_CROSS

pytestmark = pytest.mark.anyio

OWN_KEY = re.compile(r"hverdag-activity-\d+(?=-)")
IMPORT = """mutation ($c: String!, $s: String!, $o: String) {
  importCalendar(content: $c, source: $s, organisation: $o) {
    report { created updated unchanged archived } } }"""


def _schedule_of(body: bytes) -> list[tuple[Any, ...]]:
    """What a calendar says of each series: weekday, start, end, last session, exceptions."""
    found = []
    for event in Calendar.from_ical(body).walk("VEVENT"):
        exdates = event.get("EXDATE")
        groups = exdates if isinstance(exdates, list) else [exdates] if exdates else []
        found.append(
            (
                tuple(event["RRULE"]["BYDAY"]),
                event["DTSTART"].dt,
                event["DTEND"].dt,
                event["RRULE"]["UNTIL"][0],
                sorted(d.dt for group in groups for d in group.dts),
            )
        )
    return sorted(found)


def _sessions(body: bytes) -> list[Any]:
    first, last = window(today())
    cal = Calendar.from_ical(body)
    return sorted(
        e["DTSTART"].dt for e in recurring_ical_events.of(cal).between(first, last + timedelta(1))
    )


async def _import(client: Any, secret: str, text: bytes, source: str) -> dict[str, Any]:
    answer = await client.post(
        "/graphql",
        json={"query": IMPORT, "variables": {"c": text.decode(), "s": source, "o": RED_CROSS}},
        headers={"Authorization": f"Bearer {secret}"},
    )
    body = answer.json()
    assert "errors" not in body, body["errors"]
    return body["data"]["importCalendar"]["report"]


def _loaded(write_engine: sa.Engine, source: str) -> dict[str, int]:
    with write_engine.connect() as conn:
        return {
            r.external_id: r.id
            for r in conn.execute(
                sa.select(activity.c.external_id, activity.c.id).where(
                    activity.c.source == f"ical:{source}"
                )
            )
        }


def _audit_count(write_engine: sa.Engine) -> int:
    with write_engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one()


def _original(write_engine: sa.Engine) -> int:
    """A live activity with two open-ended weekly lines, at a venue, given a cancelled day
    three weeks ahead (an exception that is no public holiday)."""
    with write_engine.begin() as conn:
        activity_id = int(
            conn.execute(
                sa.text(
                    "SELECT a.id FROM activity a JOIN activity_schedule s ON s.activity_id = a.id "
                    "WHERE a.archived_at IS NULL AND a.status = 'ACTIVE' "
                    "AND a.venue_id IS NOT NULL AND s.valid_to IS NULL "
                    "GROUP BY a.id HAVING count(*) = 2 ORDER BY a.id LIMIT 1"
                )
            ).scalar_one()
        )
        weekday = conn.execute(
            sa.select(sa.func.min(activity_schedule.c.weekday)).where(
                activity_schedule.c.activity_id == activity_id
            )
        ).scalar_one()
        day = today() + timedelta(days=14)
        day += timedelta(days=(weekday - day.isoweekday()) % 7)
        conn.execute(sa.insert(activity_exception).values(activity_id=activity_id, on_date=day))
    return activity_id


async def test_an_activitys_export_loads_back_as_the_same_schedule(write_url, write_engine, keys):
    url = write_url.render_as_string(hide_password=False)
    app = create_app(load_settings(database_url=url, rate_limit_enabled=False))
    original = _original(write_engine)
    async with http_client(app) as client:
        exported = (await client.get(f"/calendar/activities/{original}.ics")).content
        # the database no longer has it live: what comes back is the file's alone
        with write_engine.begin() as conn:
            conn.execute(
                sa.update(activity)
                .where(activity.c.id == original)
                .values(archived_at=sa.func.now())
            )
        report = await _import(client, keys["admin"][0], exported, "round-trip-one")
        assert (report["created"], report["updated"], report["unchanged"]) == (1, 0, 0)
        ((key, loaded),) = _loaded(write_engine, "round-trip-one").items()
        assert key == f"hverdag-activity-{original}"
        again = (await client.get(f"/calendar/activities/{loaded}.ics")).content
        audits = _audit_count(write_engine)
        report = await _import(client, keys["admin"][0], exported, "round-trip-one")
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 1)
    assert _audit_count(write_engine) == audits
    schedule = _schedule_of(exported)
    assert len(schedule) == 2
    assert any(len(series[4]) > 0 for series in schedule)  # the cancelled day is an EXDATE
    assert _schedule_of(again) == schedule
    assert _sessions(again) == _sessions(exported)
    with write_engine.connect() as conn:
        venues = conn.execute(
            sa.select(activity.c.venue_id).where(activity.c.id.in_([original, loaded]))
        ).scalars()
        assert len(set(venues)) == 1  # its LOCATION named its venue, and GEO agreed


async def test_a_feeds_export_loads_back_as_the_same_schedules(
    client, write_url, write_engine, keys
):
    """From the read-only demo database's feed into the writable copy: one activity per
    activity of the feed, each with the schedule it had."""
    feed = await client.get(
        "/calendar/activities.ics",
        params={"category": "LANGUAGE_CAFE", "near": "59.9149,10.7766", "withinMeters": "3000"},
    )
    assert feed.status_code == 200
    uids = [str(e["UID"]) for e in Calendar.from_ical(feed.content).walk("VEVENT")]
    originals = {OWN_KEY.match(uid).group(0) for uid in uids}  # type: ignore[union-attr]
    url = write_url.render_as_string(hide_password=False)
    app = create_app(load_settings(database_url=url, rate_limit_enabled=False))
    async with http_client(app) as write_client:
        report = await _import(write_client, keys["admin"][0], feed.content, "round-trip-feed")
        loaded = _loaded(write_engine, "round-trip-feed")
        assert set(loaded) == originals
        assert report["created"] == len(loaded) >= 2
        for key, new_id in loaded.items():
            old_id = int(key.rsplit("-", 1)[1])
            before = (await client.get(f"/calendar/activities/{old_id}.ics")).content
            after = (await write_client.get(f"/calendar/activities/{new_id}.ics")).content
            assert _schedule_of(after) == _schedule_of(before), key
        report = await _import(write_client, keys["admin"][0], feed.content, "round-trip-feed")
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, len(loaded))


def test_the_command_needs_the_organisation(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "kalender.ics"
    path.write_text("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", encoding="utf-8")
    assert main(["load", "ical", str(path)]) == 1
    assert "needs --organisation" in capsys.readouterr().err


def test_the_command_loads_a_file_and_again_changes_nothing(
    tmp_path: Path, capsys: Any, monkeypatch: Any, write_url: Any, write_engine: sa.Engine
) -> None:
    monkeypatch.setenv("HVERDAG_DATABASE_URL", write_url.render_as_string(hide_password=False))
    path = tmp_path / "rodekors.ics"
    path.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//NB\r\nBEGIN:VEVENT\r\n"
        "UID:cli-1@example.org\r\nSUMMARY:Leksehjelp\r\nCATEGORIES:Leksehjelp\r\n"
        "DTSTART;TZID=Europe/Oslo:20300902T170000\r\nDURATION:PT2H\r\n"
        "RRULE:FREQ=WEEKLY;COUNT=6\r\nGEO:59.9149;10.7766\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        encoding="utf-8",
    )
    command = ["load", "ical", str(path), "--organisation", RED_CROSS]
    assert main(command) == 0
    assert "1 created, 0 updated, 0 unchanged, 0 archived" in capsys.readouterr().out
    assert main(command) == 0
    assert "0 created, 0 updated, 1 unchanged, 0 archived" in capsys.readouterr().out
    with write_engine.connect() as conn:
        row = conn.execute(
            sa.select(activity.c.category, activity.c.source).where(
                activity.c.external_id == "cli-1@example.org"
            )
        ).one()
        actors = (
            conn.execute(
                sa.select(audit_log.c.actor).where(audit_log.c.actor == "hverdag load ical")
            )
            .scalars()
            .all()
        )
    assert tuple(row) == ("HOMEWORK_HELP", "ical:rodekors.ics")
    assert actors == ["hverdag load ical"]  # the create; the re-load wrote none
