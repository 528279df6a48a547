"""Where hverdag's time goes on issue 19's shapes, in-process: the app (create_app, its lifespan,
every middleware) driven through httpx's ASGI transport at c=1, on bench_nearby (bench/peer.py's
database), cycling through the shape's inputs as bench/peer.py draws them.

    .venv/bin/python bench/shapes_profile.py [--shape all] [--requests 500] [--profile 25]

For each shape: CPU and wall milliseconds per request (the client's work included, the same for
every shape), and with ``--profile N`` the N functions with the most cumulative time under
cProfile (a second pass: cProfile slows Python down, so its figures are shares, not times).
Timings stay here and in docs/performance.md, never in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import nearby as near
import peer_shapes as shapes

from api.app import create_app  # noqa: TID251 - the benchmark drives the API in-process
from geo.db import Database
from geo.settings import load_settings

SHAPES = ("near-me", "where-am-i", "venues")


def _bodies(url: Any, shape: str, n: int, seed: int) -> list[bytes]:
    if shape == "venues":
        numbers = shapes.draw_municipalities(url, n, seed)
        return [shapes._body(shapes.VENUES_QUERY, "Venues", {"number": x}) for x in numbers]
    points = near.draw_points(url, n, seed)
    if shape == "near-me":
        return [near.request_body(p) for p in points]
    return [
        shapes._body(shapes.WHERE_QUERY, "WhereAmI", {"at": {"lat": p.lat, "lon": p.lon}})
        for p in points
    ]


async def _drive(app: Any, bodies: list[bytes], requests: int, profile: int) -> dict[str, Any]:
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope: Any, receive: Any, send: Any) -> None:
            scope["state"] = dict(state or {})
            await app(scope, receive, send)

        transport = httpx.ASGITransport(app=with_state)
        headers = {"Content-Type": "application/json"}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def send(i: int) -> None:
                response = await client.post(
                    "/graphql", content=bodies[i % len(bodies)], headers=headers
                )
                if response.status_code != 200 or b'"errors"' in response.content:
                    raise RuntimeError(response.text)

            for i in range(20):  # warm the pool and the caches
                await send(i)
            cpu, wall = time.process_time(), time.perf_counter()
            for i in range(requests):
                await send(i)
            result: dict[str, Any] = {
                "cpu_ms": round((time.process_time() - cpu) / requests * 1e3, 3),
                "wall_ms": round((time.perf_counter() - wall) / requests * 1e3, 3),
            }
            if profile:
                profiler = cProfile.Profile()
                profiler.enable()
                for i in range(requests):
                    await send(i)
                profiler.disable()
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(profile)
                result["profile"] = out.getvalue()
            return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=(*SHAPES, "all"), default="all")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--inputs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", type=int, default=0, help="print the top N functions")
    args = parser.parse_args(argv)
    settings = load_settings()
    server = Database.from_settings(settings)
    url = server.with_database(near.DATABASE).url
    try:
        settings = settings.model_copy(update={"database_url": url.render_as_string(False)})
        for shape in SHAPES if args.shape == "all" else (args.shape,):
            bodies = _bodies(url, shape, args.inputs, args.seed)
            app = create_app(settings)
            result = asyncio.run(_drive(app, bodies, args.requests, args.profile))
            print(f"{shape}: CPU {result['cpu_ms']} ms, wall {result['wall_ms']} ms per request")
            if "profile" in result:
                print(result["profile"])
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
