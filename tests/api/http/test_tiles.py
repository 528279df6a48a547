"""GET /tiles/{layer}/{z}/{x}/{y}.mvt on the demo data: decoded tiles hold the rows in the tile
(checked against PostGIS), one feature per grid cell with the cell's count below zoom 14 (the
stored Mercator cells equal to the same cells counted live; a filtered tile's squares of
EPSG:25833), ETag/304, 204 for empty, JSON errors, and the indexes are used."""

from __future__ import annotations

import base64
import itertools
import math
from typing import Any

import mapbox_vector_tile
import pytest
import sqlalchemy as sa

from geo.filters import DirectoryFilter
from geo.queries.tiles import (
    AGGREGATE_BELOW_ZOOM,
    CELLS_PER_TILE,
    LAYERS,
    TileAddress,
    TileOptions,
    cell_range,
    cell_size_m,
    simplify_tolerance_m,
    storage_box,
    tile,
    tile_statement,
)
from geo.tables import activity, statistical_area, venue
from tests.geo.tile_cells_support import cell_of

pytestmark = pytest.mark.anyio

OSLO_SENTRUM = (59.9139, 10.7522)  # (lat, lon)


def tile_of(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees."""
    n = 2**z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def decode(body: bytes) -> dict[str, Any]:
    return mapbox_vector_tile.decode(body)


def row_id(feature: dict[str, Any]) -> int:
    """The row behind a venue or activity feature: its ``id`` is the API's global id, base64
    of "Venue:42" (the MVT feature id is not set for them)."""
    type_name, key = base64.b64decode(feature["properties"]["id"]).decode().split(":")
    assert type_name in ("Venue", "Activity")
    assert feature.get("id", 0) == 0  # the decoder gives 0 for an unset MVT id
    return int(key)


def pixel(lat: float, lon: float, z: int, x: int, y: int) -> tuple[float, float]:
    """Where a point lies in a tile's 4096 units, y growing upwards as the decoder gives it."""
    n = 2**z
    merc = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return ((lon + 180) / 360 * n - x) * 4096, (1 - (merc - y)) * 4096


#: The rows each point layer shows (what the directory lists), written out here.
SHOWN = {
    "venues": (venue, [venue.c.archived_at.is_(None)]),
    "activities": (activity, [activity.c.archived_at.is_(None), activity.c.status == "ACTIVE"]),
}


def rows_in_box(conn: sa.Connection, layer: str, z: int, x: int, y: int, *where: Any) -> list[Any]:
    """(id, x, y in EPSG:25833, lat, lon) of the layer's rows whose point is in the tile's
    filter box (the tile and its buffer in EPSG:25833), straight from PostGIS. ``&&`` as the
    tile uses it: it compares float4 boxes, so a point a few decimetres outside counts as in."""
    table, shown = SHOWN[layer]
    wgs84 = sa.func.ST_Transform(table.c.geom, 4326)
    box = sa.func.ST_MakeEnvelope(*storage_box(z, x, y), 25833)
    return list(
        conn.execute(
            sa.select(
                table.c.id,
                sa.func.ST_X(table.c.geom),
                sa.func.ST_Y(table.c.geom),
                sa.func.ST_Y(wgs84),
                sa.func.ST_X(wgs84),
            ).where(*shown, *where, table.c.geom.op("&&")(box))
        )
    )


async def get_tile(client: Any, path: str, **headers: str) -> Any:
    return await client.get(f"/tiles/{path}", headers=headers)


async def test_at_zoom_14_a_venue_tile_holds_every_venue_in_it(client, loaded_conn):
    z = AGGREGATE_BELOW_ZOOM
    x, y = tile_of(*OSLO_SENTRUM, z)
    response = await get_tile(client, f"venues/{z}/{x}/{y}.mvt")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layer = decode(response.content)["venues"]
    ids = [row_id(f) for f in layer["features"]]
    # The same question asked of PostGIS directly, in WGS84: venues inside the tile's bounds.
    west, south, east, north = tile_bounds(z, x, y)
    wgs84 = sa.func.ST_Transform(venue.c.geom, 4326)
    expected = set(
        loaded_conn.execute(
            sa.select(venue.c.id).where(
                venue.c.archived_at.is_(None),
                sa.func.ST_X(wgs84).between(west, east),
                sa.func.ST_Y(wgs84).between(south, north),
            )
        ).scalars()
    )
    assert len(expected) > 10
    # Every one of them, once; with the buffer and the storage box's corners, exactly the rows
    # in the filter box, each a feature of its own.
    assert len(ids) == len(set(ids))
    assert expected <= set(ids)
    assert set(ids) == {row[0] for row in rows_in_box(loaded_conn, "venues", z, x, y)}
    assert {f["properties"]["count"] for f in layer["features"]} == {1}
    feature = next(f for f in layer["features"] if row_id(f) in expected)
    assert feature["geometry"]["type"] == "Point"
    x_px, y_px = feature["geometry"]["coordinates"]
    assert 0 <= x_px <= 4096
    assert 0 <= y_px <= 4096
    assert set(feature["properties"]) >= {"name", "venue_type", "owner_type", "price_model"}
    assert {f["properties"]["price_model"] for f in layer["features"]} <= {
        "FREE",
        "REDUCED",
        "MARKET",
        "UNKNOWN",
    }


def rows_in_cells(
    conn: sa.Connection, layer: str, z: int, x: int, y: int, *where: Any
) -> list[Any]:
    """(id, cell x, cell y, lat, lon) of the layer's rows whose cell (the XYZ tile at zoom
    z + 5 holding the point) is one the tile sends: its own 32 x 32 and the ring around it."""
    table, shown = SHOWN[layer]
    wgs84 = sa.func.ST_Transform(table.c.geom, 4326)
    mercator = sa.func.ST_Transform(table.c.geom, 3857)
    near = sa.func.ST_MakeEnvelope(*storage_box(z, x, y, margin=0.1), 25833)
    x0, x1, y0, y1 = cell_range(TileAddress(z, x, y))
    found = []
    for row_id, mx, my, lat, lon in conn.execute(
        sa.select(
            table.c.id,
            sa.func.ST_X(mercator),
            sa.func.ST_Y(mercator),
            sa.func.ST_Y(wgs84),
            sa.func.ST_X(wgs84),
        ).where(*shown, *where, table.c.geom.op("&&")(near))
    ):
        cx, cy = cell_of(mx, my, z)
        if x0 <= cx <= x1 and y0 <= cy <= y1:
            found.append((row_id, cx, cy, lat, lon))
    return found


def square_cells_of(rows: list[Any], size: float) -> dict[int, int]:
    """{the lowest id in each cell: how many rows the cell holds}, cells of ``size`` metres on
    the EPSG:25833 grid (a filtered tile's)."""
    cells: dict[tuple[int, int], list[int]] = {}
    for row_id, easting, northing, *_ in rows:
        cells.setdefault((math.floor(easting / size), math.floor(northing / size)), []).append(
            row_id
        )
    return {min(ids): len(ids) for ids in cells.values()}


def cells_of(rows: list[Any]) -> dict[int, int]:
    """{the lowest id in each cell: how many rows the cell holds}."""
    cells: dict[tuple[int, int], list[int]] = {}
    for row_id, cx, cy, *_ in rows:
        cells.setdefault((cx, cy), []).append(row_id)
    return {min(ids): len(ids) for ids in cells.values()}


@pytest.mark.parametrize("layer", ["venues", "activities"])
async def test_below_zoom_14_one_feature_per_cell_with_its_count(client, loaded_conn, layer):
    """At zoom 12 each feature is the first row of a cell of the grid (the zoom-17 tiles), at
    that row's own place, with the number of rows in the cell; the counts add up to every row
    in the tile's cells and the ring of cells around it."""
    z = 12
    x, y = tile_of(*OSLO_SENTRUM, z)
    assert CELLS_PER_TILE == 32
    features = decode((await get_tile(client, f"{layer}/{z}/{x}/{y}.mvt")).content)[layer][
        "features"
    ]
    rows = rows_in_cells(loaded_conn, layer, z, x, y)
    got = {row_id(f): f["properties"]["count"] for f in features}
    assert len(got) == len(features)
    assert got == cells_of(rows)
    assert sum(got.values()) == len(rows) > 100
    assert len(features) < len(rows)
    assert max(got.values()) > 1
    # The representative is drawn where it is, with its own properties.
    by_id = {row[0]: row for row in rows}
    table = SHOWN[layer][0]
    # A cell's feature lies in the cell: within the tile, or at most 128 units (a cell) out.
    for feature in features:
        fx, fy = feature["geometry"]["coordinates"]
        assert -128 <= fx <= 4096 + 128
        assert -128 <= fy <= 4096 + 128
    for feature in features[:20]:
        _, _, _, lat, lon = by_id[row_id(feature)]
        want_x, want_y = pixel(lat, lon, z, x, y)
        got_x, got_y = feature["geometry"]["coordinates"]
        assert abs(got_x - want_x) <= 1.5
        assert abs(got_y - want_y) <= 1.5
        name = table.c.name if layer == "venues" else table.c.title
        own = loaded_conn.execute(sa.select(name).where(table.c.id == row_id(feature))).scalar()
        assert feature["properties"]["name" if layer == "venues" else "title"] == own


async def test_a_point_lands_where_it_is(client, loaded_conn):
    """A venue's pixel in the tile matches its position computed here from lat/lon."""
    z = 14
    row = loaded_conn.execute(
        sa.select(
            venue.c.id,
            sa.func.ST_Y(sa.func.ST_Transform(venue.c.geom, 4326)),
            sa.func.ST_X(sa.func.ST_Transform(venue.c.geom, 4326)),
        )
        .where(venue.c.municipality_number == "0301")
        .order_by(venue.c.id)
        .limit(1)
    ).one()
    vid, lat, lon = row
    x, y = tile_of(lat, lon, z)
    response = await get_tile(client, f"venues/{z}/{x}/{y}.mvt")
    feature = next(f for f in decode(response.content)["venues"]["features"] if row_id(f) == vid)
    want_x, want_y = pixel(lat, lon, z, x, y)
    got_x, got_y = feature["geometry"]["coordinates"]
    assert abs(got_x - want_x) <= 1.5
    assert abs(got_y - want_y) <= 1.5


async def test_activities_tile_takes_the_directory_filter(client, loaded_conn):
    z = 12
    x, y = tile_of(*OSLO_SENTRUM, z)
    every = decode((await get_tile(client, f"activities/{z}/{x}/{y}.mvt")).content)
    language = decode(
        (
            await client.get(
                f"/tiles/activities/{z}/{x}/{y}.mvt", params={"category": "LANGUAGE_CAFE"}
            )
        ).content
    )
    cafe = language["activities"]["features"]
    assert cafe
    assert {f["properties"]["category"] for f in cafe} == {"LANGUAGE_CAFE"}
    # The filter narrows the rows before they are put in cells: the cells and counts are those
    # of the language cafés alone, on a filtered tile's grid (squares of EPSG:25833) over the
    # rows in the tile's box.
    size = cell_size_m(z, y)
    # 32 cells across the tile's ground width: 9.78 km of Web Mercator at 59.9° N is 4.9 km.
    assert 150 < size < 156
    rows = rows_in_box(loaded_conn, "activities", z, x, y, activity.c.category == "LANGUAGE_CAFE")
    assert {row_id(f): f["properties"]["count"] for f in cafe} == square_cells_of(rows, size)
    total = sum(f["properties"]["count"] for f in every["activities"]["features"])
    assert sum(f["properties"]["count"] for f in cafe) == len(rows) < total
    bad = await client.get(f"/tiles/activities/{z}/{x}/{y}.mvt", params={"category": "NOPE"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "BAD_USER_INPUT"
    assert bad.json()["error"]["field"] == "category"


def vertices(geometry: dict[str, Any]) -> int:
    def count(c: Any) -> int:
        return 1 if isinstance(c[0], int | float) else sum(count(part) for part in c)

    return count(geometry["coordinates"])


async def test_municipalities_are_simplified_by_zoom(client):
    """Oslo has fewer vertices in the zoom-5 tile than in the zoom-8 tile that holds it all."""

    def oslo(tile: dict[str, Any]) -> dict[str, Any]:
        return next(
            f for f in tile["municipalities"]["features"] if f["properties"]["number"] == "0301"
        )

    x5, y5 = tile_of(*OSLO_SENTRUM, 5)
    low = decode((await get_tile(client, f"municipalities/5/{x5}/{y5}.mvt")).content)
    assert len(low["municipalities"]["features"]) > 50
    x8, y8 = tile_of(*OSLO_SENTRUM, 8)
    west, south, east, north = tile_bounds(8, x8, y8)
    assert west < 10.48
    assert east > 10.96
    assert south < 59.80
    assert north > 60.14
    high = decode((await get_tile(client, f"municipalities/8/{x8}/{y8}.mvt")).content)
    assert vertices(oslo(low)["geometry"]) < 0.6 * vertices(oslo(high)["geometry"])
    assert simplify_tolerance_m(5) > 100 * simplify_tolerance_m(12)


async def test_districts_and_coverage_units(client):
    z = 11
    x, y = tile_of(*OSLO_SENTRUM, z)
    districts = decode((await get_tile(client, f"districts/{z}/{x}/{y}.mvt")).content)
    kinds = {f["properties"]["kind"] for f in districts["districts"]["features"]}
    assert kinds == {"BYDEL", "DELBYDEL"}
    assert "Gamle Oslo" in {f["properties"]["name"] for f in districts["districts"]["features"]}
    units = decode((await get_tile(client, f"coverage/{z}/{x}/{y}.mvt")).content)
    features = units["coverage"]["features"]
    assert features
    assert {f["properties"]["kind"] for f in features} == {"GRID_1KM"}
    assert all(f["properties"]["population"] >= 0 for f in features)
    bydel = decode(
        (await client.get(f"/tiles/coverage/{z}/{x}/{y}.mvt", params={"unitKind": "BYDEL"})).content
    )
    assert {f["properties"]["kind"] for f in bydel["coverage"]["features"]} == {"BYDEL"}
    wrong = await client.get(f"/tiles/coverage/{z}/{x}/{y}.mvt", params={"unitKind": "X"})
    assert wrong.status_code == 400
    assert wrong.json()["error"]["field"] == "unitKind"


async def test_etag_and_304(client):
    x, y = tile_of(*OSLO_SENTRUM, 12)
    path = f"venues/12/{x}/{y}.mvt"
    first = await get_tile(client, path)
    etag = first.headers["etag"]
    assert etag.startswith('"')
    assert first.headers["cache-control"].startswith("public, max-age=")
    again = await get_tile(client, path, **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = await get_tile(client, path, **{"If-None-Match": '"something-else"'})
    assert other.status_code == 200
    assert other.content == first.content
    # Another tile has another tag.
    neighbour = await get_tile(client, f"venues/12/{x + 1}/{y}.mvt")
    assert neighbour.headers["etag"] != etag


async def test_empty_tiles_are_204(client):
    # Mid-Atlantic at zoom 12, and a point layer below its minimum zoom.
    x, y = tile_of(45.0, -30.0, 12)
    sea = await get_tile(client, f"venues/12/{x}/{y}.mvt")
    assert sea.status_code == 204
    assert sea.content == b""
    assert LAYERS["venues"].min_zoom > 4
    x4, y4 = tile_of(*OSLO_SENTRUM, 4)
    assert (await get_tile(client, f"venues/4/{x4}/{y4}.mvt")).status_code == 204
    # A whole-world tile of municipalities still works (the envelope is cut to the region).
    world = await get_tile(client, "municipalities/0/0/0.mvt")
    assert world.status_code == 200
    assert len(decode(world.content)["municipalities"]["features"]) > 300


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("rivers/10/1/1.mvt", 404, "layer"),
        ("venues/23/0/0.mvt", 400, "z"),
        ("venues/2/4/0.mvt", 400, "x"),
        ("venues/2/0/-1.mvt", 400, "y"),
        ("venues/a/0/0.mvt", 400, "z"),
        ("municipalities/1/1/1.mvt?foo=1", 400, "foo"),
    ],
)
async def test_bad_addresses(client, path, status, field):
    response = await get_tile(client, path)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == ("NOT_FOUND" if status == 404 else "BAD_USER_INPUT")
    assert error["field"] == field
    assert error["reason"]


async def test_tilejson(client):
    response = await client.get("/tiles/venues.json", params={"freeOnly": "true"})
    body = response.json()
    assert body["tilejson"] == "3.0.0"
    assert body["minzoom"] == LAYERS["venues"].min_zoom
    assert body["tiles"] == ["http://hverdag.test/tiles/venues/{z}/{x}/{y}.mvt?freeOnly=true"]
    assert {"price_model", "count"} <= set(body["vector_layers"][0]["fields"])
    assert (await client.get("/tiles/rivers.json")).status_code == 404


def _plan(conn: sa.Connection, stmt: Any) -> str:
    sql = stmt.compile(conn, compile_kwargs={"literal_binds": True})
    return "\n".join(conn.exec_driver_sql(f"EXPLAIN {sql}").scalars())


def test_the_tile_filter_uses_the_storage_crs_index(loaded_conn):
    """The && filter compares the stored column with the envelope transformed to 25833, so the
    GiST index on geom can serve it: with sequential scans off the plan is an index scan (a
    predicate on ST_Transform(geom) could only be a sequential scan). That is every row from
    zoom 14, and the cells counted live for a filtered tile below it; an unfiltered tile below
    zoom 14 reads its cells by tile_cell's primary key and never scans the layer's table."""
    loaded_conn.exec_driver_sql("SET enable_seqscan = off")
    free = TileOptions(directory=DirectoryFilter(free_only=True))
    try:
        for (layer, index), (z, options) in itertools.product(
            (("venues", "ix_venue_geom_gist"), ("activities", "ix_activity_")),
            ((12, free), (14, TileOptions())),
        ):
            x, y = tile_of(*OSLO_SENTRUM, z)
            plan = _plan(loaded_conn, tile_statement(layer, z, x, y, options))
            assert index in plan, plan
            assert "_gist" in plan, plan
            assert "Seq Scan on venue" not in plan
            assert "Seq Scan on activity" not in plan
        for layer, table in (("venues", "venue"), ("activities", "activity")):
            x, y = tile_of(*OSLO_SENTRUM, 12)
            plan = _plan(loaded_conn, tile_statement(layer, 12, x, y))
            assert "pk_tile_cell" in plan, plan
            assert f"pk_{table}" in plan, plan  # the representatives, by primary key
            assert "_gist" not in plan, plan
            assert "Seq Scan" not in plan, plan
    finally:
        loaded_conn.exec_driver_sql("RESET enable_seqscan")


def by_id(body: bytes, layer: str) -> dict[int, Any]:
    """A tile's features by id (the order of the features is not part of the answer)."""
    features = decode(body)[layer]["features"] if body else []
    found = {row_id(f): (f["geometry"], f["properties"]) for f in features}
    assert len(found) == len(features)
    return found


@pytest.mark.parametrize("layer", ["venues", "activities"])
def test_stored_cells_make_the_same_tile_as_cells_counted_live(loaded_conn, layer):
    """Every aggregated zoom, a block of tiles over Oslo and a sparse one in Finnmark: the tile
    from tile_cell has the same features (ids, counts, positions, properties) as the same grid
    counted from the rows."""
    compared = 0
    for z in range(LAYERS[layer].min_zoom, AGGREGATE_BELOW_ZOOM):
        for lat, lon in (OSLO_SENTRUM, (70.0, 25.0)):
            cx, cy = tile_of(lat, lon, z)
            for x, y in itertools.product((cx - 1, cx, cx + 1), (cy - 1, cy, cy + 1)):
                stored = tile(loaded_conn, layer, z, x, y)
                live = tile(loaded_conn, layer, z, x, y, TileOptions(live_cells=True))
                assert by_id(stored, layer) == by_id(live, layer), (z, x, y)
                compared += bool(stored)
    assert compared > 30


async def test_a_tile_carries_the_same_id_as_the_api_and_the_exports(client):
    """A venue's ``id`` in a tile is the id GraphQL's node(id:) takes and the export writes."""
    z = AGGREGATE_BELOW_ZOOM
    x, y = tile_of(*OSLO_SENTRUM, z)
    response = await get_tile(client, f"venues/{z}/{x}/{y}.mvt")
    features = decode(response.content)["venues"]["features"]
    feature = features[0]
    gid = feature["properties"]["id"]
    answer = await client.post(
        "/graphql",
        json={
            "query": "query ($id: ID!) { node(id: $id) { ... on Venue { id name } } }",
            "variables": {"id": gid},
        },
    )
    assert answer.json()["data"]["node"] == {"id": gid, "name": feature["properties"]["name"]}
    export = await client.get(
        "/export/venues.geojson",
        params={"municipality": feature["properties"]["municipality_number"]},
    )
    exported = {f["id"]: f["properties"]["name"] for f in export.json()["features"]}
    assert exported[gid] == feature["properties"]["name"]
    activities = decode((await get_tile(client, f"activities/{z}/{x}/{y}.mvt")).content)
    with_venue = [
        f for f in activities["activities"]["features"] if f["properties"].get("venue_id")
    ]
    assert with_venue
    venue_gid = with_venue[0]["properties"]["venue_id"]
    assert base64.b64decode(venue_gid).decode().startswith("Venue:")


async def test_districts_carry_their_population_from_the_grid(client, loaded_conn):
    """Oslo's districts are published without population: the layer gives the population grid's
    sum over the cells whose interior point lies in each (and says so in population_basis)."""
    z = 10
    x, y = tile_of(*OSLO_SENTRUM, z)
    response = await get_tile(client, f"districts/{z}/{x}/{y}.mvt")
    features = decode(response.content)["districts"]["features"]
    bydeler = {
        f["properties"]["code"]: f["properties"]
        for f in features
        if f["properties"]["kind"] == "BYDEL"
    }
    assert len(bydeler) >= 15
    unit, cell = statistical_area.alias("unit"), statistical_area.alias("cell")
    expected = dict(
        loaded_conn.execute(
            sa.select(unit.c.code, sa.func.sum(cell.c.population))
            .select_from(
                unit.join(
                    cell, sa.func.ST_Within(sa.func.ST_PointOnSurface(cell.c.geom), unit.c.geom)
                )
            )
            .where(unit.c.kind == "BYDEL", cell.c.kind == "GRID_1KM")
            .group_by(unit.c.code)
        ).all()
    )
    for code, properties in bydeler.items():
        assert properties["population_basis"] == "GRID_1KM"
        assert properties["population"] == expected[code]
    assert sum(p["population"] for p in bydeler.values()) > 600_000
