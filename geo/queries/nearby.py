""" "What is near me": activities, venues and councils, nearest first, filtered, paginated.

Shape (see docs/performance.md): per kind, a KNN scan (``ORDER BY geom <-> point FETCH FIRST n
ROWS WITH TIES``) with the equality filters inside and the radius outside the limit, so the GiST
index returns rows nearest first and the scan stops after n matches even where few rows lie within
the radius. The kinds' sorted streams are merged in Python. Ties in distance are broken by
staleness (fresh first: geo.freshness), then kind, then id, and the cursor holds all four, so
pages neither skip nor repeat rows that lie equally far (activities at one venue share its
point).

The scan orders by distance alone: PostgreSQL 15 uses an index's ordering operator only when it
matches the whole ORDER BY, so ``ORDER BY geom <-> point, id`` falls back to reading and sorting
every row of the category (docs/performance.md, "The plan"). ``WITH TIES`` keeps every
row as far as the n-th, so the outer ``ORDER BY distance, id LIMIT n`` picks the same n rows the
tie-broken order would.

Distances are metres in the EPSG:25833 plane (straight line). A council's place is the area it
serves (its municipality, or its county): its distance is 0 inside that area.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from geo.filters import (
    DirectoryFilter,
    activity_conditions,
    council_conditions,
    stored_text_matches,
    venue_conditions,
)
from geo.freshness import stale_column, stale_line_param
from geo.queries.activities import ActivityRow, activity_columns
from geo.queries.councils import CouncilRow, council_columns
from geo.queries.driver import driver_statement, run_statement, run_statement_as
from geo.queries.points import bound_storage_point, check_finite, storage_point
from geo.queries.rows import from_mapping, in_field_order, to_dataclass
from geo.queries.translations import with_translations
from geo.queries.venues import VenueRow, venue_columns
from geo.tables import activity, county, immigrant_council, municipality, venue
from geo.vocab import CouncilLevel

MAX_RADIUS_M = 100_000
#: Statements kept built, one per (kind, filter, cursor rank): building a statement and its cache
#: key costs more than running it, so each is built once and run with bound values.
STATEMENT_CACHE_SIZE = 128  # ~40 KB each
#: How many of the nearest rows (the other filters applied) a text search reads first. A common
#: word ("norsk") has its page among them; a rare one is found through its GIN index instead.
TEXT_PROBE_ROWS = 300


class PlaceKind(StrEnum):
    ACTIVITY = "ACTIVITY"
    VENUE = "VENUE"
    COUNCIL = "COUNCIL"

    @property
    def rank(self) -> int:
        """Order among equally distant hits."""
        return _RANKS[self]


_RANKS = {kind: position for position, kind in enumerate(PlaceKind)}


@dataclass(frozen=True, order=True)
class NearbyKey:
    """A hit's position in the answer: what a cursor holds."""

    distance: float
    #: Stale entries come after fresh ones at an equal distance (geo.freshness).
    stale: bool
    rank: int
    id: int


@dataclass(frozen=True)
class Hit:
    kind: PlaceKind
    distance_m: float
    row: ActivityRow | VenueRow | CouncilRow
    stale: bool

    @property
    def key(self) -> NearbyKey:
        return NearbyKey(self.distance_m, self.stale, self.kind.rank, self.row.id)


@dataclass(frozen=True)
class NearbyPage:
    hits: list[Hit]
    has_next: bool
    #: With ``languages``: each hit's translations in them, by (kind, id), as
    #: geo.queries.translations.with_translations reads them; None when not read.
    translations: dict[tuple[PlaceKind, int], list[list[Any]]] | None = None


def _after(
    distance: ColumnElement[float],
    stale: ColumnElement[bool],
    row_id: ColumnElement[int],
    kind: PlaceKind,
    after_rank: int | None,
) -> list[ColumnElement[bool]]:
    """Rows of ``kind`` that come after the cursor in (distance, stale, kind rank, id) order;
    the cursor's values are bound as ``after_distance``, ``after_stale`` and ``after_id``."""
    if after_rank is None:
        return []
    after_distance = sa.bindparam("after_distance", type_=sa.Float)
    after_stale = sa.bindparam("after_stale", type_=sa.Boolean)
    after_id = sa.bindparam("after_id", type_=sa.BigInteger)
    # The rank is the statement's own constant: compare it in Python, not per row.
    rest: ColumnElement[bool]
    if kind.rank > after_rank:
        rest = stale >= after_stale
    elif kind.rank < after_rank:
        rest = stale > after_stale
    else:
        rest = sa.or_(stale > after_stale, sa.and_(stale == after_stale, row_id > after_id))
    return [
        distance >= after_distance,
        sa.or_(distance > after_distance, rest),
    ]


def _knn_statement(
    table: sa.Table,
    columns: Sequence[ColumnElement[Any]],
    conditions: list[ColumnElement[bool]],
    kind: PlaceKind,
    after_rank: int | None,
) -> sa.Select[Any]:
    distance = table.c.geom.op("<->", return_type=sa.Float)(bound_storage_point())
    stale = stale_column(table, stale_line_param())
    limit = sa.bindparam("limit", type_=sa.Integer)
    nearest = (
        sa.select(table.c.id.label("hit_id"), distance.label("distance"), stale.label("stale"))
        .where(*conditions, *_after(distance, stale, table.c.id, kind, after_rank))
        .order_by(distance)  # distance alone, or the index cannot order the scan (above)
        .fetch(limit, with_ties=True)
        .subquery("nearest")
    )
    return (
        sa.select(*columns, nearest.c.distance, nearest.c.stale)
        .select_from(nearest.join(table, table.c.id == nearest.c.hit_id))
        .where(nearest.c.distance <= sa.bindparam("radius_m", type_=sa.Float))
        .order_by(nearest.c.distance, nearest.c.stale, nearest.c.hit_id)
        .limit(limit)
    )


def _council_distances(
    filt: DirectoryFilter, point: ColumnElement[Any], radius_m: float | ColumnElement[float]
) -> sa.Subquery:
    """Each active council within the radius of the area it serves, with that distance: its
    municipality, or its county when it is a county council or has no municipality (an
    independent body serving a county)."""
    conditions = council_conditions(filt)
    county_level = immigrant_council.c.level == CouncilLevel.COUNTY.value
    legs = []
    for area, key, serves in (
        (municipality, immigrant_council.c.municipality_number, ~county_level),
        (
            county,
            immigrant_council.c.county_number,
            county_level | immigrant_council.c.municipality_number.is_(None),
        ),
    ):
        legs.append(
            sa.select(
                immigrant_council.c.id.label("hit_id"),
                sa.func.ST_Distance(area.c.geom, point).label("distance"),
            )
            .select_from(immigrant_council.join(area, area.c.number == key))
            .where(serves, sa.func.ST_DWithin(area.c.geom, point, radius_m), *conditions)
        )
    return sa.union_all(*legs).subquery("council_distance")


def _council_statement(filt: DirectoryFilter, after_rank: int | None) -> sa.Select[Any]:
    near = _council_distances(filt, bound_storage_point(), sa.bindparam("radius_m", type_=sa.Float))
    stale = stale_column(immigrant_council, stale_line_param())
    return (
        sa.select(
            *in_field_order(CouncilRow, council_columns()), near.c.distance, stale.label("stale")
        )
        .select_from(near.join(immigrant_council, immigrant_council.c.id == near.c.hit_id))
        .where(*_after(near.c.distance, stale, near.c.hit_id, PlaceKind.COUNCIL, after_rank))
        .order_by(near.c.distance, stale, near.c.hit_id)
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )


def _text_first_statement(
    table: sa.Table,
    columns: Sequence[ColumnElement[Any]],
    conditions: list[ColumnElement[bool]],
    kind: PlaceKind,
    after_rank: int | None,
) -> sa.Select[Any]:
    """With a text filter the KNN walk is the wrong shape: few rows match a word, so the walk
    reads outward until it has found n of them, often the whole table (5 s, the statement
    timeout, on a million places). Here the text's GIN indexes and the radius's GiST index
    find the candidates together (a BitmapAnd), and only those are sorted by distance: ordering
    by (distance, id) keeps the planner from the KNN walk."""
    point = bound_storage_point()
    distance = table.c.geom.op("<->", return_type=sa.Float)(point)
    stale = stale_column(table, stale_line_param())
    return (
        sa.select(*columns, distance.label("distance"), stale.label("stale"))
        .where(
            *conditions,
            sa.func.ST_DWithin(table.c.geom, point, sa.bindparam("radius_m", type_=sa.Float)),
            *_after(distance, stale, table.c.id, kind, after_rank),
        )
        .order_by(distance, stale, table.c.id)
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )


def _text_probe_statement(
    table: sa.Table,
    columns: Sequence[ColumnElement[Any]],
    conditions: list[ColumnElement[bool]],
    matches: ColumnElement[bool],
    kind: PlaceKind,
    after_rank: int | None,
) -> sa.Select[Any]:
    """A text search's first try: the ``probe_rows`` nearest rows by the KNN walk (the other
    filters inside it), the text checked on those alone, and the page taken from the matches.

    The text-first shape reads every match of the word in the radius, and a common word has
    tens of thousands of them around Oslo on a million places, enough for a few clients to slow
    everyone's near-me reads (issue 20; docs/performance.md). The probe's cost is bounded by
    ``probe_rows`` whatever the word. Its answer is final when it found a full page or read
    every row of the radius; else (the word is rare here) the text-first shape runs. One row
    more than the page always comes back, the probe's reach (``probed`` rows, the ``farthest``
    distance), with the page's columns null when nothing matched."""
    point = bound_storage_point()
    distance = table.c.geom.op("<->", return_type=sa.Float)(point)
    stale = stale_column(table, stale_line_param())
    nearest = (
        sa.select(
            table.c.id.label("hit_id"),
            distance.label("distance"),
            stale.label("stale"),
            matches.label("matches"),
        )
        .where(*conditions, *_after(distance, stale, table.c.id, kind, after_rank))
        .order_by(distance)  # distance alone, or the index cannot order the scan
        # With ties: a row as far as the last one read is read too, so the reach is exact.
        .fetch(sa.bindparam("probe_rows", type_=sa.Integer), with_ties=True)
        .cte("nearest")
    )
    reach = sa.select(
        sa.func.count().label("probed"), sa.func.max(nearest.c.distance).label("farthest")
    ).subquery("reach")
    # The page's ids first, then their rows: joining all the probed rows before the limit
    # looked up every one of them.
    matched = (
        sa.select(nearest.c.hit_id, nearest.c.distance, nearest.c.stale)
        .where(nearest.c.matches, nearest.c.distance <= sa.bindparam("radius_m", type_=sa.Float))
        .order_by(nearest.c.distance, nearest.c.stale, nearest.c.hit_id)
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .subquery("matched")
    )
    page = (
        sa.select(*columns, matched.c.distance, matched.c.stale)
        .select_from(matched.join(table, table.c.id == matched.c.hit_id))
        .subquery("page")
    )
    return (
        sa.select(*page.c, reach.c.probed, reach.c.farthest)
        .select_from(reach.outerjoin(page, sa.true()))
        .order_by(page.c.distance, page.c.stale, page.c.id)
    )


@lru_cache(maxsize=STATEMENT_CACHE_SIZE)
def _kind_statement(
    kind: PlaceKind,
    filt: DirectoryFilter,
    after_rank: int | None,
    only: frozenset[str] | None = None,
    *,
    probe: bool = False,
) -> sa.Select[Any]:
    """One kind's statement; the point (x, y), radius_m, limit and the cursor's values are
    bound when it runs. The row's columns come first, in its fields' order, then the
    distance. ``only``: of an activity's or a venue's columns, only these (and ``id``);
    ``probe``: a text search's first try (:func:`_text_probe_statement`)."""
    if kind is PlaceKind.COUNCIL:
        return _council_statement(filt, after_rank)
    table, columns, conditions = _kind_parts(kind, replace(filt, text=None) if probe else filt)
    if only is not None:
        columns = [c for c in columns if c.name in only or c.name == "id"]
    columns = in_field_order(_ROW_TYPES[kind], columns)
    if probe:
        assert filt.text is not None
        matches = stored_text_matches(table, filt.text)
        return _text_probe_statement(table, columns, conditions, matches, kind, after_rank)
    shape = _text_first_statement if filt.text else _knn_statement
    return shape(table, columns, conditions, kind, after_rank)


def _kind_parts(
    kind: PlaceKind, filt: DirectoryFilter
) -> tuple[sa.Table, list[ColumnElement[Any]], list[ColumnElement[bool]]]:
    if kind is PlaceKind.ACTIVITY:
        return activity, activity_columns(), activity_conditions(filt)
    return venue, venue_columns(), venue_conditions(filt)


def _probes(kind: PlaceKind, filt: DirectoryFilter) -> bool:
    return bool(filt.text) and kind is not PlaceKind.COUNCIL


def _probed_hits(kind: PlaceKind, rows: Sequence[Any], values: dict[str, Any]) -> list[Hit] | None:
    """The probe's hits when they are the answer (a full page, or every row of the radius
    read), else None. ``rows`` are mappings of the probe statement's columns."""
    row_type = _ROW_TYPES[kind]
    hits = [
        Hit(kind, float(row["distance"]), from_mapping(row_type, row), bool(row["stale"]))
        for row in rows
        if row["distance"] is not None
    ]
    reach = rows[0]
    whole_radius = reach["probed"] < TEXT_PROBE_ROWS or reach["farthest"] > values["radius_m"]
    return hits if len(hits) == values["limit"] or whole_radius else None


_ROW_TYPES: dict[PlaceKind, type[Any]] = {
    PlaceKind.ACTIVITY: ActivityRow,
    PlaceKind.VENUE: VenueRow,
    PlaceKind.COUNCIL: CouncilRow,
}


def _kind_hits(
    conn: sa.Connection,
    kind: PlaceKind,
    filt: DirectoryFilter,
    values: dict[str, Any],
    after_rank: int | None,
) -> list[Hit]:
    if _probes(kind, filt):
        probe = _kind_statement(kind, filt, after_rank, probe=True)
        rows = conn.execute(probe, {**values, "probe_rows": TEXT_PROBE_ROWS}).mappings().all()
        hits = _probed_hits(kind, rows, values)
        if hits is not None:
            return hits
    row_type = _ROW_TYPES[kind]
    return [
        Hit(kind, float(row.distance), to_dataclass(row_type, row), row.stale)
        for row in conn.execute(_kind_statement(kind, filt, after_rank), values)
    ]


def _bound_values(
    x: float,
    y: float,
    radius_m: float,
    first: int,
    after: NearbyKey | None,
    stale_before: datetime,
) -> dict[str, Any]:
    check_finite(x, y)
    values: dict[str, Any] = {
        "x": float(x),
        "y": float(y),
        "radius_m": radius_m,
        "limit": first + 1,
        "stale_before": stale_before,
    }
    if after is not None:
        values.update(after_distance=after.distance, after_stale=after.stale, after_id=after.id)
    return values


def _page(streams: list[list[Hit]], first: int) -> NearbyPage:
    # Each stream is in key order already: one kind's needs no merge (nor a key per hit).
    merged = (
        streams[0] if len(streams) == 1 else list(heapq.merge(*streams, key=lambda hit: hit.key))
    )
    return NearbyPage(hits=merged[:first], has_next=len(merged) > first)


def nearby(
    conn: sa.Connection,
    x: float,
    y: float,
    *,
    radius_m: float,
    kinds: Sequence[PlaceKind],
    filt: DirectoryFilter,
    first: int,
    stale_before: datetime,
    after: NearbyKey | None = None,
) -> NearbyPage:
    """The ``first`` nearest hits after ``after`` within ``radius_m`` of (x, y) in EPSG:25833;
    at equal distance fresh before stale (verified before ``stale_before``)."""
    values = _bound_values(x, y, radius_m, first, after, stale_before)
    after_rank = None if after is None else after.rank
    return _page(
        [_kind_hits(conn, kind, filt, values, after_rank) for kind in dict.fromkeys(kinds)], first
    )


async def nearby_on_driver(
    conn: psycopg.AsyncConnection[Any],
    x: float,
    y: float,
    *,
    radius_m: float,
    kinds: Sequence[PlaceKind],
    filt: DirectoryFilter,
    first: int,
    stale_before: datetime,
    after: NearbyKey | None = None,
    columns: Mapping[PlaceKind, frozenset[str]] | None = None,
    languages: Sequence[str] = (),
) -> NearbyPage:
    """:func:`nearby` run straight on psycopg: the same statements, compiled by SQLAlchemy once
    per filter, with none of SQLAlchemy's per-execution work (a third of the CPU of a near-me
    request; docs/performance.md). ``columns``: for a kind named there, only these of its row's
    columns are selected (and ``id``), and its rows have only those attributes (the caller
    reads no other: the compiled path's projection, api.graphql.projection; a translated text
    it reads has its original among them, which tells whether the translation is outdated).
    ``languages``: each activity's and venue's translations come in the same statements
    (:attr:`NearbyPage.translations`; not with a text probe's)."""
    values = _bound_values(x, y, radius_m, first, after, stale_before)
    after_rank = None if after is None else after.rank
    # A text probe reads no translations: its entries are localised after the page.
    translations: dict[tuple[PlaceKind, int], list[list[Any]]] | None = (
        {} if languages and not any(_probes(kind, filt) for kind in kinds) else None
    )
    streams = []
    for kind in dict.fromkeys(kinds):
        if _probes(kind, filt):  # whole rows: a superset of any projection's
            probe = driver_statement(_kind_statement(kind, filt, after_rank, probe=True))
            probed = await run_statement(conn, probe, {**values, "probe_rows": TEXT_PROBE_ROWS})
            hits = _probed_hits(kind, probed, values)
            if hits is not None:
                streams.append(hits)
                continue
        only = None if columns is None or kind is PlaceKind.COUNCIL else columns.get(kind)
        stmt = _kind_statement(kind, filt, after_rank, only)
        translated = translations is not None and kind is not PlaceKind.COUNCIL
        if translated:  # the row's translations, from the row the statement reads anyway
            stmt = with_translations(stmt, kind.value.lower())
        rows = await run_statement_as(
            conn,
            driver_statement(stmt),
            values,
            _ROW_TYPES[kind],
            "distance",
            "stale",
            *(("translations",) if translated else ()),
            partial=only is not None,
        )
        streams.append(
            [Hit(kind, float(distance), row, stale) for row, distance, stale, *_ in rows]
        )
        if translated:
            assert translations is not None  # what ``translated`` says
            translations.update({(kind, row.id): texts or [] for row, _, _, texts in rows})
    page = _page(streams, first)
    return page if translations is None else replace(page, translations=translations)


def count_nearby(
    conn: sa.Connection,
    x: float,
    y: float,
    *,
    radius_m: float,
    kinds: Sequence[PlaceKind],
    filt: DirectoryFilter,
) -> int:
    """How many hits lie within the radius in all (the index-backed ST_DWithin count)."""
    point = storage_point(x, y)
    total = 0
    for kind in dict.fromkeys(kinds):
        if kind is PlaceKind.COUNCIL:
            near = _council_distances(filt, point, radius_m)
            stmt = sa.select(sa.func.count()).select_from(near)
        else:
            table = activity if kind is PlaceKind.ACTIVITY else venue
            conditions = (
                activity_conditions(filt) if kind is PlaceKind.ACTIVITY else venue_conditions(filt)
            )
            stmt = (
                sa.select(sa.func.count())
                .select_from(table)
                .where(sa.func.ST_DWithin(table.c.geom, point, radius_m), *conditions)
            )
        total += int(conn.execute(stmt).scalar_one())
    return total
