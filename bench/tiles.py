"""Vector-tile benchmark (issue 7): Oslo tiles at zoom 12 of venues and activities with a million
places in the database; target under 50 ms.

    .venv/bin/python bench/tiles.py [--keep] [--requests 300] [--zoom 12] [--warmup 30]

1. The database ``bench_nearby`` of bench/nearby.py (migrated, the bundled real data, 400,000
   venues and 600,000 activities from the seeded generator, VACUUM ANALYZE), built by its own
   code, or reused when complete; ``--keep`` leaves it for the next run (and for bench/nearby.py).
2. The tiles: every zoom-12 tile that holds part of Oslo's built-up core (the box
   10.60-10.95 E, 59.85-60.00 N), so dense and sparser tiles both come up.
3. SQL: ``geo.queries.tiles.tile_statement`` run on one connection (no parallel workers, as the
   API runs it), ``--requests`` times per layer
   cycling through the tiles, after ``--warmup`` untimed runs; the bytes, features and rows
   per tile (below zoom 14 a feature stands for the ``count`` rows of its grid cell); EXPLAIN
   (ANALYZE, BUFFERS) of the densest tile (the plan must use an index: ``tile_cell``'s primary
   key below zoom 14, the GiST index from 14 and for cells counted live), and the CPU time
   the PostgreSQL backend spends on it (/proc, mean of 40 runs: the machine's load aside).
   ``--live-cells`` counts the cells from the rows instead of reading ``tile_cell`` (what a
   filtered tile does, here with every row kept); SQL only.
4. HTTP: ``uvicorn api.app:create_app --factory`` (1 worker, no access log) on 127.0.0.1, the same
   tiles fetched one at a time over one keep-alive connection (what a browser's map does per
   connection); every answer is a 200 or a 204, and every tile is decoded once, untimed.
5. Load: the machine is shared; the 1-minute load average and the CPU share other processes
   used (from /proc/stat) are recorded beside each series. Medians and p95 over many requests.

Results: bench/results/tiles-<date>.json and a markdown summary on stdout (docs/performance.md).
Benchmarks only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nearby import DATABASE, _free_port, _git, _tail, prepare_database

from geo.db import Database, drop_database
from geo.queries.tiles import NO_PARALLEL, TileOptions, tile_statement
from geo.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
OSLO_CORE = (10.60, 59.85, 10.95, 60.00)  # west, south, east, north
LAYERS = ("venues", "activities")
TABLES = {"venues": "venue", "activities": "activity"}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help=f"keep {DATABASE} for next time")
    parser.add_argument("--fresh", action="store_true", help="rebuild the database")
    parser.add_argument("--zoom", type=int, default=12)
    parser.add_argument("--requests", type=int, default=300, help="timed requests per series")
    parser.add_argument("--warmup", type=int, default=30, help="untimed requests first")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument(
        "--live-cells",
        action="store_true",
        help="count the cells from the rows, not tile_cell (SQL only)",
    )
    parser.add_argument("--output", type=Path)
    return parser.parse_args(argv)


def tile_xy(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2**z
    return (
        int((lon + 180) / 360 * n),
        int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n),
    )


def oslo_tiles(z: int) -> list[tuple[int, int, int]]:
    west, south, east, north = OSLO_CORE
    x0, y0 = tile_xy(north, west, z)
    x1, y1 = tile_xy(south, east, z)
    return [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def _percentiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {
        "n": len(ms),
        "median_ms": round(float(np.median(a)), 2),
        "p95_ms": round(float(np.percentile(a, 95)), 2),
        "p99_ms": round(float(np.percentile(a, 99)), 2),
        "min_ms": round(float(a.min()), 2),
        "max_ms": round(float(a.max()), 2),
    }


def _cpu() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


class Load:
    """The machine's load during a series: load average and the busy share of all CPUs."""

    def __enter__(self) -> Load:
        self.start = _cpu()
        self.loadavg = os.getloadavg()[0]
        return self

    def __exit__(self, *exc: object) -> None:
        busy, total = _cpu()
        self.busy_share = (busy - self.start[0]) / max(total - self.start[1], 1)
        self.loadavg_after = os.getloadavg()[0]

    def summary(self) -> dict[str, float]:
        return {
            "loadavg_1m_before": round(self.loadavg, 2),
            "loadavg_1m_after": round(self.loadavg_after, 2),
            "machine_busy_share": round(self.busy_share, 3),
            "cpus": os.cpu_count() or 0,
        }


def _process_cpu_ms(pid: int) -> float:
    """User + system CPU time a process has used, in ms (clock ticks of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def densest_cpu_ms(conn: sa.Connection, statement: Any, runs: int = 40) -> float | None:
    """CPU time the PostgreSQL backend spends on one run of a tile, averaged over ``runs``:
    unlike the wall-clock times, it does not grow with the other sessions' load. None when the
    backend is not a local process this user can read."""
    pid = conn.execute(sa.select(sa.func.pg_backend_pid())).scalar_one()
    try:
        before = _process_cpu_ms(pid)
    except OSError:
        return None
    for _ in range(runs):
        conn.execute(statement).scalar_one()
    return round((_process_cpu_ms(pid) - before) / runs, 1)


def timed_rounds(
    tiles: list[tuple[int, int, int]], requests: int, run: Callable[[tuple[int, int, int]], object]
) -> tuple[list[float], dict[str, list[float]]]:
    """``requests`` runs cycling through the tiles: every time in ms, and the times per tile."""
    times: list[float] = []
    per_tile: dict[str, list[float]] = {}
    for i in range(requests):
        t = tiles[i % len(tiles)]
        started = time.perf_counter()
        run(t)
        times.append((time.perf_counter() - started) * 1000)
        per_tile.setdefault("/".join(map(str, t)), []).append(times[-1])
    return times, per_tile


def sql_series(
    url: sa.URL, layer: str, tiles: list[tuple[int, int, int]], args: argparse.Namespace
) -> dict[str, Any]:
    options = TileOptions(live_cells=args.live_cells)
    statements = {t: tile_statement(layer, *t, options) for t in tiles}
    sizes: dict[str, Any] = {}
    # As the API's connections: unnamed statements (a custom plan for each tile's box), no JIT.
    engine = sa.create_engine(
        url,
        poolclass=sa.pool.NullPool,
        connect_args={"prepare_threshold": None, "options": "-c jit=off"},
    )
    with engine.begin() as conn:
        conn.execute(NO_PARALLEL)  # as the API runs a tile (one transaction: it holds)
        for i in range(args.warmup):
            conn.execute(statements[tiles[i % len(tiles)]]).scalar_one()
        for t in tiles:
            body = bytes(conn.execute(statements[t]).scalar_one() or b"")
            decoded = mapbox_vector_tile.decode(body) if body else {}
            features = decoded.get(layer, {}).get("features", [])
            # Below zoom 14 a feature stands for the ``count`` rows of its grid cell.
            sizes["/".join(map(str, t))] = {
                "bytes": len(body),
                "features": len(features),
                "rows": sum(f["properties"].get("count", 1) for f in features),
            }
        with Load() as load:
            times, per_tile = timed_rounds(
                tiles, args.requests, lambda t: conn.execute(statements[t]).scalar_one()
            )
        densest = max(sizes, key=lambda k: sizes[k]["rows"])
        z, x, y = map(int, densest.split("/"))
        cpu = densest_cpu_ms(conn, statements[(z, x, y)])
        sql = statements[(z, x, y)].compile(conn, compile_kwargs={"literal_binds": True})
        plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}").scalars())
    engine.dispose()
    return {
        "layer": layer,
        "tiles": sizes,
        "timing": _percentiles(times),
        "per_tile_median_ms": {k: round(float(np.median(v)), 2) for k, v in per_tile.items()},
        "load": load.summary(),
        "densest_tile": densest,
        "densest_backend_cpu_ms": cpu,
        "densest_plan": plan,
        "index_scan": ("_gist" in plan or "pk_tile_cell" in plan)
        and f"Seq Scan on {TABLES[layer]}" not in plan,
    }


def _server(url: sa.URL, port: int, log: Path) -> Any:
    import subprocess

    env = {
        **os.environ,
        "HVERDAG_DATABASE_URL": url.render_as_string(hide_password=False),
        "HVERDAG_GRAPHQL_EXPLORER": "false",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "uvicorn"),
                "api.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_ready(port: int, proc: Any, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"uvicorn exited:\n{_tail(log)}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"uvicorn not ready:\n{_tail(log)}")


def http_series(
    port: int, layer: str, tiles: list[tuple[int, int, int]], args: argparse.Namespace
) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def fetch(t: tuple[int, int, int]) -> bytes:
        conn.request("GET", f"/tiles/{layer}/{t[0]}/{t[1]}/{t[2]}.mvt")
        response = conn.getresponse()
        body = response.read()
        if response.status not in (200, 204):
            raise RuntimeError(f"{layer} {t}: HTTP {response.status} {body[:200]!r}")
        return body

    for t in tiles:  # every tile decodes (checked untimed: decoding is the client's cost)
        body = fetch(t)
        if body:
            mapbox_vector_tile.decode(body)
    for i in range(args.warmup):
        fetch(tiles[i % len(tiles)])
    with Load() as load:
        times, per_tile = timed_rounds(tiles, args.requests, fetch)
    conn.close()
    return {
        "layer": layer,
        "timing": _percentiles(times),
        "load": load.summary(),
        "per_tile_median_ms": {k: round(float(np.median(v)), 2) for k, v in per_tile.items()},
    }


def summary_markdown(results: dict[str, Any]) -> str:
    lines = [
        f"Zoom {results['zoom']}, {len(results['tiles'])} tiles over Oslo's core, "
        f"{results['requests']} requests per series (median / p95 / max, ms):",
        "",
        "| layer | rows per tile (min-max) | features per tile (min-max) | KiB per tile (max) "
        "| SQL | HTTP | load avg / machine busy |",
        "|---|---|---|---|---|---|---|",
    ]
    for layer in LAYERS:
        sql = results["sql"][layer]
        feats = [t["features"] for t in sql["tiles"].values()]
        rows = [t.get("rows", t["features"]) for t in sql["tiles"].values()]
        kib = max(t["bytes"] for t in sql["tiles"].values()) / 1024
        h = results.get("http", {}).get(layer)
        http_text = (
            (f"{h['timing']['median_ms']} / {h['timing']['p95_ms']} / {h['timing']['max_ms']}")
            if h
            else "-"
        )
        load = (h or sql)["load"]
        lines.append(
            f"| {layer} | {min(rows):,}-{max(rows):,} | {min(feats):,}-{max(feats):,} | "
            f"{kib:.0f} | "
            f"{sql['timing']['median_ms']} / {sql['timing']['p95_ms']} / "
            f"{sql['timing']['max_ms']} | {http_text} | "
            f"{load['loadavg_1m_before']} / {load['machine_busy_share']:.0%} |"
        )
    cpu = ", ".join(
        f"{layer} {results['sql'][layer].get('densest_backend_cpu_ms')}" for layer in LAYERS
    )
    lines += ["", f"PostgreSQL backend CPU per run of the densest tile (ms, mean of 40): {cpu}"]
    lines += [
        "",
        "Per tile (median ms over its requests), the densest and the median tile:",
        "",
        "| layer | tile | rows | features | KiB | SQL | HTTP |",
        "|---|---|---|---|---|---|---|",
    ]
    for layer in LAYERS:
        sql = results["sql"][layer]
        by_size = sorted(sql["tiles"], key=lambda k: sql["tiles"][k].get("rows", 0))
        h = results.get("http", {}).get(layer, {}).get("per_tile_median_ms", {})
        for label, tile in (("densest", by_size[-1]), ("median", by_size[len(by_size) // 2])):
            info = sql["tiles"][tile]
            lines.append(
                f"| {layer} | {label} {tile} | {info.get('rows', 0):,} | "
                f"{info['features']:,} | "
                f"{info['bytes'] / 1024:.0f} | {sql['per_tile_median_ms'][tile]} | "
                f"{h.get(tile, '-')} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    settings = load_settings()
    database = Database.from_settings(settings)
    url = database.with_database(DATABASE).url
    results: dict[str, Any] = {
        "benchmark": "tiles",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "git": _git(),
        "zoom": args.zoom,
        "requests": args.requests,
        "warmup": args.warmup,
        "live_cells": args.live_cells,
    }
    try:
        results["database"] = prepare_database(url, settings.data_dir, args.seed, args.fresh)
        tiles = oslo_tiles(args.zoom)
        results["tiles"] = ["/".join(map(str, t)) for t in tiles]
        results["sql"] = {}
        for layer in LAYERS:
            print(f"SQL {layer} …", flush=True)
            results["sql"][layer] = sql_series(url, layer, tiles, args)
            print(f"  {results['sql'][layer]['timing']}", flush=True)
        if not (args.skip_http or args.live_cells):
            port = _free_port()
            log = RESULTS / "tiles-uvicorn.log.tmp"
            proc = _server(url, port, log)
            try:
                _wait_ready(port, proc, log)
                results["http"] = {}
                for layer in LAYERS:
                    print(f"HTTP {layer} …", flush=True)
                    results["http"][layer] = http_series(port, layer, tiles, args)
                    print(f"  {results['http'][layer]['timing']}", flush=True)
            finally:
                proc.terminate()
                proc.wait(timeout=20)
    finally:
        if not args.keep:
            drop_database(url)
        database.close()
    out = args.output or RESULTS / f"tiles-{datetime.now(UTC).date()}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults: {out}\n")
    print(summary_markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
