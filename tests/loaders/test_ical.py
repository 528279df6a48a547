"""hverdag load ical: a feed's events become one organisation's activities with the schedule
they say; a re-load changes nothing (no version, no audit row), a changed event updates its
activity, a removed one archives it (that feed's and organisation's only); every bad input the
issue names is refused naming the event and its property, nothing written; a feed that does
not answer, or never ends, is refused too."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from datetime import date, time
from pathlib import Path

import pytest
import sqlalchemy as sa
from geoalchemy2.shape import from_shape
from shapely.geometry import Point

from geo.crs import STORAGE_SRID, to_storage
from geo.tables import activity, activity_exception, activity_schedule, audit_log, organisation
from geo.tables import venue as venue_table
from loaders.ical import load_ical
from loaders.report import LoadError, LoadErrors

ORGNR = "999000111"
OTHER_ORGNR = "999000222"
TOYEN = (59.9149, 10.7766)
LIMIT = 1_000_000


def _event(uid: str, summary: str, *lines: str) -> str:
    return (
        "BEGIN:VEVENT\r\n"
        + f"UID:{uid}\r\nSUMMARY:{summary}\r\n"
        + "".join(f"{line}\r\n" for line in lines)
        + "END:VEVENT\r\n"
    )


def _calendar(*events: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//test//NB\r\n"
        + "".join(events)
        + "END:VCALENDAR\r\n"
    )


WEEKLY = _event(
    "kafe-1@example.org",
    "Språkkafé på Tøyen",
    "CATEGORIES:Språkkafé",
    "DESCRIPTION:Snakk norsk",
    "DTSTART;TZID=Europe/Oslo:20300903T180000",
    "DTEND;TZID=Europe/Oslo:20300903T200000",
    "RRULE:FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20301219T170000Z",
    # 8 Oct cancelled; 26 Dec would be a public holiday (outside UNTIL, dropped anyway)
    "EXDATE;TZID=Europe/Oslo:20301008T180000",
    f"GEO:{TOYEN[0]};{TOYEN[1]}",
)
ONE_OFF = _event(
    "fest-1@example.org",
    "Sommerfest",
    "DTSTART:20300615T150000Z",
    "DURATION:PT3H",
    f"GEO:{TOYEN[0]};{TOYEN[1]}",
)


@pytest.fixture
def db(scratch_engine: sa.Engine) -> Iterator[sa.Engine]:
    yield scratch_engine
    with scratch_engine.begin() as conn:
        conn.execute(sa.delete(activity).where(activity.c.source.startswith("ical:")))
        conn.execute(sa.delete(venue_table).where(venue_table.c.source == "test-ical"))
        conn.execute(
            sa.delete(organisation).where(
                organisation.c.organisation_number.in_([ORGNR, OTHER_ORGNR])
            )
        )


@pytest.fixture
def org(db: sa.Engine) -> int:
    with db.begin() as conn:
        ids = conn.execute(
            sa.insert(organisation)
            .values(
                [
                    {"name": "Testlaget", "organisation_number": ORGNR, "source": "test-ical"},
                    {
                        "name": "Andre laget",
                        "organisation_number": OTHER_ORGNR,
                        "source": "test-ical",
                    },
                ]
            )
            .returning(organisation.c.id)
        ).scalars()
        return next(iter(ids))


def _write(tmp_path: Path, text: str, name: str = "kalender.ics") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _load(db: sa.Engine, location: str, orgnr: str = ORGNR, max_bytes: int = LIMIT):
    """One run, committed (as the command's)."""
    with db.begin() as conn:
        return load_ical(conn, location, organisation=orgnr, max_bytes=max_bytes)


def _activities(db: sa.Engine, source: str = "ical:kalender.ics") -> dict[str, sa.Row]:
    with db.connect() as conn:
        rows = conn.execute(sa.select(activity).where(activity.c.source == source))
        return {r.external_id: r for r in rows}


def _schedule(db: sa.Engine, activity_id: int) -> list[tuple]:
    s = activity_schedule.c
    with db.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.select(s.weekday, s.starts, s.ends, s.valid_from, s.valid_to)
                .where(s.activity_id == activity_id)
                .order_by(s.weekday)
            )
        ]


def _cancelled(db: sa.Engine, activity_id: int) -> list[date]:
    e = activity_exception.c
    with db.connect() as conn:
        return list(
            conn.execute(
                sa.select(e.on_date).where(e.activity_id == activity_id).order_by(e.on_date)
            ).scalars()
        )


def _audit_rows(db: sa.Engine) -> list[tuple[str, str]]:
    """Every audit row's (action, activity id), oldest first."""
    with db.connect() as conn:
        return [
            (r.action, r.entity_id)
            for r in conn.execute(
                sa.select(audit_log.c.action, audit_log.c.entity_id).order_by(audit_log.c.id)
            )
        ]


def test_a_feed_loads_as_weekly_schedules_and_one_offs(db, org, tmp_path):
    report = _load(db, _write(tmp_path, _calendar(WEEKLY, ONE_OFF)))
    assert (report.inserted, report.updated, report.unchanged, report.archived) == (2, 0, 0, 0)
    rows = _activities(db)
    kafe, fest = rows["kafe-1@example.org"], rows["fest-1@example.org"]
    assert kafe.title == "Språkkafé på Tøyen"
    assert kafe.category == "LANGUAGE_CAFE"  # from CATEGORIES' Norwegian term
    assert fest.category == "MEETING_PLACE"  # none named: the default
    assert kafe.organisation_id == org
    assert kafe.municipality_number == "0301"
    first, last = date(2030, 9, 3), date(2030, 12, 19)
    assert _schedule(db, kafe.id) == [
        (2, time(18), time(20), first, last),
        (4, time(18), time(20), first, last),
    ]
    assert _cancelled(db, kafe.id) == [date(2030, 10, 8)]
    # 15:00 UTC in June is 17:00 in Oslo; a one-off is a line valid on its day only
    june = date(2030, 6, 15)
    assert _schedule(db, fest.id) == [(june.isoweekday(), time(17), time(20), june, june)]


def test_reloading_the_same_feed_changes_nothing(db, org, tmp_path):
    feed = _write(tmp_path, _calendar(WEEKLY, ONE_OFF))
    _load(db, feed)
    versions = {k: r.version for k, r in _activities(db).items()}
    audits = _audit_rows(db)
    report = _load(db, feed)
    assert (report.inserted, report.updated, report.unchanged, report.archived) == (0, 0, 2, 0)
    assert {k: r.version for k, r in _activities(db).items()} == versions
    assert _audit_rows(db) == audits


def test_a_changed_event_updates_and_a_removed_one_archives(db, org, tmp_path):
    feed = _write(tmp_path, _calendar(WEEKLY, ONE_OFF))
    _load(db, feed)
    # the same source's activity of another organisation, and another feed's: not archived
    other_source = _write(tmp_path, _calendar(ONE_OFF), "annen.ics")
    _load(db, other_source)
    before = _activities(db)
    audits = _audit_rows(db)
    changed = WEEKLY.replace("T200000", "T203000").replace(
        "EXDATE;TZID=Europe/Oslo:20301008T180000", "EXDATE;TZID=Europe/Oslo:20301015T180000"
    )
    report = _load(db, _write(tmp_path, _calendar(changed)))
    assert (report.inserted, report.updated, report.unchanged, report.archived) == (0, 1, 0, 1)
    after = _activities(db)
    kafe = after["kafe-1@example.org"]
    assert kafe.version == before["kafe-1@example.org"].version + 1
    assert {s[2] for s in _schedule(db, kafe.id)} == {time(20, 30)}
    assert _cancelled(db, kafe.id) == [date(2030, 10, 15)]
    assert after["fest-1@example.org"].archived_at is not None
    assert _activities(db, "ical:annen.ics")["fest-1@example.org"].archived_at is None
    actions = _audit_rows(db)[len(audits) :]
    assert sorted(actions) == sorted(
        [("import", str(kafe.id)), ("archive", str(after["fest-1@example.org"].id))]
    )
    # back in the feed: restored
    report = _load(db, _write(tmp_path, _calendar(changed, ONE_OFF)))
    assert (report.updated, report.archived) == (1, 0)
    assert _activities(db)["fest-1@example.org"].archived_at is None


def test_another_organisation_cannot_take_over_a_feeds_events(db, org, tmp_path):
    feed = _write(tmp_path, _calendar(WEEKLY))
    _load(db, feed)
    with pytest.raises(LoadError) as caught:
        _load(db, feed, OTHER_ORGNR)
    assert caught.value.field == "UID"
    assert "another organisation" in caught.value.reason
    assert _activities(db)["kafe-1@example.org"].organisation_id == org


def test_location_names_a_known_venue(db, org, tmp_path):
    x, y = to_storage(59.9170, 10.7600)
    with db.begin() as conn:
        venue_id = conn.execute(
            sa.insert(venue_table)
            .values(
                name="Grünerløkka  Frivilligsentral",
                owner_type="MUNICIPALITY",
                venue_type="COMMUNITY_CENTRE",
                geom=from_shape(Point(x, y), srid=STORAGE_SRID),
                municipality_number="0301",
                source="test-ical",
            )
            .returning(venue_table.c.id)
        ).scalar_one()
    event = _event(
        "sted-1@example.org",
        "Leksehjelp",
        "LOCATION:grünerløkka frivilligsentral, Et sted 1",
        "DTSTART;TZID=Europe/Oslo:20300903T160000",
        "DTEND;TZID=Europe/Oslo:20300903T180000",
        "RRULE:FREQ=WEEKLY;COUNT=4",
    )
    _load(db, _write(tmp_path, _calendar(event)))
    row = _activities(db)["sted-1@example.org"]
    assert row.venue_id == venue_id
    with db.connect() as conn:
        assert conn.execute(
            sa.select(sa.func.ST_Equals(activity.c.geom, venue_table.c.geom))
            .select_from(activity.join(venue_table, venue_table.c.id == activity.c.venue_id))
            .where(activity.c.id == row.id)
        ).scalar_one()
    # COUNT=4 Tuesdays from 3 September: the last on 24 September
    assert _schedule(db, row.id)[0][3:] == (date(2030, 9, 3), date(2030, 9, 24))


TIMES = (
    "DTSTART;TZID=Europe/Oslo:20300903T180000",
    "DTEND;TZID=Europe/Oslo:20300903T200000",
)
HERE = f"GEO:{TOYEN[0]};{TOYEN[1]}"


@pytest.mark.parametrize(
    ("lines", "field", "words"),
    [
        (
            ("DTSTART:19700101T000000Z", "DTEND:19700101T010000Z", HERE),
            "DTSTART",
            "before 2000-01-01",
        ),
        ((*TIMES, "RRULE:FREQ=WEEKLY;BYDAY=TU", HERE), "RRULE", "neither UNTIL nor COUNT"),
        (("DTSTART:20300903T180000", "DTEND:20300903T200000", HERE), "DTSTART", "floating"),
        (
            (*TIMES, "RRULE:FREQ=MONTHLY;BYDAY=1TU;COUNT=3", HERE),
            "RRULE",
            "FREQ=WEEKLY",
        ),
        ((*TIMES, "RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=3", HERE), "RRULE", "INTERVAL"),
        (("DTSTART;VALUE=DATE:20300903", HERE), "DTSTART", "all-day"),
        ((*TIMES, "GEO:51.5072;-0.1276"), "GEO", "outside every loaded municipality"),
        ((*TIMES, "LOCATION:Ingen slik sal"), "LOCATION", "names no known venue"),
        (TIMES, "GEO", "neither GEO nor a LOCATION"),
        ((*TIMES, "RDATE;TZID=Europe/Oslo:20300905T180000", HERE), "RDATE", "own event"),
        (
            ("DTSTART:20301001T160000Z", "DTEND:20301001T180000Z", "RRULE:FREQ=WEEKLY;COUNT=8"),
            "DTSTART",
            "falls at 17:00 Norwegian time on 2030-10-29, not 18:00",
        ),
        (
            ("DTSTART;TZID=Mars/Olympus:20300903T180000", "DURATION:PT1H", HERE),
            "DTSTART",
            "TZID=Mars/Olympus is no timezone",
        ),
        (
            ("DTSTART;TZID=Europe/Oslo:20300903T230000", "DURATION:PT2H", HERE),
            "DURATION",
            "ends on another day",
        ),
        ((*TIMES, "RRULE:FREQ=WEEKLY;UNTIL=20991231T000000Z", HERE), "RRULE", "10 years"),
        ((*TIMES, "RRULE:FREQ=WEEKLY;BYDAY=WE;COUNT=2", HERE), "RRULE", "BYDAY does not name"),
    ],
)
def test_a_bad_event_is_named_and_nothing_is_written(db, org, tmp_path, lines, field, words):
    bad = _event("bad-1@example.org", "Feil", *lines)
    if not any(line.startswith(("GEO", "LOCATION")) for line in lines) and field != "GEO":
        bad = bad.replace("END:VEVENT", HERE + "\r\nEND:VEVENT")
    with pytest.raises(LoadErrors) as caught:
        _load(db, _write(tmp_path, _calendar(WEEKLY, bad)))
    (error,) = caught.value.errors
    assert error.record == "UID bad-1@example.org (Feil)"
    assert error.field == field
    assert words in error.reason
    assert _activities(db) == {}


def test_every_bad_event_is_named(db, org, tmp_path):
    events = [
        _event(f"bad-{n}@example.org", f"Feil {n}", "DTSTART:20300903T180000", "DURATION:PT1H")
        for n in range(3)
    ]
    with pytest.raises(LoadErrors) as caught:
        _load(db, _write(tmp_path, _calendar(*events)))
    assert [e.record for e in caught.value.errors] == [
        f"UID bad-{n}@example.org (Feil {n})" for n in range(3)
    ]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("external_id;title\n1;Kafé\n", "not an iCalendar file"),
        (_calendar(WEEKLY)[:200], "truncated"),
        ("BEGIN:VCALENDAR\r\nthis is not a content line\r\nEND:VCALENDAR\r\n", "not valid"),
    ],
)
def test_a_file_that_is_no_calendar_is_refused(db, org, tmp_path, text, words):
    with pytest.raises(LoadError) as caught:
        _load(db, _write(tmp_path, text))
    assert caught.value.code == "NOT_ICALENDAR"
    assert words in caught.value.reason
    assert _activities(db) == {}


def test_a_file_over_the_limit_is_not_read(db, org, tmp_path):
    feed = _write(tmp_path, _calendar(*[WEEKLY] * 20))
    assert Path(feed).stat().st_size > 4096
    with pytest.raises(LoadError) as caught:
        _load(db, feed, max_bytes=4096)
    assert caught.value.code == "TOO_LARGE"


class _EndlessFeed(http.server.BaseHTTPRequestHandler):
    """Answers a calendar that never ends (a hostile or broken server); /gone is a 404."""

    def do_GET(self) -> None:
        if self.path == "/gone":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("content-type", "text/calendar")
        self.end_headers()
        self.wfile.write(b"BEGIN:VCALENDAR\r\n")
        try:
            while True:
                self.wfile.write(b"X-FILLER:" + b"x" * 8000 + b"\r\n")
        except OSError:
            return  # the client stopped reading

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def endless_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EndlessFeed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/feed.ics"
    server.shutdown()
    server.server_close()


def test_an_endless_feed_is_cut_at_the_limit(db, org, endless_server):
    with pytest.raises(LoadError) as caught:
        _load(db, endless_server)
    assert caught.value.code == "TOO_LARGE"
    assert caught.value.path == endless_server


def test_a_url_that_answers_an_error_is_refused(db, org, endless_server):
    url = endless_server.replace("/feed.ics", "/gone")
    with pytest.raises(LoadError) as caught:
        _load(db, url)
    assert (caught.value.code, caught.value.reason) == ("FEED_UNAVAILABLE", "answered HTTP 404")


def test_a_file_that_is_not_utf8_is_refused(db, org, tmp_path):
    path = tmp_path / "latin1.ics"
    path.write_bytes(_calendar(WEEKLY).encode("latin-1"))  # "Språkkafé" in Latin-1
    with pytest.raises(LoadError) as caught:
        _load(db, str(path))
    assert caught.value.code == "NOT_ICALENDAR"
    assert "not UTF-8" in caught.value.reason


def test_a_url_that_does_not_answer_is_refused(db, org):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/kalender.ics"
    with pytest.raises(LoadError) as caught:
        _load(db, url)
    assert caught.value.code == "FEED_UNAVAILABLE"
    assert caught.value.path == url
    assert "did not answer" in caught.value.reason


def test_what_the_organisation_set_survives_a_reload(db, org, tmp_path):
    """The calendar owns title, description, URL, category (when CATEGORIES names one), place
    and schedule; what an editor added since (languages, a category the calendar does not
    name) stays, and the re-load is no change."""
    feed = _write(tmp_path, _calendar(WEEKLY, ONE_OFF))
    _load(db, feed)
    with db.begin() as conn:
        conn.execute(
            sa.update(activity)
            .where(activity.c.source == "ical:kalender.ics")
            .values(languages=["ar", "nb"], category="SPORTS", version=activity.c.version + 1)
        )
    before = _activities(db)
    report = _load(db, feed)
    assert (report.updated, report.unchanged) == (1, 1)
    after = _activities(db)
    kafe, fest = after["kafe-1@example.org"], after["fest-1@example.org"]
    assert kafe.category == "LANGUAGE_CAFE"  # its CATEGORIES say so
    assert fest.category == "SPORTS"  # none named: the editor's stays
    assert kafe.languages == fest.languages == ["ar", "nb"]
    assert fest.version == before["fest-1@example.org"].version


def test_a_series_in_utc_lands_on_its_norwegian_day(db, org, tmp_path):
    """Tuesdays 23:30 UTC in winter are Wednesdays 00:30 in Oslo."""
    late = _event(
        "natt@example.org",
        "Nattkafé",
        "DTSTART:20301105T233000Z",
        "DTEND:20301106T000000Z",
        "RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=3",
        HERE,
    )
    _load(db, _write(tmp_path, _calendar(late)))
    row = _activities(db)["natt@example.org"]
    first, last = date(2030, 11, 6), date(2030, 11, 20)
    assert _schedule(db, row.id) == [(3, time(0, 30), time(1), first, last)]


def test_a_cancelled_occurrence_is_a_cancelled_day_and_a_moved_one_is_refused(db, org, tmp_path):
    cancelled = _event(
        "kafe-1@example.org",
        "Språkkafé på Tøyen",
        "RECURRENCE-ID;TZID=Europe/Oslo:20300910T180000",
        "DTSTART;TZID=Europe/Oslo:20300910T180000",
        "DTEND;TZID=Europe/Oslo:20300910T200000",
        "STATUS:CANCELLED",
    )
    _load(db, _write(tmp_path, _calendar(WEEKLY, cancelled)))
    kafe = _activities(db)["kafe-1@example.org"]
    assert _cancelled(db, kafe.id) == [date(2030, 9, 10), date(2030, 10, 8)]
    moved = cancelled.replace("STATUS:CANCELLED", "LOCATION:Et annet sted")
    with pytest.raises(LoadError) as caught:
        _load(db, _write(tmp_path, _calendar(WEEKLY, moved)))
    assert (caught.value.record, caught.value.field) == (
        "UID kafe-1@example.org (Språkkafé på Tøyen)",
        "RECURRENCE-ID",
    )
    assert "2030-09-10 is changed or moved" in caught.value.reason


def test_a_cancelled_event_is_left_out_and_archives_its_activity(db, org, tmp_path):
    _load(db, _write(tmp_path, _calendar(WEEKLY, ONE_OFF)))
    off = ONE_OFF.replace("END:VEVENT", "STATUS:CANCELLED\r\nEND:VEVENT")
    report = _load(db, _write(tmp_path, _calendar(WEEKLY, off)))
    assert (report.unchanged, report.archived) == (1, 1)
    assert report.warnings == [
        "UID fest-1@example.org (Sommerfest): cancelled (STATUS:CANCELLED), not loaded"
    ]
    assert _activities(db)["fest-1@example.org"].archived_at is not None


def test_a_calendar_without_events_is_refused(db, org, tmp_path):
    _load(db, _write(tmp_path, _calendar(WEEKLY)))
    with pytest.raises(LoadError) as caught:
        _load(db, _write(tmp_path, _calendar()))
    assert caught.value.code == "NOT_ICALENDAR"
    assert "no events" in caught.value.reason
    assert _activities(db)["kafe-1@example.org"].archived_at is None


def test_a_url_others_cannot_follow_is_left_out_and_the_event_loads(db, org, tmp_path):
    """An export from a development server carries its own page's URL on this machine
    (http://localhost:8000/a/12): the event is good, its URL is left out with a warning."""
    local = WEEKLY.replace("END:VEVENT", "URL:http://localhost:8000/a/12\r\nEND:VEVENT")
    public = ONE_OFF.replace("END:VEVENT", "URL:https://rodekors.no/kafe\r\nEND:VEVENT")
    report = _load(db, _write(tmp_path, _calendar(local, public)))
    assert report.inserted == 2
    rows = _activities(db)
    assert rows["kafe-1@example.org"].url is None
    assert rows["fest-1@example.org"].url == "https://rodekors.no/kafe"
    (warning,) = [w for w in report.warnings if "URL left out" in w]
    assert "Språkkafé på Tøyen" in warning
    assert "needs a host name with a dot" in warning
