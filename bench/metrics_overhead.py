"""What /metrics costs a request: in-process A/B of the same near-me request with metrics on
and off, in alternating rounds, and the instrumentation's own work timed alone.

Usage (the database must hold the demo data: `hverdag demo --no-serve` first):

    .venv/bin/python bench/metrics_overhead.py [--rounds 10] [--requests 200]

Each round sends ``--requests`` POSTs of the nearby query through httpx's ASGI transport to an
app with metrics, then to one without (the order swaps every round), and records the CPU time
(process_time) and wall time per request. The figure is the median over rounds of the per-round
difference, with its spread. The second part times the pieces alone: the middleware's
bookkeeping (``observe_request``) and the GraphQL extension's count per operation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from typing import Any

import httpx

from api.app import create_app  # noqa: TID251 - the benchmark drives the API in-process
from api.graphql.metrics import operation_counter  # noqa: TID251
from api.graphql.schema import build_schema  # noqa: TID251
from api.guard.metrics import Metrics, MetricsMiddleware  # noqa: TID251
from geo.db import Database
from geo.settings import load_settings

QUERY = (
    "{ nearby(at: {lat: 59.9155, lon: 10.772}, radiusMeters: 2000, first: 20, "
    "kinds: [ACTIVITY]) { totalCount edges { distanceMeters node { ... on Activity "
    "{ id title category } } } } }"
)


async def _round(app: Any, requests: int) -> tuple[float, float]:
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope: Any, receive: Any, send: Any) -> None:
            scope["state"] = dict(state or {})
            await app(scope, receive, send)

        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for _ in range(20):  # warm the pool and the caches
                await client.post("/graphql", json={"query": QUERY})
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(requests):
                response = await client.post("/graphql", json={"query": QUERY})
                assert response.status_code == 200, response.text
            return (
                (time.process_time() - cpu) / requests * 1e3,
                (time.perf_counter() - wall) / requests * 1e3,
            )


async def _wrapped(repeat: int = 50_000) -> dict[str, float]:
    """The middleware around a do-nothing ASGI app, and the extension around ``{ __typename }``
    (strawberry's own work for the extension included), each against the bare thing."""

    async def bare(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message: Any) -> None:
        return None

    scope = {"type": "http", "method": "GET", "path": "/x"}
    timings: dict[str, float] = {}
    for name, app in (("bare", bare), ("middleware", MetricsMiddleware(bare, Metrics()))):
        started = time.perf_counter()
        for _ in range(repeat):
            await app(dict(scope), None, send)
        timings[name] = (time.perf_counter() - started) / repeat * 1e6
    plain, counted = build_schema(), build_schema(extra_extensions=[operation_counter(Metrics())])
    for name, schema in (("schema", plain), ("schema_with_extension", counted)):
        for _ in range(200):
            await schema.execute("{ __typename }")
        started = time.perf_counter()
        for _ in range(repeat // 10):
            await schema.execute("{ __typename }")
        timings[name] = (time.perf_counter() - started) / (repeat // 10) * 1e6
    return {
        "middleware_us": round(timings["middleware"] - timings["bare"], 2),
        "extension_us": round(timings["schema_with_extension"] - timings["schema"], 2),
    }


def _pieces(repeat: int = 200_000) -> dict[str, float]:
    metrics = Metrics()
    started = time.perf_counter()
    for i in range(repeat):
        metrics.observe_request("POST", "/graphql", 200, 0.005 + (i % 7) * 1e-3)
    observe = (time.perf_counter() - started) / repeat * 1e6
    started = time.perf_counter()
    child = metrics.operations.labels("query", "nearby")
    for _ in range(repeat):
        metrics.operations.labels("query", "nearby").inc()
    count = (time.perf_counter() - started) / repeat * 1e6
    child.inc()
    return {"observe_request_us": round(observe, 2), "operation_count_us": round(count, 2)}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    database = Database.from_settings(load_settings())
    try:
        url = database.url.render_as_string(hide_password=False)
        apps = {
            "on": create_app(load_settings(database_url=url, metrics=True)),
            "off": create_app(load_settings(database_url=url, metrics=False)),
        }
        cpu: dict[str, list[float]] = {"on": [], "off": []}
        wall: dict[str, list[float]] = {"on": [], "off": []}
        for index in range(args.rounds):
            order = ("on", "off") if index % 2 == 0 else ("off", "on")
            for name in order:
                c, w = await _round(apps[name], args.requests)
                cpu[name].append(c)
                wall[name].append(w)
        cpu_diff = [on - off for on, off in zip(cpu["on"], cpu["off"], strict=True)]
        wall_diff = [on - off for on, off in zip(wall["on"], wall["off"], strict=True)]
        result = {
            "rounds": args.rounds,
            "requests_per_round": args.requests,
            "cpu_ms_per_request": {k: round(statistics.median(v), 3) for k, v in cpu.items()},
            "wall_ms_per_request": {k: round(statistics.median(v), 3) for k, v in wall.items()},
            "cpu_ms_difference_median": round(statistics.median(cpu_diff), 3),
            "cpu_ms_difference_range": [round(min(cpu_diff), 3), round(max(cpu_diff), 3)],
            "wall_ms_difference_median": round(statistics.median(wall_diff), 3),
            "pieces": {**_pieces(), **await _wrapped()},
            "load_average": os.getloadavg(),
        }
        print(json.dumps(result, indent=2))
    finally:
        database.close()


if __name__ == "__main__":
    asyncio.run(main())
