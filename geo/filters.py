"""The directory's filters as SQLAlchemy conditions, shared by nearby, lists, counts and exports.

Each filter applies to the kinds that have the attribute: age, languages, target groups and the
leisure card only to activities; owner type and step-free access only to venues; categories to an
activity's category and to the categories a venue suits; "free" to an activity's cost and a
venue's price model; a time to an activity's schedule and a venue's availability windows.
Councils have none of these, so any filter other than text and municipality leaves them out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from geo.languages import TEXT_SEARCH_CONFIGS
from geo.tables import activity, activity_schedule, immigrant_council, venue, venue_availability
from geo.vocab import ActivityStatus, CouncilLevel, CouncilStatus, PriceModel

MAX_TEXT_LENGTH = 200
#: The shortest word the fuzzy (trigram) text match uses (:func:`fuzzy_words`).
MIN_FUZZY_WORD = 3
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class TimeWindow:
    """A weekday (ISO 1-7) and a time span, Europe/Oslo local time; ``on`` picks the date that
    schedules' valid-from/to must cover (None: any date)."""

    weekday: int
    starts: time
    ends: time
    on: date | None = None


@dataclass(frozen=True)
class DirectoryFilter:
    categories: tuple[str, ...] = ()
    target_groups: tuple[str, ...] = ()
    age: int | None = None
    languages: tuple[str, ...] = ()
    free_only: bool = False
    leisure_card: bool = False
    window: TimeWindow | None = None
    owner_types: tuple[str, ...] = ()
    price_models: tuple[str, ...] = ()
    step_free: bool | None = None
    #: Venues with a window in the evening or at the weekend (see :func:`evening_or_weekend`).
    evening_or_weekend: bool = False
    text: str | None = None
    municipality: str | None = None
    #: ``freshOnly``: only entries verified at or after ``stale_before``.
    fresh_only: bool = False
    #: The staleness line answers are judged by (geo.freshness.stale_before): exports' ``stale``
    #: column and ``fresh_only``; None: not judged (``stale`` null, ``fresh_only`` refused).
    stale_before: datetime | None = None
    activity_only: frozenset[str] = field(
        default=frozenset({"target_groups", "age", "languages", "leisure_card"}), repr=False
    )

    def set_fields(self) -> set[str]:
        """Names of the filters that are in use: those that differ from their default (so
        ``step_free=False``, "not step-free", is in use; ``free_only=False`` is not)."""
        return {
            f.name
            for f in fields(self)
            if f.name not in _NOT_FILTERS and getattr(self, f.name) != f.default
        }

    def excludes_councils(self) -> bool:
        return bool(self.set_fields() - {"text", "municipality", "fresh_only"})

    def fresh_line(self) -> datetime:
        """The line ``fresh_only`` keeps entries verified at or after."""
        if self.stale_before is None:
            raise ValueError("fresh_only needs the staleness line (stale_before)")
        return self.stale_before


#: DirectoryFilter's fields that choose no rows.
_NOT_FILTERS = frozenset({"activity_only", "stale_before"})


def fuzzy_words(query: str) -> str | None:
    """The words of ``query`` the trigram match uses: those of :data:`MIN_FUZZY_WORD` letters or
    digits and more (None when there are none). A shorter word's trigrams (" or", "1") are in
    most documents, so the index would hand back nearly every row to re-check ("' OR 1=1 --"
    took 6.7 s on a million places), and a query with no trigram at all ("!!!") cannot use the
    index. Full-text search still gets the whole query."""
    words = [word for word in _WORD.findall(query) if len(word) >= MIN_FUZZY_WORD]
    return " ".join(words) or None


def _text_matches(
    query: str, search_text: ColumnElement[str], search_document: ColumnElement[Any]
) -> ColumnElement[bool]:
    """Norwegian-aware text match: stemmed Norwegian full text, or trigram word similarity on
    lower-cased, unaccented text (which copes with compound words, æøå typed as a/o, and small
    typos). Activities and venues store both documents (migration 0004) under GIN indexes, so
    PostgreSQL finds a rare word's few rows through them and re-checks a candidate by reading
    its columns; councils, a few hundred rows, compute theirs (:func:`_computed_documents`).
    The stored documents hold the entry's translations too (migration 0005), so the query is
    also read as each translation language's full text (:func:`search_query`)."""
    # A scalar subquery, run once: as a plain call these STABLE functions ran for every row
    # re-checked outside an index scan.
    asked = sa.select(search_query(query)).scalar_subquery()
    full_text = search_document.op("@@")(asked)
    words = fuzzy_words(query)
    if words is None:
        return full_text
    # doc %> query: word_similarity(query, doc) >= pg_trgm.word_similarity_threshold (0.6)
    fuzzy = search_text.op("%>")(sa.func.hverdag_search_text(words, sa.null()))
    return sa.or_(full_text, fuzzy)


def stored_text_matches(table: sa.Table, query: str) -> ColumnElement[bool]:
    """The text filter on a table that stores its search documents (activity, venue)."""
    return _text_matches(query, table.c.search_text, table.c.search_document)


def search_query(query: str) -> ColumnElement[Any]:
    """``query`` as full text in every configuration the stored documents use: Norwegian (the
    originals), each translation language's (geo.languages.TEXT_SEARCH_CONFIGS: an Arabic word
    stemmed as Arabic), and ``simple`` over lower-cased, unaccented text (any other language),
    OR-ed: one GIN lookup of their lexemes."""
    configs = dict.fromkeys(TEXT_SEARCH_CONFIGS.values())
    parts: list[ColumnElement[Any]] = [
        sa.func.websearch_to_tsquery(sa.literal_column(f"'{config}'::regconfig"), query)
        for config in configs
    ]
    simple: ColumnElement[Any] = sa.literal_column("'simple'::regconfig")
    parts.append(
        sa.func.websearch_to_tsquery(simple, sa.func.hverdag_search_text(query, sa.null()))
    )
    combined = parts[0]
    for part in parts[1:]:
        combined = combined.op("||")(part)
    return combined


def _computed_documents(
    name: ColumnElement[str], description: ColumnElement[str]
) -> tuple[ColumnElement[str], ColumnElement[Any]]:
    """The two documents that migration 0004 stores for activities and venues, computed."""
    norwegian: ColumnElement[Any] = sa.literal_column("'norwegian'::regconfig")
    return (
        sa.func.hverdag_search_text(name, description),
        sa.func.to_tsvector(norwegian, sa.func.hverdag_document(name, description)),
    )


def _overlaps(column: ColumnElement[list[str]], values: tuple[str, ...]) -> ColumnElement[bool]:
    return column.op("&&")(sa.literal(list(values), ARRAY(sa.Text)))


def _in_window(
    table: sa.Table, key: ColumnElement[bool], window: TimeWindow, *, dated: bool
) -> ColumnElement[bool]:
    """EXISTS a weekly window on that weekday overlapping the asked span (a point in time when
    starts == ends)."""
    if window.starts == window.ends:
        overlap = sa.and_(table.c.starts <= window.starts, table.c.ends > window.starts)
    else:
        overlap = sa.and_(table.c.starts < window.ends, table.c.ends > window.starts)
    conditions: list[ColumnElement[bool]] = [key, table.c.weekday == window.weekday, overlap]
    if dated and window.on is not None:
        conditions += [
            sa.or_(table.c.valid_from.is_(None), table.c.valid_from <= window.on),
            sa.or_(table.c.valid_to.is_(None), table.c.valid_to >= window.on),
        ]
    return sa.exists().where(*conditions)


def activity_conditions(f: DirectoryFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [
        activity.c.archived_at.is_(None),
        activity.c.status == ActivityStatus.ACTIVE.value,
    ]
    if len(f.categories) == 1:  # plain equality lets the (category, geom) GiST index serve KNN
        where.append(activity.c.category == f.categories[0])
    elif f.categories:
        where.append(activity.c.category.in_(f.categories))
    if f.target_groups:
        where.append(_overlaps(activity.c.target_groups, f.target_groups))
    if f.age is not None:
        where += [
            sa.or_(activity.c.min_age.is_(None), activity.c.min_age <= f.age),
            sa.or_(activity.c.max_age.is_(None), activity.c.max_age >= f.age),
        ]
    if f.languages:
        where.append(_overlaps(activity.c.languages, f.languages))
    if f.free_only:
        where.append(activity.c.free.is_(True))
    if f.leisure_card:
        where.append(activity.c.leisure_card_accepted.is_(True))
    if f.window is not None:
        where.append(
            _in_window(
                activity_schedule,
                activity_schedule.c.activity_id == activity.c.id,
                f.window,
                dated=True,
            )
        )
    if f.municipality:
        where.append(activity.c.municipality_number == f.municipality)
    if f.fresh_only:
        where.append(activity.c.last_verified_at >= f.fresh_line())
    if f.text:
        where.append(stored_text_matches(activity, f.text))
    if f.owner_types or f.price_models or f.step_free is not None:
        where.append(_venue_of_activity_matches(f))
    return where


def _venue_of_activity_matches(f: DirectoryFilter) -> ColumnElement[bool]:
    """Venue filters on an activity: its venue must match them (no venue: no match)."""
    v = venue.alias("activity_venue")
    conditions: list[ColumnElement[bool]] = [v.c.id == activity.c.venue_id]
    if f.owner_types:
        conditions.append(v.c.owner_type.in_(f.owner_types))
    if f.price_models:
        conditions.append(v.c.price_model.in_(f.price_models))
    if f.step_free is not None:
        conditions.append(v.c.step_free.is_(f.step_free))
    return sa.exists().where(*conditions)


def venue_conditions(f: DirectoryFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [venue.c.archived_at.is_(None)]
    if f.categories:
        where.append(_overlaps(venue.c.suitable_categories, f.categories))
    if f.free_only:
        where.append(venue.c.price_model == PriceModel.FREE.value)
    if f.window is not None:
        where.append(
            _in_window(
                venue_availability,
                venue_availability.c.venue_id == venue.c.id,
                f.window,
                dated=False,
            )
        )
    if f.owner_types:
        where.append(venue.c.owner_type.in_(f.owner_types))
    if f.price_models:
        where.append(venue.c.price_model.in_(f.price_models))
    if f.step_free is not None:
        where.append(venue.c.step_free.is_(f.step_free))
    if f.evening_or_weekend:
        where.append(evening_or_weekend())
    if f.municipality:
        where.append(venue.c.municipality_number == f.municipality)
    if f.fresh_only:
        where.append(venue.c.last_verified_at >= f.fresh_line())
    if f.text:
        where.append(stored_text_matches(venue, f.text))
    return where


def council_conditions(f: DirectoryFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [
        immigrant_council.c.archived_at.is_(None),
        immigrant_council.c.status == CouncilStatus.ACTIVE.value,
    ]
    if f.municipality:
        where.append(immigrant_council.c.municipality_number == f.municipality)
    if f.fresh_only:
        where.append(immigrant_council.c.last_verified_at >= f.fresh_line())
    if f.text:
        where.append(
            _text_matches(
                f.text, *_computed_documents(immigrant_council.c.name, immigrant_council.c.note)
            )
        )
    if f.excludes_councils():
        where.append(sa.false())
    return where


# --- Survey rules: shared by the venue-access survey, council coverage and the lists ------------

#: "Evening": a weekday window that ends after this time (Europe/Oslo local time).
EVENING_AFTER = time(17, 0)


def evening_or_weekend(venue_id: ColumnElement[int] | None = None) -> ColumnElement[bool]:
    """The venue (``venue_id``, default ``venue.id``) has a weekly availability window in the
    evening or at the weekend: one ending after 17:00 on a weekday (ISO 1-5), or any window on
    Saturday or Sunday (ISO 6-7)."""
    return sa.exists().where(
        venue_availability.c.venue_id == (venue.c.id if venue_id is None else venue_id),
        sa.or_(
            sa.and_(
                venue_availability.c.weekday.between(1, 5),
                venue_availability.c.ends > EVENING_AFTER,
            ),
            venue_availability.c.weekday.between(6, 7),
        ),
    )


#: Council levels that can serve one municipality: its own council, or an independent body
#: with a municipality number. A county council (level COUNTY) serves no single municipality.
COUNCIL_LEVELS_SERVING_A_MUNICIPALITY = (
    CouncilLevel.MUNICIPALITY.value,
    CouncilLevel.INDEPENDENT.value,
)


def has_active_council(number: ColumnElement[str]) -> ColumnElement[bool]:
    """The municipality ``number`` has an active immigrant council or a body like one: a
    non-archived council with status ACTIVE, level MUNICIPALITY or INDEPENDENT and that
    municipality number."""
    return sa.exists().where(
        immigrant_council.c.municipality_number == number,
        immigrant_council.c.archived_at.is_(None),
        immigrant_council.c.status == CouncilStatus.ACTIVE.value,
        immigrant_council.c.level.in_(COUNCIL_LEVELS_SERVING_A_MUNICIPALITY),
    )
