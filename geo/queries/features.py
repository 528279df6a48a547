"""The feature collections of the OGC API Features interface, as SQLAlchemy Core statements.

Each collection (:data:`COLLECTIONS`) is a SELECT of its rows' properties plus ``geom`` (storage
CRS, EPSG:25833) and ``fid`` (the feature id), ordered by that id. The directory collections
(venues, activities, councils) reuse the exports' statements (:mod:`geo.queries.export`): the
same columns and the same filter (:class:`geo.filters.DirectoryFilter`), private fields never
included. A page is that SELECT narrowed by a bbox (a box in any supported CRS, transformed to
storage CRS once, so the GiST index does the work), an offset and a limit; the geometry leaves
as GeoJSON in the requested CRS (:data:`CRS_SRIDS`), in that CRS's axis order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from geo.crs import STORAGE_SRID
from geo.filters import DirectoryFilter
from geo.queries.export import activities_statement, councils_statement, venues_statement
from geo.queries.municipalities import latest_figure
from geo.queries.rows import AnySelect
from geo.tables import (
    activity,
    area_initiative,
    immigrant_council,
    municipality,
    statistical_area,
    venue,
)
from geo.vocab import (
    ActivityCategory,
    AreaKind,
    CouncilKind,
    CouncilLevel,
    CouncilStatus,
    OwnerType,
    PriceModel,
    VenueType,
)

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
#: Supported CRS URIs -> (SRID, whether the CRS's axis order is latitude first).
CRS_SRIDS: dict[str, tuple[int, bool]] = {
    CRS84: (4326, False),
    "http://www.opengis.net/def/crs/EPSG/0/4326": (4326, True),
    "http://www.opengis.net/def/crs/EPSG/0/25833": (25833, False),
    "http://www.opengis.net/def/crs/EPSG/0/25832": (25832, False),
    "http://www.opengis.net/def/crs/EPSG/0/3857": (3857, False),
}
STORAGE_CRS = f"http://www.opengis.net/def/crs/EPSG/0/{STORAGE_SRID}"
#: Decimals of output coordinates: degrees to ~1 cm, metres to 1 cm.
_DECIMALS = {4326: 7}


@dataclass(frozen=True)
class Queryable:
    """A property of a collection's features that a client may filter by, by equality, as a
    query parameter of its own name (OGC API Features Part 3, "Queryables as query
    parameters"). Described as JSON Schema in ``/queryables``."""

    title: str
    #: JSON Schema type: ``string``, ``integer`` or ``boolean``.
    type: str = "string"
    #: The values a vocabulary column takes.
    enum: tuple[str, ...] = ()
    #: A regular expression a string value must match (JSON Schema ``pattern``).
    pattern: str | None = None

    def schema(self) -> dict[str, Any]:
        described: dict[str, Any] = {"title": self.title, "type": self.type}
        if self.enum:
            described["enum"] = list(self.enum)
        if self.pattern:
            described["pattern"] = self.pattern
        return described


def _vocabulary(title: str, values: Any) -> Queryable:
    return Queryable(title, enum=tuple(member.value for member in values))


_MUNICIPALITY = Queryable("Municipality number (kommunenummer), 4 digits", pattern=r"^\d{4}$")
_COUNTY = Queryable("County number (fylkesnummer), 2 digits", pattern=r"^\d{2}$")


@dataclass(frozen=True)
class Query:
    """What the items request asks for, already checked."""

    directory: DirectoryFilter = field(default_factory=DirectoryFilter)
    #: Plain equality filters: property name -> value (only a collection's ``equality`` names).
    equal: dict[str, str] = field(default_factory=dict)
    #: Queryables' equality filters: property name -> value of its type.
    properties: dict[str, Any] = field(default_factory=dict)
    #: (minx, miny, maxx, maxy) in ``bbox_crs``'s own x/y (lon/lat for CRS84).
    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: str = CRS84
    crs: str = CRS84
    limit: int = 10
    offset: int = 0


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    geometry_type: str
    #: The collection's SELECT for a directory filter: columns ``fid``, ``geom`` and properties.
    select: Callable[[DirectoryFilter], sa.Select[Any]]
    #: Property filters by equality: query parameter -> the column it compares.
    equality: dict[str, Callable[[], ColumnElement[Any]]] = field(default_factory=dict)
    #: Whether the directory filter's parameters apply (category, municipality, …).
    directory: bool = False
    #: Type of the feature id in the URL: int or str.
    fid_type: type = int
    #: The properties a client may filter by (a parameter of the property's name).
    queryables: dict[str, Queryable] = field(default_factory=dict)


def _directory(
    statement: Callable[[DirectoryFilter], sa.Select[Any]],
    table: sa.Table,
    geom: Callable[[], ColumnElement[Any]],
) -> Callable[..., sa.Select[Any]]:
    """An export statement without its WGS84 lon/lat, with ``fid`` and the storage ``geom``."""

    def select(filt: DirectoryFilter) -> sa.Select[Any]:
        stmt = statement(filt)
        kept = [c for c in stmt.selected_columns if c.name not in ("lon", "lat")]
        return stmt.with_only_columns(
            table.c.id.label("fid"), *kept, geom().label("geom"), maintain_column_froms=True
        )

    return select


def _councils(filt: DirectoryFilter) -> sa.Select[Any]:
    stmt = councils_statement(filt, with_geom=True)
    kept = [c for c in stmt.selected_columns if c.name not in ("lon", "lat")]
    return stmt.with_only_columns(
        immigrant_council.c.id.label("fid"), *kept, maintain_column_froms=True
    )


def _municipalities(filt: DirectoryFilter) -> sa.Select[Any]:
    return (
        sa.select(
            municipality.c.number.label("fid"),
            municipality.c.number,
            municipality.c.name,
            municipality.c.county_number,
            latest_figure(municipality.c.number, "population").label("population"),
            latest_figure(municipality.c.number, "immigrants").label("immigrant_population"),
            municipality.c.geom,
        )
        .where(municipality.c.archived_at.is_(None))
        .order_by(municipality.c.number)
    )


def _areas(filt: DirectoryFilter) -> sa.Select[Any]:
    return (
        sa.select(
            statistical_area.c.id.label("fid"),
            statistical_area.c.kind,
            statistical_area.c.code,
            statistical_area.c.name,
            statistical_area.c.municipality_number,
            statistical_area.c.population,
            statistical_area.c.immigrant_population,
            statistical_area.c.year,
            statistical_area.c.geom,
        )
        .where(statistical_area.c.archived_at.is_(None))
        .order_by(statistical_area.c.id)
    )


def _initiatives(filt: DirectoryFilter) -> sa.Select[Any]:
    return (
        sa.select(
            area_initiative.c.slug.label("fid"),
            area_initiative.c.slug,
            area_initiative.c.name,
            area_initiative.c.description,
            area_initiative.c.municipality_number,
            area_initiative.c.period_start,
            area_initiative.c.period_end,
            area_initiative.c.geom,
        )
        .where(area_initiative.c.archived_at.is_(None))
        .order_by(area_initiative.c.slug)
    )


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection(
            "municipalities",
            "Municipalities (kommuner)",
            "Municipality boundaries with their latest population and immigrant figures.",
            "MultiPolygon",
            _municipalities,
            {"county": lambda: municipality.c.county_number},
            fid_type=str,
            queryables={
                "number": _MUNICIPALITY,
                "name": Queryable("Name"),
                "county_number": _COUNTY,
            },
        ),
        Collection(
            "venues",
            "Venues (lokaler)",
            "Premises volunteers can use: owner, price model, availability, accessibility.",
            "Point",
            _directory(venues_statement, venue, lambda: venue.c.geom),
            directory=True,
            queryables={
                "name": Queryable("Name"),
                "venue_type": _vocabulary("Type of premises", VenueType),
                "owner_type": _vocabulary("Owner", OwnerType),
                "price_model": _vocabulary("Price model", PriceModel),
                "municipality_number": _MUNICIPALITY,
                "postal_code": Queryable("Postal code", pattern=r"^\d{4}$"),
                "step_free": Queryable("Step-free access", "boolean"),
                "capacity": Queryable("Capacity (people)", "integer"),
            },
        ),
        Collection(
            "activities",
            "Activities (aktiviteter)",
            "Active volunteer activities for newcomers: category, target groups, languages, "
            "cost, weekly schedule.",
            "Point",
            _directory(activities_statement, activity, lambda: activity.c.geom),
            directory=True,
            queryables={
                "title": Queryable("Title"),
                "category": _vocabulary("Category", ActivityCategory),
                "municipality_number": _MUNICIPALITY,
                "free": Queryable("Free of charge", "boolean"),
                "leisure_card_accepted": Queryable(
                    "Leisure card (fritidskort) accepted", "boolean"
                ),
                "registration_required": Queryable("Registration required", "boolean"),
            },
        ),
        Collection(
            "councils",
            "Immigrant councils (innvandrerråd)",
            "Active immigrant councils and similar bodies; the point is one inside their "
            "municipality (point_of says which).",
            "Point",
            _councils,
            directory=True,
            queryables={
                "name": Queryable("Name"),
                "kind": _vocabulary("Kind of body", CouncilKind),
                "level": _vocabulary("Level", CouncilLevel),
                "status": _vocabulary("Status", CouncilStatus),
                "municipality_number": _MUNICIPALITY,
                "county_number": _COUNTY,
            },
        ),
        Collection(
            "areas",
            "Population units (statistiske områder)",
            "Districts, sub-districts, grunnkretser and SSB grid cells with population.",
            "MultiPolygon",
            _areas,
            {"municipality": lambda: statistical_area.c.municipality_number},
            queryables={
                "kind": _vocabulary("Kind of unit", AreaKind),
                "code": Queryable("Code (SSB grid id, district number, …)"),
                "name": Queryable("Name"),
                "municipality_number": _MUNICIPALITY,
                "year": Queryable("Year of the population figure", "integer"),
            },
        ),
        Collection(
            "initiatives",
            "Area initiatives (områdesatsinger)",
            "Named area initiatives such as Groruddalen.",
            "MultiPolygon",
            _initiatives,
            {"municipality": lambda: area_initiative.c.municipality_number},
            fid_type=str,
            queryables={
                "slug": Queryable("Slug"),
                "name": Queryable("Name"),
                "municipality_number": _MUNICIPALITY,
            },
        ),
    )
}


def _box(bbox: tuple[float, float, float, float], crs: str) -> ColumnElement[Any]:
    srid, lat_first = CRS_SRIDS[crs]
    x0, y0, x1, y1 = (bbox[1], bbox[0], bbox[3], bbox[2]) if lat_first else bbox
    envelope = sa.func.ST_MakeEnvelope(x0, y0, x1, y1, srid)
    if srid == STORAGE_SRID:
        return envelope
    # Densified so its box in storage CRS covers the curved edges of the transformed box.
    step = (x1 - x0) / 32 or 1
    return sa.func.ST_Transform(sa.func.ST_Segmentize(envelope, step), STORAGE_SRID)


def _filtered(collection: Collection, query: Query) -> sa.Select[Any]:
    stmt = collection.select(query.directory)
    for name, value in query.equal.items():
        stmt = stmt.where(collection.equality[name]() == value)
    for name, value in query.properties.items():
        stmt = stmt.where(stmt.selected_columns[name] == value)
    if query.bbox is not None:
        geom = stmt.selected_columns.geom
        box = _box(query.bbox, query.bbox_crs)
        stmt = stmt.where(geom.op("&&")(box), sa.func.ST_Intersects(geom, box))
    return stmt


def _geojson(geom: ColumnElement[Any], crs: str) -> ColumnElement[Any]:
    srid, lat_first = CRS_SRIDS[crs]
    # Exterior rings counter-clockwise (RFC 7946); a point is left as it is.
    out = sa.func.ST_ForcePolygonCCW(
        geom if srid == STORAGE_SRID else sa.func.ST_Transform(geom, srid)
    )
    if lat_first:
        out = sa.func.ST_FlipCoordinates(out)
    # Options 0: no "crs" member (the Content-Crs header says it), no bbox.
    return sa.func.ST_AsGeoJSON(out, _DECIMALS.get(srid, 2), 0, type_=sa.Text)


def _page_statement(collection: Collection, query: Query, fid: Any = None) -> AnySelect:
    stmt = _filtered(collection, query)
    geom = stmt.selected_columns.geom
    columns = [c for c in stmt.selected_columns if c.name != "geom"]
    stmt = stmt.with_only_columns(
        *columns, _geojson(geom, query.crs).label("geometry"), maintain_column_froms=True
    )
    if fid is not None:
        return stmt.where(stmt.selected_columns.fid == fid)
    return stmt.limit(query.limit).offset(query.offset)


def _count_statement(collection: Collection, query: Query) -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(
        _filtered(collection, query).order_by(None).subquery()
    )


@dataclass(frozen=True)
class Feature:
    id: Any
    geometry: Any
    properties: dict[str, Any]


def _feature(row: sa.Row[Any]) -> Feature:
    values = {str(name): value for name, value in row._mapping.items()}
    fid = values.pop("fid")
    geometry = values.pop("geometry")
    return Feature(fid, orjson.loads(geometry) if geometry else None, values)


async def page(
    conn: AsyncConnection, collection: Collection, query: Query
) -> tuple[list[Feature], int]:
    """One page of features and the number of all that match."""
    rows = (await conn.execute(_page_statement(collection, query))).all()
    matched = (await conn.execute(_count_statement(collection, query))).scalar_one()
    return [_feature(row) for row in rows], int(matched)


async def one(conn: AsyncConnection, collection: Collection, fid: Any, crs: str) -> Feature | None:
    row = (await conn.execute(_page_statement(collection, Query(crs=crs), fid))).first()
    return _feature(row) if row is not None else None


def _extent_statement(collection: Collection) -> sa.Select[Any]:
    # Each geometry transformed (not the box's corners, which in UTM 33 reach into the sea):
    # a scan, so the caller caches it.
    stmt = collection.select(DirectoryFilter()).order_by(None).subquery()
    box = sa.func.ST_Extent(sa.func.ST_Transform(stmt.c.geom, 4326))
    return sa.select(
        sa.func.ST_XMin(box), sa.func.ST_YMin(box), sa.func.ST_XMax(box), sa.func.ST_YMax(box)
    )


async def extent(
    conn: AsyncConnection, collection: Collection
) -> tuple[float, float, float, float] | None:
    """The collection's bounding box in CRS84 (lon/lat), or None when it is empty."""
    row = (await conn.execute(_extent_statement(collection))).one()
    return None if row[0] is None else (row[0], row[1], row[2], row[3])
