"""``hverdag load rpde``'s rules on a feed served from memory: it follows ``next`` to the empty
page, resumes where it stopped, archives deleted items, stops at its bounds and goes on next
time, and refuses what is not an RPDE feed or holds a bad item, naming it, with nothing
written and the position where it was. hverdag's own feed, served live, is
tests/api/test_rpde_load.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from geo.registry import feed_next_url
from geo.tables import activity, activity_exception, activity_schedule
from loaders.report import LoadError
from loaders.rpde import Limits, load_rpde

FEED = "https://feeds.example.org/session-series"


def _series(item_id: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "@type": "SessionSeries",
        "name": f"Språkkafé {item_id}",
        "activity": [{"@id": "https://x.example/vocab/activity-categories#LANGUAGE_CAFE"}],
        "location": {"geo": {"latitude": 59.9149, "longitude": 10.7745}},
        "offers": [{"price": 0, "priceCurrency": "NOK"}],
        "inLanguage": ["nb", "ar"],
        "eventSchedule": [
            {
                "repeatFrequency": "P1W",
                "byDay": ["https://schema.org/Tuesday"],
                "startTime": "18:00",
                "endTime": "20:00",
                "startDate": "2026-08-15",
                "exceptDate": ["2026-12-22T18:00:00+01:00"],
            }
        ],
    }
    return {
        "state": "updated",
        "kind": "SessionSeries",
        "id": item_id,
        "modified": 1,
        "data": data | changes,
    }


def _deleted(item_id: str, kind: str = "SessionSeries") -> dict[str, Any]:
    return {"state": "deleted", "kind": kind, "id": item_id, "modified": 2}


def _facility(item_id: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "@type": "FacilityUse",
        "name": f"Grendehus {item_id}",
        "facilityType": [{"@id": "https://x.example/vocab/venue-types#COMMUNITY_CENTRE"}],
        "location": {
            "geo": {"latitude": 59.9149, "longitude": 10.7745},
            "address": {"streetAddress": "Hagegata 22", "postalCode": "0653"},
        },
        "hoursAvailable": [
            {"dayOfWeek": ["https://schema.org/Monday"], "opens": "17:00", "closes": "21:00"}
        ],
        "offers": [{"price": 0, "priceCurrency": "NOK", "url": "https://x.example/book"}],
    }
    return {
        "state": "updated",
        "kind": "FacilityUse",
        "id": item_id,
        "modified": 1,
        "data": data | changes,
    }


class Feed:
    """Pages by URL; ``pages(...)`` lays items out as page 1, 2, … ending in an empty page."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        self.asked: list[str] = []

    def pages(self, *pages: list[dict[str, Any]], start: int = 1) -> None:
        for number, items in enumerate([*pages, []], start=start):
            url = FEED if number == 1 else f"{FEED}?page={number}"
            following = url if not items else f"{FEED}?page={number + 1}"
            self.bodies[url] = json.dumps({"next": following, "items": items}).encode()

    def __call__(self, url: str) -> bytes:
        self.asked.append(url)
        return self.bodies[url]


def _live(conn: sa.Connection) -> dict[str, str]:
    rows = conn.execute(
        sa.select(activity.c.external_id, activity.c.title).where(
            activity.c.source == f"rpde:{FEED}", activity.c.archived_at.is_(None)
        )
    )
    return dict(rows.all())


def test_follows_next_to_the_empty_page_and_maps_a_series(scratch_conn):
    feed = Feed()
    feed.pages([_series("1"), _series("2")], [_series("3")])
    report = load_rpde(scratch_conn, FEED, fetch=feed)
    assert report.inserted == 3
    assert feed.asked == [FEED, f"{FEED}?page=2", f"{FEED}?page=3"]
    assert _live(scratch_conn) == {"1": "Språkkafé 1", "2": "Språkkafé 2", "3": "Språkkafé 3"}
    row = scratch_conn.execute(
        sa.select(activity).where(
            activity.c.external_id == "1", activity.c.source == f"rpde:{FEED}"
        )
    ).one()
    assert row.category == "LANGUAGE_CAFE"
    assert row.free
    assert row.languages == ["nb", "ar"]
    assert row.municipality_number == "0301"
    session = scratch_conn.execute(
        sa.select(activity_schedule).where(activity_schedule.c.activity_id == row.id)
    ).one()
    assert (session.weekday, str(session.starts), str(session.valid_from)) == (
        2,
        "18:00:00",
        "2026-08-15",
    )
    cancelled = scratch_conn.execute(
        sa.select(activity_exception.c.on_date).where(activity_exception.c.activity_id == row.id)
    ).scalar_one()
    assert str(cancelled) == "2026-12-22"
    assert feed_next_url(scratch_conn, FEED) == f"{FEED}?page=3"


def test_resumes_where_it_stopped_and_archives_what_is_deleted(scratch_conn):
    feed = Feed()
    feed.pages([_series("1"), _series("2")])
    load_rpde(scratch_conn, FEED, fetch=feed)
    feed.asked.clear()
    again = load_rpde(scratch_conn, FEED, fetch=feed)
    assert feed.asked == [f"{FEED}?page=2"]  # the empty page where it stopped, only
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 0)
    # The publisher deletes 1 and changes 2: the page that was empty now has them.
    feed.pages([_deleted("1"), _series("2", name="Språkkafé to")], start=2)
    feed.asked.clear()
    third = load_rpde(scratch_conn, FEED, fetch=feed)
    assert feed.asked == [f"{FEED}?page=2", f"{FEED}?page=3"]
    assert third.updated == 2  # 2 changed, 1 archived
    assert _live(scratch_conn) == {"2": "Språkkafé to"}


def test_facility_uses_become_venues_with_their_windows_and_deleted_ones_archive(scratch_conn):
    from geo.tables import venue, venue_availability

    feed = Feed()
    feed.pages([_facility("7"), _facility("8")])
    assert load_rpde(scratch_conn, FEED, fetch=feed).inserted == 2
    row = scratch_conn.execute(
        sa.select(venue).where(venue.c.source == f"rpde:{FEED}", venue.c.external_id == "7")
    ).one()
    assert (row.name, row.venue_type, row.price_model) == (
        "Grendehus 7",
        "COMMUNITY_CENTRE",
        "FREE",
    )
    assert (row.address, row.postal_code, row.booking_url) == (
        "Hagegata 22",
        "0653",
        "https://x.example/book",
    )
    window = scratch_conn.execute(
        sa.select(venue_availability).where(venue_availability.c.venue_id == row.id)
    ).one()
    assert (window.weekday, str(window.starts), str(window.ends)) == (1, "17:00:00", "21:00:00")
    feed.pages([_deleted("7", "FacilityUse")], start=2)
    assert load_rpde(scratch_conn, FEED, fetch=feed).updated == 1
    live = scratch_conn.execute(
        sa.select(venue.c.external_id).where(
            venue.c.source == f"rpde:{FEED}", venue.c.archived_at.is_(None)
        )
    )
    assert live.scalars().all() == ["8"]


def test_an_item_seen_twice_counts_as_its_last_state(scratch_conn):
    feed = Feed()
    feed.pages([_series("1"), _series("2")], [_deleted("1")])
    report = load_rpde(scratch_conn, FEED, fetch=feed)
    assert report.inserted == 1
    assert _live(scratch_conn) == {"2": "Språkkafé 2"}


def test_a_run_stops_at_its_bound_and_the_next_goes_on(scratch_conn):
    feed = Feed()
    feed.pages([_series("1")], [_series("2")], [_series("3")])
    first = load_rpde(scratch_conn, FEED, fetch=feed, limits=Limits(pages=2))
    assert first.inserted == 2
    assert any("stopped after 2 pages" in w for w in first.warnings)
    assert feed_next_url(scratch_conn, FEED) == f"{FEED}?page=3"
    second = load_rpde(scratch_conn, FEED, fetch=feed, limits=Limits(pages=2))
    assert second.inserted == 1
    assert set(_live(scratch_conn)) == {"1", "2", "3"}


def test_a_run_past_its_bytes_is_refused(scratch_conn):
    feed = Feed()
    feed.pages([_series(str(n)) for n in range(20)])
    with pytest.raises(LoadError) as caught:
        load_rpde(scratch_conn, FEED, fetch=feed, limits=Limits(total_bytes=1000))
    assert caught.value.code == "TOO_LARGE"
    assert _live(scratch_conn) == {}


def _over_http(handler: Any, limits: Limits) -> LoadError:
    """load_rpde's own HTTP fetch against ``handler`` (an httpx mock transport's)."""
    import httpx

    from loaders.rpde import http_fetch

    with (
        http_fetch(limits, httpx.MockTransport(handler)) as fetch,
        pytest.raises(LoadError) as caught,
    ):
        fetch(FEED)
    return caught.value


def test_over_http_a_large_page_a_failure_and_an_error_status_are_refused():
    import httpx

    big = _over_http(
        lambda request: httpx.Response(200, content=b"x" * 5000), Limits(page_bytes=1000)
    )
    assert big.code == "TOO_LARGE"
    assert "1000 bytes" in big.reason
    status = _over_http(lambda request: httpx.Response(503), Limits())
    assert (status.code, status.reason) == ("FEED_UNAVAILABLE", "HTTP 503")

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    assert _over_http(refused, Limits()).code == "FEED_UNAVAILABLE"


def _refused(conn: sa.Connection, bad: dict[str, bytes]) -> LoadError:
    """Refused, nothing written, the position where it was: a first run loads one item and
    stops at page 2; the second finds ``bad`` there."""
    good = Feed()
    good.pages([_series("ok")])
    load_rpde(conn, FEED, fetch=good)
    assert feed_next_url(conn, FEED) == f"{FEED}?page=2"
    feed = Feed()
    feed.bodies = {**good.bodies, **bad}
    with pytest.raises(LoadError) as caught:
        load_rpde(conn, FEED, fetch=feed)
    assert _live(conn) == {"ok": "Språkkafé ok"}
    assert feed_next_url(conn, FEED) == f"{FEED}?page=2"
    return caught.value


def _bad_page(body: bytes) -> dict[str, bytes]:
    return {f"{FEED}?page=2": body}


def _bad_item(item: dict[str, Any]) -> dict[str, bytes]:
    page = {"next": f"{FEED}?page=3", "items": [_series("x"), item]}
    return {
        f"{FEED}?page=2": json.dumps(page).encode(),
        f"{FEED}?page=3": json.dumps({"next": f"{FEED}?page=3", "items": []}).encode(),
    }


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<!doctype html><html><body>Dataset site</body></html>", "it is HTML"),
        (b'{"items": [{"id": 1', "not JSON"),
        (b'{"data": []}', "no 'items' list"),
        (b'{"items": []}', "no 'next' URL"),
        (b'{"items": [], "next": "ftp://x.example/feed"}', "not http(s)"),
        (b"[" * 100_000 + b"]" * 100_000, "nests too deep"),
    ],
)
def test_a_page_that_is_not_rpde_is_refused(scratch_conn, body, reason):
    error = _refused(scratch_conn, _bad_page(body))
    assert error.code == "NOT_RPDE"
    assert reason in error.reason


@pytest.mark.parametrize(
    ("item", "field", "reason"),
    [
        (_series("bad", name=""), "title", "required"),
        (
            _series(
                "bad",
                eventSchedule=[
                    {
                        "repeatFrequency": "P1W",
                        "byDay": ["https://schema.org/Monday"],
                        "startTime": "18:00",
                        "endTime": "19:00",
                        "startDate": "1970-01-01",
                    }
                ],
            ),
            "eventSchedule.startDate",
            "1970",
        ),
        (
            _series("bad", location={"geo": {"latitude": 51.5, "longitude": -0.12}}),
            "lat",
            "outside",
        ),
        (_series("bad", location={"name": "somewhere"}), "location.geo", "required"),
        (_series("bad", eventSchedule=[{"repeatFrequency": "P1M"}]), "eventSchedule", "weekly"),
        ({**_series("bad"), "kind": "ScheduledSession"}, "kind", "SessionSeries"),
        (_facility("bad", hoursAvailable=[{"opens": "17:00"}]), "hoursAvailable", "closes"),
        (
            {"state": "updated", "kind": "SessionSeries", "id": "bad", "modified": 3},
            "data",
            "no data",
        ),
    ],
)
def test_a_bad_item_is_named_and_nothing_is_written(scratch_conn, item, field, reason):
    error = _refused(scratch_conn, _bad_item(item))
    assert error.field == field, str(error)
    assert reason in str(error)
    assert "bad" in (error.record or ""), str(error)
