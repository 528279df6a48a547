"""The peer's functions for bench/peer.py's other shapes (bench/peer/where_am_i.sql and
venues.sql) give hverdag's answers on the demo data: what the benchmark compares before
timing, checked cheaply in the suite. PostGraphile itself never runs here."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import URL

from geo.crs import to_storage
from geo.queries.location import surroundings, where_am_i
from geo.queries.municipalities import municipalities_by_number
from geo.queries.venues import availability_by_venue, venues_of_municipalities
from geo.tables import venue

PEER = Path(__file__).resolve().parent.parent / "bench" / "peer"
#: Oslo's districts and its area initiative, towns, the north, the sea.
POINTS = [
    (59.9420, 10.8920),
    (59.9139, 10.7522),
    (59.9611, 10.8808),
    (59.8700, 10.8000),
    (60.3912, 5.3221),
    (63.4305, 10.3951),
    (69.6492, 18.9553),
    (58.5000, 3.0000),
]
PAGE = 50


def _peer(url: URL) -> psycopg.Connection:
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = psycopg.connect(dsn, autocommit=True)
    for name in ("near_me.sql", "where_am_i.sql", "venues.sql"):
        conn.execute((PEER / name).read_text())
    return conn


def test_the_peer_where_am_i_answers_what_hverdag_answers(fresh_demo_url: URL) -> None:
    engine = sa.create_engine(fresh_demo_url, poolclass=sa.pool.NullPool)
    seen = {"municipality": 0, "district": 0, "initiative": 0, "none": 0}
    try:
        with _peer(fresh_demo_url) as peer, engine.connect() as conn:
            for lat, lon in POINTS:
                x, y = to_storage(lat, lon)
                location, around = where_am_i(conn, x, y), surroundings(conn, x, y)
                m, c, d = location.municipality, location.county, around.district
                ours = (
                    m and m.number,
                    m and m.name,
                    m and m.population,
                    m and m.immigrant_share,
                    c and c.number,
                    c and c.name,
                    d and d.code,
                    d and d.name,
                    [(i.id, i.name) for i in around.initiatives],
                )
                row = peer.execute("SELECT * FROM bench_peer.where_am_i(%s, %s)", (lat, lon))
                (
                    number,
                    name,
                    population,
                    share,
                    county,
                    county_name,
                    code,
                    district,
                    ids,
                    names,
                ) = row.fetchone() or ()
                theirs = (
                    number,
                    name,
                    population,
                    share,
                    county,
                    county_name,
                    code,
                    district,
                    list(zip(ids, names, strict=True)),
                )
                assert theirs == ours, (lat, lon)
                seen["municipality" if m else "none"] += 1
                seen["district"] += d is not None
                seen["initiative"] += bool(around.initiatives)
    finally:
        engine.dispose()
    assert all(seen.values()), seen  # every part of the answer was compared with a value


def test_the_peer_venue_list_answers_what_hverdag_answers(fresh_demo_url: URL) -> None:
    engine = sa.create_engine(fresh_demo_url, poolclass=sa.pool.NullPool)
    compared = 0
    try:
        with _peer(fresh_demo_url) as peer, engine.connect() as conn:
            numbers = sorted(
                conn.execute(
                    sa.select(venue.c.municipality_number)
                    .where(venue.c.municipality_number.is_not(None))
                    .distinct()
                ).scalars()
            )
            numbers += ["9999"]  # no such municipality: null, as hverdag's `municipality`
            for number in numbers:
                ours = []
                if municipalities_by_number(conn, [number]):
                    rows = venues_of_municipalities(conn, [number], PAGE)[number].rows
                    windows = availability_by_venue(conn, [r.id for r in rows])
                    ours = [
                        (
                            r.id,
                            r.name,
                            r.price_model,
                            [(w.weekday, w.starts, w.ends) for w in windows.get(r.id, [])],
                        )
                        for r in rows
                    ]
                theirs = [
                    (
                        row_id,
                        name,
                        price,
                        [
                            (day, time.fromisoformat(start), time.fromisoformat(end))
                            for day, start, end in zip(days, starts, ends, strict=True)
                        ],
                    )
                    for row_id, name, price, days, starts, ends in peer.execute(
                        "SELECT * FROM bench_peer.municipality_venues(%s, %s)", (number, PAGE)
                    )
                ]
                assert theirs == ours, number
                compared += len(ours)
    finally:
        engine.dispose()
    assert compared > PAGE  # more than one page's worth, with their windows
