"""The tiles' stored grid cells follow every write path: the GraphQL mutations (create, update
with a move, archive, restore), importVenues, a loader, and a refused import that rolls back;
after each, ``tile_cell`` equals the cells counted from scratch, and a tile served over HTTP
shows the change."""

from __future__ import annotations

import math
from typing import Any

import mapbox_vector_tile
import pytest
import sqlalchemy as sa

from api.app import create_app
from geo.settings import PROJECT_ROOT, load_settings
from loaders.activities import load_activities
from loaders.venues import load_venues
from tests.api.conftest import http_client
from tests.api.graphql.test_writes import gid
from tests.api.http.test_tiles import row_id
from tests.api.writes_support import As, org_id
from tests.geo.tile_cells_support import recounted, stored
from tests.loaders._directory import load_fixture_organisations

pytestmark = pytest.mark.anyio

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
LONELY = {"lat": 69.70, "lon": 30.00}  # Finnmark, far from the demo's places


def tile_of(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2**z
    return (
        int((lon + 180) / 360 * n),
        int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n),
    )


def _same(write_engine: sa.Engine) -> dict[Any, Any]:
    with write_engine.connect() as conn:
        got, want = stored(conn), recounted(conn)
    assert got == want
    return got


async def _tile_counts(
    write_url: Any, layer: str, z: int, point: dict[str, float]
) -> dict[int, int]:
    """{feature id: count} of the tile holding ``point``, over HTTP."""
    url = write_url.render_as_string(hide_password=False)
    app = create_app(load_settings(database_url=url))
    x, y = tile_of(point["lat"], point["lon"], z)
    async with http_client(app) as client:
        response = await client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt")
    if response.status_code == 204:
        return {}
    features = mapbox_vector_tile.decode(response.content)[layer]["features"]
    return {row_id(f): f["properties"]["count"] for f in features}


async def test_mutations_imports_and_loads_keep_the_cells(
    schema, write_engine, write_url, async_write_engine, keys
):
    admin = As(schema, async_write_engine, keys["admin"][1])
    _same(write_engine)
    assert await _tile_counts(write_url, "venues", 12, LONELY) == {}

    created = await admin.data(
        'mutation ($p: LatLonInput!) { createVenue(input: {name: "Ensom", venueType: LIBRARY,'
        " ownerType: MUNICIPALITY, location: $p}) { venue { id } } }",
        {"p": LONELY},
    )
    venue_id = _venue_id(write_engine, "Ensom")
    assert created["createVenue"]["venue"]["id"] == gid("Venue", venue_id)
    _same(write_engine)
    assert await _tile_counts(write_url, "venues", 12, LONELY) == {venue_id: 1}

    moved_to = {"lat": 59.92, "lon": 10.76}
    await admin.data(
        "mutation ($id: ID!, $p: LatLonInput!) { updateVenue(id: $id, version: 1, input: "
        "{location: $p}) { venue { id } } }",
        {"id": gid("Venue", venue_id), "p": moved_to},
    )
    _same(write_engine)
    assert await _tile_counts(write_url, "venues", 12, LONELY) == {}

    await admin.data(
        f'mutation {{ archiveVenue(id: "{gid("Venue", venue_id)}", version: 2) '
        "{ venue { id } } }"
    )
    archived = _same(write_engine)
    await admin.data(
        f'mutation {{ restoreVenue(id: "{gid("Venue", venue_id)}", version: 3) '
        "{ venue { id } } }"
    )
    restored = _same(write_engine)
    venues_z13 = [
        count for (layer, z, *_), (count, _) in restored.items() if (layer, z) == ("venues", 13)
    ]
    assert sum(venues_z13) == 1 + sum(
        count for (layer, z, *_), (count, _) in archived.items() if (layer, z) == ("venues", 13)
    )

    with write_engine.connect() as conn:
        org = gid("Organisation", org_id(conn, "864139442"))
    activity = await admin.data(
        'mutation ($o: ID!, $p: LatLonInput!) { createActivity(input: {title: "Ensom kafe", '
        "category: LANGUAGE_CAFE, organiser: $o, location: $p}) { activity { id } } }",
        {"o": org, "p": LONELY},
    )
    assert activity["createActivity"]["activity"]["id"]
    _same(write_engine)
    assert sum((await _tile_counts(write_url, "activities", 11, LONELY)).values()) == 1

    content = (
        "external_id;name;owner_type;venue_type;lat;lon\n"
        f"cells-1;Celle A;MUNICIPALITY;SCHOOL;{LONELY['lat']};{LONELY['lon']}\n"
        f"cells-2;Celle B;MUNICIPALITY;LIBRARY;{LONELY['lat']};{LONELY['lon'] + 0.001}\n"
    )
    imported = await admin.data(
        'mutation ($c: String!) { importVenues(format: CSV, content: $c, source: "cells") '
        "{ report { inserted } } }",
        {"c": content},
    )
    assert imported["importVenues"]["report"]["inserted"] == 2
    _same(write_engine)
    counts = await _tile_counts(write_url, "venues", 12, LONELY)
    assert sum(counts.values()) == 2
    assert _venue_id(write_engine, "Celle A") in counts

    # The same import again with one place moved: an upsert that updates, one row moving.
    before = _same(write_engine)
    await admin.data(
        'mutation ($c: String!) { importVenues(format: CSV, content: $c, source: "cells") '
        "{ report { updated } } }",
        {"c": content.replace(f"{LONELY['lon'] + 0.001}", "25.0")},
    )
    after = _same(write_engine)
    assert after != before

    # A refused import (one bad row) writes nothing, cells included.
    bad = content.replace("cells-2;Celle B;MUNICIPALITY;LIBRARY", "cells-3;Celle C;X;LIBRARY")
    error = await admin.error(
        'mutation ($c: String!) { importVenues(format: CSV, content: $c, source: "more") '
        "{ report { inserted } } }",
        {"c": bad},
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert _same(write_engine) == after

    with write_engine.begin() as conn:  # a loader: organisations, venues, activities
        load_fixture_organisations(conn)
        load_venues(conn, FIXTURES / "venues.csv")
        report = load_activities(conn, FIXTURES / "activities.csv")
        assert report.inserted > 0
    assert _same(write_engine) != after


def _venue_id(write_engine: sa.Engine, name: str) -> int:
    from geo.tables import venue

    with write_engine.connect() as conn:
        return int(conn.execute(sa.select(venue.c.id).where(venue.c.name == name)).scalar_one())
