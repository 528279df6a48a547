"""Time ``hverdag load ical`` on a generated calendar, beside raw SQL writing the same rows.

    .venv/bin/python -m bench.ical_load [--events 1000] [--repeat 3]

Uses HVERDAG_DATABASE_URL's server, else the embedded cluster. A throwaway database gets the
bundled municipalities and one organisation; the calendar has ``--events`` weekly events (two
weekdays each, an EXDATE, a GEO point in Oslo). Each round times, each in its own transaction:

- the load into a database without those activities (all created, audited);
- the same file again (all unchanged: no version, no audit row);
- raw SQL: one INSERT of the same activity rows and one of their schedule lines, with nothing
  checked, placed by a spatial join in the statement, and no audit (the floor a load could
  reach), rolled back.

Prints each figure and the medians.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from geo.db import Database, drop_database, migrate, sync_engine
from geo.settings import load_settings
from geo.tables import organisation
from loaders.boundaries import load_municipalities
from loaders.ical import load_ical

DATA = Path(__file__).resolve().parent.parent / "data"
ORGNR = "999888777"
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def points(events: int) -> list[tuple[float, float]]:
    """Points on land in Oslo (north of the fjord), the same each run."""
    rng = random.Random(7)
    return [(59.915 + rng.random() * 0.045, 10.73 + rng.random() * 0.12) for _ in range(events)]


def calendar(events: int) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//hverdag bench//NB"]
    for n, (lat, lon) in enumerate(points(events)):
        day = n % 7
        lines += [
            "BEGIN:VEVENT",
            f"UID:bench-{n}@example.org",
            f"SUMMARY:Aktivitet {n}",
            "DESCRIPTION:Generert for målingen",
            "CATEGORIES:Språkkafé",
            f"DTSTART;TZID=Europe/Oslo:202609{7 + day:02d}T1{day}0000",
            f"DTEND;TZID=Europe/Oslo:202609{7 + day:02d}T1{day + 1}0000",
            f"RRULE:FREQ=WEEKLY;BYDAY={DAYS[day]},{DAYS[(day + 2) % 7]};UNTIL=20261218T230000Z",
            f"EXDATE;TZID=Europe/Oslo:202610{5 + day:02d}T1{day}0000",
            f"GEO:{lat:.5f};{lon:.5f}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


RAW_ACTIVITIES = sa.text(
    """
    INSERT INTO activity (title, description, category, organisation_id, geom,
                          municipality_number, source, external_id)
    SELECT 'Aktivitet ' || n, 'Generert for målingen', 'LANGUAGE_CAFE', :org, p.geom,
           (SELECT m.number FROM municipality m WHERE ST_Covers(m.geom, p.geom) LIMIT 1),
           'raw', 'raw-' || n
    FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) WITH ORDINALITY AS u(x, y, n),
         LATERAL (SELECT ST_SetSRID(ST_MakePoint(u.x, u.y), 25833) AS geom) p
    RETURNING id
    """
)
RAW_SCHEDULES = sa.text(
    """
    INSERT INTO activity_schedule (activity_id, weekday, starts, ends, valid_from, valid_to)
    SELECT a, d, '18:00', '20:00', '2026-09-07', '2026-12-18'
    FROM unnest(CAST(:ids AS bigint[])) AS a, (VALUES (1), (3)) AS w(d)
    """
)


def raw_sql(engine: sa.Engine, events: int, org: int) -> float:
    from geo.crs import to_storage

    stored = [to_storage(lat, lon) for lat, lon in points(events)]
    started = time.perf_counter()
    with engine.connect() as conn:
        transaction = conn.begin()
        ids = (
            conn.execute(
                RAW_ACTIVITIES,
                {"org": org, "xs": [p[0] for p in stored], "ys": [p[1] for p in stored]},
            )
            .scalars()
            .all()
        )
        conn.execute(RAW_SCHEDULES, {"ids": list(ids)})
        elapsed = time.perf_counter() - started
        transaction.rollback()
    return elapsed


def timed_load(engine: sa.Engine, path: str) -> tuple[float, str]:
    started = time.perf_counter()
    with engine.begin() as conn:
        report = load_ical(conn, path, organisation=ORGNR, max_bytes=100_000_000)
    return time.perf_counter() - started, report.summary()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    database = Database.from_settings(load_settings())
    url = database.with_database(f"hverdag_bench_{uuid.uuid4().hex[:8]}").url
    figures: dict[str, list[float]] = {"first load": [], "same file again": [], "raw SQL": []}
    try:
        migrate(url)
        engine = sync_engine(url, poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            load_municipalities(conn, DATA / "kommuner-2020.geojson")
            org = conn.execute(
                sa.insert(organisation)
                .values(name="Benk", organisation_number=ORGNR, source="bench")
                .returning(organisation.c.id)
            ).scalar_one()
        with tempfile.TemporaryDirectory() as tmp:
            for round_ in range(1, args.repeat + 1):
                path = Path(tmp) / f"round-{round_}.ics"  # a new source each round: all created
                path.write_text(calendar(args.events), encoding="utf-8")
                for label in ("first load", "same file again"):
                    seconds, summary = timed_load(engine, str(path))
                    figures[label].append(seconds)
                    print(f"round {round_}, {label}: {seconds:.2f} s  ({summary})")
                seconds = raw_sql(engine, args.events, org)
                figures["raw SQL"].append(seconds)
                print(f"round {round_}, raw SQL insert of the same rows: {seconds:.2f} s")
        engine.dispose()
        print(f"{args.events} events, medians of {args.repeat}:")
        for label, values in figures.items():
            print(f"  {label}: {statistics.median(values):.2f} s")
    finally:
        drop_database(url)
        database.close()


if __name__ == "__main__":
    main()
