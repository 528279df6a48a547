"""Near-me benchmark (issue 3): `nearby(first: 20)` within 5 km with a category filter, over
HTTP, beside the same SQL run through psycopg and by pgbench, at concurrency 1 and 16.

    .venv/bin/python bench/nearby.py [--keep] [--workers 1,2] [--duration 20] [--warmup 5]

One command does it all:

1. a database ``bench_nearby`` in the configured server (the embedded cluster by default):
   migrated, the bundled real data, 400,000 venues and 600,000 activities from the seeded
   generator, VACUUM ANALYZE. With ``--keep`` it is left in place, and a later run reuses it
   when its row counts match (``--fresh`` rebuilds it); without ``--keep`` it is dropped.
2. ``--points`` query points (default 2,000), drawn with ``--seed`` from the generated
   activities' locations (so dense Oslo and the sparse north come up as often as users would),
   sent as WGS84 lat/lon rounded to 6 decimals, each with one of a few categories.
3. EXPLAIN (ANALYZE, BUFFERS) of the API's SQL for a dense Oslo point and a sparse northern
   point: the plan must be a KNN scan of the (category, geom) GiST index that stops early.
4. Raw SQL: the exact statement and parameters the API sends (captured from
   ``geo.queries.nearby.nearby`` through SQLAlchemy's cursor events), run by ``pgbench``
   (extended protocol, unnamed statements: what psycopg with ``prepare_threshold=None`` does)
   at each concurrency. A ``\\gset`` lookup of the point by a random index precedes each query;
   a run of the lookup alone measures its share, which is taken out of the SQL rate that the
   GraphQL/pgbench ratio divides by (1/rate(query) = 1/rate(both) - 1/rate(lookup)). And the
   same statement and parameters through psycopg (bench/sql_client.py: async connections in
   autocommit, no server-side prepare, as the API's), the issue's baseline: pgbench, a C
   client, is the stricter one.
5. GraphQL: ``uvicorn api.app:create_app --factory`` on 127.0.0.1 with 1 and 2 workers (what
   ``hverdag serve`` runs, access log included unless --no-access-log), driven by ``wrk``
   with a Lua script that cycles through the pre-generated request bodies; every response is
   checked for HTTP 200 and no "errors". Before timing, a sample of answers is compared with
   the raw SQL's rows (same ids, same order). A few seconds into each run, how many of wrk's
   keep-alive connections each worker holds is read from /proc: uvicorn's workers accept from
   one shared socket, and the split (8/8 or 16/0) moves the 2-worker rate by a quarter.
   ``--instances N`` also runs N one-worker servers on their own ports with the c=16
   connections split evenly over them (what a least-connections balancer in front of
   one-worker containers would do, without the balancer's own cost).
6. While the server runs, its processes' RSS (master and workers, summed) is sampled from
   /proc; before each run the machine must be quiet (other CPU use below --max-busy), and the
   CPU that other processes used during each run is recorded.

Results: bench/results/nearby-<date>.json, and a markdown summary on stdout (for
docs/performance.md). Needs ``wrk`` (apt-get install wrk) and PostgreSQL's ``pgbench``.
Benchmarks only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import sqlalchemy as sa
from psycopg.rows import dict_row
from sqlalchemy import event

from api.guard.logs import uvicorn_log_config
from geo.crs import to_storage, to_wgs84
from geo.db import Database, connect, database_exists, drop_database, migrate, sync_engine
from geo.filters import DirectoryFilter
from geo.freshness import stale_before
from geo.queries.nearby import PlaceKind, nearby
from geo.settings import load_settings
from geo.tables import activity, activity_translation, venue
from loaders.bundle import load_bundled
from loaders.demo_translations import translate_demo_activities
from loaders.generate import SOURCE, generate

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DATABASE = "bench_nearby"
VENUES, ACTIVITIES = 400_000, 600_000
RADIUS_M = 5000.0
FIRST = 20
#: A mix of common and rarer categories (16 %, 13 %, 12 % and 4 % of generated activities).
CATEGORIES = ("LANGUAGE_CAFE", "HOMEWORK_HELP", "SPORTS", "WOMENS_GROUP")
#: EXPLAIN points: central Oslo (dense) and Kautokeino (sparse north).
EXPLAIN_POINTS = {
    "dense: Oslo sentrum": (59.9127, 10.7461),
    "sparse: Mo i Rana": (66.3128, 14.1428),
    "sparse, none within 5 km: Kautokeino": (69.0117, 23.0415),
}
KNN_INDEX = "ix_activity_category_geom_gist"
EXPLAIN_CATEGORY = "LANGUAGE_CAFE"
PGBENCH = Path("/usr/lib/postgresql/15/bin/pgbench")
TARGET_P99_MS = 25.0
TARGET_RATIO = 0.5
TARGET_RSS_MB = 300.0

QUERY = """query Nearby($at: LatLonInput!, $cat: ActivityCategory!) {
  nearby(at: $at, radiusMeters: 5000, first: 20, kinds: [ACTIVITY],
         filter: {categories: [$cat]}) {
    edges { distanceMeters node { ... on Activity { id title category location { lat lon } } } }
  }
}"""


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--keep", action="store_true", help=f"keep the {DATABASE} database (and reuse it next time)"
    )
    parser.add_argument("--fresh", action="store_true", help="rebuild the database even if kept")
    parser.add_argument("--workers", default="1,2", help="uvicorn worker counts to try")
    parser.add_argument("--concurrency", default="1,16")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per timed run")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before each series")
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument(
        "--no-access-log",
        action="store_true",
        help="run uvicorn without its access log (hverdag serve keeps it)",
    )
    parser.add_argument(
        "--max-busy",
        type=float,
        default=0.25,
        help="CPU share (of all cores) other processes may use before a run",
    )
    parser.add_argument(
        "--no-compiled",
        action="store_true",
        help="serve with HVERDAG_COMPILED_QUERIES=false (strawberry's path only)",
    )
    parser.add_argument(
        "--instances",
        type=int,
        default=0,
        help="also run this many one-worker servers on their own ports, the "
        "c=16 connections split evenly over them (0: not run)",
    )
    parser.add_argument(
        "--lang",
        default="",
        help="also time the same requests with lang: [these tags] (e.g. prs,fa,en), right after "
        "each plain run (issue 14: at most 15 %% more); translations of the generated "
        "activities are made first when the database has none",
    )
    parser.add_argument(
        "--lang-rounds",
        type=int,
        default=1,
        help="with --lang: alternate this many (lang, plain) pairs after each plain run, and "
        "report the median cost (a loaded machine moves single runs by more than the cost)",
    )
    parser.add_argument("--skip-sql", action="store_true")
    parser.add_argument("--skip-graphql", action="store_true")
    parser.add_argument("--label", default="", help="a note stored with the results")
    parser.add_argument("--output", type=Path, help="results file (default: by date)")
    return parser.parse_args(argv)


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


# --- the database --------------------------------------------------------------------------------


def _counts(url: sa.URL) -> tuple[int, int]:
    with connect(url) as conn:
        return tuple(
            int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(t).where(t.c.source == SOURCE)
                ).scalar_one()
            )
            for t in (venue, activity)
        )  # type: ignore[return-value]


def prepare_database(url: sa.URL, data_dir: Path, seed: int, fresh: bool) -> dict[str, Any]:
    """Reuse a complete bench database, else build it; returns what was done and how long."""
    if database_exists(url) and not fresh:
        try:
            if _counts(url) == (VENUES, ACTIVITIES):
                print(f"reusing database {url.database} (migrating to head)", flush=True)
                migrate(url)  # the server is ready only when migrations are at head
                return {"reused": True}
        except sa.exc.DBAPIError:
            pass
    drop_database(url)
    started = time.perf_counter()
    migrate(url)
    with connect(url) as conn:
        load_bundled(conn, data_dir)
    bundled = time.perf_counter()
    print(f"bundled data loaded in {bundled - started:.0f} s; generating …", flush=True)

    def progress(done: int, total: int) -> None:
        print(f"\r  {done:,}/{total:,}", end="", file=sys.stderr, flush=True)

    with connect(url) as conn:
        generate(conn, venues=VENUES, activities=ACTIVITIES, seed=seed, progress=progress)
    generated = time.perf_counter()
    engine = sync_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    finally:
        engine.dispose()
    done = time.perf_counter()
    print(
        f"\ngenerated in {generated - bundled:.0f} s, VACUUM ANALYZE {done - generated:.0f} s",
        flush=True,
    )
    return {
        "reused": False,
        "bundled_s": round(bundled - started, 1),
        "generated_s": round(generated - bundled, 1),
        "vacuum_analyze_s": round(done - generated, 1),
    }


def prepare_translations(url: sa.URL) -> dict[str, Any]:
    """The generated activities' example translations (loaders.demo_translations), once."""
    with connect(url) as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(activity_translation))
        existing = int(count.scalar_one())
        if existing:
            return {"rows": existing, "made_s": None}
        started = time.perf_counter()
        report = translate_demo_activities(conn)
    print(f"translations: {report.inserted:,} rows", flush=True)
    return {"rows": report.inserted, "made_s": round(time.perf_counter() - started, 1)}


# --- query points --------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryPoint:
    lat: float
    lon: float
    x: float  # what the API computes from lat/lon (geo.crs.to_storage)
    y: float
    category: str


def draw_points(url: sa.URL, n: int, seed: int) -> list[QueryPoint]:
    """``n`` generated activities' locations, drawn without replacement, as a user would send
    them (lat/lon to 6 decimals), each with a category."""
    with connect(url) as conn:
        rows = conn.execute(
            sa.select(sa.func.ST_X(activity.c.geom), sa.func.ST_Y(activity.c.geom))
            .where(activity.c.source == SOURCE)
            .order_by(activity.c.id)
        ).all()
    rng = np.random.default_rng([seed, 3])
    picks = rng.choice(len(rows), size=n, replace=False)
    categories = rng.integers(0, len(CATEGORIES), size=n)
    points = []
    for pick, category in zip(picks, categories, strict=True):
        lat, lon = to_wgs84(*rows[int(pick)])
        lat, lon = round(lat, 6), round(lon, 6)
        x, y = to_storage(lat, lon)
        points.append(QueryPoint(lat, lon, x, y, CATEGORIES[int(category)]))
    return points


def _point_regions(points: list[QueryPoint]) -> dict[str, int]:
    """How many points lie in Oslo's box, south of Trondheim, and north of it."""
    regions = {"oslo_area": 0, "rest_of_south": 0, "north_of_63.5": 0}
    for p in points:
        if 59.8 <= p.lat <= 60.05 and 10.5 <= p.lon <= 11.0:
            regions["oslo_area"] += 1
        elif p.lat < 63.5:
            regions["rest_of_south"] += 1
        else:
            regions["north_of_63.5"] += 1
    return regions


# --- the API's SQL -------------------------------------------------------------------------------


@dataclass
class CapturedSQL:
    """The statement the API sends for one nearby() call, with psycopg placeholders."""

    statement: str
    parameters: dict[str, Any]


def capture_sql(url: sa.URL, point: QueryPoint) -> CapturedSQL:
    """Run geo's nearby() as the API does (kinds ACTIVITY, one category, first 20) and capture
    the one statement it sends."""
    engine = sync_engine(url, poolclass=sa.pool.NullPool)
    captured: list[CapturedSQL] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        captured.append(CapturedSQL(statement, dict(parameters)))

    event.listen(engine, "before_cursor_execute", before)
    try:
        with engine.connect() as conn:
            nearby(
                conn,
                point.x,
                point.y,
                radius_m=RADIUS_M,
                kinds=(PlaceKind.ACTIVITY,),
                filt=DirectoryFilter(categories=(point.category,)),
                first=FIRST,
                stale_before=stale_line(),
            )
    finally:
        engine.dispose()
    if len(captured) != 1:
        raise RuntimeError(f"expected one statement from nearby(), got {len(captured)}")
    return captured[0]


def stale_line() -> datetime:
    """The staleness line the API judges on today (HVERDAG_STALE_AFTER_DAYS)."""
    return stale_before(datetime.now(UTC), load_settings().stale_after_days)


def _variable_roles(sql: CapturedSQL, point: QueryPoint) -> dict[str, str]:
    """Which bound parameters carry the point's x, y and the category."""
    roles = {}
    for name, value in sql.parameters.items():
        if isinstance(value, float) and value == point.x:
            roles[name] = "x"
        elif isinstance(value, float) and value == point.y:
            roles[name] = "y"
        elif value == point.category:
            roles[name] = "category"
    if sorted(roles.values()) != ["category", "x", "y"]:
        raise RuntimeError(f"cannot find the point and category among {sql.parameters}")
    return roles


def sql_params(sql: CapturedSQL, roles: dict[str, str], point: QueryPoint) -> dict[str, Any]:
    values = {"x": point.x, "y": point.y, "category": point.category}
    return {
        name: values[roles[name]] if name in roles else value
        for name, value in sql.parameters.items()
    }


def run_sql(
    conn: psycopg.Connection[Any], sql: CapturedSQL, roles: dict[str, str], point: QueryPoint
) -> list[tuple[Any, ...]]:
    return conn.execute(sql.statement, sql_params(sql, roles, point)).fetchall()


def explain(url: sa.URL, sql: CapturedSQL, roles: dict[str, str]) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) at a dense and a sparse point, with what the plan shows."""
    out: dict[str, Any] = {}
    with _psycopg(url) as conn:
        for label, (lat, lon) in EXPLAIN_POINTS.items():
            x, y = to_storage(lat, lon)
            point = QueryPoint(lat, lon, x, y, EXPLAIN_CATEGORY)
            run_sql(conn, sql, roles, point)  # warm
            rows = run_sql(conn, sql, roles, point)
            plan = "\n".join(
                r[0]
                for r in conn.execute(
                    "EXPLAIN (ANALYZE, BUFFERS) " + sql.statement, sql_params(sql, roles, point)
                ).fetchall()
            )
            out[label] = {
                "lat": lat,
                "lon": lon,
                "category": EXPLAIN_CATEGORY,
                "rows_returned": len(rows),
                **_plan_summary(plan),
                "plan": plan,
            }
    return out


def _plan_summary(plan: str) -> dict[str, Any]:
    index_scan = re.search(
        r"Index Scan using (\w+) on activity.*?\(actual time=[^)]*rows=(\d+)", plan
    )
    knn = re.search(r"Order By: \(geom <-> ", plan) is not None
    execution = re.search(r"Execution Time: ([0-9.]+) ms", plan)
    planning = re.search(r"Planning Time: ([0-9.]+) ms", plan)
    sorts = re.findall(r"(?:^|->\s+)((?:Incremental )?Sort)\s+\(cost", plan, re.MULTILINE)
    hits = [int(h) for h in re.findall(r"shared hit=(\d+)", plan)]

    index_name = index_scan.group(1) if index_scan else None
    index_rows = int(index_scan.group(2)) if index_scan else None
    return {
        # the KNN scan of the (category, geom) index, stopped after the limit (and its ties);
        # no bitmap or sequential scan, no sort but the incremental one of the last few rows
        "plan_ok": (
            index_name == KNN_INDEX
            and knn
            and index_rows is not None
            and index_rows <= 2 * (FIRST + 1)
            and "Bitmap" not in plan
            and "Seq Scan" not in plan
            and all(n == "Incremental Sort" for n in sorts)
        ),
        "index": index_name,
        "index_rows": index_rows,
        "knn_order_by": knn,
        "bitmap_scan": "Bitmap" in plan,
        "seq_scan": "Seq Scan" in plan,
        "sort_nodes": sorts,
        "shared_hit_top": hits[0] if hits else None,
        "planning_ms": float(planning.group(1)) if planning else None,
        "execution_ms": float(execution.group(1)) if execution else None,
    }


@contextlib.contextmanager
def _psycopg(url: sa.URL) -> Iterator[psycopg.Connection[Any]]:
    """A plain psycopg connection, configured as the API's (jit off, no server-side prepare)."""
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(
        dsn, options="-c jit=off -c timezone=UTC", prepare_threshold=None, autocommit=True
    ) as conn:
        yield conn


# --- pgbench -------------------------------------------------------------------------------------


def _libpq_args(url: sa.URL) -> list[str]:
    args = ["-U", str(url.username or "postgres")]
    host = url.query.get("host") or url.host
    if host:
        args += ["-h", str(host)]
    if url.port:
        args += ["-p", str(url.port)]
    return [*args, str(url.database)]


def write_point_table(url: sa.URL, points: list[QueryPoint]) -> None:
    with _psycopg(url) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_point")
        conn.execute(
            "CREATE TABLE bench_point (i int PRIMARY KEY, x float8 NOT NULL, "
            "y float8 NOT NULL, category text NOT NULL)"
        )
        with conn.cursor().copy("COPY bench_point (i, x, y, category) FROM STDIN") as copy:
            for i, p in enumerate(points):
                copy.write_row((i, p.x, p.y, p.category))
        conn.execute("ANALYZE bench_point")


def pgbench_script(sql: CapturedSQL, roles: dict[str, str], n_points: int) -> tuple[str, dict]:
    """The pgbench script (the API's statement with pgbench variables) and its constants."""
    constants = {name: value for name, value in sql.parameters.items() if name not in roles}
    names = {**{name: roles[name] for name in roles}, **{name: name for name in constants}}
    body = re.sub(r"%\((\w+)\)s", lambda m: f":{names[m.group(1)]}", sql.statement)
    if "%" in body.replace("%%", ""):
        raise RuntimeError("unexpected placeholder left in the statement")
    body = " ".join(body.replace("%%", "%").split())
    script = (
        f"\\set i random(0, {n_points - 1})\n"
        "SELECT x, y, category FROM bench_point WHERE i = :i \\gset\n"
        f"{body};\n"
    )
    return script, constants


def run_pgbench(
    url: sa.URL,
    script: str,
    constants: dict[str, Any],
    clients: int,
    duration: float,
    workdir: Path,
    pids: set[int] | None = None,
    *,
    log: bool = True,
) -> dict[str, Any]:
    script_file = workdir / "nearby.pgbench"
    script_file.write_text(script)
    logdir = workdir / f"pgbench-c{clients}-{time.monotonic_ns()}"
    logdir.mkdir()
    cmd = [
        str(PGBENCH),
        "-n",
        "-M",
        "extended",
        "-c",
        str(clients),
        "-j",
        "1",
        "-T",
        str(max(1, round(duration))),
        "-r",
        "-f",
        str(script_file),
    ]
    for name, value in constants.items():
        cmd += ["-D", f"{name}={value}"]
    if log:
        cmd += ["--log", f"--log-prefix={logdir}/tx"]
    cmd += _libpq_args(url)
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=logdir
    )
    if pids is not None:
        pids.add(proc.pid)
    out, err = proc.communicate()
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"pgbench failed:\n{err}\n{out}")
    tps = float(re.search(r"tps = ([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    failed = int(re.search(r"number of failed transactions: (\d+)", out).group(1))  # type: ignore[union-attr]
    statement_ms = [float(v) for v in re.findall(r"^\s+([0-9.]+)\s+\d+\s+\S", out, re.MULTILINE)]
    result: dict[str, Any] = {
        "requests_per_s": round(tps, 1),
        "failed": failed,
        "wall_s": round(elapsed, 1),
        "statement_mean_ms": statement_ms,
    }
    if log:
        latencies = []
        for path in logdir.glob("tx*"):
            with path.open() as f:
                latencies += [int(line.split()[2]) for line in f]
        result.update(_percentiles(np.array(latencies, dtype=float) / 1000.0))
        result["requests"] = len(latencies)
    shutil.rmtree(logdir, ignore_errors=True)
    return result


def run_psycopg_client(
    url: sa.URL,
    sql: CapturedSQL,
    roles: dict[str, str],
    points: list[QueryPoint],
    clients: int,
    duration: float,
    warmup: float,
    workdir: Path,
    pids: set[int] | None = None,
) -> dict[str, Any]:
    """The statement through psycopg (bench/sql_client.py, its own process): the issue's
    "same query as raw SQL through psycopg", driven like the API drives it."""
    config = workdir / f"sql-client-c{clients}.json"
    config.write_text(
        json.dumps(
            {
                "conninfo": url.set(drivername="postgresql").render_as_string(hide_password=False),
                "statement": sql.statement,
                "clients": clients,
                "duration_s": duration,
                "warmup_s": warmup,
                "params": [sql_params(sql, roles, p) for p in points],
            },
            # The staleness line is a datetime: as ISO text, which PostgreSQL casts back.
            default=lambda value: value.isoformat(),
        )
    )
    return _result_line(
        [sys.executable, str(ROOT / "bench" / "sql_client.py"), str(config)],
        "SQL_CLIENT_RESULT",
        pids,
        "sql_client",
    )


def _result_line(cmd: list[str], marker: str, pids: set[int] | None, name: str) -> dict[str, Any]:
    """Run a load tool (its pid into ``pids``, for CPU accounting) and parse the JSON it prints
    after ``marker``."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    if pids is not None:
        pids.add(proc.pid)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{err}\n{out}")
    line = next(x for x in out.splitlines() if x.startswith(f"{marker} "))
    return json.loads(line.removeprefix(f"{marker} "))


def _percentiles(ms: np.ndarray) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p90_ms": round(float(np.percentile(ms, 90)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2),
        "mean_ms": round(float(ms.mean()), 3),
    }


# --- the server ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def process_tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += _children(current)
    return tree


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kb(pid: int) -> int:
    """Proportional set size: shared pages split among the processes that share them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_ticks(pid: int) -> int:
    try:
        fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields_[11]) + int(fields_[12])  # utime + stime
    except (OSError, IndexError):
        return 0


def _total_busy_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


def _bench_backends(database: str) -> list[int]:
    """PostgreSQL backends serving the bench database (their process title names it)."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if f" {database} ".encode() in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
    return pids


class Sampler:
    """Samples the server tree's RSS every 0.1 s and, inside :meth:`window`, the CPU time of
    everything that is ours (server, bench database backends, load generator)."""

    def __init__(self, server_pid: int | None, database: str) -> None:
        self.server_pid = server_pid
        self.database = database
        self.peak_rss_kb = 0
        self.peak_pss_kb = 0
        self.peak_per_process_kb: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._window: CpuWindow | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def server_pids(self) -> list[int]:
        return process_tree(self.server_pid) if self.server_pid else []

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            self.sample()

    def sample(self) -> None:
        with self._lock:
            pids = self.server_pids()
            per = {pid: _rss_kb(pid) for pid in pids}
            self.peak_rss_kb = max(self.peak_rss_kb, sum(per.values()))
            self.peak_pss_kb = max(self.peak_pss_kb, sum(_pss_kb(pid) for pid in pids))
            for pid, kb in per.items():
                self.peak_per_process_kb[pid] = max(self.peak_per_process_kb.get(pid, 0), kb)
            if self._window is not None:
                self._window.observe(
                    [*pids, *_bench_backends(self.database), *self._window.load_pids]
                )

    @contextlib.contextmanager
    def window(self) -> Iterator[CpuWindow]:
        """CPU accounting for one run; add the load generator's pid to ``load_pids``."""
        window = CpuWindow()
        with self._lock:
            window.begin([*self.server_pids(), *_bench_backends(self.database)])
            self._window = window
        try:
            yield window
        finally:
            self.sample()
            with self._lock:
                self._window = None
                window.end()


class CpuWindow:
    """CPU used during a run, by all processes and by ours; the difference is other load."""

    def __init__(self) -> None:
        self.load_pids: set[int] = set()
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.result: dict[str, float] = {}

    def begin(self, pids: list[int]) -> None:
        self.started = time.perf_counter()
        self.busy0, self.total0 = _total_busy_ticks()
        for pid in pids:
            self.first[pid] = self.last[pid] = _cpu_ticks(pid)

    def observe(self, pids: list[int]) -> None:
        for pid in pids:
            ticks = _cpu_ticks(pid)
            if ticks:
                self.first.setdefault(pid, 0)  # born during the run
                self.last[pid] = ticks

    def end(self) -> None:
        busy1, total1 = _total_busy_ticks()
        cores = os.cpu_count() or 1
        all_busy = (busy1 - self.busy0) / max(1, total1 - self.total0) * cores
        ours_ticks = sum(self.last[p] - self.first[p] for p in self.last)
        ours = ours_ticks / os.sysconf("SC_CLK_TCK") / (time.perf_counter() - self.started)
        self.result = {
            "cores_busy": round(all_busy, 2),
            "ours_cores": round(ours, 2),
            "others_cores": round(max(0.0, all_busy - ours), 2),
        }


def _idle_check(max_busy: float, waited_max: float = 300.0) -> dict[str, Any]:
    """Wait until, over 3 s, the machine is at most ``max_busy`` busy (our processes idle)."""
    deadline = time.monotonic() + waited_max
    while True:
        busy0, total0 = _total_busy_ticks()
        time.sleep(3)
        busy1, total1 = _total_busy_ticks()
        share = (busy1 - busy0) / max(1, total1 - total0)
        load = Path("/proc/loadavg").read_text().split()[:3]
        if share <= max_busy or time.monotonic() > deadline:
            return {
                "busy_before": round(share, 2),
                "loadavg_before": load,
                "waited_out": share > max_busy,
            }
        print(
            f"  machine busy ({share:.0%} of all cores, load {' '.join(load)}); waiting …",
            flush=True,
        )


@contextlib.contextmanager
def server(
    url: sa.URL,
    workers: int,
    port: int,
    access_log: bool,
    logfile: Path,
    compiled: bool = True,
    *,
    root: Path = ROOT,
    command: list[str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """The API served from ``root``'s code (this checkout by default) by uvicorn, as
    ``hverdag serve`` runs it, or by ``command`` (another server; the port is its to bind)."""
    env = {
        **os.environ,
        "HVERDAG_DATABASE_URL": url.render_as_string(hide_password=False),
        "HVERDAG_GRAPHQL_EXPLORER": "false",
        "HVERDAG_COMPILED_QUERIES": "true" if compiled else "false",
        # One client address sends everything here: a bucket it never empties, so the
        # limiter's work is still done per request (docs/reliability.md).
        "HVERDAG_RATE_LIMIT_PER_MINUTE": json.dumps({"PUBLIC": 100_000_000}),
    }
    # uvicorn's lines in hverdag's format, as `hverdag serve` configures them.
    log_config = logfile.with_suffix(".log-config.json")
    log_config.write_text(json.dumps(uvicorn_log_config(load_settings())))
    cmd = [
        str(ROOT / ".venv" / "bin" / "uvicorn"),
        "api.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "info",
        "--log-config",
        str(log_config),
    ]
    if not access_log:
        cmd.append("--no-access-log")
    if command is not None:
        cmd = command
    with logfile.open("ab") as log:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited ({proc.returncode}):\n{_tail(logfile)}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"server not ready after 60 s:\n{_tail(logfile)}\n{_readyz_answer(port)}"
                )
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()  # SIGTERM to the process we started; it stops its own workers
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _readyz_answer(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            return r.read().decode()
    except urllib.error.HTTPError as e:
        return e.read().decode()
    except OSError as e:
        return str(e)


def _post(port: int, body: bytes) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.loads(r.read())


#: The same request in the reader's languages (--lang): the titles come translated.
QUERY_LANG = QUERY.replace(
    "$cat: ActivityCategory!)", "$cat: ActivityCategory!, $lang: [String!])"
).replace("filter: {categories: [$cat]})", "filter: {categories: [$cat]}, lang: $lang)")


def request_body(point: QueryPoint, lang: list[str] | None = None) -> bytes:
    variables: dict[str, Any] = {"at": {"lat": point.lat, "lon": point.lon}, "cat": point.category}
    if lang:
        variables["lang"] = lang
    return json.dumps(
        {"query": QUERY_LANG if lang else QUERY, "operationName": "Nearby", "variables": variables},
        separators=(",", ":"),
    ).encode()


def check_answers(
    url: sa.URL,
    port: int,
    sql: CapturedSQL,
    roles: dict[str, str],
    points: list[QueryPoint],
    sample: int = 50,
) -> dict[str, Any]:
    """The API's answers are the raw SQL's rows: same ids, same order, for ``sample`` points."""
    edges = 0
    with _psycopg(url) as conn:
        conn.row_factory = dict_row  # type: ignore[assignment]
        for point in points[:sample]:
            answer = _post(port, request_body(point))
            if "errors" in answer:
                raise RuntimeError(f"GraphQL errors: {answer['errors']}")
            got = [
                int(base64.b64decode(e["node"]["id"]).decode().split(":")[1])
                for e in answer["data"]["nearby"]["edges"]
            ]
            rows = run_sql(conn, sql, roles, point)
            expected = [r["id"] for r in rows][:FIRST]  # type: ignore[call-overload]
            if got != expected:
                raise RuntimeError(f"answers differ at {point}: {got} != {expected}")
            edges += len(got)
    return {"points_checked": sample, "mean_edges": round(edges / sample, 1)}


# --- wrk -----------------------------------------------------------------------------------------

WRK_LUA = r"""
local bodies = dofile(BODIES_FILE)
local n = #bodies
local counter = 0
errors = 0
non200 = 0
local threads = {}

function setup(thread)
  thread:set("start", #threads * 7919)
  table.insert(threads, thread)
end

function init(args)
  counter = tonumber(start) or 0
  wrk.method = "POST"
  wrk.path = "/graphql"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  return wrk.format(nil, nil, nil, bodies[(counter % n) + 1])
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  elseif string.find(body, '"errors"', 1, true) then
    errors = errors + 1
  end
end

function done(summary, latency, requests)
  local graphql_errors, bad_status = 0, 0
  for _, t in ipairs(threads) do
    graphql_errors = graphql_errors + t:get("errors")
    bad_status = bad_status + t:get("non200")
  end
  local s = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f,"graphql_errors":%d,"non_200":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, graphql_errors, bad_status,
    s.connect + s.read + s.write + s.timeout))
end
"""


def write_wrk_files(points: list[QueryPoint], workdir: Path, lang: list[str] | None = None) -> Path:
    suffix = "-lang" if lang else ""
    bodies = workdir / f"bodies{suffix}.lua"
    with bodies.open("w") as f:
        f.write("return {\n")
        for point in points:
            text = request_body(point, lang).decode()
            assert "]==]" not in text
            f.write(f"[==[{text}]==],\n")
        f.write("}\n")
    script = workdir / f"nearby{suffix}.lua"
    script.write_text(WRK_LUA.replace("BODIES_FILE", json.dumps(str(bodies))))
    return script


def run_wrk(
    port: int, script: Path, connections: int, duration: float, pids: set[int] | None = None
) -> dict[str, Any]:
    cmd = [
        "wrk",
        "-t",
        "1",
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}/graphql",
    ]
    raw = _result_line(cmd, "WRK_RESULT", pids, "wrk")
    seconds = raw["duration_us"] / 1e6
    return {
        "requests_per_s": round(raw["requests"] / seconds, 1),
        "requests": raw["requests"],
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "mean_ms": round(raw["mean_us"] / 1000, 3),
        "graphql_errors": raw["graphql_errors"],
        "non_200": raw["non_200"],
        "socket_errors": raw["socket_errors"],
    }


# --- the runs ------------------------------------------------------------------------------------


def sql_series(
    url: sa.URL,
    script: str,
    constants: dict[str, Any],
    args: argparse.Namespace,
    workdir: Path,
    sql: CapturedSQL,
    roles: dict[str, str],
    points: list[QueryPoint],
) -> dict[str, Any]:
    sampler = Sampler(None, DATABASE)
    sampler.start()
    out: dict[str, Any] = {}
    try:
        run_pgbench(
            url, script, constants, max(_ints(args.concurrency)), args.warmup, workdir, log=False
        )
        for clients in _ints(args.concurrency):
            quiet = _idle_check(args.max_busy)
            with sampler.window() as cpu:
                result = run_pgbench(
                    url, script, constants, clients, args.duration, workdir, cpu.load_pids
                )
            # The point lookup's share, from a run of the lookup alone: time (or CPU) per
            # transaction adds up, so 1/rate(query) = 1/rate(both) - 1/rate(lookup).
            lookup_script = "\n".join(script.splitlines()[:2]) + "\n"
            lookup = run_pgbench(
                url,
                lookup_script,
                constants,
                clients,
                max(5.0, args.duration / 2),
                workdir,
                log=False,
            )
            result["lookup_only_per_s"] = lookup["requests_per_s"]
            result["requests_per_s_without_lookup"] = round(
                1 / (1 / result["requests_per_s"] - 1 / lookup["requests_per_s"]), 1
            )
            out[f"c{clients}"] = {
                **result,
                "conditions": {**quiet, **cpu.result, "loadavg_after": _loadavg()},
            }
            _print_run(f"SQL (pgbench) c={clients}", out[f"c{clients}"])
            print(
                f"    without the point lookup: {result['requests_per_s_without_lookup']:.1f} "
                f"req/s (lookup alone: {lookup['requests_per_s']:.0f}/s)",
                flush=True,
            )
            quiet = _idle_check(args.max_busy)
            with sampler.window() as cpu:
                client = run_psycopg_client(
                    url,
                    sql,
                    roles,
                    points,
                    clients,
                    args.duration,
                    min(args.warmup, 3.0),
                    workdir,
                    cpu.load_pids,
                )
            out[f"psycopg_c{clients}"] = {
                **client,
                "conditions": {**quiet, **cpu.result, "loadavg_after": _loadavg()},
            }
            _print_run(f"SQL (psycopg) c={clients}", out[f"psycopg_c{clients}"])
    finally:
        sampler.stop()
    return out


def graphql_series(
    url: sa.URL,
    workers: int,
    args: argparse.Namespace,
    points: list[QueryPoint],
    sql: CapturedSQL,
    roles: dict[str, str],
    workdir: Path,
) -> dict[str, Any]:
    port = args.port or _free_port()
    script = write_wrk_files(points, workdir)
    lang = [tag for tag in args.lang.split(",") if tag]
    lang_script = write_wrk_files(points, workdir, lang) if lang else None
    logfile = workdir / f"uvicorn-w{workers}.log"
    out: dict[str, Any] = {"workers": workers}
    with server(
        url, workers, port, not args.no_access_log, logfile, compiled=not args.no_compiled
    ) as proc:
        sampler = Sampler(proc.pid, DATABASE)
        sampler.start()
        try:
            out["answers_checked"] = check_answers(url, port, sql, roles, points)
            run_wrk(port, script, max(_ints(args.concurrency)), args.warmup)
            for connections in _ints(args.concurrency):
                quiet = _idle_check(args.max_busy)
                split: list[list[int]] = []
                look = threading.Timer(
                    min(3.0, args.duration / 2),
                    _record_split,
                    (split, port, _children(proc.pid) or [proc.pid]),
                )
                look.start()
                with sampler.window() as cpu:
                    result = run_wrk(port, script, connections, args.duration, cpu.load_pids)
                look.join()
                out[f"c{connections}"] = {
                    **result,
                    "connections_per_worker": split[0] if split else None,
                    "conditions": {**quiet, **cpu.result, "loadavg_after": _loadavg()},
                }
                _print_run(f"GraphQL workers={workers} c={connections}", out[f"c{connections}"])
                print(f"    connections per worker: {split[0] if split else '?'}", flush=True)
                if result["graphql_errors"] or result["non_200"] or result["socket_errors"]:
                    raise RuntimeError(f"errors during the run: {result}:\n{_tail(logfile)}")
                if lang_script is not None:
                    out[f"lang_c{connections}"] = _lang_rounds(
                        port,
                        script,
                        lang_script,
                        connections,
                        args,
                        sampler,
                        out[f"c{connections}"],
                        logfile,
                    )
        finally:
            sampler.stop()
        pids = sampler.server_pids()
        out["processes"] = len(pids)
    out["peak_rss_mb"] = round(sampler.peak_rss_kb / 1024, 1)
    out["peak_pss_mb"] = round(sampler.peak_pss_kb / 1024, 1)
    out["peak_rss_per_process_mb"] = sorted(
        (round(kb / 1024, 1) for kb in sampler.peak_per_process_kb.values()), reverse=True
    )
    print(
        f"  server peak RSS (sum of {len(sampler.peak_per_process_kb)} processes): "
        f"{out['peak_rss_mb']} MB {out['peak_rss_per_process_mb']}; PSS "
        f"{out['peak_pss_mb']} MB",
        flush=True,
    )
    return out


def _lang_run(
    port: int,
    script: Path,
    connections: int,
    args: argparse.Namespace,
    sampler: Sampler,
    plain: dict[str, Any],
    logfile: Path,
) -> dict[str, Any]:
    """The same points with `lang`, right after the plain run: its rate and what it costs."""
    quiet = _idle_check(args.max_busy)
    with sampler.window() as cpu:
        result = run_wrk(port, script, connections, args.duration, cpu.load_pids)
    if result["graphql_errors"] or result["non_200"] or result["socket_errors"]:
        raise RuntimeError(f"errors during the lang run: {result}:\n{_tail(logfile)}")
    result["lang"] = args.lang
    result["cost_vs_plain"] = round(plain["requests_per_s"] / result["requests_per_s"] - 1, 3)
    result["conditions"] = {**quiet, **cpu.result, "loadavg_after": _loadavg()}
    _print_run(f"  with lang [{args.lang}] c={connections}", result)
    print(f"    costs {result['cost_vs_plain']:+.1%} against the plain run", flush=True)
    return result


def _lang_rounds(
    port: int,
    script: Path,
    lang_script: Path,
    connections: int,
    args: argparse.Namespace,
    sampler: Sampler,
    plain: dict[str, Any],
    logfile: Path,
) -> dict[str, Any]:
    """``--lang-rounds`` pairs: a lang run after each plain one (the first plain run is the
    series' own), each pair's cost, and their median."""
    rounds = []
    for number in range(max(1, args.lang_rounds)):
        if number:
            quiet = _idle_check(args.max_busy)
            with sampler.window() as cpu:
                plain = run_wrk(port, script, connections, args.duration, cpu.load_pids)
            plain["conditions"] = {**quiet, **cpu.result, "loadavg_after": _loadavg()}
            _print_run(f"  plain again c={connections}", plain)
        rounds.append(_lang_run(port, lang_script, connections, args, sampler, plain, logfile))
        rounds[-1]["plain_requests_per_s"] = plain["requests_per_s"]
        rounds[-1]["plain_conditions"] = plain["conditions"]
        rounds[-1]["cpu_cost_vs_plain"] = _cpu_cost(plain, rounds[-1])
    costs = sorted(r["cost_vs_plain"] for r in rounds)
    cpu_costs = sorted(r["cpu_cost_vs_plain"] for r in rounds)
    median = costs[len(costs) // 2] if len(costs) % 2 else sum(costs[len(costs) // 2 - 1 :][:2]) / 2
    cpu_median = cpu_costs[len(cpu_costs) // 2]
    print(
        f"    median cost of lang over {len(costs)} pairs: {median:+.1%} in requests/s, "
        f"{cpu_median:+.1%} in our CPU per request",
        flush=True,
    )
    return {
        **rounds[0],
        "rounds": rounds,
        "median_cost_vs_plain": round(median, 3),
        "median_cpu_cost_vs_plain": round(cpu_median, 3),
    }


def _cpu_cost(plain: dict[str, Any], lang: dict[str, Any]) -> float:
    """What lang adds to the CPU our processes (the server and its database backends) spend
    per request: under others' load a run's rate moves with theirs, its CPU per request less."""

    def per_request(run: dict[str, Any]) -> float:
        return float(run["conditions"]["ours_cores"]) / max(1e-9, float(run["requests_per_s"]))

    return round(per_request(lang) / per_request(plain) - 1, 3)


def connections_per_worker(port: int, pids: list[int]) -> list[int]:
    """Established connections to ``port`` that each process holds (from /proc), most first:
    how uvicorn's workers, which accept from one shared socket, split the load generator's
    keep-alive connections (the first worker awake may take most of them)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    counts = []
    for pid in pids:
        held = 0
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    held += str(fd.readlink()) in inodes
        counts.append(held)
    return sorted(counts, reverse=True)


def _record_split(into: list[list[int]], port: int, pids: list[int]) -> None:
    into.append(connections_per_worker(port, pids))


def balanced_series(
    url: sa.URL, instances: int, args: argparse.Namespace, points: list[QueryPoint], workdir: Path
) -> dict[str, Any]:
    """``instances`` one-worker servers on their own ports, the largest concurrency's
    connections split evenly over them by construction: what one-worker containers behind a
    least-connections balancer would see (the balancer's own cost not included). uvicorn's
    ``--workers`` leaves the split to whichever worker accepts first."""
    script = write_wrk_files(points, workdir)
    connections = max(_ints(args.concurrency))
    share = connections // instances
    ports = [_free_port() for _ in range(instances)]
    with contextlib.ExitStack() as stack:
        procs = [
            stack.enter_context(
                server(
                    url,
                    1,
                    port,
                    not args.no_access_log,
                    workdir / f"uvicorn-instance{i}.log",
                    compiled=not args.no_compiled,
                )
            )
            for i, port in enumerate(ports)
        ]
        for port in ports:
            run_wrk(port, script, share, args.warmup)
        sampler = Sampler(None, DATABASE)
        sampler.start()
        try:
            quiet = _idle_check(args.max_busy)
            with sampler.window() as cpu:
                for proc in procs:  # running before the window: count from now
                    cpu.first[proc.pid] = cpu.last[proc.pid] = _cpu_ticks(proc.pid)
                cpu.load_pids.update(proc.pid for proc in procs)
                runs: list[dict[str, Any]] = [{} for _ in ports]
                threads = [
                    threading.Thread(
                        target=lambda i, port: runs[i].update(
                            run_wrk(port, script, share, args.duration, cpu.load_pids)
                        ),
                        args=(i, port),
                    )
                    for i, port in enumerate(ports)
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
        finally:
            sampler.stop()
        rss_mb = [round(_rss_kb(proc.pid) / 1024, 1) for proc in procs]
    if any(r["graphql_errors"] or r["non_200"] or r["socket_errors"] for r in runs):
        raise RuntimeError(f"errors during the balanced run: {runs}")
    out = {
        "instances": instances,
        "connections_each": share,
        "requests_per_s": round(sum(r["requests_per_s"] for r in runs), 1),
        "p50_ms_each": [r["p50_ms"] for r in runs],
        "p99_ms_each": [r["p99_ms"] for r in runs],
        "rss_mb_each": rss_mb,
        "runs": runs,
        "conditions": {**quiet, **cpu.result, "loadavg_after": _loadavg()},
    }
    print(
        f"  {instances} one-worker servers, {share} connections each: "
        f"{out['requests_per_s']:.1f} req/s  p99 {max(out['p99_ms_each']):.2f} ms  RSS "
        f"{rss_mb} MB  (others used {cpu.result['others_cores']:.2f} cores)",
        flush=True,
    )
    return out


def _loadavg() -> list[str]:
    return Path("/proc/loadavg").read_text().split()[:3]


def _print_run(label: str, r: dict[str, Any]) -> None:
    c = r["conditions"]
    print(
        f"  {label:<28} {r['requests_per_s']:>8.1f} req/s  p50 {r['p50_ms']:.2f}  "
        f"p90 {r['p90_ms']:.2f}  p99 {r['p99_ms']:.2f} ms   (others used "
        f"{c['others_cores']:.2f} cores; load {' '.join(c['loadavg_before'])})",
        flush=True,
    )


def _machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024**2, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def _versions(url: sa.URL) -> dict[str, str]:
    out = {
        name: metadata.version(name)
        for name in (
            "strawberry-graphql",
            "graphql-core",
            "starlette",
            "uvicorn",
            "SQLAlchemy",
            "psycopg",
            "orjson",
            "pyproj",
        )
    }
    with _psycopg(url) as conn:
        out["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
        out["postgis"] = conn.execute("SELECT postgis_lib_version()").fetchone()[0]
    out["wrk"] = (
        subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
        .stdout.split("[")[0]
        .strip()
    )
    return out


def _git() -> dict[str, Any]:
    def git(*a: str) -> str:
        return subprocess.run(
            ["git", *a], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty_api_geo": bool(git("status", "--porcelain", "--", "api", "geo")),
    }


def summary_markdown(results: dict[str, Any]) -> str:
    lines = [
        "| run | requests/s | p50 ms | p90 ms | p99 ms | others' CPU (cores) |",
        "|---|---:|---:|---:|---:|---:|",
    ]

    def row(label: str, r: dict[str, Any]) -> None:
        lines.append(
            f"| {label} | {r['requests_per_s']:,.0f} | {r['p50_ms']:.2f} | "
            f"{r['p90_ms']:.2f} | {r['p99_ms']:.2f} | "
            f"{r['conditions']['others_cores']:.2f} |"
        )

    for key, r in results.get("sql", {}).items():
        if key.startswith("psycopg_"):
            row(f"raw SQL (psycopg), {key.removeprefix('psycopg_').replace('c', 'c=')}", r)
        else:
            row(f"raw SQL (pgbench), {key.replace('c', 'c=')}", r)
    for series in results.get("graphql", []):
        for key in (k for k in series if re.fullmatch(r"c\d+", k)):
            row(f"GraphQL, {series['workers']} worker(s), {key.replace('c', 'c=')}", series[key])
    lines.append("")
    for key, r in results.get("sql", {}).items():
        if "requests_per_s_without_lookup" in r:
            lines.append(
                f"- raw SQL (pgbench) at {key.replace('c', 'c=')} without the point "
                f"lookup: {r['requests_per_s_without_lookup']:,.0f} requests/s"
            )
    for series in results.get("graphql", []):
        lines.append(
            f"- {series['workers']} worker(s): peak server RSS {series['peak_rss_mb']} "
            f"MB (per process {series['peak_rss_per_process_mb']}; PSS "
            f"{series['peak_pss_mb']} MB); "
            f"GraphQL/SQL at c=16: {series.get('ratio_c16_vs_psycopg', 'n/a')} of "
            f"psycopg's, {series.get('ratio_c16', 'n/a')} of pgbench's "
            f"({series.get('ratio_c16_vs_sql_with_lookup', 'n/a')} against pgbench "
            f"with its lookup); the c=16 connections split over the workers as "
            f"{series.get('c16', {}).get('connections_per_worker')}"
        )
    if "balanced" in results:
        b = results["balanced"]
        lines.append(
            f"- {b['instances']} one-worker servers, {b['connections_each']} connections "
            f"each: {b['requests_per_s']:,.0f} requests/s, "
            f"{b.get('ratio_vs_psycopg', 'n/a')} of psycopg's at c=16"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    settings = load_settings()
    server_db = Database.from_settings(settings)
    url = server_db.with_database(DATABASE).url
    results: dict[str, Any] = {
        "benchmark": "nearby",
        "label": args.label,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["bench/nearby.py", *(argv or sys.argv[1:])]),
        "machine": _machine(),
        "git": _git(),
    }
    try:
        with tempfile.TemporaryDirectory(prefix="bench-nearby-") as tmp:
            workdir = Path(tmp)
            results["database"] = prepare_database(url, settings.data_dir, args.seed, args.fresh)
            if args.lang:
                results["database"]["translations"] = prepare_translations(url)
            results["versions"] = _versions(url)
            points = draw_points(url, args.points, args.seed)
            results["dataset"] = {
                "venues": VENUES,
                "activities": ACTIVITIES,
                "seed": args.seed,
                "points": len(points),
                "point_regions": _point_regions(points),
                "categories": list(CATEGORIES),
                "radius_m": RADIUS_M,
                "first": FIRST,
            }
            sql = capture_sql(url, points[0])
            roles = _variable_roles(sql, points[0])
            results["sql_statement"] = sql.statement
            results["explain"] = explain(url, sql, roles)
            for label, e in results["explain"].items():
                print(
                    f"  EXPLAIN {label}: {'ok' if e['plan_ok'] else 'NOT THE KNN PLAN'}: "
                    f"index {e['index']} read {e['index_rows']} rows, "
                    f"knn={e['knn_order_by']} bitmap={e['bitmap_scan']} "
                    f"sorts={e['sort_nodes']} {e['execution_ms']} ms",
                    flush=True,
                )
            write_point_table(url, points)
            script, constants = pgbench_script(sql, roles, len(points))
            results["pgbench_script"] = script
            results["pgbench_constants"] = {k: str(v) for k, v in constants.items()}
            if not args.skip_sql:
                results["sql"] = sql_series(
                    url, script, constants, args, workdir, sql, roles, points
                )
            results["graphql"] = []
            if not args.skip_graphql:
                for workers in _ints(args.workers):
                    series = graphql_series(url, workers, args, points, sql, roles, workdir)
                    if "c16" in series and "c16" in results.get("sql", {}):
                        sql16 = results["sql"]["c16"]
                        series["ratio_c16"] = round(
                            series["c16"]["requests_per_s"]
                            / sql16["requests_per_s_without_lookup"],
                            3,
                        )
                        series["ratio_c16_vs_sql_with_lookup"] = round(
                            series["c16"]["requests_per_s"] / sql16["requests_per_s"], 3
                        )
                    if "c16" in series and "psycopg_c16" in results.get("sql", {}):
                        series["ratio_c16_vs_psycopg"] = round(
                            series["c16"]["requests_per_s"]
                            / results["sql"]["psycopg_c16"]["requests_per_s"],
                            3,
                        )
                    results["graphql"].append(series)
            if args.instances and not args.skip_graphql:
                balanced = balanced_series(url, args.instances, args, points, workdir)
                if "psycopg_c16" in results.get("sql", {}):
                    balanced["ratio_vs_psycopg"] = round(
                        balanced["requests_per_s"]
                        / results["sql"]["psycopg_c16"]["requests_per_s"],
                        3,
                    )
                results["balanced"] = balanced
            results["targets"] = _targets(results)
    finally:
        if not args.keep:
            drop_database(url)
            print(f"dropped database {DATABASE}")
        server_db.close()
    output = args.output or RESULTS / f"nearby-{datetime.now(UTC).date().isoformat()}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults: {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}\n")
    print(summary_markdown(results))
    print(f"\ntargets: {json.dumps(results['targets'])}")
    return 0


def _targets(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for series in results.get("graphql", []):
        w = series["workers"]
        out[f"workers_{w}"] = {
            "p99_c1_ms": series.get("c1", {}).get("p99_ms"),
            "p99_c1_ok": series.get("c1", {}).get("p99_ms", 1e9) < TARGET_P99_MS,
            "ratio_c16_vs_psycopg": series.get("ratio_c16_vs_psycopg"),
            "ratio_c16_vs_psycopg_ok": (series.get("ratio_c16_vs_psycopg") or 0) >= TARGET_RATIO,
            "ratio_c16_vs_pgbench": series.get("ratio_c16"),
            "ratio_c16_vs_pgbench_ok": (series.get("ratio_c16") or 0) >= TARGET_RATIO,
            "peak_rss_mb": series["peak_rss_mb"],
            "peak_pss_mb": series["peak_pss_mb"],
            "rss_ok": series["peak_rss_mb"] < TARGET_RSS_MB,
        }
    return out


if __name__ == "__main__":
    raise SystemExit(main())
