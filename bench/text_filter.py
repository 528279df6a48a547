"""Near me with a text filter on a million places: `nearby` and its count, in-process.

    .venv/bin/python bench/text_filter.py [TEXT ...]

Runs on bench/nearby.py's database ``bench_nearby`` (build it with ``bench/nearby.py --keep``),
all kinds, 5 km around central Oslo (59.9139 N, 10.7522 E), first 20: each text twice, the
second run timed (its plan and pages warm), then the count of all matches. The statement
timeout is raised to 20 s so slow texts show their time instead of TIMEOUT.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import sqlalchemy as sa
from pyproj import Transformer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from geo.db import Database, sync_engine
from geo.filters import DirectoryFilter
from geo.queries.nearby import PlaceKind, count_nearby, nearby
from geo.settings import load_settings

TEXTS = (
    "zqxv",
    "leksehjelp",
    "kafe",
    "!!!",
    "🙂",
    "' OR 1=1 --",
    "IF",
    "a b c d e",
    "fotbal for alle",
)
OSLO = (10.7522, 59.9139)


def main(texts: list[str]) -> None:
    url = Database.from_settings(load_settings(), start=False).url.set(database="bench_nearby")
    x, y = Transformer.from_crs(4326, 25833, always_xy=True).transform(*OSLO)
    kinds = list(PlaceKind)
    engine = sync_engine(url)
    with engine.connect() as conn:
        conn.execute(sa.select(sa.func.set_config("statement_timeout", "20000", False)))
        print("| text | matches within 5 km | nearby | count |\n|---|---:|---:|---:|")
        for text in texts:
            filt = DirectoryFilter(text=text)
            for _ in range(2):
                started = time.perf_counter()
                page = nearby(conn, x, y, radius_m=5000, kinds=kinds, filt=filt, first=20)
                page_ms = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            total = count_nearby(conn, x, y, radius_m=5000, kinds=kinds, filt=filt)
            count_ms = (time.perf_counter() - started) * 1000
            assert len(page.hits) == min(20, total)
            print(f"| `{text}` | {total:,} | {page_ms:,.1f} ms | {count_ms:,.1f} ms |", flush=True)
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1:] or list(TEXTS))
