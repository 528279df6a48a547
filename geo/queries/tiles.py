"""Mapbox vector tiles (MVT) of the project's layers, one SQLAlchemy Core statement per tile.

A tile is addressed in Web Mercator (EPSG:3857, the XYZ scheme). The geometries are stored in
EPSG:25833 with GiST indexes, so the filter compares the stored column with the *tile's box in
25833* (``&&``: the index does the work), and only the rows it finds are transformed to 3857 for
``ST_AsMVTGeom``. That box is computed here with pyproj (:func:`storage_box`): the tile grown by
its buffer, cut to the region around Norway (:data:`REGION_LONLAT`; outside it UTM 33 has no
meaning and there is nothing to show), its edges densified so the box covers them. Computing it
in the database would put two ST_Transform calls into every tile's planning.

Layers (:data:`LAYERS`): ``municipalities`` (simplified by zoom), ``districts`` (the bydeler
and delbydeler of every municipality that has them loaded), ``venues`` (with their price model),
``activities`` and ``coverage`` (the population units that coverage analysis counts, with their
population; a unit published without a figure gets its population grid's, see
:func:`_population`). Venues and activities carry the API's global id as the property ``id``
(:mod:`geo.public_ids`), not the row number; the MVT feature id is set only for
municipalities (their number). Below a layer's
``min_zoom`` its tile is empty: a point layer at zoom 5 would be the whole country in one tile.

Point layers are aggregated below :data:`AGGREGATE_BELOW_ZOOM`, on the Web Mercator quadtree:
the cell of a point at zoom z is the XYZ tile at zoom z + 5 that holds it, so a tile is a grid
of :data:`CELLS_PER_TILE` cells a side (128 MVT units, 16 px of a tile drawn at 512 px: room for
one dot sized by its count), cells align with tile edges and nest from zoom to zoom. A tile
sends its own cells and the ring around them (:func:`cell_range`); each cell with rows in it is
one feature, its lowest-id row with that row's own position and properties, and a ``count`` of
the cell's rows (so a cell of one row is just that row). From :data:`AGGREGATE_BELOW_ZOOM` on
every row is a feature, with ``count`` 1.

An unfiltered tile reads its cells from ``tile_cell`` (at most 34 x 34 rows by primary key),
which statement-level triggers on ``venue`` and ``activity`` keep in the writing transaction
(migration 0003: what counts, how concurrent writers and big loads are handled).

A *filtered* tile (any :class:`~geo.filters.DirectoryFilter` field set) counts its cells from
the rows the filter keeps, on a different grid: squares of :func:`cell_size_m` on the stored
EPSG:25833 coordinates, the same size as the Mercator cells at the tile's middle latitude, over
the rows in the tile's box (the tile and its buffer). The Mercator cell of a row needs its
ST_Transform, which made the densest filtered tiles up to twice as slow; the squares need none,
and only each cell's first row is transformed. So a filtered tile's dots do not sit on the same
cells as the unfiltered tile's, and its counts add up to the rows in its box, not in a ring of
cells. Either way only one row per cell is transformed and encoded: the densest zoom-12 tile of
central Oslo (37,000 generated activities) encodes ~960 features.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from geo.crs import STORAGE_SRID, storage_bounds
from geo.filters import DirectoryFilter, activity_conditions, venue_conditions
from geo.public_ids import ACTIVITY, VENUE, public_id
from geo.tables import activity, municipality, statistical_area, tile_cell, venue
from geo.vocab import AreaKind

WEB_MERCATOR_SRID = 3857
#: MVT coordinate space of a tile, and the buffer around it (in those units) kept by clipping.
EXTENT, BUFFER = 4096, 64
MAX_ZOOM = 22
#: Half the width of the Web Mercator square, in metres.
_HALF_WORLD = 20037508.342789244
#: (min lon, min lat, max lon, max lat): mainland Norway, Svalbard, Jan Mayen and a margin.
REGION_LONLAT = (-12.0, 55.0, 42.0, 82.0)
DISTRICT_KINDS = (AreaKind.BYDEL.value, AreaKind.DELBYDEL.value)
#: From this zoom a point layer sends every row; below it, one feature per grid cell.
AGGREGATE_BELOW_ZOOM = 14
#: Cells a side of a tile's aggregation grid: EXTENT / 32 = 128 MVT units, 16 px of a tile drawn
#: at 512 px. 64 (8 px) sends several times the features and is slow on the densest tiles
#: (docs/performance.md).
CELLS_PER_TILE = 32


class TileAddress(NamedTuple):
    z: int
    x: int
    y: int


class TileError(ValueError):
    """A tile address or parameter that does not exist; ``field`` names which."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class TileLayer:
    name: str
    min_zoom: int
    description: str
    #: The SELECT of the layer's rows for a tile: (the one-row ``bounds`` with the tile's
    #: ``envelope`` in 3857 and its filter ``box`` in 25833, the tile, options) -> columns
    #: the properties and ``geom`` (already ST_AsMVTGeom).
    rows: Callable[[sa.CTE, TileAddress, TileOptions], sa.Select[Any]]
    #: The column that becomes the MVT feature id (an unsigned integer by the MVT spec), or
    #: None: the directory's ids are text (the API's global ids), so they are the property
    #: ``id`` (MapLibre: ``promoteId: "id"``), and a unit's public id is its ``code``.
    feature_id: str | None = None


@dataclass(frozen=True)
class TileOptions:
    """What a tile request may narrow: the directory filter (venues, activities) and the kind
    of population unit (coverage)."""

    directory: DirectoryFilter = field(default_factory=DirectoryFilter)
    unit_kind: str = AreaKind.GRID_1KM.value
    #: Count a point tile's Mercator cells from the rows (those the filter keeps), not from
    #: ``tile_cell``: what the stored cells must equal; a check, and a benchmark's reference.
    live_cells: bool = False


def tile_width_m(z: int) -> float:
    """Width of a tile at zoom ``z`` in Web Mercator metres."""
    return math.ldexp(2 * _HALF_WORLD, -z)


def simplify_tolerance_m(z: int) -> float:
    """Douglas-Peucker tolerance for boundaries at zoom ``z``, in EPSG:25833 metres: about a
    quarter of a screen pixel of a 512 px tile. Web Mercator metres are ~2x true metres at 60°N,
    so this is a little finer than it reads."""
    return tile_width_m(z) / 512 / 4


def cell_size_m(z: int, y: int) -> float:
    """Side of a *filtered* tile's aggregation cell, in EPSG:25833 metres, for the tiles of row
    ``y`` at zoom ``z``: the tile's ground width at its middle latitude (Web Mercator stretches
    by 1/cos(lat); UTM 33 is within 0.5 % of ground metres across Norway) over
    :data:`CELLS_PER_TILE`. The grid is anchored at the CRS's origin, so the tiles of a row
    share it and a cell in the buffer two tiles share is the same cell in both."""
    middle = math.atan(math.sinh(math.pi * (1 - 2 * (y + 0.5) / 2**z)))
    return tile_width_m(z) * math.cos(middle) / CELLS_PER_TILE


def check_tile(z: int, x: int, y: int) -> None:
    """TileError naming the coordinate that is outside the XYZ grid."""
    if not 0 <= z <= MAX_ZOOM:
        raise TileError(f"z must be within [0, {MAX_ZOOM}], got {z}", "z")
    for name, value in (("x", x), ("y", y)):
        if not 0 <= value < 2**z:
            raise TileError(f"{name} must be within [0, {2**z - 1}] at zoom {z}, got {value}", name)


def _mvt_geom(
    geom: ColumnElement[Any], envelope: ColumnElement[Any], clip: bool = True
) -> ColumnElement[Any]:
    return sa.func.ST_AsMVTGeom(
        sa.func.ST_Transform(geom, WEB_MERCATOR_SRID), envelope, EXTENT, BUFFER, clip
    ).label("geom")


def _mvt_point(geom: ColumnElement[Any], envelope: ColumnElement[Any]) -> ColumnElement[Any]:
    """A point in tile coordinates, not clipped: the storage box is a little larger than the
    tile and its buffer (its corners stick out), and keeping those few points means a tile
    sends every row its filter found, each once (a cell's first row may lie in a corner)."""
    return _mvt_geom(geom, envelope, clip=False)


def _in_tile(table: sa.Table, bounds: sa.CTE) -> sa.Join:
    """The table's rows whose geometry's box meets the tile's box in storage CRS (the index)."""
    return table.join(bounds, table.c.geom.op("&&")(bounds.c.box))


def _municipalities(bounds: sa.CTE, tile: TileAddress, options: TileOptions) -> sa.Select[Any]:
    z = tile.z
    envelope, box = bounds.c.envelope, bounds.c.box
    # Clip to the tile (in storage CRS) before simplifying: a zoom-14 tile of Oslo then
    # simplifies a few hundred vertices, not the whole boundary.
    clipped = sa.func.ST_ClipByBox2D(municipality.c.geom, box)
    simplified = sa.func.ST_SimplifyPreserveTopology(clipped, simplify_tolerance_m(z))
    return (
        sa.select(
            sa.cast(municipality.c.number, sa.Integer).label("id"),
            municipality.c.number,
            municipality.c.name,
            _mvt_geom(simplified, envelope),
        )
        .select_from(_in_tile(municipality, bounds))
        .where(municipality.c.archived_at.is_(None))
    )


def _population(a: sa.ColumnCollection[str, Any]) -> tuple[list[ColumnElement[Any]], Any]:
    """A unit's ``population`` and where it comes from (``population_basis``): its own
    published figure (``FIGURE``) or, for a unit loaded without one (Oslo's districts are
    published as boundaries only), the sum of the finest loaded population grid's cells whose
    interior point lies in it (coverage's rule for "in"; ``GRID_250M``, else ``GRID_1KM``):
    whole cells, so an approximation as good as the cells are small beside the unit. Both sums
    come from one LATERAL look-up per unit, by the (kind, geom) index, and none for a unit
    with its own figure; returned beside the columns, for the caller to join."""
    cell = statistical_area.alias("cell")
    grids = (AreaKind.GRID_250M.value, AreaKind.GRID_1KM.value)
    total = sa.func.sum(cell.c.population)
    grid = (
        sa.select(
            total.filter(cell.c.kind == grids[0]).label("fine"),
            total.filter(cell.c.kind == grids[1]).label("coarse"),
        )
        .where(
            a.population.is_(None),
            cell.c.kind.in_(grids),
            cell.c.archived_at.is_(None),
            cell.c.geom.op("&&")(a.geom),
            sa.func.ST_Intersects(a.geom, sa.func.ST_PointOnSurface(cell.c.geom)),
        )
        .lateral("grid")
    )
    population = sa.func.coalesce(a.population, grid.c.fine, grid.c.coarse)
    basis = sa.case(
        (a.population.isnot(None), "FIGURE"),
        (grid.c.fine.isnot(None), grids[0]),
        (grid.c.coarse.isnot(None), grids[1]),
    )
    return [population.label("population"), basis.label("population_basis")], grid


def _areas(kinds: tuple[str, ...]) -> Callable[..., sa.Select[Any]]:
    def rows(bounds: sa.CTE, tile: TileAddress, options: TileOptions) -> sa.Select[Any]:
        a = statistical_area.c
        envelope, box = bounds.c.envelope, bounds.c.box
        chosen = kinds or (options.unit_kind,)
        kind = a.kind == chosen[0] if len(chosen) == 1 else a.kind.in_(chosen)
        geom = sa.func.ST_SimplifyPreserveTopology(
            sa.func.ST_ClipByBox2D(a.geom, box), simplify_tolerance_m(tile.z)
        )
        population, grid = _population(a)
        found = _in_tile(statistical_area, bounds)
        return (
            sa.select(
                a.code,
                a.name,
                a.kind,
                a.municipality_number,
                *population,
                a.immigrant_population,
                _mvt_geom(geom, envelope),
            )
            .select_from(found if grid is None else found.join(grid, sa.true()))
            .where(kind, a.archived_at.is_(None))
        )

    return rows


#: A point layer's properties, as labelled expressions over its table's (or an alias's) columns.
Properties = Callable[[sa.ColumnCollection[str, Any]], list[ColumnElement[Any]]]


def _representatives(
    cells: sa.Subquery, table: sa.Table, type_name: str, properties: Properties, bounds: sa.CTE
) -> sa.Select[Any]:
    """Each cell's feature: its representative row (``cells.c.id``) by primary key, drawn where
    that row is, with its properties and the cell's ``count``. LIMIT 1 keeps it a lookup per
    cell: the planner cannot tell how few cells there are and would otherwise hash-join the
    table."""
    row = table.alias("representative")
    representative = (
        sa.select(row.c.id, row.c.geom, *properties(row.c))
        .where(row.c.id == cells.c.id)
        .limit(1)
        .lateral("rep")
    )
    r = representative.c
    own = [column for column in r if column.name not in ("id", "geom")]
    return sa.select(
        public_id(type_name, r.id).label("id"),
        *own,
        sa.cast(cells.c.count, sa.BigInteger).label("count"),
        _mvt_point(r.geom, bounds.c.envelope),
    ).select_from(cells.join(representative, sa.true()).join(bounds, sa.true()))


def cell_range(tile: TileAddress) -> tuple[int, int, int, int]:
    """(first x, last x, first y, last y) of the cells a tile sends: its own 32 x 32 and the ring
    of cells around it (the tile's buffer, drawn by both neighbours)."""
    return (
        CELLS_PER_TILE * tile.x - 1,
        CELLS_PER_TILE * tile.x + CELLS_PER_TILE,
        CELLS_PER_TILE * tile.y - 1,
        CELLS_PER_TILE * tile.y + CELLS_PER_TILE,
    )


def _stored_cells(layer: str, tile: TileAddress) -> sa.Subquery:
    """The tile's cells from ``tile_cell`` (kept by triggers; migration 0003). The columns as an
    IN list, so the primary key is searched once per column with the rows' range as bounds."""
    x0, x1, y0, y1 = cell_range(tile)
    return (
        sa.select(tile_cell.c.representative_id.label("id"), tile_cell.c.count)
        .where(
            tile_cell.c.layer == layer,
            tile_cell.c.z == tile.z,
            tile_cell.c.x.in_(range(x0, x1 + 1)),
            tile_cell.c.y.between(y0, y1),
        )
        .subquery("cells")
    )


def _live_cells(
    table: sa.Table, tile: TileAddress, where: list[ColumnElement[bool]]
) -> sa.Subquery:
    """The stored cells' grid counted now from the rows (those ``where`` keeps): the rows in the
    box of the tile and its ring of cells (the index), each transformed once to find its cell
    with the functions the triggers use."""
    box = storage_box(tile.z, tile.x, tile.y, margin=1 / CELLS_PER_TILE)
    assert box is not None  # the tile's own box is in the region, and this one is larger
    mercator = (
        sa.func.ST_Transform(table.c.geom, WEB_MERCATOR_SRID)
        .table_valued("g")
        .render_derived()
        .lateral("mercator")
    )
    cell_x = sa.func.hverdag_cell_x(sa.func.ST_X(mercator.c.g), tile.z)
    cell_y = sa.func.hverdag_cell_y(sa.func.ST_Y(mercator.c.g), tile.z)
    x0, x1, y0, y1 = cell_range(tile)
    return (
        sa.select(sa.func.min(table.c.id).label("id"), sa.func.count().label("count"))
        .select_from(table.join(mercator, sa.true()))
        .where(
            table.c.geom.op("&&")(sa.func.ST_MakeEnvelope(*box, STORAGE_SRID)),
            *where,
            cell_x.between(x0, x1),
            cell_y.between(y0, y1),
        )
        .group_by(cell_x, cell_y)
        .subquery("cells")
    )


def _filtered_cells(
    table: sa.Table, bounds: sa.CTE, tile: TileAddress, where: list[ColumnElement[bool]]
) -> sa.Subquery:
    """A filtered tile's cells: the rows in the tile's box that the filter keeps, grouped on a
    square grid of the stored EPSG:25833 coordinates (:func:`cell_size_m`), no transform. The
    Mercator cells counted live (:func:`_live_cells`) cost one ST_Transform a row, which doubled
    the densest filtered tiles (docs/performance.md)."""
    size = cell_size_m(tile.z, tile.y)
    return (
        sa.select(sa.func.min(table.c.id).label("id"), sa.func.count().label("count"))
        .select_from(_in_tile(table, bounds))
        .where(*where)
        .group_by(
            sa.func.floor(sa.func.ST_X(table.c.geom) / size),
            sa.func.floor(sa.func.ST_Y(table.c.geom) / size),
        )
        .subquery("cells")
    )


def _points(
    layer: str,
    table: sa.Table,
    type_name: str,
    properties: Properties,
    conditions: Callable[[DirectoryFilter], list[ColumnElement[bool]]],
) -> Callable[[sa.CTE, TileAddress, TileOptions], sa.Select[Any]]:
    """The rows of a point layer: every row from :data:`AGGREGATE_BELOW_ZOOM`, one per grid cell
    below it, each with a ``count`` of the rows it stands for: the stored Mercator cells when no
    filter is set, the EPSG:25833 grid of the rows the filter keeps when one is, and the
    Mercator cells counted from the rows with :data:`TileOptions.live_cells` (to check the
    stored ones)."""

    def rows(bounds: sa.CTE, tile: TileAddress, options: TileOptions) -> sa.Select[Any]:
        t = table.c
        where = conditions(options.directory)
        if tile.z >= AGGREGATE_BELOW_ZOOM:
            return (
                sa.select(
                    public_id(type_name, t.id).label("id"),
                    *properties(t),
                    sa.cast(1, sa.BigInteger).label("count"),
                    _mvt_point(t.geom, bounds.c.envelope),
                )
                .select_from(_in_tile(table, bounds))
                .where(*where)
            )
        if options.live_cells:
            cells = _live_cells(table, tile, where)
        elif options.directory.set_fields():
            cells = _filtered_cells(table, bounds, tile, where)
        else:
            cells = _stored_cells(layer, tile)
        return _representatives(cells, table, type_name, properties, bounds)

    return rows


def _venue_properties(v: sa.ColumnCollection[str, Any]) -> list[ColumnElement[Any]]:
    return [
        v.name,
        v.venue_type,
        v.owner_type,
        sa.func.coalesce(v.price_model, "UNKNOWN").label("price_model"),
        v.municipality_number,
    ]


def _activity_properties(a: sa.ColumnCollection[str, Any]) -> list[ColumnElement[Any]]:
    return [
        a.title,
        a.category,
        a.free,
        public_id(VENUE, a.venue_id).label("venue_id"),
        a.municipality_number,
    ]


_AGGREGATED = (
    f" (below zoom {AGGREGATE_BELOW_ZOOM} a feature is the first of the count rows "
    f"in its cell of {EXTENT // CELLS_PER_TILE} tile units)"
)

LAYERS: dict[str, TileLayer] = {
    layer.name: layer
    for layer in (
        TileLayer(
            "municipalities",
            0,
            "Municipality boundaries (number, name), simplified by zoom; the feature id is the "
            "number as an integer.",
            _municipalities,
            feature_id="id",
        ),
        TileLayer(
            "districts",
            8,
            "Districts and sub-districts (BYDEL, DELBYDEL): code, name, kind, "
            "municipality_number, population, population_basis, immigrant_population.",
            _areas(DISTRICT_KINDS),
        ),
        TileLayer(
            "venues",
            10,
            "Venues: id (the API's global id), name, venue_type, owner_type, price_model (FREE, "
            f"REDUCED, MARKET, UNKNOWN), municipality_number, count{_AGGREGATED}.",
            _points("venues", venue, VENUE, _venue_properties, venue_conditions),
        ),
        TileLayer(
            "activities",
            10,
            "Active activities: id (the API's global id), title, category, free, venue_id (the "
            f"venue's global id), municipality_number, count{_AGGREGATED}.",
            _points("activities", activity, ACTIVITY, _activity_properties, activity_conditions),
        ),
        TileLayer(
            "coverage",
            8,
            "Population units of coverage analysis (?unitKind=GRID_1KM by "
            "default): code, name, kind, municipality_number, population, population_basis, "
            "immigrant_population.",
            _areas(()),
        ),
    )
}


def lon_lat_bounds(
    z: int, x: int, y: int, margin: float = BUFFER / EXTENT
) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees of the tile grown by ``margin`` tiles each side."""
    n = 2**z

    def lat(row: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return (
        (x - margin) / n * 360 - 180,
        lat(y + 1 + margin),
        (x + 1 + margin) / n * 360 - 180,
        lat(y - margin),
    )


def storage_box(
    z: int, x: int, y: int, margin: float = BUFFER / EXTENT
) -> tuple[float, float, float, float] | None:
    """The tile grown by ``margin`` tiles each side (its buffer), cut to :data:`REGION_LONLAT`,
    as an EPSG:25833 box; None when the tile lies outside the region (nothing to show there)."""
    west, south, east, north = lon_lat_bounds(z, x, y, margin)
    r_west, r_south, r_east, r_north = REGION_LONLAT
    west, south, east, north = (
        max(west, r_west),
        max(south, r_south),
        min(east, r_east),
        min(north, r_north),
    )
    if west >= east or south >= north:
        return None
    return storage_bounds(west, south, east, north)


def tile_statement(
    layer: str, z: int, x: int, y: int, options: TileOptions | None = None
) -> sa.Select[Any] | None:
    """One row, one column: the tile's MVT bytes (empty when nothing is in it); None when the
    tile is outside the region. KeyError for an unknown layer, TileError for a tile outside the
    grid."""
    spec = LAYERS[layer]
    check_tile(z, x, y)
    box = storage_box(z, x, y)
    if box is None:
        return None
    # The filter box is computed in Python (no ST_Transform while planning); as a one-row CTE
    # the planner folds it into a constant for the index.
    bounds = sa.select(
        sa.func.ST_TileEnvelope(z, x, y).label("envelope"),
        sa.func.ST_MakeEnvelope(*box, STORAGE_SRID).label("box"),
    ).cte("bounds")
    # ST_AsMVTGeom gives null for a geometry that vanishes at this zoom (a sliver), and ST_AsMVT
    # leaves such rows out. Filtering them here would compute every ST_AsMVTGeom twice (the
    # planner pushes the filter down beside the select list).
    mvt = spec.rows(bounds, TileAddress(z, x, y), options or TileOptions()).subquery("mvt")
    return sa.select(
        sa.func.ST_AsMVT(
            mvt.table_valued(), layer, EXTENT, "geom", spec.feature_id, type_=sa.LargeBinary
        ).label("tile")
    ).select_from(mvt)


#: A tile's query runs in one backend: PostgreSQL would often plan a parallel worker for it
#: (ST_AsMVTGeom is costed high), and starting one, with PostGIS's projections to load, costs
#: many times more than the whole tile (docs/performance.md).
NO_PARALLEL = sa.select(sa.func.set_config("max_parallel_workers_per_gather", "0", True))


def layer_fields(layer: str) -> list[str]:
    """The properties a layer's features carry (TileJSON's ``vector_layers``)."""
    bounds = sa.select(sa.null().label("envelope"), sa.null().label("box")).cte("bounds")
    spec = LAYERS[layer]
    rows = spec.rows(bounds, TileAddress(MAX_ZOOM, 0, 0), TileOptions())
    return [str(c.name) for c in rows.selected_columns if c.name not in (spec.feature_id, "geom")]


def _statement_if_any(
    layer: str, z: int, x: int, y: int, options: TileOptions | None
) -> sa.Select[Any] | None:
    """The tile's statement; None when the tile is empty without asking (below the layer's
    min_zoom, or outside the region). KeyError and TileError as :func:`tile_statement`."""
    if z < LAYERS[layer].min_zoom:
        check_tile(z, x, y)
        return None
    return tile_statement(layer, z, x, y, options)


async def fetch_tile(
    conn: AsyncConnection, layer: str, z: int, x: int, y: int, options: TileOptions | None = None
) -> bytes:
    """:func:`tile` on an async connection."""
    stmt = _statement_if_any(layer, z, x, y, options)
    if stmt is None:
        return b""
    await conn.execute(NO_PARALLEL)
    result = await conn.execute(stmt)
    return bytes(result.scalar_one() or b"")


def tile(
    conn: sa.Connection, layer: str, z: int, x: int, y: int, options: TileOptions | None = None
) -> bytes:
    """The tile's bytes; ``b""`` when it has no feature (and below the layer's min_zoom)."""
    stmt = _statement_if_any(layer, z, x, y, options)
    if stmt is None:
        return b""
    conn.execute(NO_PARALLEL)
    return bytes(conn.execute(stmt).scalar_one() or b"")
