"""Pre-aggregated grid cells for the point layers' vector tiles

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Below zoom 14 a venues or activities tile sends one feature per grid cell (geo/queries/tiles.py).
Counting the cells per request read every row in the tile's box (31,569 in the densest Oslo tile
with a million places); ``tile_cell`` holds them instead, for each aggregated zoom, so an
unfiltered tile reads at most 34 x 34 cells.

The cell of a point at zoom z is the XYZ tile at zoom z + 5 that holds it (32 cells a tile side),
so cells nest and align with tile edges. A row counts when the layer shows it with no filter
(geo/filters.py): a venue not archived, an activity not archived and ACTIVE.

Statement-level AFTER triggers on ``venue`` and ``activity`` keep the cells in the writing
transaction, so every path (loaders, the write API, importVenues, the generator) and a rollback
keep them right without knowing of them:

- INSERT adds its live rows to their cells (count + n, lowest id): nothing is read back.
- UPDATE and DELETE find the live rows that left a place (moved, archived, deactivated, deleted)
  or arrived in one (moved, restored), lock those cells in one order (a placeholder row for a
  new cell) and recount them from the table. Under READ COMMITTED each statement of the trigger
  takes a fresh snapshot, so a recount made after the lock sees every transaction that changed
  those cells before, and the ones after wait for this one. An update that moves nothing (most
  of a loader's re-run) costs no more than comparing old and new rows.
- A statement that moves many rows (more than ``REBUILD_ABOVE``, or an eighth of the table)
  rebuilds the layer instead (one pass over the table, under a lock on tile_cell, then ANALYZE),
  as does the migration for existing rows.
- TRUNCATE empties the layer's cells.

pg_restore creates triggers after it copies the data, so a restore takes ``tile_cell`` from the
dump and nothing is counted twice.
"""

# ruff: noqa: S608  (the DDL is put together from this file's own constants, no input)

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: layer -> (table, the condition for a row to count, for the row's alias ``{r}``)
LAYERS = {
    "venues": ("venue", "{r}.archived_at IS NULL"),
    "activities": ("activity", "{r}.archived_at IS NULL AND {r}.status = 'ACTIVE'"),
}
ZOOMS = (10, 13)  # each point layer's min_zoom to AGGREGATE_BELOW_ZOOM - 1
CELL_ZOOM_OFFSET = 5  # 2**5 = 32 cells a tile side
HALF_WORLD = 20037508.342789244  # half the width of the Web Mercator square, metres
# A statement that moves more rows than this, or more than 1/REBUILD_SHARE of the table (when it
# moves at least REBUILD_FROM), rebuilds the layer: a recount costs ~70 us a cell (four cells a
# row), a rebuild ~35 us a row of the table (measured on the demo data).
REBUILD_ABOVE, REBUILD_SHARE, REBUILD_FROM = 10_000, 8, 500
EVENTS = (
    ("insert", "INSERT", "REFERENCING NEW TABLE AS new_rows"),
    ("update", "UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("delete", "DELETE", "REFERENCING OLD TABLE AS old_rows"),
    ("truncate", "TRUNCATE", ""),
)

# The column (x) and row (y) of a Web Mercator coordinate's cell at aggregation zoom z: the
# tile at zoom z + 5. Scaling by a power of two is exact in floating point, so the cells of
# neighbouring zooms nest exactly.
CELL_FUNCTIONS = [
    f"""CREATE FUNCTION hverdag_cell_x(mercator_x double precision, z integer) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN floor((mercator_x + {HALF_WORLD}) / {2 * HALF_WORLD}
                 * 2.0::double precision ^ (z + {CELL_ZOOM_OFFSET}))::integer""",
    f"""CREATE FUNCTION hverdag_cell_y(mercator_y double precision, z integer) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN floor(({HALF_WORLD} - mercator_y) / {2 * HALF_WORLD}
                 * 2.0::double precision ^ (z + {CELL_ZOOM_OFFSET}))::integer""",
    # A stored (EPSG:25833) point's cell at every aggregated zoom, transformed once.
    f"""CREATE FUNCTION hverdag_point_cells(geom geometry)
    RETURNS TABLE (z integer, x integer, y integer)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT zoom, hverdag_cell_x(ST_X(m.g), zoom), hverdag_cell_y(ST_Y(m.g), zoom)
        FROM (SELECT ST_Transform(geom, 3857) AS g) AS m,
             generate_series({ZOOMS[0]}, {ZOOMS[1]}) AS zoom
    $$""",
]


def _rebuild_function(layer: str, table: str, live: str) -> str:
    return f"""
CREATE FUNCTION hverdag_{table}_tile_cells_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- Waits for the writers holding cells and makes the next ones wait: the recount below
    -- then sees every committed row, and later writers add to it.
    LOCK TABLE tile_cell IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM tile_cell WHERE layer = '{layer}';
    INSERT INTO tile_cell (layer, z, x, y, count, representative_id)
    SELECT '{layer}', c.z, c.x, c.y, count(*), min(r.id)
    FROM {table} AS r CROSS JOIN LATERAL hverdag_point_cells(r.geom) AS c
    WHERE {live}
    GROUP BY c.z, c.x, c.y;
    -- Without statistics the planner reads a tile's cells by (layer, z) and the row range,
    -- every column of the zoom, not by its 34 columns: 20-30 ms instead of 1 on a million
    -- places, until autovacuum gets to it.
    ANALYZE tile_cell;
END
$$"""


def _moved(live: str, update: bool) -> str:
    """The geometries of the live rows that left a place (old) or arrived in one (new); an
    update that keeps a row live at the same point moves nothing. Old and new rows are paired
    by a full join on id (a hash join: an anti-join on the transition tables was planned as a
    nested loop, quadratic in the rows of the statement)."""
    if not update:
        return f"SELECT o.geom FROM old_rows AS o WHERE {live.format(r='o')}"
    was = f"(o.id IS NOT NULL AND {live.format(r='o')})"
    is_ = f"(n.id IS NOT NULL AND {live.format(r='n')})"
    stays = f"({was} AND {is_} AND o.geom = n.geom)"
    return (
        f"SELECT m.geom FROM old_rows AS o FULL JOIN new_rows AS n ON n.id = o.id "
        f"CROSS JOIN LATERAL (VALUES (CASE WHEN {was} AND NOT {stays} THEN o.geom END), "
        f"(CASE WHEN {is_} AND NOT {stays} THEN n.geom END)) AS m(geom) "
        f"WHERE m.geom IS NOT NULL"
    )


def _cells_of_moved(table: str, live: str, update: bool) -> str:
    """Count the moved rows into ``moved`` (nothing to do, or a rebuild), else their cells at
    every aggregated zoom into the arrays ``zs``, ``xs``, ``ys``, in lock order."""
    return f"""
        SELECT count(*) INTO moved FROM ({_moved(live, update)}) AS m;
        IF moved = 0 THEN
            RETURN NULL;
        END IF;
        IF moved > {REBUILD_ABOVE} OR (moved >= {REBUILD_FROM} AND moved * {REBUILD_SHARE}
                > (SELECT reltuples FROM pg_class WHERE oid = TG_RELID)) THEN
            PERFORM hverdag_{table}_tile_cells_rebuild();
            RETURN NULL;
        END IF;
        SELECT array_agg(c.z ORDER BY c.z, c.x, c.y), array_agg(c.x ORDER BY c.z, c.x, c.y),
               array_agg(c.y ORDER BY c.z, c.x, c.y)
        INTO zs, xs, ys
        FROM (SELECT DISTINCT p.z, p.x, p.y
              FROM ({_moved(live, update)}) AS m
              CROSS JOIN LATERAL hverdag_point_cells(m.geom) AS p) AS c;"""


def _trigger_function(layer: str, table: str, live: str) -> str:
    row = live.format(r="r")
    return f"""
CREATE FUNCTION hverdag_{table}_tile_cells() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    moved bigint;
    zs integer[];
    xs integer[];
    ys integer[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM tile_cell WHERE layer = '{layer}';
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tile_cell AS cell (layer, z, x, y, count, representative_id)
        SELECT '{layer}', c.z, c.x, c.y, count(*), min(r.id)
        FROM new_rows AS r CROSS JOIN LATERAL hverdag_point_cells(r.geom) AS c
        WHERE {row}
        GROUP BY c.z, c.x, c.y
        ORDER BY c.z, c.x, c.y
        ON CONFLICT (layer, z, x, y) DO UPDATE
        SET count = cell.count + excluded.count,
            representative_id = least(cell.representative_id, excluded.representative_id);
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        {_cells_of_moved(table, live, True)}
    ELSE
        {_cells_of_moved(table, live, False)}
    END IF;
    -- Lock the cells, in one order (no deadlock between two writers), with a placeholder row
    -- for a cell that is new; the recount that follows takes a fresh snapshot.
    INSERT INTO tile_cell AS cell (layer, z, x, y, count, representative_id)
    SELECT '{layer}', a.z, a.x, a.y, 0, 0
    FROM unnest(zs, xs, ys) AS a(z, x, y)
    ORDER BY a.z, a.x, a.y
    ON CONFLICT (layer, z, x, y) DO UPDATE SET count = cell.count;
    -- Recount each cell from the table: the rows in its box (the GiST index; the box grown by
    -- a metre covers the cell's edges, which curve slightly in UTM) that fall in the cell.
    UPDATE tile_cell AS cell SET count = f.count, representative_id = coalesce(f.id, 0)
    FROM unnest(zs, xs, ys) AS a(z, x, y)
    CROSS JOIN LATERAL (
        SELECT count(*) AS count, min(r.id) AS id
        FROM {table} AS r CROSS JOIN LATERAL ST_Transform(r.geom, 3857) AS m(g)
        WHERE r.geom && ST_Expand(ST_Transform(ST_TileEnvelope(a.z + {CELL_ZOOM_OFFSET},
                                                                a.x, a.y), 25833), 1)
          AND {row}
          AND hverdag_cell_x(ST_X(m.g), a.z) = a.x AND hverdag_cell_y(ST_Y(m.g), a.z) = a.y
    ) AS f
    WHERE cell.layer = '{layer}' AND cell.z = a.z AND cell.x = a.x AND cell.y = a.y;
    DELETE FROM tile_cell AS cell
    USING unnest(zs, xs, ys) AS a(z, x, y)
    WHERE cell.layer = '{layer}' AND cell.z = a.z AND cell.x = a.x AND cell.y = a.y
      AND cell.count = 0;
    RETURN NULL;
END
$$"""


def upgrade() -> None:
    op.create_table(
        "tile_cell",
        sa.Column("layer", sa.Text(), nullable=False),
        sa.Column("z", sa.SmallInteger(), nullable=False),
        sa.Column("x", sa.Integer(), nullable=False),
        sa.Column("y", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("representative_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "layer IN ('venues', 'activities')", name=op.f("ck_tile_cell_layer_known")
        ),
        sa.CheckConstraint(
            f"z BETWEEN {ZOOMS[0]} AND {ZOOMS[1]}", name=op.f("ck_tile_cell_z_aggregated")
        ),
        sa.CheckConstraint("count >= 0", name=op.f("ck_tile_cell_count_non_negative")),
        sa.PrimaryKeyConstraint("layer", "z", "x", "y", name=op.f("pk_tile_cell")),
    )
    for statement in CELL_FUNCTIONS:
        op.execute(sa.text(statement))
    for layer, (table, live) in LAYERS.items():
        op.execute(sa.text(_rebuild_function(layer, table, live.format(r="r"))))
        op.execute(sa.text(_trigger_function(layer, table, live)))
        for name, event, referencing in EVENTS:
            op.execute(
                sa.text(
                    f"CREATE TRIGGER tile_cells_{name} AFTER {event} ON {table} {referencing} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION hverdag_{table}_tile_cells()"
                )
            )
        op.execute(sa.text(f"SELECT hverdag_{table}_tile_cells_rebuild()"))


def downgrade() -> None:
    for table, _ in LAYERS.values():
        for name, _, _ in EVENTS:
            op.execute(sa.text(f"DROP TRIGGER tile_cells_{name} ON {table}"))
        op.execute(sa.text(f"DROP FUNCTION hverdag_{table}_tile_cells()"))
        op.execute(sa.text(f"DROP FUNCTION hverdag_{table}_tile_cells_rebuild()"))
    op.execute(sa.text("DROP FUNCTION hverdag_point_cells(geometry)"))
    op.execute(sa.text("DROP FUNCTION hverdag_cell_y(double precision, integer)"))
    op.execute(sa.text("DROP FUNCTION hverdag_cell_x(double precision, integer)"))
    op.drop_table("tile_cell")
