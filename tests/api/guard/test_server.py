"""The limits on a request's head and on idle connections, in the server `hverdag serve` runs
(api.guard.server): a real server on 127.0.0.1, spoken to over raw sockets."""

from __future__ import annotations

import json
import select
import socket
import time

import httpx
import pytest

from api.cli import build_parser
from api.guard.server import PROTOCOL, uvicorn_arguments, uvicorn_options
from geo.settings import load_settings
from tests.api.running import Server, serving

HEAD = b"GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: hverdag.test\r\n"


@pytest.fixture(scope="module")
def http_server(loaded_url, tmp_path_factory):
    with serving(
        loaded_url,
        tmp_path_factory.mktemp("server"),
        header_timeout_s="1",
        keep_alive_s="1",
        max_header_bytes="16384",
        rate_limit_enabled="false",
    ) as running:
        yield running


def _read_until_closed(sock: socket.socket, within: float) -> bytes:
    """Everything the server sends until it closes the connection; fails if it is still open
    after ``within`` seconds of silence."""
    received = b""
    sock.settimeout(within)
    while True:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            pytest.fail(f"still open after {within} s; received {received[:200]!r}")
        except ConnectionResetError:
            break
        if not chunk:
            break
        received += chunk
    return received


def _answer(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def test_an_oversize_header_is_refused_with_431_and_the_connection_closed(http_server: Server):
    with http_server.connect() as sock:
        # 200 KB of Authorization: the server stops reading at 16 KB, answers and closes.
        sock.sendall(HEAD + b"Authorization: Bearer " + b"a" * 200_000 + b"\r\n\r\n")
        received = _read_until_closed(sock, within=10)
    status, headers, body = _answer(received)
    assert status == 431
    assert headers["connection"] == "close"
    (error,) = json.loads(body)["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["limit"] == 16384
    # The same server still answers a head within the limit, with a header of its own.
    answer = httpx.get(
        f"{http_server.base}/graphql",
        params={"query": "{ __typename }"},
        headers={"x-padding": "p" * 8000},
    )
    assert answer.status_code == 200


def test_a_dribbled_header_is_cut_after_the_header_timeout(http_server: Server):
    """One header line every 0.2 s from 20 connections: each is answered 408 and closed about
    a second after it opened, while /healthz on another connection answers all along."""
    slow = [http_server.connect() for _ in range(20)]
    try:
        for sock in slow:
            sock.sendall(HEAD)
        open_ = set(slow)
        answers: dict[socket.socket, bytes] = dict.fromkeys(slow, b"")
        deadline = time.monotonic() + 10  # 10 × the timeout
        health = []
        while open_ and time.monotonic() < deadline:
            for sock in list(open_):
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    open_.discard(sock)
            readable, _, _ = select.select(list(open_), [], [], 0.2)
            for sock in readable:
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                answers[sock] += chunk
                if not chunk:
                    open_.discard(sock)
            health.append(httpx.get(f"{http_server.base}/healthz", timeout=5).status_code)
        assert not open_, f"{len(open_)} of 20 slow connections still open after 10 s"
        assert set(health) == {200}
        statuses = {_answer(raw)[0] for raw in answers.values() if raw}
        assert statuses == {408}
    finally:
        for sock in slow:
            sock.close()


def test_idle_connections_are_closed(http_server: Server):
    # A connection that never sends a byte: closed after the header timeout, with no answer.
    with http_server.connect() as sock:
        received = _read_until_closed(sock, within=10)
    assert received == b""
    # A kept-alive connection after its response: closed after HVERDAG_KEEP_ALIVE_S.
    with http_server.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: hverdag.test\r\n\r\n")
        received = _read_until_closed(sock, within=10)
    assert _answer(received)[0] == 200


def test_pipelined_requests_on_one_connection_still_work(http_server: Server):
    with http_server.connect() as sock:
        request = b"GET /healthz HTTP/1.1\r\nHost: hverdag.test\r\n\r\n"
        sock.sendall(request * 3)
        received = b""
        sock.settimeout(10)
        while received.count(b"HTTP/1.1 200") < 3:
            chunk = sock.recv(65536)
            assert chunk, received
            received += chunk


def test_serve_passes_the_limits_to_uvicorn_both_ways():
    """`hverdag serve` runs uvicorn in-process (one worker) or as uvicorn's command line (several):
    both get the same options, and the command line's parse back to them."""
    from uvicorn.main import main as uvicorn_main

    settings = load_settings(keep_alive_s=3, max_header_bytes=20000, header_timeout_s=4)
    options = uvicorn_options(settings)
    assert options == {
        "http": PROTOCOL,
        "timeout_keep_alive": 3,
        "h11_max_incomplete_event_size": 20000,
        "proxy_headers": False,
    }
    parsed = uvicorn_main.make_context(
        "uvicorn", ["api.app:create_app", *uvicorn_arguments(settings)]
    ).params
    assert {name: parsed[name] for name in options} == options
    trusted = load_settings(forwarded_allow_ips="10.0.0.0/8")
    parsed = uvicorn_main.make_context(
        "uvicorn", ["api.app:create_app", *uvicorn_arguments(trusted)]
    ).params
    assert (parsed["proxy_headers"], parsed["forwarded_allow_ips"]) == (True, "10.0.0.0/8")
    assert build_parser().parse_args(["serve"]).command == "serve"


@pytest.mark.parametrize(
    ("trusted", "expected"), [(None, [200, 429, 429]), ("127.0.0.1", [200] * 3)]
)
def test_x_forwarded_for_moves_no_one_to_another_bucket_unless_proxies_are_trusted(
    loaded_url, tmp_path, trusted, expected
):
    """A client that sends a new X-Forwarded-For with every request is still one address to the
    rate limit (uvicorn's proxy headers are off), unless HVERDAG_FORWARDED_ALLOW_IPS names its
    address as a trusted proxy's: then each forwarded address has its own bucket."""
    settings = {
        "rate_limit_per_minute": '{"PUBLIC": 60}',
        "rate_limit_burst_s": "1",  # one request, then one a second
    }
    if trusted:
        settings["forwarded_allow_ips"] = trusted
    with serving(loaded_url, tmp_path, **settings) as running:
        statuses = [
            httpx.get(
                f"{running.base}/graphql",
                params={"query": "{ __typename }"},
                headers={"x-forwarded-for": f"203.0.113.{n}"},
            ).status_code
            for n in range(1, 4)
        ]
    assert statuses == expected
