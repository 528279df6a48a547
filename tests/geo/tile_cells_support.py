"""The vector tiles' grid cells counted from scratch, in Python, to compare with ``tile_cell``
(kept by migration 0003's triggers): which rows count comes from geo/filters.py with no filter,
the Web Mercator coordinates from PostGIS, the cells from the XYZ scheme."""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa

from geo.filters import DirectoryFilter, activity_conditions, venue_conditions
from geo.queries.tiles import AGGREGATE_BELOW_ZOOM, CELLS_PER_TILE, LAYERS
from geo.tables import activity, tile_cell, venue

HALF_WORLD = 20037508.342789244
SHOWN = {"venues": (venue, venue_conditions), "activities": (activity, activity_conditions)}

#: (layer, z, x, y) -> (count, lowest id)
Cells = dict[tuple[str, int, int, int], tuple[int, int]]


def cell_of(mercator_x: float, mercator_y: float, z: int) -> tuple[int, int]:
    """The cell at aggregation zoom ``z``: the XYZ tile at zoom z + 5 holding the point."""
    scale = 2.0 ** (z + int(math.log2(CELLS_PER_TILE)))
    return (
        math.floor((mercator_x + HALF_WORLD) / (2 * HALF_WORLD) * scale),
        math.floor((HALF_WORLD - mercator_y) / (2 * HALF_WORLD) * scale),
    )


def mercator_rows(conn: sa.Connection, layer: str) -> list[Any]:
    """(id, x, y in EPSG:3857) of the rows a layer shows with no filter."""
    table, conditions = SHOWN[layer]
    mercator = sa.func.ST_Transform(table.c.geom, 3857)
    return list(
        conn.execute(
            sa.select(table.c.id, sa.func.ST_X(mercator), sa.func.ST_Y(mercator)).where(
                *conditions(DirectoryFilter())
            )
        )
    )


def recounted(conn: sa.Connection) -> Cells:
    cells: dict[tuple[str, int, int, int], list[int]] = {}
    for layer in SHOWN:
        for z in range(LAYERS[layer].min_zoom, AGGREGATE_BELOW_ZOOM):
            for row_id, mx, my in mercator_rows(conn, layer):
                cells.setdefault((layer, z, *cell_of(mx, my, z)), []).append(row_id)
    return {key: (len(ids), min(ids)) for key, ids in cells.items()}


def stored(conn: sa.Connection) -> Cells:
    return {
        (r.layer, r.z, r.x, r.y): (r.count, r.representative_id)
        for r in conn.execute(sa.select(tile_cell))
    }
