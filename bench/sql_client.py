"""The raw-SQL side of bench/nearby.py through psycopg: a client process that runs one statement
with many parameter sets from N concurrent connections, as fast as the server answers.

    .venv/bin/python bench/sql_client.py CONFIG.json

CONFIG holds ``conninfo``, ``statement`` (psycopg's ``%(name)s`` style), ``params`` (a list of
parameter sets, cycled through), ``clients``, ``duration_s`` and ``warmup_s``. The connections
are what the API's are: psycopg 3 async, autocommit, no server-side prepare. Prints one JSON
line: requests, requests per second, latency percentiles, and the rows returned per query.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import psycopg


async def _client(
    conninfo: str,
    statement: str,
    params: itertools.cycle[dict[str, Any]],
    until: float,
    record_from: float,
    latencies: list[float],
    rows: list[int],
) -> None:
    async with await psycopg.AsyncConnection.connect(
        conninfo, autocommit=True, prepare_threshold=None
    ) as conn:
        while (start := time.perf_counter()) < until:
            cursor = await conn.execute(statement, next(params))
            found = await cursor.fetchall()
            end = time.perf_counter()
            if start >= record_from:
                latencies.append(end - start)
                rows.append(len(found))


async def run(config: dict[str, Any]) -> dict[str, Any]:
    params = itertools.cycle(config["params"])
    now = time.perf_counter()
    record_from = now + config["warmup_s"]
    until = record_from + config["duration_s"]
    latencies: list[float] = []
    rows: list[int] = []
    await asyncio.gather(
        *(
            _client(
                config["conninfo"], config["statement"], params, until, record_from, latencies, rows
            )
            for _ in range(config["clients"])
        )
    )
    ms = np.array(latencies) * 1000
    return {
        "requests": len(ms),
        "requests_per_s": round(len(ms) / config["duration_s"], 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p90_ms": round(float(np.percentile(ms, 90)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2),
        "mean_ms": round(float(ms.mean()), 3),
        "mean_rows": round(float(np.mean(rows)), 2),
    }


def main() -> int:
    config = json.loads(Path(sys.argv[1]).read_text())
    print("SQL_CLIENT_RESULT " + json.dumps(asyncio.run(run(config))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
