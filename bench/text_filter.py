"""Near me with a text filter on a million places: `nearby` and its count, in-process.

    .venv/bin/python bench/text_filter.py [--explain] [TEXT ...]

Runs on bench/nearby.py's database ``bench_nearby`` (build it with ``bench/nearby.py --keep``),
5 km around central Oslo (59.9139 N, 10.7522 E), first 20: for each text and kind, the best of
five runs of `nearby` (the probe of the nearest rows first, then the text indexes if needed:
geo/queries/nearby.py) beside the text-indexes statement alone (the shape before the probe), then
the count of all matches. The statement timeout is raised to 20 s so slow texts show their time
instead of TIMEOUT. ``--explain`` prints EXPLAIN (ANALYZE, BUFFERS) of each kind's statements for
the first text.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pyproj import Transformer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from geo.db import Database, sync_engine
from geo.filters import DirectoryFilter
from geo.queries import nearby as nearby_module
from geo.queries.nearby import PlaceKind, count_nearby, nearby
from geo.settings import load_settings

TEXTS = (
    "zqxv",
    "leksehjelp",
    "kafe",
    "norsk",
    "!!!",
    "🙂",
    "' OR 1=1 --",
    "IF",
    "a b c d e f",
    "fotbal for alle",
)
OSLO = (10.7522, 59.9139)
KINDS = (PlaceKind.ACTIVITY, PlaceKind.VENUE)
RADIUS_M = 5000.0
FIRST = 20


def _best_ms(run: Callable[[], Any], times: int = 5) -> float:
    best = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def _values(x: float, y: float) -> dict[str, Any]:
    return {
        "x": x,
        "y": y,
        "radius_m": RADIUS_M,
        "limit": FIRST + 1,
        "probe_rows": nearby_module.TEXT_PROBE_ROWS,
    }


def _explain(conn: sa.Connection, statement: sa.Select[Any], values: dict[str, Any]) -> None:
    compiled = statement.compile(dialect=conn.dialect)
    params = {name: values.get(name, value) for name, value in compiled.params.items()}
    with conn.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}", params)
        print("```\n" + "\n".join(row[0] for row in cursor.fetchall()) + "\n```\n")


def main(args: list[str]) -> None:
    explain = "--explain" in args
    texts = [arg for arg in args if arg != "--explain"] or list(TEXTS)
    url = Database.from_settings(load_settings(), start=False).url.set(database="bench_nearby")
    x, y = Transformer.from_crs(4326, 25833, always_xy=True).transform(*OSLO)
    engine = sync_engine(url)
    with engine.connect() as conn:
        conn.execute(sa.select(sa.func.set_config("statement_timeout", "20000", False)))
        print(
            "| text | kind | matches within 5 km | nearby | text indexes alone | count |\n"
            "|---|---|---:|---:|---:|---:|"
        )
        for text in texts:
            filt = DirectoryFilter(text=text)
            for kind in KINDS:
                statement = nearby_module._kind_statement(kind, filt, None)
                if explain and text == texts[0]:
                    probe = nearby_module._kind_statement(kind, filt, None, probe=True)
                    print(f"{kind} `{text}`, the probe:")
                    _explain(conn, probe, _values(x, y))
                    print(f"{kind} `{text}`, the text indexes alone:")
                    _explain(conn, statement, _values(x, y))
                page_ms = _best_ms(
                    lambda kind=kind, filt=filt: nearby(
                        conn, x, y, radius_m=RADIUS_M, kinds=[kind], filt=filt, first=FIRST
                    )
                )
                indexes_ms = _best_ms(
                    lambda statement=statement: conn.execute(statement, _values(x, y)).all()
                )
                started = time.perf_counter()
                total = count_nearby(conn, x, y, radius_m=RADIUS_M, kinds=[kind], filt=filt)
                count_ms = (time.perf_counter() - started) * 1000
                print(
                    f"| `{text}` | {kind} | {total:,} | {page_ms:,.1f} ms | {indexes_ms:,.1f} ms"
                    f" | {count_ms:,.1f} ms |",
                    flush=True,
                )
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
