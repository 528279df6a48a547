"""What the webhook outbox's row trigger costs a write (migration 0006, docs/webhooks.md).

    .venv/bin/python bench/outbox.py --rows 50000 --repeat 5

On a scratch database (``scratch_outbox`` on the configured server, dropped afterwards) with
``--rows`` venues, one statement changes every venue (``version + 1``, as every write does),
timed in a transaction that is rolled back, in three ways in the same run:

- ``no trigger``: the outbox trigger disabled: the statement alone, the baseline;
- ``no subscription``: the trigger on, no subscription: what every load and write pays
  when nobody subscribes (one indexed EXISTS per row);
- ``one subscription``: a subscription matching every row: an event and a delivery per row.

The median of ``--repeat`` runs of each, in microseconds per row.
"""

from __future__ import annotations

import argparse
import statistics
import time

import sqlalchemy as sa

from geo.db import Database, connect, drop_database, migrate, sync_engine
from geo.keys import create_key
from geo.settings import load_settings
from geo.tables import venue, webhook_subscription
from geo.vocab import Role

SCRATCH = "scratch_outbox"
UPDATE = sa.update(venue).values(version=venue.c.version + 1)


def _fill(url: sa.URL, rows: int) -> None:
    with connect(url) as conn:
        conn.execute(
            sa.text(
                "INSERT INTO venue (name, owner_type, venue_type, geom, source, external_id) "
                "SELECT 'v' || i, 'MUNICIPALITY', 'SCHOOL', "
                "ST_SetSRID(ST_MakePoint(250000 + i % 1000, 6640000 + i / 1000), 25833), "
                "'bench', 'v' || i FROM generate_series(1, :rows) AS i"
            ),
            {"rows": rows},
        )


def _timed(engine: sa.Engine, prepare: list[sa.Executable]) -> float:
    """Seconds of one UPDATE of every venue, after ``prepare``, all rolled back."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            for statement in prepare:
                conn.execute(statement)
            started = time.perf_counter()
            conn.execute(UPDATE)
            return time.perf_counter() - started
        finally:
            transaction.rollback()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    settings = load_settings()
    server = Database.from_settings(settings)
    url = server.with_database(SCRATCH).url
    drop_database(url)
    try:
        migrate(url)
        _fill(url, args.rows)
        with connect(url) as conn:
            _, key = create_key(conn, Role.ADMIN, label="bench")
        engine = sync_engine(url, poolclass=sa.pool.NullPool)
        subscribe = sa.insert(webhook_subscription).values(
            url="https://example.org/hook", secret="s", owner_key_id=key.id
        )
        ways = {
            "no trigger": [sa.text("ALTER TABLE venue DISABLE TRIGGER webhook_outbox_venue")],
            "no subscription": [],
            "one subscription": [subscribe],
        }
        _timed(engine, [])  # warm the cache
        results: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.repeat):
            for name, prepare in ways.items():  # interleaved: drift hits each way alike
                results[name].append(_timed(engine, prepare))
        engine.dispose()
        base = statistics.median(results["no trigger"])
        print(f"{args.rows:,} venues, median of {args.repeat}:")
        for name, seconds in results.items():
            median = statistics.median(seconds)
            print(
                f"  {name:<17} {median * 1e6 / args.rows:6.2f} us/row "
                f"({median:.3f} s, {median / base:.2f}x the statement alone)"
            )
    finally:
        drop_database(url)
        server.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
