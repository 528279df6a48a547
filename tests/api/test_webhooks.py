"""Webhooks (issue 17, item 5): the outbox written with the change, bad subscriptions refused
with nothing stored, back-off and pause, and a real delivery worker (`hverdag deliver`, a
process of its own) against a receiver on 127.0.0.1 that fails the first attempts, is down
for a while and answers slowly, with the worker killed (SIGKILL) in the middle of a delivery
and started again: every change arrives, in order per entry, duplicates with the same event
id, signatures verify and a tampered body does not."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from api.delivery import Deliverer, body_of, check_url, sign, verify
from api.errors import BadUserInput
from geo.outbox import Due, lease_due, record_failure, record_success, retry_delay
from geo.settings import PROJECT_ROOT, Settings
from geo.tables import venue, webhook_delivery, webhook_event, webhook_subscription
from geo.vocab import EntryKind
from geo.writes.venues import create_venue, set_venue_archived, update_venue
from geo.writes.verification import Confirmation, verify_entries
from geo.writes.webhooks import SubscriptionFilter, create_subscription
from tests.api.writes_support import BERGEN, OSLO, As, admin_actor

CREATE = """mutation ($input: WebhookSubscriptionInput!) {
  createWebhookSubscription(input: $input) { secret subscription { id url paused } } }"""


def _until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Wait for ``condition`` (a deadline against a hang, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def _venue(engine: sa.Engine, keys: Any, name: str, place: dict[str, float]) -> int:
    with engine.begin() as conn:
        return create_venue(
            conn,
            admin_actor(keys),
            {"name": name, "venue_type": "LIBRARY", "owner_type": "MUNICIPALITY", **place},
        )


def _subscribe(engine: sa.Engine, keys: Any, url: str, **wanted: Any) -> tuple[int, str]:
    with engine.begin() as conn:
        return create_subscription(conn, admin_actor(keys), url, SubscriptionFilter(**wanted))


def _rename(engine: sa.Engine, keys: Any, venue_id: int, name: str) -> None:
    with engine.begin() as conn:
        version = conn.execute(sa.select(venue.c.version).where(venue.c.id == venue_id)).scalar()
        update_venue(conn, admin_actor(keys), venue_id, version, {"name": name})


def _leased(conn: sa.Connection, subscription: int, seconds: int) -> list[Any]:
    """The due deliveries of one subscription (leasing those of others too, which no test of
    this module delivers)."""
    leased = lease_due(conn, 50, timedelta(seconds=seconds))
    return [d for d in leased if d.subscription_id == subscription]


def _deliveries(engine: sa.Engine, subscription_id: int) -> list[sa.Row[Any]]:
    d, e = webhook_delivery.c, webhook_event.c
    with engine.connect() as conn:
        return conn.execute(
            sa.select(d.event_id, d.status, d.attempts, d.entry_id, e.action, e.version)
            .join(webhook_event, e.id == d.event_id)
            .where(d.subscription_id == subscription_id)
            .order_by(d.event_id)
        ).all()


# --- the outbox and the subscriptions -----------------------------------------------------------


def test_a_change_queues_a_delivery_in_its_transaction_and_a_verification_none(write_engine, keys):
    oslo = _venue(write_engine, keys, "outbox oslo", OSLO)
    bergen = _venue(write_engine, keys, "outbox bergen", BERGEN)
    subscription, _ = _subscribe(
        write_engine, keys, "https://example.org/hook", municipality_number="0301"
    )
    _rename(write_engine, keys, oslo, "outbox oslo 2")
    _rename(write_engine, keys, bergen, "outbox bergen 2")  # another municipality: not queued
    with write_engine.begin() as conn:  # verified: no change, nothing to push
        verify_entries(conn, admin_actor(keys), [Confirmation(EntryKind.VENUE, oslo)])
    conn = write_engine.connect()  # changed, then rolled back: no event
    with conn.begin() as transaction:
        update_venue(conn, admin_actor(keys), oslo, 2, {"name": "never"})
        transaction.rollback()
    conn.close()
    with write_engine.begin() as conn:
        set_venue_archived(conn, admin_actor(keys), oslo, 2, True)
    rows = _deliveries(write_engine, subscription)
    assert [(r.entry_id, r.action, r.version, r.status) for r in rows] == [
        (oslo, "updated", 2, "PENDING"),
        (oslo, "archived", 3, "PENDING"),
    ]


@pytest.mark.anyio
async def test_bad_subscriptions_are_refused_and_nothing_is_stored(
    schema, write_engine, async_write_engine, keys
):
    with write_engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(webhook_subscription))
        count = before.scalar_one()
    editor = As(schema, async_write_engine, keys["oslo"][1])
    cases = [
        ({"url": "http://example.org/hook"}, "input.url"),
        ({"url": "https://127.0.0.1/hook"}, "input.url"),  # loopback: tests only
        ({"url": "https://10.1.2.3/hook"}, "input.url"),
        ({"url": "ftp://example.org/hook"}, "input.url"),
        ({"url": "https://example.org/hook", "municipality": "9999"}, "input.municipality"),
        ({"url": "https://example.org/hook", "municipality": "oslo"}, "input.municipality"),
    ]
    for given, field_name in cases:
        error = await editor.error(CREATE, {"input": given})
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert error["extensions"]["field"] == field_name, error
    unknown = await editor(
        CREATE, {"input": {"url": "https://example.org/h", "categories": ["KNITTING"]}}
    )
    assert unknown.errors
    assert "KNITTING" in unknown.errors[0].message
    public = await As(schema, async_write_engine).error(
        CREATE, {"input": {"url": "https://a.example/"}}
    )
    assert public["extensions"]["code"] == "UNAUTHENTICATED"
    with write_engine.connect() as conn:
        after = conn.execute(sa.select(sa.func.count()).select_from(webhook_subscription))
        assert after.scalar_one() == count


def test_urls_are_https_to_public_hosts_unless_loopback_is_allowed() -> None:
    assert check_url("https://hooks.example.org/x", False) == "https://hooks.example.org/x"
    assert check_url("http://127.0.0.1:9/x", True) == "http://127.0.0.1:9/x"
    for url in ("http://127.0.0.1:9/x", "https://localhost/x", "https://[::1]/x"):
        with pytest.raises(BadUserInput):
            check_url(url, False)
    with pytest.raises(BadUserInput):
        check_url("http://hooks.example.org/x", True)  # loopback allowed, plain HTTP not


def test_failures_back_off_then_pause_and_resume_sends_what_was_kept(write_engine, keys):
    oslo = _venue(write_engine, keys, "pause oslo", OSLO)
    subscription, _ = _subscribe(
        write_engine, keys, "https://example.org/p", municipality_number="0301"
    )
    _rename(write_engine, keys, oslo, "pause oslo 2")
    assert [retry_delay(n, 30, 3600) for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]
    for attempt in range(3):
        with write_engine.begin() as conn:
            (due,) = [
                d
                for d in lease_due(conn, 50, timedelta(seconds=30))
                if d.subscription_id == subscription
            ]
            paused = record_failure(conn, due, "HTTP 500", base_s=0, most_s=0, pause_after=3)
        assert paused is (attempt == 2)
    with write_engine.begin() as conn:
        assert [
            d
            for d in lease_due(conn, 50, timedelta(seconds=30))
            if d.subscription_id == subscription
        ] == []
        conn.execute(
            sa.update(webhook_subscription)
            .where(webhook_subscription.c.id == subscription)
            .values(paused_at=None)
        )
        (due,) = [
            d
            for d in lease_due(conn, 50, timedelta(seconds=30))
            if d.subscription_id == subscription
        ]
        assert due.attempts == 3
        record_success(conn, due)
    (row,) = _deliveries(write_engine, subscription)
    assert (row.status, row.attempts) == ("DELIVERED", 4)


# --- where a delivery may go ----------------------------------------------------------------------


def _due(url: str) -> Due:
    return Due(
        delivery_id=1,
        subscription_id=1,
        url=url,
        secret="s3cret",
        event_id=7,
        entry_kind="VENUE",
        entry_id=12,
        action="UPDATED",
        version=3,
        municipality_number="0301",
        occurred_at=datetime(2026, 12, 7, 12, tzinfo=UTC),
        attempts=0,
    )


def _resolving(addresses: dict[str, list[str]]) -> Any:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in addresses:
            raise OSError(f"unknown host {host}")
        return addresses[host]

    return resolve


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("found", "reason"),
    [
        (["10.0.0.5"], "non-public address (10.0.0.5)"),
        (["93.184.216.34", "127.0.0.1"], "non-public address (127.0.0.1)"),
        (["::1"], "non-public address (::1)"),
        (["169.254.169.254"], "non-public address (169.254.169.254)"),
        ([], "non-public address (no address)"),
        (None, "cannot resolve hooks.example.org"),
    ],
)
async def test_a_name_that_resolves_to_a_private_address_is_never_requested(found, reason):
    """A registered public name may later point at this machine or the cloud's metadata
    service (a changed DNS record): the worker checks every address before each request."""
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: sent.append(request) or httpx.Response(200))
    resolve = _resolving({} if found is None else {"hooks.example.org": found})
    deliverer = Deliverer(None, Settings(), resolve)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport) as client:
        error = await deliverer._post(client, _due("https://hooks.example.org/hook"))
    assert error is not None
    assert reason in error
    assert sent == []


@pytest.mark.anyio
async def test_a_delivery_goes_to_the_address_that_was_checked():
    """Pinned: the request is made to the checked address, with the name kept for TLS (SNI
    and the certificate's check) and Host, so a second lookup cannot send it elsewhere."""
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: sent.append(request) or httpx.Response(204))
    resolve = _resolving({"hooks.example.org": ["2606:2800:220:1::1", "93.184.216.34"]})
    deliverer = Deliverer(None, Settings(), resolve)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport) as client:
        error = await deliverer._post(client, _due("https://hooks.example.org:8443/hook?a=1"))
    assert error is None
    (request,) = sent
    assert str(request.url) == "https://[2606:2800:220:1::1]:8443/hook?a=1"
    assert request.headers["host"] == "hooks.example.org:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.org"
    assert request.headers["hverdag-event-id"] == "7"


# --- a real worker against a real receiver -------------------------------------------------------


@dataclass
class Receiver:
    """An HTTP endpoint on 127.0.0.1 whose mood the test sets."""

    fail_first: int = 0
    slow_s: float = 0.0
    received: list[tuple[str, str, bytes, int]] = field(default_factory=list)
    in_flight: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    port: int = 0

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                with receiver.lock:
                    status = 500 if len(receiver.received) < receiver.fail_first else 200
                    receiver.received.append(
                        (
                            self.headers["hverdag-event-id"],
                            self.headers["hverdag-signature"],
                            body,
                            status,
                        )
                    )
                receiver.in_flight.set()
                time.sleep(receiver.slow_s)
                try:
                    self.send_response(status)
                    self.end_headers()
                except OSError:
                    pass  # the worker is gone (killed mid-delivery)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()

    def answered(self) -> list[tuple[str, str, bytes, int]]:
        with self.lock:
            return [r for r in self.received if r[3] == 200]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    made.start()
    yield made
    made.stop()


def _worker(write_url: Any) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HVERDAG_DATABASE_URL": write_url.render_as_string(hide_password=False),
        "HVERDAG_WEBHOOK_RETRY_BASE_S": "0.1",
        "HVERDAG_WEBHOOK_RETRY_MAX_S": "0.4",
        "HVERDAG_WEBHOOK_POLL_S": "0.05",
        "HVERDAG_WEBHOOK_TIMEOUT_S": "1",
        "HVERDAG_WEBHOOK_PAUSE_AFTER": "1000",
        "HVERDAG_WEBHOOK_ALLOW_LOOPBACK": "true",  # the receiver is on 127.0.0.1
    }
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "deliver"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_every_change_arrives_through_failures_an_outage_and_a_killed_worker(
    write_engine, write_url, keys, receiver
):
    with write_engine.begin() as conn:  # the earlier tests' subscriptions are not this one's
        conn.execute(sa.update(webhook_subscription).values(deleted_at=sa.func.now()))
        conn.execute(sa.delete(webhook_delivery))
    venues = [_venue(write_engine, keys, f"pushed {i}", OSLO) for i in range(3)]
    elsewhere = _venue(write_engine, keys, "not pushed", BERGEN)
    receiver.fail_first = 4
    subscription, secret = _subscribe(
        write_engine,
        keys,
        f"http://127.0.0.1:{receiver.port}/hook",
        municipality_number="0301",
        kinds=(EntryKind.VENUE,),
    )
    worker = _worker(write_url)
    try:
        for round_ in range(5):
            for venue_id in venues:
                _rename(write_engine, keys, venue_id, f"pushed {venue_id} r{round_}")
            _rename(write_engine, keys, elsewhere, f"not pushed r{round_}")
        expected = _deliveries(write_engine, subscription)
        assert len(expected) == 15
        # Failing first, then down for a while.
        _until(lambda: len(receiver.answered()) >= 3, 60, "the first deliveries")
        receiver.stop()
        _until(
            lambda: any(
                r.attempts > 0
                for r in _deliveries(write_engine, subscription)
                if r.status == "PENDING"
            ),
            60,
            "a failed attempt while the receiver is down",
        )
        # Back, slow: kill the worker while a delivery is in flight.
        receiver.slow_s = 0.5
        receiver.in_flight.clear()
        receiver.start()
        _until(receiver.in_flight.is_set, 60, "a delivery in flight")
        with receiver.lock:
            killed_mid = receiver.received[-1][0]
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        receiver.slow_s = 0.05
        worker = _worker(write_url)
        _until(
            lambda: all(r.status == "DELIVERED" for r in _deliveries(write_engine, subscription)),
            120,
            "every delivery after the restart",
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)

    answered = receiver.answered()
    by_event: dict[str, list[tuple[str, bytes]]] = {}
    for event_id, signature, body, _ in answered:
        by_event.setdefault(event_id, []).append((signature, body))
    # Every change arrived (none lost), only the matching ones, and nothing else.
    assert set(by_event) == {str(r.event_id) for r in expected}
    # The delivery cut by the kill went again, with the same event id and body.
    assert len([r for r in receiver.received if r[0] == killed_mid]) >= 2
    for copies in by_event.values():
        assert len({body for _, body in copies}) == 1
    # In order per entry: each entry's versions arrive increasing (first arrival of each).
    seen: dict[str, list[int]] = {}
    for event_id in dict.fromkeys(event_id for event_id, *_ in answered):
        entry = json.loads(by_event[event_id][0][1])["entry"]
        seen.setdefault(entry["id"], []).append(entry["version"])
    assert len(seen) == 3
    assert all(versions == sorted(versions) for versions in seen.values())
    # Signatures verify over the body as sent (judged at the time they carry); a tampered
    # body or another secret does not.
    for copies in by_event.values():
        for signature, body in copies:
            sent_at = int(signature.split(",")[0].removeprefix("t="))
            assert verify(secret, signature, body, now=sent_at)
            assert not verify(secret, signature, body.replace(b"venue", b"vanue"), now=sent_at)
            assert not verify("whsec_other", signature, body, now=sent_at)
            assert not verify(secret, signature, body, now=sent_at + 3600)  # a replay


def test_the_body_names_the_change_and_never_a_field(write_engine, keys) -> None:
    oslo = _venue(write_engine, keys, "body", OSLO)
    subscription, _ = _subscribe(
        write_engine, keys, "https://example.org/b", municipality_number="0301"
    )
    _rename(write_engine, keys, oslo, "body 2")
    with write_engine.begin() as conn:
        (due,) = [
            d
            for d in lease_due(conn, 50, timedelta(seconds=5))
            if d.subscription_id == subscription
        ]
    body = json.loads(body_of(due))
    assert body["type"] == "venue.updated"
    assert body["entry"]["version"] == 2
    assert body["entry"]["municipality"] == "0301"
    assert "name" not in json.dumps(body["entry"])
    assert sign("s", 1, b"x") == sign("s", 1, b"x") != sign("s", 2, b"x")
