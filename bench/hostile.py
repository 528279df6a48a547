"""Hostile clients (issue 20): normal near-me traffic alone, then while abusive clients run, on
the demo data set behind a real server.

    .venv/bin/python bench/hostile.py [--scenario aliases|text|hangups|polygon|all]
                                      [--abusers 16] [--normal 4] [--seconds 15] [--pause 0]
                                      [--label TEXT]

1. The database ``bench_faults`` of bench/faults.py (the demo data set), and
   ``uvicorn api.app:create_app`` on 127.0.0.1 with the rate limit off (the abusers stay
   within any per-address limit by coming from many addresses; here they come from one).
2. ``--normal`` clients send near-me queries (random points in Oslo, 2 km, first 10) as fast
   as answers come, for ``--seconds`` alone (quiet), then as long again while ``--abusers``
   clients send the scenario's requests:
   - ``aliases``: the most expensive operation the cost limit allows of aliased text searches
     with their totalCount (before the fix: 19 aliases of first 100 each);
   - ``text``: near-me with text filters of short, common or punctuation-only tokens
     (`' OR 1=1 --`, `a b c d e f`, `norsk`);
   - ``hangups``: a CSV export read for its first 2 kB, then the connection reset;
   - ``polygon`` (issue 20, item 2): `coverage` of the issue's 9,999-position self-intersecting
     zig-zag, whose repair held the event loop for seconds (not in ``all``: run it with
     ``--abusers 2`` and ``16``).
   ``--pause`` seconds pass between an abuser's answer and its next request (0: back to back,
   the worst case; the issue's polygon clients sent one every ~10 s).
3. Verdicts per scenario: the normal traffic's p50 and p99, quiet and under abuse, their ratio,
   and its errors (an UNAVAILABLE here is a false outage); /healthz, asked every 0.1 s, its p50
   and slowest answer (the event loop's stalls).

Results: bench/results/hostile-<date>.json and a markdown table on stdout (docs/reliability.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import socket
import struct
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
from faults import RESULTS, _free_port, _load, prepare_database, start_server  # bench/faults.py

from geo.settings import load_settings

NEAR = (
    "query($lat: Float!, $lon: Float!) { nearby(at: {lat: $lat, lon: $lon}, "
    "radiusMeters: 2000, first: 10) { edges { distanceMeters node { __typename } } } }"
)
TEXTS = ["' OR 1=1 --", "a b c d e f", "norsk"]
#: The issue's polygon: 9,999 positions zig-zagging 1.5° east and back, closed along the west.
POLYGON = {
    "type": "Polygon",
    "coordinates": [[[10 + (i % 2) * 1.5, 59 + i * 0.0002] for i in range(9999)] + [[10.0, 59.0]]],
}
COVERAGE = (
    "query ($area: CoverageAreaInput!) { coverage(area: $area, target: {}, withinMeters: 1000, "
    "unitKind: GRID_1KM) { unitCount notes } }"
)
#: Encoded once: 170 kB of JSON per request would cost the client more CPU than the server's
#: answer, on the same two cores.
POLYGON_BODY = json.dumps({"query": COVERAGE, "variables": {"area": {"polygon": POLYGON}}})


def _aliases(count: int) -> str:
    fields = " ".join(
        f'a{i}: activities(filter: {{text: "norsk"}}, first: 100) '
        "{ totalCount edges { node { id title } } }"
        for i in range(count)
    )
    return f"{{ {fields} }}"


def _code(body: Any) -> str | None:
    errors = body.get("errors") if isinstance(body, dict) else None
    return str(errors[0].get("extensions", {}).get("code")) if errors else None


async def _normal(
    client: httpx.AsyncClient, rng: random.Random, until: float, out: list[tuple[float, str]]
) -> None:
    while time.monotonic() < until:
        variables = {"lat": rng.uniform(59.88, 59.96), "lon": rng.uniform(10.68, 10.90)}
        started = time.monotonic()
        try:
            response = await client.post("/graphql", json={"query": NEAR, "variables": variables})
            code = _code(response.json()) or ("OK" if response.status_code == 200 else "HTTP")
        except httpx.HTTPError as error:
            code = type(error).__name__
        out.append((time.monotonic() - started, code))


def _hang_up(port: int) -> None:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        sock.sendall(b"GET /export/venues.csv HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        received = 0
        while received < 2000:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += len(chunk)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        sock.close()


async def _abuser(
    client: httpx.AsyncClient,
    scenario: str,
    args: argparse.Namespace,
    port: int,
    until: float,
    seen: Counter,
) -> None:
    rng = random.Random()
    first = True
    while time.monotonic() < until:
        if not first and args.pause:
            await asyncio.sleep(min(args.pause, max(0.0, until - time.monotonic())))
            if time.monotonic() >= until:
                break
        first = False
        try:
            if scenario == "polygon":
                response = await client.post(
                    "/graphql", content=POLYGON_BODY, headers={"content-type": "application/json"}
                )
                seen[_code(response.json()) or "OK"] += 1
                continue
            if scenario == "hangups":
                await asyncio.to_thread(_hang_up, port)
                seen["hangup"] += 1
                continue
            if scenario == "aliases":
                body = {"query": _aliases(args.aliases)}
            else:
                body = {
                    "query": NEAR.replace("first: 10)", 'first: 10, filter: {text: "{t}"})'),
                }
                body["query"] = body["query"].replace("{t}", rng.choice(TEXTS).replace('"', ""))
                body["variables"] = {"lat": 59.91, "lon": 10.75}
            response = await client.post("/graphql", json=body)
            seen[_code(response.json()) or "OK"] += 1
        except (httpx.HTTPError, OSError) as error:
            seen[type(error).__name__] += 1


async def _healthz(client: httpx.AsyncClient, until: float, out: list[float]) -> None:
    while time.monotonic() < until:
        started = time.monotonic()
        with contextlib.suppress(httpx.HTTPError):
            await client.get("/healthz")
        out.append(time.monotonic() - started)
        await asyncio.sleep(0.1)


def _ms(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    array = np.array(values) * 1000
    return {
        "n": len(values),
        "p50": round(float(np.percentile(array, 50)), 1),
        "p99": round(float(np.percentile(array, 99)), 1),
        "max": round(float(array.max()), 1),
    }


async def _phase(
    base: str, port: int, args: argparse.Namespace, scenario: str | None
) -> dict[str, Any]:
    until = time.monotonic() + args.seconds
    normal: list[tuple[float, str]] = []
    health: list[float] = []
    seen: Counter = Counter()
    limits = httpx.Limits(max_connections=args.normal + args.abusers + 4, keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        tasks = [_normal(client, random.Random(i), until, normal) for i in range(args.normal)]
        tasks.append(_healthz(client, until, health))
        if scenario is not None:
            tasks += [
                _abuser(client, scenario, args, port, until, seen) for _ in range(args.abusers)
            ]
        await asyncio.gather(*tasks)
    codes = Counter(code for _, code in normal)
    return {
        "normal": _ms([seconds for seconds, _ in normal]),
        "normal_codes": dict(codes),
        "healthz": _ms(health),
        "abusers": dict(seen),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenario", default="all", choices=["aliases", "text", "hangups", "polygon", "all"]
    )
    parser.add_argument("--abusers", type=int, default=16)
    parser.add_argument("--normal", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument(
        "--aliases", type=int, default=16, help="aliases per abusive operation (the most allowed)"
    )
    parser.add_argument(
        "--pause", type=float, default=0.0, help="seconds between an abuser's answer and its next"
    )
    parser.add_argument("--label", default="")
    args = parser.parse_args(argv)
    settings = load_settings()
    _, database = prepare_database(settings)
    port = _free_port()
    RESULTS.mkdir(parents=True, exist_ok=True)
    server = start_server(database, port, 1, RESULTS / "hostile-server.tmp")
    base = f"http://127.0.0.1:{port}"
    scenarios = ["aliases", "text", "hangups"] if args.scenario == "all" else [args.scenario]
    result: dict[str, Any] = {
        "label": args.label,
        "settings": vars(args),
        "load_before": _load(),
        "scenarios": {},
    }
    try:
        for scenario in scenarios:
            quiet = asyncio.run(_phase(base, port, args, None))
            abused = asyncio.run(_phase(base, port, args, scenario))
            result["scenarios"][scenario] = {"quiet": quiet, "abused": abused}
    finally:
        server.terminate()
        server.wait(timeout=60)
    result["load_after"] = _load()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    (RESULTS / f"hostile-{stamp}.json").write_text(json.dumps(result, indent=2))
    print(
        f"| scenario ({args.abusers} abusers, pause {args.pause:g} s) | quiet p50 / p99 ms "
        "| abused p50 / p99 ms | p99 ratio | normal errors | /healthz quiet / abused max ms "
        "| abusers' answers |"
    )
    print("|---|---|---|---|---|---|---|")
    for scenario, phases in result["scenarios"].items():
        quiet, abused = phases["quiet"]["normal"], phases["abused"]["normal"]
        ratio = abused.get("p99", 0) / quiet["p99"] if quiet.get("p99") else float("nan")
        errors = {k: v for k, v in phases["abused"]["normal_codes"].items() if k != "OK"}
        print(
            f"| {scenario} | {quiet.get('p50')} / {quiet.get('p99')} "
            f"| {abused.get('p50')} / {abused.get('p99')} | {ratio:.1f}× | {errors or 'none'} "
            f"| {phases['quiet']['healthz'].get('max')} / {phases['abused']['healthz'].get('max')} "
            f"| {phases['abused']['abusers']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
