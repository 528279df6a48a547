"""Load and fault run (issue 6): mixed traffic at concurrency 64 for 60 s against a running
server while PostgreSQL is stopped for 10 s and started again.

    .venv/bin/python bench/faults.py [--duration 60] [--concurrency 64] [--down-at 20]
                                     [--down-for 10] [--workers 1] [--label TEXT]

1. A database ``bench_faults`` in the embedded cluster (HVERDAG_HOME): migrated and loaded with
   the demo data set (what ``hverdag demo`` loads) the first time, reused afterwards.
2. ``uvicorn api.app:create_app --factory`` on 127.0.0.1 (what ``hverdag serve`` runs), with
   the rate limit off (64 connections from one address would be rate limited, by design), a
   pool of ``--pool-size`` connections (20, plus as many overflow: sized for 64 clients; the
   export cap is half of it) and JSON-lines logs to bench/results/faults-server.tmp.
3. ``--concurrency`` httpx connections (split over ``--processes`` client processes) send a
   mix of the API's requests (where am I, near me with
   filters, directory pages, text search, a municipality with its boundary, counties, a CSV
   export, /healthz) as fast as answers come, each request with a 30 s client timeout.
4. At ``--down-at`` seconds the cluster is stopped (``pg_ctl stop -m fast``: connections are
   cut, as in a crash or failover), and ``--down-for`` seconds later started again. /readyz is
   polled every 0.25 s throughout.

Verdicts: no 5xx and no error outside the fault window (a request overlapping [stop, start] is
in it); within it, every failure an UNAVAILABLE (or TIMEOUT) with its latency (the maximum must
stay near the 2 s connect/pool timeout); and recovery: the time from the database's return to
the first request after which every request succeeded (at most 5 s).

Results: bench/results/faults-<date>.json, and a markdown summary on stdout (for
docs/reliability.md), with the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from geo.cluster import EmbeddedCluster
from geo.db import Database, migrate, sync_engine
from geo.settings import load_settings
from loaders.bundle import demo_loaded, load_demo

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DATABASE = "bench_faults"
RECOVERY_LIMIT_S = 5.0

POINTS = [
    (59.9139, 10.7522),
    (59.9420, 10.8920),
    (60.3913, 5.3221),
    (63.4305, 10.3951),
    (58.9700, 5.7331),
    (69.6492, 18.9553),
    (59.2839, 11.1096),
    (61.1153, 10.4662),
]
CATEGORIES = ["LANGUAGE_CAFE", "HOMEWORK_HELP", "SPORTS", "MEETING_PLACE", "WOMENS_GROUP"]
WORDS = ["språkkafé", "leksehjelp", "fotball", "norsk", "kvinne", "bibliotek"]
MUNICIPALITIES = ["0301", "4601", "5001", "1103", "5501", "3301", "3403"]


def _graphql(query: str, variables: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    return "POST", "/graphql", {"json": {"query": query, "variables": variables}}


def mixed_request(rng: random.Random) -> tuple[str, str, str, dict[str, Any]]:
    """(kind, method, path, httpx arguments) of one request of the mix."""
    lat, lon = rng.choice(POINTS)
    lat, lon = lat + rng.uniform(-0.02, 0.02), lon + rng.uniform(-0.02, 0.02)
    kind = rng.choices(
        [
            "nearby",
            "whereAmI",
            "activities",
            "text",
            "municipality",
            "counties",
            "venues",
            "export",
            "healthz",
        ],
        weights=[30, 20, 12, 8, 8, 6, 8, 4, 4],
    )[0]
    if kind == "nearby":
        return kind, *_graphql(
            "query ($at: LatLonInput!, $c: ActivityCategory!) { nearby(at: $at, "
            "radiusMeters: 5000, first: 20, kinds: [ACTIVITY, VENUE], filter: {categories: "
            "[$c]}) { totalCount edges { distanceMeters node { ... on Activity { id title "
            "schedule { weekday start } } ... on Venue { id name } } } } }",
            {"at": {"lat": lat, "lon": lon}, "c": rng.choice(CATEGORIES)},
        )
    if kind == "whereAmI":
        return kind, *_graphql(
            "query ($at: LatLonInput!) { whereAmI(at: $at) { municipality { number name "
            "immigrantShare } county { name } district { name } } }",
            {"at": {"lat": lat, "lon": lon}},
        )
    if kind == "activities":
        return kind, *_graphql(
            "query ($m: String!) { activities(filter: {municipality: $m, freeOnly: true}, "
            "first: 20) { totalCount edges { node { title category venue { name } } } } }",
            {"m": rng.choice(MUNICIPALITIES)},
        )
    if kind == "text":
        return kind, *_graphql(
            "query ($t: String!) { activities(filter: {text: $t}, first: 10) "
            "{ edges { node { title } } } }",
            {"t": rng.choice(WORDS)},
        )
    if kind == "municipality":
        return kind, *_graphql(
            "query ($n: String!) { municipality(number: $n) { name population "
            "boundary(simplifyMeters: 500) councils { name } } }",
            {"n": rng.choice(MUNICIPALITIES)},
        )
    if kind == "counties":
        return kind, *_graphql("{ counties { number name } }", {})
    if kind == "venues":
        return kind, *_graphql(
            "query ($at: LatLonInput!) { venues(near: {at: $at, radiusMeters: 3000}, "
            "filter: {priceModels: [FREE]}, first: 20) { edges { distanceMeters node { name "
            "availability { weekday from to } } } } }",
            {"at": {"lat": lat, "lon": lon}},
        )
    if kind == "export":
        return kind, "GET", "/export/councils.csv", {}
    return kind, "GET", "/healthz", {}


@dataclass
class Sample:
    kind: str
    start: float
    end: float
    status: int
    code: str | None  # the first error's extensions.code; "HTTP_ERROR" for a transport failure

    @property
    def ok(self) -> bool:
        return self.status < 400 and self.code is None


def _code(response: httpx.Response) -> str | None:
    if not response.headers.get("content-type", "").startswith("application/json"):
        return None if response.status_code < 400 else f"HTTP_{response.status_code}"
    body = response.json()
    errors = body.get("errors") or ([body["error"]] if "error" in body else [])
    if not errors:
        return None
    first = errors[0]
    return str(first.get("extensions", {}).get("code") or first.get("code") or "NO_CODE")


async def _worker(
    client: httpx.AsyncClient,
    rng: random.Random,
    until: float,
    samples: list[Sample],
    origin: float,
) -> None:
    await asyncio.sleep(max(0.0, origin - time.monotonic()))
    while time.monotonic() < until:
        kind, method, path, kwargs = mixed_request(rng)
        started = time.monotonic()
        try:
            response = await client.request(method, path, **kwargs)
            status, code = response.status_code, _code(response)
        except httpx.HTTPError as error:
            status, code = 0, f"HTTP_ERROR:{type(error).__name__}"
        samples.append(Sample(kind, started - origin, time.monotonic() - origin, status, code))


async def _poll_ready(
    client: httpx.AsyncClient, until: float, origin: float, timeline: list[tuple[float, int]]
) -> None:
    while time.monotonic() < until:
        try:
            status = (await client.get("/readyz")).status_code
        except httpx.HTTPError:
            status = 0
        if not timeline or timeline[-1][1] != status:
            timeline.append((round(time.monotonic() - origin, 3), status))
        await asyncio.sleep(0.25)


async def _fault(
    cluster: EmbeddedCluster,
    down_at: float,
    down_for: float,
    origin: float,
    window: dict[str, float],
) -> None:
    await asyncio.sleep(max(0.0, origin + down_at - time.monotonic()))
    window["stop_requested"] = time.monotonic() - origin
    await asyncio.to_thread(cluster.stop)
    window["stopped"] = time.monotonic() - origin
    await asyncio.sleep(down_for)
    window["start_requested"] = time.monotonic() - origin
    await asyncio.to_thread(cluster.start)  # pg_ctl start -w: returns when it accepts
    window["started"] = time.monotonic() - origin


async def _client_share(
    base_url: str, clients: int, seed: int, origin: float, until: float
) -> list[Sample]:
    samples: list[Sample] = []
    # One connection per client, and idle ones dropped well before uvicorn's 5 s keep-alive
    # timeout: otherwise a request can go out on a connection the server is closing (a
    # client-side race that reads as a transport error, nothing to do with the database).
    limits = httpx.Limits(
        max_connections=clients, max_keepalive_connections=clients, keepalive_expiry=2.0
    )
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        await asyncio.gather(
            *(
                _worker(client, random.Random(seed + i), until, samples, origin)
                for i in range(clients)
            )
        )
    return samples


def _run_share(base_url: str, clients: int, seed: int, origin: float, until: float) -> list[Sample]:
    return asyncio.run(_client_share(base_url, clients, seed, origin, until))


async def drive(
    base_url: str, cluster: EmbeddedCluster, args: argparse.Namespace
) -> tuple[list[Sample], dict[str, float], list[tuple[float, int]]]:
    """The clients in ``--processes`` processes (one httpx pool with 64 connections in one
    process is itself the bottleneck: /healthz alone fell from ~550 to ~220 answers a second
    going from 8 to 64 connections), the fault and the /readyz probe in this one. Times are
    CLOCK_MONOTONIC, the same in every process."""
    window: dict[str, float] = {}
    ready: list[tuple[float, int]] = []
    origin = time.monotonic() + 1.0  # let the processes start
    until = origin + args.duration
    shares = [
        args.concurrency // args.processes + (i < args.concurrency % args.processes)
        for i in range(args.processes)
    ]
    with ProcessPoolExecutor(max_workers=args.processes) as pool:
        futures = [
            asyncio.wrap_future(
                pool.submit(_run_share, base_url, n, args.seed + 1000 * i, origin, until)
            )
            for i, n in enumerate(shares)
        ]
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as probe:
            await asyncio.sleep(max(0.0, origin - time.monotonic()))
            await asyncio.gather(
                _poll_ready(probe, until, origin, ready),
                _fault(cluster, args.down_at, args.down_for, origin, window),
            )
        samples = [sample for future in futures for sample in await future]
    return samples, window, ready


def _ms(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    array = np.array(values) * 1000
    return {
        "n": len(values),
        "p50": round(float(np.percentile(array, 50)), 1),
        "p99": round(float(np.percentile(array, 99)), 1),
        "max": round(float(array.max()), 1),
    }


def analyse(
    samples: list[Sample], window: dict[str, float], ready: list[tuple[float, int]]
) -> dict[str, Any]:
    down, up = window["stop_requested"], window["started"]
    inside = [s for s in samples if s.start < up and s.end > down]
    before = [s for s in samples if s.end <= down]
    after = [s for s in samples if s.start >= up]
    failed_after = [s for s in after if not s.ok]
    recovered_at = max((s.start for s in failed_after), default=up)
    first_ok_after = min((s.start for s in after if s.ok and s.start >= recovered_at), default=None)
    recovery_s = (
        0.0 if not failed_after else (None if first_ok_after is None else first_ok_after - up)
    )
    outside = before + [s for s in after if s.start > recovered_at or not failed_after]
    # An export streaming when the database stopped is cut mid-stream on purpose (the client
    # must not take a truncated file for a whole one; docs/exports.md): counted apart.
    cut = [s for s in inside if s.kind == "export" and s.status == 0 and s.start < down]
    failing_inside = [s for s in inside if not s.ok and s not in cut]
    # Asked while the database was down (not queued before the stop): how fast were they told?
    while_down = [
        s for s in inside if s.start >= window["stopped"] and s.end <= up and s.kind != "healthz"
    ]  # /healthz needs no database
    ready_503 = next((t for t, status in ready if status == 503 and t >= down), None)
    ready_back = next((t for t, status in ready if status == 200 and t >= up), None)
    return {
        "window_s": {key: round(value, 3) for key, value in window.items()},
        "requests": len(samples),
        "rate_per_s": round(len(samples) / max(s.end for s in samples), 1),
        # Outside the fault: before the stop, and after the recovery (the requests between the
        # database's return and the last failure are the recovery, measured below).
        "outside": {
            "n": len(outside),
            "5xx": sum(s.status >= 500 for s in outside),
            "errors_before": dict(Counter(s.code for s in before if not s.ok)),
            "errors_after_recovery": dict(
                Counter(s.code for s in outside if s.start >= up and not s.ok)
            ),
            "latency_ms": _ms([s.end - s.start for s in outside]),
        },
        "recovery": {
            "n": len(after) - sum(s.start >= recovered_at for s in after),
            "failed": dict(Counter(s.code for s in failed_after)),
            "statuses": dict(Counter(str(s.status) for s in failed_after)),
        },
        "inside": {
            "n": len(inside),
            "failed": len(failing_inside),
            "exports_cut_mid_stream": len(cut),
            "codes": dict(Counter(s.code for s in failing_inside)),
            "statuses": dict(Counter(str(s.status) for s in failing_inside)),
            "failed_latency_ms": _ms([s.end - s.start for s in failing_inside]),
            "asked_while_down": {
                "codes": dict(Counter(s.code for s in while_down)),
                "latency_ms": _ms([s.end - s.start for s in while_down]),
            },
            "succeeded": len(inside) - len(failing_inside) - len(cut),
        },
        "recovery_s": None if recovery_s is None else round(recovery_s, 3),
        "readyz": {"timeline": ready, "first_503_s": ready_503, "back_to_200_s": ready_back},
        "by_kind_outside": {
            kind: _ms([s.end - s.start for s in outside if s.kind == kind])
            for kind in sorted({s.kind for s in outside})
        },
    }


def verdicts(result: dict[str, Any]) -> dict[str, bool]:
    inside = result["inside"]
    return {
        "no 5xx outside the fault window": result["outside"]["5xx"] == 0,
        "no error before the fault": not result["outside"]["errors_before"],
        "failures in the window are UNAVAILABLE or TIMEOUT": set(inside["codes"])
        <= {"UNAVAILABLE", "TIMEOUT"},
        "asked while the database was down: UNAVAILABLE within 2.5 s": set(
            inside["asked_while_down"]["codes"]
        )
        <= {"UNAVAILABLE"}
        and inside["asked_while_down"]["latency_ms"].get("max", 0) <= 2500,
        "normal again within 5 s of the database's return": result["recovery_s"] is not None
        and result["recovery_s"] <= RECOVERY_LIMIT_S,
        "/readyz went 503 and back to 200": result["readyz"]["first_503_s"] is not None
        and result["readyz"]["back_to_200_s"] is not None,
    }


def prepare_database(settings: Any) -> tuple[EmbeddedCluster, Database]:
    server = Database.from_settings(settings)  # starts the embedded cluster when needed
    if server.cluster is None:
        raise SystemExit(
            "bench/faults.py stops and starts the embedded cluster: unset HVERDAG_DATABASE_URL"
        )
    database = server.with_database(DATABASE)
    migrate(database.url)
    engine = sync_engine(database.url, settings)
    try:
        with engine.begin() as conn:
            if not demo_loaded(conn):
                print("loading the demo data into", DATABASE, "…", flush=True)
                for _ in load_demo(conn, settings.data_dir):
                    pass
    finally:
        engine.dispose()
    return server.cluster, database


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    database: Database, port: int, workers: int, log: Path, pool_size: int = 10
) -> subprocess.Popen:
    env = {
        **os.environ,
        "HVERDAG_DATABASE_URL": database.url.render_as_string(hide_password=False),
        "HVERDAG_POOL_SIZE": str(pool_size),
        "HVERDAG_RATE_LIMIT_ENABLED": "false",
        "HVERDAG_LOG_FORMAT": "json",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "api.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--timeout-graceful-shutdown",
        "30",
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.terminate()
    raise SystemExit(f"the server did not become ready; see {log}")


def _load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def summary(result: dict[str, Any], args: argparse.Namespace) -> str:
    w, inside, outside = result["window_s"], result["inside"], result["outside"]
    lines = [
        f"- command: `.venv/bin/python bench/faults.py --duration {args.duration:g} "
        f"--concurrency {args.concurrency} --down-at {args.down_at:g} --down-for "
        f"{args.down_for:g} --workers {args.workers} --pool-size {args.pool_size} "
        f"--processes {args.processes}`",
        f"- load before: `{result['load_before']}`; after: `{result['load_after']}`",
        f"- {result['requests']:,} requests, {result['rate_per_s']} a second; database stopped "
        f"at {w['stop_requested']} s (down at {w['stopped']} s), started at "
        f"{w['start_requested']} s (accepting at {w['started']} s)",
        f"- outside the fault (before the stop, after the recovery): {outside['n']:,} requests, "
        f"{outside['5xx']} 5xx, errors before {outside['errors_before'] or 'none'}, after "
        f"{outside['errors_after_recovery'] or 'none'}; latency {outside['latency_ms']}",
        f"- recovery: {result['recovery']['n']:,} requests between the return and the last "
        f"failure, failed {result['recovery']['failed'] or 'none'} (HTTP "
        f"{result['recovery']['statuses'] or '-'})",
        f"- in the window: {inside['n']:,} requests, {inside['succeeded']:,} answered (in "
        f"flight before the stop, or after it came back), {inside['failed']:,} failed: "
        f"{inside['codes']} (HTTP {inside['statuses']}), {inside['exports_cut_mid_stream']} "
        f"export(s) cut mid-stream; their latency "
        f"{inside['failed_latency_ms']}; asked while it was down: "
        f"{inside['asked_while_down']['codes']}, latency "
        f"{inside['asked_while_down']['latency_ms']}",
        f"- back to normal {result['recovery_s']} s after the database accepted connections; "
        f"/readyz 503 from {result['readyz']['first_503_s']} s, 200 again at "
        f"{result['readyz']['back_to_200_s']} s",
    ]
    lines += [f"- {'PASS' if ok else 'FAIL'}: {name}" for name, ok in result["verdicts"].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--down-at", type=float, default=20.0)
    parser.add_argument("--down-for", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--processes",
        type=int,
        default=4,
        help="client processes the --concurrency connections are split over",
    )
    parser.add_argument(
        "--pool-size",
        type=int,
        default=20,
        help="HVERDAG_POOL_SIZE of the server (64 clients: 20 + 20 overflow)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--label", default="")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)

    settings = load_settings()
    cluster, database = prepare_database(settings)
    RESULTS.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    server = start_server(
        database, port, args.workers, RESULTS / "faults-server.tmp", args.pool_size
    )
    try:
        load_before = _load()
        samples, window, ready = asyncio.run(drive(f"http://127.0.0.1:{port}", cluster, args))
        load_after = _load()
    finally:
        server.terminate()
        server.wait(timeout=60)
        if not cluster.running():
            cluster.start()
    result = analyse(samples, window, ready)
    result.update(load_before=load_before, load_after=load_after)
    result["verdicts"] = verdicts(result)
    result["settings"] = {k: v for k, v in vars(args).items() if k != "output"}
    result["settings"]["output"] = None
    result["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    output = (args.output or RESULTS / f"faults-{datetime.now(UTC):%Y-%m-%d}.json").resolve()
    output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    (RESULTS / "faults-samples.tmp").write_text(json.dumps([asdict(s) for s in samples]))
    print(summary(result, args))
    print(f"results: {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    return 0 if all(result["verdicts"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
