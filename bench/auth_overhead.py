"""What the auth middleware costs a request, in-process (no network, no database): the public
path (no Authorization header), a cached key, and a malformed key (refused without the
database), each against the same trivial ASGI app without the middleware.

    .venv/bin/python bench/auth_overhead.py [--calls 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from api.guard.auth import AuthMiddleware, principal_of  # noqa: TID251 - measures the API layer
from geo.keys import ApiKey, hash_key
from geo.vocab import Role

SECRET = "hv_" + "A" * 43
HEADERS = [
    (b"host", b"hverdag.test"),
    (b"content-type", b"application/json"),
    (b"accept", b"*/*"),
    (b"user-agent", b"bench"),
]


async def _app(scope, receive, send) -> None:
    return None


async def _send(message) -> None:
    return None


async def _time(app, headers, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        await app({"type": "http", "headers": headers, "state": {"engine": None}}, None, _send)
    return (time.perf_counter() - started) / calls * 1e6


async def main(calls: int) -> None:
    middleware = AuthMiddleware(_app, cache_seconds=3600)
    key = ApiKey(1, SECRET[:9], Role.ADMIN, None, None, "bench", None, None, None)  # type: ignore[arg-type]
    middleware.cache.put(hash_key(SECRET), principal_of(key))
    bare = await _time(_app, HEADERS, calls)
    rows = {
        "no middleware": bare,
        "public (no header)": await _time(middleware, HEADERS, calls),
        "cached key": await _time(
            middleware, [*HEADERS, (b"authorization", f"Bearer {SECRET}".encode())], calls
        ),
        "malformed key (401)": await _time(
            middleware, [*HEADERS, (b"authorization", b"Bearer nope")], calls
        ),
    }
    for name, micros in rows.items():
        print(f"{name:22} {micros:7.2f} µs/request")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    asyncio.run(main(parser.parse_args().calls))
