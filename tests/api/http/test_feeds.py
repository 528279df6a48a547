"""GET /feeds/…: OpenActive RPDE feeds. Every item type passes OpenActive's own data model
validator (@openactive/data-model-validator, tests/openactive/); a walk follows ``next`` to
the last page in (modified, id) order and finds exactly the database's rows; deletions stay as
``deleted`` items; paging skips and repeats nothing while writers commit in any order."""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from api.app import create_app
from geo.db import sync_engine
from geo.feeds import refresh_occurrences
from geo.queries import feeds as feed_queries
from geo.settings import PROJECT_ROOT, load_settings
from geo.tables import activity, activity_schedule, feed_occurrence, venue
from tests.api.conftest import http_client

pytestmark = pytest.mark.anyio

VALIDATOR = PROJECT_ROOT / "tests" / "openactive"
FEEDS = ("session-series", "scheduled-sessions", "facility-uses", "facility-use-slots")
#: (type, field) of the validator's failures that say what it cannot check offline or what
#: hverdag cannot be; nothing else may fail:
#: - ``activity``: the validator fetches https://openactive.io/activity-list (CI reaches no
#:   network but the package registries) and insists on that list, which names physical
#:   activities only: a language café or homework help is not in it, so hverdag publishes its
#:   own SKOS scheme (/vocab/activity-categories), which the validator reports as such.
#: - ``inLanguage``: a schema.org property OpenActive's model lacks; the validator would fetch
#:   schema.org's definitions to check it.
OFFLINE_OR_NOT_PHYSICAL = {
    ("activity_not_in_activity_list", "activity"),
    ("use_official_activity_list", "activity"),
    ("file_not_found", "activity"),
    ("file_not_found", "inLanguage"),
}


def _field(path: str) -> str:
    return re.sub(r"\[\d+\]$", "", path.rsplit(".", 1)[-1])


@pytest.fixture(scope="module")
def feed_url(server: Any, demo_template_url: URL) -> Iterator[URL]:
    """A writable copy of the demo with its sessions and slots refreshed."""
    from geo.db import drop_database
    from tests.conftest import _clone

    url = _clone(server, demo_template_url, "feeds")
    engine = sync_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            refresh_occurrences(conn)
    finally:
        engine.dispose()
    yield url
    drop_database(url)


@pytest.fixture(scope="module")
def feed_engine(feed_url: URL) -> Iterator[sa.Engine]:
    engine = sync_engine(feed_url, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
async def feed_client(feed_url: URL) -> AsyncIterator[httpx.AsyncClient]:
    settings = load_settings(
        database_url=feed_url.render_as_string(hide_password=False), rate_limit_enabled=False
    )
    async with http_client(create_app(settings)) as client:
        yield client


async def _walk(
    client: httpx.AsyncClient, url: str, pages: list[str] | None = None
) -> tuple[list[dict[str, Any]], str]:
    """Every item from ``url`` to the last page, and the last page's URL."""
    items: list[dict[str, Any]] = []
    while True:
        response = await client.get(url)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert set(body) == {"next", "items", "license"}
        assert body["license"].startswith("https://")
        if pages is not None:
            pages.append(url)
        if not body["items"]:
            assert body["next"] == url  # the last page names itself
            return items, url
        items += body["items"]
        url = body["next"]


def _key(item: dict[str, Any]) -> tuple[int, Any]:
    return item["modified"], item["id"]


def _validate(documents: list[Any], tmp_path: Path) -> list[list[dict[str, Any]]]:
    files = []
    for number, document in enumerate(documents):
        path = tmp_path / f"doc{number}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        files.append(str(path))
    done = subprocess.run(
        ["node", "validate.js", *files],
        cwd=VALIDATOR,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(done.stdout)


def _failures(results: list[dict[str, Any]]) -> list[str]:
    return [
        f"{r['type']} at {r['path']}: {r['message'].splitlines()[0]}"
        for r in results
        if r["severity"] == "failure"
        and (r["type"], _field(r["path"])) not in OFFLINE_OR_NOT_PHYSICAL
    ]


async def test_every_feed_walks_to_its_end_in_order_with_every_row(feed_client, feed_engine):
    with feed_engine.connect() as conn:
        activities = conn.execute(
            sa.text(
                "SELECT a.id, a.archived_at IS NULL AND a.status = 'ACTIVE' AND EXISTS "
                "(SELECT 1 FROM activity_schedule s WHERE s.activity_id = a.id) FROM activity a"
            )
        ).all()
        venues_with_windows = set(
            conn.execute(
                sa.text(
                    "SELECT v.id FROM venue v WHERE v.archived_at IS NULL "
                    "AND v.price_model = 'FREE' AND EXISTS "
                    "(SELECT 1 FROM venue_availability w WHERE w.venue_id = v.id)"
                )
            ).scalars()
        )
        venue_count = conn.execute(sa.select(sa.func.count()).select_from(venue)).scalar_one()
        occurrences = {
            kind: set(
                conn.execute(
                    sa.select(feed_occurrence.c.id).where(
                        feed_occurrence.c.kind == kind, feed_occurrence.c.deleted_at.is_(None)
                    )
                ).scalars()
            )
            for kind in ("ScheduledSession", "Slot")
        }
    walked = {}
    for name in FEEDS:
        items, _ = await _walk(feed_client, f"http://hverdag.test/feeds/{name}")
        keys = [_key(item) for item in items]
        assert keys == sorted(keys), name
        assert len(set(keys)) == len(keys), name
        assert len({item["id"] for item in items}) == len(items), f"{name}: an id twice"
        walked[name] = items

    series = walked["session-series"]
    assert {i["id"] for i in series} == {a.id for a in activities}
    assert {i["id"] for i in series if i["state"] == "updated"} == {
        a.id for a in activities if a[1]
    }
    assert all(("data" in i) == (i["state"] == "updated") for i in series)
    uses = walked["facility-uses"]
    assert len(uses) == venue_count
    assert {i["id"] for i in uses if i["state"] == "updated"} == venues_with_windows
    assert venues_with_windows, "the demo has venues with free availability"
    sessions = {i["id"] for i in walked["scheduled-sessions"] if i["state"] == "updated"}
    assert sessions == occurrences["ScheduledSession"]
    assert len(sessions) > 1000
    slots = {i["id"] for i in walked["facility-use-slots"] if i["state"] == "updated"}
    assert slots == occurrences["Slot"]
    assert slots


async def test_the_openactive_validator_passes_every_item_type_and_the_dataset(
    feed_client, tmp_path
):
    documents: list[Any] = []
    for name in FEEDS:
        body = (await feed_client.get(f"/feeds/{name}")).json()
        updated = [item["data"] for item in body["items"] if item["state"] == "updated"][:25]
        assert updated, name
        documents += updated
        documents.append(body)  # the RPDE page itself
    site = (await feed_client.get("/openactive")).text
    start = site.index('<script type="application/ld+json">') + len(
        '<script type="application/ld+json">'
    )
    dataset = json.loads(site[start : site.index("</script>", start)])
    assert {d["contentUrl"].rsplit("/", 1)[1] for d in dataset["distribution"]} == set(FEEDS)
    documents.append(dataset)
    results = _validate(documents, tmp_path)
    failures = {
        f"{number} {doc.get('@type', 'RPDE page')}": _failures(found)
        for number, (doc, found) in enumerate(zip(documents, results, strict=True))
        if _failures(found)
    }
    assert failures == {}
    # The only failures left are the activity lists': the validator did check each item.
    assert any(r["type"] == "use_official_activity_list" for found in results for r in found)


def _state(items: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """What a consumer holds after applying ``items`` in order: the last item per id."""
    held: dict[Any, dict[str, Any]] = {}
    for item in items:
        held[item["id"]] = item
    return held


async def test_a_transaction_that_commits_late_is_not_skipped(
    feed_client, feed_engine, monkeypatch
):
    """A writes first and commits last; B writes later and commits first. Ordered by when a
    change was made, a client reading between the two commits would pass B's place and never
    see A. The feed holds B back until A has ended, then gives both."""
    monkeypatch.setattr(feed_queries, "PAGE_SIZE", 7)
    _, tail = await _walk(feed_client, "http://hverdag.test/feeds/session-series")
    with feed_engine.connect() as conn:
        first, second = conn.execute(
            sa.text(
                "SELECT a.id FROM activity a WHERE a.archived_at IS NULL AND a.status = 'ACTIVE' "
                "AND EXISTS (SELECT 1 FROM activity_schedule s WHERE s.activity_id = a.id) "
                "ORDER BY a.id LIMIT 2"
            )
        ).scalars()
    late = feed_engine.connect()
    try:
        late.begin()
        late.execute(sa.update(activity).where(activity.c.id == first).values(title="A: sent last"))
        with feed_engine.begin() as early:
            early.execute(
                sa.update(activity).where(activity.c.id == second).values(title="B: sent first")
            )
        meanwhile, tail = await _walk(feed_client, tail)
        assert meanwhile == []  # B waits: A could still commit a smaller stamp
        late.commit()
    finally:
        late.close()
    after, _ = await _walk(feed_client, tail)
    names = {item["id"]: item["data"]["name"] for item in after}
    assert names == {first: "A: sent last", second: "B: sent first"}


async def test_paging_while_writers_commit_skips_and_repeats_nothing(
    feed_client, feed_engine, monkeypatch
):
    """A client pages through the feed from its start while threads update and archive
    activities in small transactions; then it follows ``next`` to the end. Its items are in
    strict (modified, id) order, no (modified, id) twice, and what it holds is the database."""
    monkeypatch.setattr(feed_queries, "PAGE_SIZE", 25)
    with feed_engine.connect() as conn:
        ids = list(
            conn.execute(
                sa.select(activity.c.id)
                .where(activity.c.archived_at.is_(None))
                .order_by(activity.c.id)
            ).scalars()
        )[:300]
    errors: list[BaseException] = []

    def write(offset: int) -> None:
        try:
            for n in range(40):
                target = ids[(offset + n * 7) % len(ids)]
                with feed_engine.begin() as conn:
                    values: dict[str, Any] = {"title": f"writer {offset} change {n}"}
                    if n % 9 == 4:
                        values["archived_at"] = sa.func.now()
                    conn.execute(sa.update(activity).where(activity.c.id == target).values(values))
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)

    writers = [threading.Thread(target=write, args=(offset,)) for offset in (0, 3, 5)]
    for writer in writers:
        writer.start()
    items: list[dict[str, Any]] = []
    url = "http://hverdag.test/feeds/session-series"
    try:
        while any(w.is_alive() for w in writers):
            found, url = await _walk(feed_client, url)
            items += found
    finally:
        for writer in writers:
            writer.join()
    assert errors == []
    found, _ = await _walk(feed_client, url)
    items += found
    keys = [_key(item) for item in items]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    held = _state(items)
    with feed_engine.connect() as conn:
        truth = {
            r.id: r
            for r in conn.execute(
                sa.text(
                    "SELECT a.id, a.title, a.feed_stamp, a.archived_at IS NULL AND "
                    "a.status = 'ACTIVE' AND EXISTS (SELECT 1 FROM activity_schedule s "
                    "WHERE s.activity_id = a.id) AS live FROM activity a"
                )
            )
        }
    assert set(held) == set(truth)
    for activity_id, item in held.items():
        row = truth[activity_id]
        assert item["modified"] == row.feed_stamp, activity_id
        assert (item["state"] == "updated") == row.live, activity_id
        if row.live:
            assert item["data"]["name"] == row.title, activity_id
    assert sum(1 for r in truth.values() if r.title.startswith("writer")) > 30


async def test_deletions_stay_a_week_and_refreshes_change_only_what_changed(
    feed_client, feed_engine
):
    with feed_engine.begin() as conn:  # in step with the earlier tests' writes
        refresh_occurrences(conn)
    tail = {}
    for name in FEEDS:
        _, tail[name] = await _walk(feed_client, f"http://hverdag.test/feeds/{name}")
    with feed_engine.begin() as conn:
        assert refresh_occurrences(conn).summary() == (
            "ScheduledSession: 0 new, 0 changed, 0 deleted; Slot: 0 new, 0 changed, "
            "0 deleted; 0 purged"
        )
    for name in FEEDS:  # a refresh that finds nothing new moves nothing
        assert (await _walk(feed_client, tail[name]))[0] == []

    with feed_engine.begin() as conn:
        archived, deleted, unscheduled = conn.execute(
            sa.text(
                "SELECT a.id FROM activity a WHERE a.archived_at IS NULL AND a.status = 'ACTIVE' "
                "AND EXISTS (SELECT 1 FROM feed_occurrence o WHERE o.parent_id = a.id "
                "AND o.kind = 'ScheduledSession' AND o.deleted_at IS NULL) ORDER BY a.id DESC "
                "LIMIT 3"
            )
        ).scalars()
        conn.execute(
            sa.update(activity).where(activity.c.id == archived).values(archived_at=sa.func.now())
        )
        conn.execute(sa.delete(activity).where(activity.c.id == deleted))
        conn.execute(
            sa.delete(activity_schedule).where(activity_schedule.c.activity_id == unscheduled)
        )
        report = refresh_occurrences(conn)
        sessions_left = conn.execute(
            sa.select(sa.func.count()).where(
                feed_occurrence.c.kind == "ScheduledSession",
                feed_occurrence.c.parent_id.in_([archived, deleted, unscheduled]),
                feed_occurrence.c.deleted_at.is_(None),
            )
        ).scalar_one()
    assert sessions_left == 0
    assert report.deleted["ScheduledSession"] > 0
    series, _ = await _walk(feed_client, tail["session-series"])
    assert {i["id"]: i["state"] for i in series} == {
        archived: "deleted",
        deleted: "deleted",
        unscheduled: "deleted",
    }
    assert all("data" not in i for i in series)
    sessions, _ = await _walk(feed_client, tail["scheduled-sessions"])
    assert len(sessions) == report.deleted["ScheduledSession"]
    assert {i["state"] for i in sessions} == {"deleted"}

    # Deleted items stay at least 7 days: purged only after KEEP_DELETED (8 days).
    with feed_engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE feed_occurrence SET deleted_at = now() - interval '6 days' "
                "WHERE parent_id = :a AND kind = 'ScheduledSession'"
            ),
            {"a": archived},
        )
        conn.execute(
            sa.text(
                "UPDATE feed_occurrence SET deleted_at = now() - interval '9 days' "
                "WHERE parent_id = :a AND kind = 'ScheduledSession'"
            ),
            {"a": unscheduled},
        )
        conn.execute(sa.text("UPDATE feed_tombstone SET deleted_at = now() - interval '9 days'"))
        refresh_occurrences(conn)
        kept = conn.execute(
            sa.text(
                "SELECT parent_id, count(*) FROM feed_occurrence WHERE kind = 'ScheduledSession' "
                "AND parent_id IN (:a, :b, :c) GROUP BY parent_id"
            ),
            {"a": archived, "b": deleted, "c": unscheduled},
        ).all()
        tombstones = conn.execute(sa.text("SELECT count(*) FROM feed_tombstone")).scalar_one()
    per_activity = {
        activity_id: len([i for i in sessions if i["id"].startswith(f"{activity_id}-")])
        for activity_id in (archived, deleted)
    }
    assert dict(kept) == per_activity  # deleted 6 days ago and just now: kept; 9 days: purged
    assert tombstones == 0


async def test_what_an_item_embeds_moves_it(feed_client, feed_engine):
    """Renaming a venue changes the SessionSeries of its activities (their location): they
    move to the end of the feed; an update that changes nothing moves nothing."""
    _, tail = await _walk(feed_client, "http://hverdag.test/feeds/session-series")
    with feed_engine.begin() as conn:
        venue_id = conn.execute(
            sa.text(
                "SELECT a.venue_id FROM activity a WHERE a.venue_id IS NOT NULL "
                "AND a.archived_at IS NULL AND a.status = 'ACTIVE' AND EXISTS "
                "(SELECT 1 FROM activity_schedule s WHERE s.activity_id = a.id) LIMIT 1"
            )
        ).scalar_one()
        conn.execute(sa.update(activity).values(title=activity.c.title))  # no change
        conn.execute(sa.update(venue).where(venue.c.id == venue_id).values(name="Nytt navn"))
        moved = set(
            conn.execute(
                sa.text(
                    "SELECT a.id FROM activity a WHERE a.venue_id = :v AND a.archived_at IS NULL "
                    "AND a.status = 'ACTIVE' AND EXISTS "
                    "(SELECT 1 FROM activity_schedule s WHERE s.activity_id = a.id)"
                ),
                {"v": venue_id},
            ).scalars()
        )
    items, _ = await _walk(feed_client, tail)
    assert {i["id"] for i in items} == moved
    assert {i["data"]["location"]["name"] for i in items} == {"Nytt navn"}


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/feeds/session-series?afterTimestamp=5", 400, "afterId"),
        ("/feeds/session-series?afterId=5", 400, "afterTimestamp"),
        ("/feeds/session-series?afterTimestamp=x&afterId=5", 400, "afterTimestamp"),
        ("/feeds/session-series?afterTimestamp=5&afterId=abc", 400, "afterId"),
        ("/feeds/session-series?page=2", 400, "page"),
        ("/feeds/courses", 404, None),
    ],
)
async def test_bad_feed_requests_are_named(client, path, status, field):
    response = await client.get(path)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error.get("field") == field
    assert error["reason"]


def test_a_restored_clock_keeps_increasing(feed_engine):
    """A restore into another cluster brings stamps from transaction ids far above the new
    cluster's: the rebase (geo/backup.py runs it) shifts the clock past the highest one."""
    with feed_engine.begin() as conn:
        highest = conn.execute(sa.text("SELECT max(feed_stamp) FROM activity")).scalar_one()
        restored = highest + 10**9
        conn.execute(
            sa.text(
                "INSERT INTO feed_tombstone (kind, id, deleted_at, feed_stamp) "
                "VALUES ('SessionSeries', -1, now(), :s)"
            ),
            {"s": restored},
        )
        conn.execute(sa.text("SELECT hverdag_feed_clock_rebase()"))
    with feed_engine.begin() as conn:
        stamp = conn.execute(
            sa.text(
                "UPDATE activity SET title = title || ' ' WHERE id = (SELECT min(id) FROM "
                "activity) RETURNING feed_stamp"
            )
        ).scalar_one()
        conn.execute(sa.text("DELETE FROM feed_tombstone WHERE id = -1"))
    assert stamp > restored
