"""/a/{id} and /v/{id}: Norwegian pages readable on a phone, with schema.org JSON-LD that parses
as JSON-LD (pyld) and has what a search engine's event rich result needs; the same JSON-LD as
application/ld+json."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import sqlalchemy as sa
from pyld import jsonld

from api.app import create_app
from api.http.ical import today
from api.http.pages import NEXT_SESSIONS, next_sessions
from geo.db import sync_engine
from geo.queries.calendar import calendar_activity
from geo.settings import load_settings
from geo.tables import activity
from tests.api.conftest import http_client

pytestmark = pytest.mark.anyio

SCRIPT = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


def _offline_loader(url: str, options: Any = None) -> dict[str, Any]:
    """schema.org's context, offline: every term is in the schema.org vocabulary (CI reaches
    no network but the package registries)."""
    assert url.rstrip("/") in ("https://schema.org", "http://schema.org"), url
    return {
        "contextUrl": None,
        "documentUrl": url,
        "document": {"@context": {"@vocab": "https://schema.org/"}},
    }


def _expanded(data: dict[str, Any]) -> list[dict[str, Any]]:
    expanded = jsonld.expand(data, {"documentLoader": _offline_loader})
    assert expanded, "JSON-LD that expands to nothing"
    return expanded


def _iris(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if not key.startswith("@"):
                found.add(key)
            found |= _iris(value)
    elif isinstance(node, list):
        for item in node:
            found |= _iris(item)
    return found


def _embedded(page: str) -> dict[str, Any]:
    scripts = SCRIPT.findall(page)
    assert len(scripts) == 1
    return json.loads(scripts[0])


def _activity_with_venue(conn: sa.Connection) -> int:
    return int(
        conn.execute(
            sa.text(
                "SELECT a.id FROM activity a JOIN venue v ON v.id = a.venue_id "
                "WHERE a.archived_at IS NULL AND a.status = 'ACTIVE' AND v.address IS NOT NULL "
                "AND EXISTS "
                "(SELECT 1 FROM activity_schedule s WHERE s.activity_id = a.id "
                "AND s.valid_to IS NULL) ORDER BY a.id LIMIT 1"
            )
        ).scalar_one()
    )


async def test_an_activity_page_carries_events_a_search_engine_can_show(client, loaded_conn):
    activity_id = _activity_with_venue(loaded_conn)
    response = await client.get(f"/a/{activity_id}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<html lang="nb">' in page
    assert 'name="viewport"' in page
    assert f"webcal://hverdag.test/calendar/activities/{activity_id}.ics" in page
    data = _embedded(page)
    alone = await client.get(f"/a/{activity_id}.jsonld")
    assert alone.headers["content-type"].startswith("application/ld+json")
    negotiated = await client.get(f"/a/{activity_id}", headers={"accept": "application/ld+json"})
    assert alone.json() == negotiated.json() == data

    expanded = _expanded(data)
    assert expanded[0]["@type"] == ["https://schema.org/EventSeries"]
    assert all(iri.startswith("https://schema.org/") for iri in _iris(expanded))
    assert (
        len(
            jsonld.to_rdf(
                data, {"documentLoader": _offline_loader, "format": "application/n-quads"}
            ).splitlines()
        )
        > 50
    )

    a = calendar_activity(loaded_conn, activity_id)
    assert a is not None
    assert data["name"] == a.title
    expected = [o.starts.isoformat() for o in next_sessions(a, today())]
    events = data["subEvent"]
    assert [e["startDate"] for e in events] == expected
    assert 0 < len(events) <= NEXT_SESSIONS
    for event in events:  # what Google's Event rich result requires and recommends
        assert event["@type"] == "Event"
        assert event["name"] == a.title
        assert event["startDate"] < event["endDate"]
        assert event["eventStatus"] == "https://schema.org/EventScheduled"
        assert event["eventAttendanceMode"].endswith("OfflineEventAttendanceMode")
        assert event.get("description") == a.description
        location = event["location"]
        assert location["name"] == a.venue_name
        assert location["address"]["streetAddress"] == a.address
        assert location["address"]["addressCountry"] == "NO"
        assert location["address"].get("postalCode") == a.postal_code
        assert location["address"]["addressLocality"]
        assert {"latitude", "longitude"} <= set(location["geo"])
        assert {"price", "priceCurrency", "url", "availability"} <= set(event["offers"])
        assert event["organizer"]["name"]


async def test_a_venue_page_lists_its_live_activities(client, loaded_conn):
    venue_id = loaded_conn.execute(
        sa.text(
            "SELECT v.id FROM venue v JOIN activity a ON a.venue_id = v.id "
            "WHERE v.archived_at IS NULL AND a.archived_at IS NULL AND a.status = 'ACTIVE' "
            "AND v.address IS NOT NULL GROUP BY v.id ORDER BY count(*) DESC LIMIT 1"
        )
    ).scalar_one()
    response = await client.get(f"/v/{venue_id}")
    assert response.status_code == 200, response.text
    data = _embedded(response.text)
    assert data == (await client.get(f"/v/{venue_id}.jsonld")).json()
    expanded = _expanded(data)
    assert expanded[0]["@type"] == ["https://schema.org/Place"]
    assert all(iri.startswith("https://schema.org/") for iri in _iris(expanded))
    live = set(
        loaded_conn.execute(
            sa.text(
                "SELECT id FROM activity WHERE venue_id = :v AND archived_at IS NULL "
                "AND status = 'ACTIVE'"
            ),
            {"v": venue_id},
        ).scalars()
    )
    assert {e["@id"].rsplit("/", 1)[1] for e in data["event"]} == {str(i) for i in live}
    for activity_id in live:
        assert f'href="http://hverdag.test/a/{activity_id}"' in response.text
    assert {"streetAddress", "addressCountry"} <= set(data["address"])


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/a/999999999", 404),
        ("/a/999999999.jsonld", 404),
        ("/v/999999999", 404),
        ("/a/not-an-id", 400),
        ("/v/QWN0aXZpdHk6MQ==", 400),  # an Activity's global id is not a venue's
    ],
)
async def test_unknown_and_bad_ids(client, path, status):
    response = await client.get(path)
    assert response.status_code == status


async def test_text_is_escaped_and_an_archived_activity_is_gone(fresh_demo_url):
    engine = sync_engine(fresh_demo_url, poolclass=sa.pool.NullPool)
    hostile = '</script><script>alert("x")</script> & <b>co</b>'
    try:
        with engine.begin() as conn:
            activity_id = _activity_with_venue(conn)
            conn.execute(
                sa.update(activity).where(activity.c.id == activity_id).values(title=hostile)
            )
        settings = load_settings(database_url=fresh_demo_url.render_as_string(hide_password=False))
        async with http_client(create_app(settings)) as client:
            page = (await client.get(f"/a/{activity_id}")).text
            assert "<script>alert" not in page
            assert _embedded(page)["name"] == hostile
            with engine.begin() as conn:
                conn.execute(
                    sa.update(activity)
                    .where(activity.c.id == activity_id)
                    .values(archived_at=sa.func.now())
                )
            gone = await client.get(f"/a/{activity_id}")
            assert gone.status_code == 410
            assert "subEvent" not in _embedded(gone.text)
    finally:
        engine.dispose()
