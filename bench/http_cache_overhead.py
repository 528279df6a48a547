"""What HTTP caching (api/guard/caching.py) costs a request, in-process (no network, no
database): a POST (passed through), a public GET whose answer is held and hashed for its ETag,
and the same GET answered 304; each against the same trivial ASGI app without the middleware.

    .venv/bin/python bench/http_cache_overhead.py [--calls 100000] [--bytes 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from api.guard.caching import HttpCache, strong_etag  # noqa: TID251 - measures the API layer

HEADERS = [(b"host", b"hverdag.test"), (b"accept", b"application/json")]


def _app(body: bytes) -> Any:
    start = {
        "type": "http.response.start",
        "status": 200,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({**start, "headers": list(start["headers"])})
        await send({"type": "http.response.body", "body": body})

    return app


async def _send(message: Any) -> None:
    return None


async def _time(app: Any, method: str, headers: list[tuple[bytes, bytes]], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        scope = {"type": "http", "method": method, "path": "/graphql", "headers": headers}
        await app(scope, None, _send)
    return (time.perf_counter() - started) / calls * 1e6


async def main(calls: int, size: int) -> None:
    body = b'{"data":{"counties":[' + b"x" * size + b"]}}"
    bare = _app(body)
    cached = HttpCache(bare, max_age_s=60)
    etag = strong_etag("application/json", body).encode()
    rows = {
        "no middleware (GET)": await _time(bare, "GET", HEADERS, calls),
        "POST (passed through)": await _time(cached, "POST", HEADERS, calls),
        "GET, 200 with an ETag": await _time(cached, "GET", HEADERS, calls),
        "GET, 304": await _time(cached, "GET", [*HEADERS, (b"if-none-match", etag)], calls),
    }
    print(f"{len(body)} bytes of answer, {calls} calls each")
    for name, micros in rows.items():
        print(f"{name:28} {micros:6.2f} µs a request")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--bytes", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.bytes))
