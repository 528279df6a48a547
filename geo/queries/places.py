"""Places by name for a search box: municipalities, city districts and sub-districts, and area
initiatives, matched as the directory's text filter matches (lower-cased, unaccented, trigram
word similarity, so "grorudal" finds Groruddalen and "tromso" Tromsø).

A few thousand rows at most (356 municipalities, Oslo's districts, the initiatives): each match
is checked on every row, with no index, and costs a few milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from geo.crs import WGS84_SRID
from geo.tables import area_initiative, municipality, statistical_area
from geo.vocab import AreaKind

#: Word similarity needed when the name does not contain the text outright: pg_trgm's default
#: for its word-similarity operator, as the text filter uses.
MIN_SIMILARITY = 0.6
#: The kinds, in the order a tie puts them: the larger the place, the likelier meant.
PLACE_KINDS = ("MUNICIPALITY", AreaKind.BYDEL.value, AreaKind.DELBYDEL.value, "AREA_INITIATIVE")


@dataclass(frozen=True)
class PlaceRow:
    kind: str
    code: str
    name: str
    municipality_number: str | None
    lat: float
    lon: float
    west: float
    south: float
    east: float
    north: float


def _folded(value: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    return sa.func.hverdag_search_text(value, sa.null())


def _candidates() -> sa.CTE:
    return sa.union_all(
        sa.select(
            sa.literal("MUNICIPALITY").label("kind"),
            sa.cast(municipality.c.number, sa.Text).label("code"),
            municipality.c.name.label("name"),
            sa.cast(municipality.c.number, sa.Text).label("municipality_number"),
            municipality.c.geom.label("geom"),
        ),
        sa.select(
            statistical_area.c.kind,
            statistical_area.c.code,
            statistical_area.c.name,
            sa.cast(statistical_area.c.municipality_number, sa.Text),
            statistical_area.c.geom,
        ).where(
            statistical_area.c.kind.in_([AreaKind.BYDEL.value, AreaKind.DELBYDEL.value]),
            statistical_area.c.name.is_not(None),
            statistical_area.c.archived_at.is_(None),
        ),
        sa.select(
            sa.literal("AREA_INITIATIVE"),
            area_initiative.c.slug,
            area_initiative.c.name,
            sa.cast(area_initiative.c.municipality_number, sa.Text),
            area_initiative.c.geom,
        ).where(area_initiative.c.archived_at.is_(None)),
    ).cte("candidates")


def _best_first(
    exact: sa.ColumnElement[Any],
    starts: sa.ColumnElement[Any],
    contains: sa.ColumnElement[Any],
    similarity: sa.ColumnElement[Any],
    kind_order: sa.ColumnElement[Any],
    name: sa.ColumnElement[Any],
) -> list[sa.ColumnElement[Any]]:
    return [
        sa.desc(exact),
        sa.desc(starts),
        sa.desc(contains),
        sa.desc(similarity),
        kind_order,
        name,
    ]


def find_places(conn: sa.Connection, text: str, limit: int) -> list[PlaceRow]:
    """Places whose name matches ``text`` (or whose number or code it is), best first: a name
    that starts with it, then one that contains it, then the most similar; larger kinds first
    on a tie. Each with a point inside it and its bounding box (WGS84)."""
    c = _candidates().c
    asked = _folded(sa.literal(text.strip()))
    name = _folded(c.name)
    # strpos, not LIKE: a % or _ the user typed is a letter, not a wildcard.
    position = sa.func.strpos(name, asked)
    starts, contains = position == 1, position > 0
    similarity = sa.func.word_similarity(asked, name)
    exact = c.code == text.strip()
    kind_order = sa.case({kind: i for i, kind in enumerate(PLACE_KINDS)}, value=c.kind)
    matched = (
        sa.select(
            c.kind,
            c.code,
            c.name,
            c.municipality_number,
            c.geom,
            exact.label("exact"),
            starts.label("starts"),
            contains.label("contains"),
            similarity.label("similarity"),
            kind_order.label("kind_order"),
        )
        .where(sa.or_(contains, similarity >= MIN_SIMILARITY, exact))
        .order_by(*_best_first(exact, starts, contains, similarity, kind_order, c.name))
        .limit(limit)
        .subquery()
    )
    point = sa.func.ST_Transform(sa.func.ST_PointOnSurface(matched.c.geom), WGS84_SRID)
    envelope = sa.func.ST_Transform(sa.func.ST_Envelope(matched.c.geom), WGS84_SRID)
    rows = conn.execute(
        sa.select(
            matched.c.kind,
            matched.c.code,
            matched.c.name,
            matched.c.municipality_number,
            sa.func.ST_Y(point).label("lat"),
            sa.func.ST_X(point).label("lon"),
            sa.func.ST_XMin(envelope).label("west"),
            sa.func.ST_YMin(envelope).label("south"),
            sa.func.ST_XMax(envelope).label("east"),
            sa.func.ST_YMax(envelope).label("north"),
        ).order_by(
            *_best_first(
                matched.c.exact,
                matched.c.starts,
                matched.c.contains,
                matched.c.similarity,
                matched.c.kind_order,
                matched.c.name,
            )
        )
    )
    return [PlaceRow(**row._mapping) for row in rows]
