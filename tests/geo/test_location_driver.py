"""whereAmI's driver path (`where_am_i_on_driver`: the statements compiled once, run on psycopg)
against the reference (`where_am_i` and `surroundings` on SQLAlchemy), on the bundled data."""

from __future__ import annotations

import random

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from geo.crs import to_storage
from geo.queries.location import surroundings, where_am_i, where_am_i_on_driver

#: Oslo's box (districts, sub-districts, area initiatives) and all of Norway with its sea and
#: its neighbours (no municipality: the county's own lookup).
BOXES = [((59.80, 60.05), (10.60, 11.00)), ((57.5, 71.5), (4.0, 31.5))]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_the_driver_path_answers_what_the_reference_answers(loaded_url: URL) -> None:
    rng = random.Random(19)
    points = [(rng.uniform(*lats), rng.uniform(*lons)) for lats, lons in BOXES for _ in range(150)]
    points += [(59.9420, 10.8920), (59.9139, 10.7522), (0.0, 0.0)]  # the contract's, Oslo, sea
    seen = {"municipality": 0, "none": 0, "district": 0, "sub_district": 0, "initiative": 0}
    dsn = loaded_url.set(drivername="postgresql").render_as_string(hide_password=False)
    engine = sa.create_engine(loaded_url, poolclass=sa.pool.NullPool)
    try:
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as driver:
            with engine.connect() as conn:
                for lat, lon in points:
                    x, y = to_storage(lat, lon)
                    location, around = await where_am_i_on_driver(driver, x, y)
                    assert location == where_am_i(conn, x, y), (lat, lon)
                    assert around == surroundings(conn, x, y), (lat, lon)
                    seen["municipality" if location.municipality else "none"] += 1
                    seen["district"] += around.district is not None
                    seen["sub_district"] += around.sub_district is not None
                    seen["initiative"] += bool(around.initiatives)
    finally:
        engine.dispose()
    # Every branch was taken: inside and outside the municipalities, in a district and a
    # sub-district, inside an area initiative.
    assert all(count > 5 for count in seen.values()), seen
