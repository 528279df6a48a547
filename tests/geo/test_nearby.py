"""`nearby` against a brute-force reference computed in Python with pyproj from the same rows."""

from __future__ import annotations

import math
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import psycopg
import pytest
import sqlalchemy as sa
from pyproj import Transformer
from sqlalchemy.engine import URL

from geo.db import Database, create_database, drop_database, sync_engine
from geo.filters import (
    DirectoryFilter,
    TimeWindow,
    activity_conditions,
    fuzzy_words,
    venue_conditions,
)
from geo.freshness import stale_before
from geo.queries import nearby as nearby_module
from geo.queries.activities import activity_columns
from geo.queries.driver import driver_statement, run_statement_as
from geo.queries.nearby import (
    NearbyKey,
    PlaceKind,
    _knn_statement,
    _text_first_statement,
    count_nearby,
    nearby,
    nearby_on_driver,
)
from geo.queries.venues import VenueRow, venue_columns
from geo.tables import activity, activity_schedule, venue, venue_availability

CATEGORIES = ["LANGUAGE_CAFE", "HOMEWORK_HELP", "SPORTS", "NORWEGIAN_PRACTICE"]
LANGUAGES = ["nb", "en", "ar", "so", "uk", "pl"]
TO_UTM = Transformer.from_crs(4326, 25833, always_xy=True)
#: The date the tests judge staleness on, and its line (HVERDAG_STALE_AFTER_DAYS's default).
AS_OF = datetime(2026, 12, 1, 12, tzinfo=UTC)
STALE_BEFORE = stale_before(AS_OF, 180)
LONG_AGO = AS_OF - timedelta(days=400)


@dataclass
class Place:
    kind: PlaceKind
    id: int
    x: float
    y: float
    category: str | None = None
    languages: tuple[str, ...] = ()
    min_age: int | None = None
    max_age: int | None = None
    free: bool = True
    tuesday_evening: bool = False
    price_model: str = "FREE"
    stale: bool = False


def _random_lat_lon(rng: random.Random) -> tuple[float, float]:
    return 59.91 + rng.uniform(-0.08, 0.08), 10.75 + rng.uniform(-0.16, 0.16)


def _insert(conn: sa.Connection, rng: random.Random) -> list[Place]:
    """3,000 activities and 1,000 venues around Oslo; some share a point exactly (ties)."""
    places: list[Place] = []
    shared = [_random_lat_lon(rng) for _ in range(20)]
    for i in range(4000):
        lat, lon = rng.choice(shared) if i % 10 == 0 else _random_lat_lon(rng)
        geom = sa.func.ST_Transform(sa.func.ST_SetSRID(sa.func.ST_MakePoint(lon, lat), 4326), 25833)
        x, y = TO_UTM.transform(lon, lat)
        evening = rng.random() < 0.3
        # A third verified long ago (stale), some of them on the shared points among fresh ones.
        stale = i % 3 == 0
        verified = LONG_AGO if stale else AS_OF - timedelta(days=1)
        if i < 3000:
            category = rng.choice(CATEGORIES)
            langs = tuple(rng.sample(LANGUAGES, rng.randint(1, 3)))
            min_age = rng.choice([None, 6, 13, 18])
            max_age = None if min_age is None else min_age + rng.choice([6, 10, 60])
            free = rng.random() < 0.7
            new_id = conn.execute(
                activity.insert()
                .values(
                    title=f"a{i}",
                    category=category,
                    geom=geom,
                    languages=list(langs),
                    min_age=min_age,
                    max_age=max_age,
                    free=free,
                    cost_nok=None if free else 50,
                    source="test",
                    last_verified_at=verified,
                )
                .returning(activity.c.id)
            ).scalar_one()
            conn.execute(
                activity_schedule.insert().values(
                    activity_id=new_id,
                    weekday=2 if evening else 4,
                    starts=time(17, 30),
                    ends=time(19, 30),
                )
            )
            places.append(
                Place(
                    PlaceKind.ACTIVITY,
                    new_id,
                    x,
                    y,
                    category,
                    langs,
                    min_age,
                    max_age,
                    free,
                    evening,
                    stale=stale,
                )
            )
        else:
            price = rng.choice(["FREE", "REDUCED", "MARKET"])
            new_id = conn.execute(
                venue.insert()
                .values(
                    name=f"v{i}",
                    owner_type="MUNICIPALITY",
                    venue_type="SCHOOL",
                    geom=geom,
                    price_model=price,
                    suitable_categories=rng.sample(CATEGORIES, 2),
                    source="test",
                    last_verified_at=verified,
                )
                .returning(venue.c.id)
            ).scalar_one()
            if evening:
                conn.execute(
                    venue_availability.insert().values(
                        venue_id=new_id, weekday=2, starts=time(17), ends=time(21)
                    )
                )
            places.append(
                Place(
                    PlaceKind.VENUE,
                    new_id,
                    x,
                    y,
                    tuesday_evening=evening,
                    price_model=price,
                    stale=stale,
                )
            )
    return places


def _reference(
    places: list[Place], x: float, y: float, radius: float, match: callable
) -> list[tuple[float, bool, int, int]]:
    """Nearest first; at an equal distance fresh before stale, then by kind and id."""
    hits = []
    for p in places:
        d = math.hypot(p.x - x, p.y - y)
        if d <= radius and match(p):
            hits.append((d, p.stale, p.kind.rank, p.id))
    return sorted(hits)


def _walk(
    conn: sa.Connection, x: float, y: float, radius: float, filt: DirectoryFilter, page_size: int
) -> list[tuple[float, bool, int, int]]:
    """All pages, following the cursor (the last hit's key), as (distance, stale, rank, id)."""
    seen: list[tuple[float, bool, int, int]] = []
    after: NearbyKey | None = None
    while True:
        page = nearby(
            conn,
            x,
            y,
            radius_m=radius,
            kinds=[PlaceKind.ACTIVITY, PlaceKind.VENUE],
            filt=filt,
            first=page_size,
            stale_before=STALE_BEFORE,
            after=after,
        )
        seen += [(h.distance_m, h.stale, h.kind.rank, h.row.id) for h in page.hits]
        if not page.has_next:
            return seen
        after = page.hits[-1].key


FILTERS: dict[str, tuple[DirectoryFilter, callable]] = {
    "none": (DirectoryFilter(), lambda p: True),
    "one category": (
        DirectoryFilter(categories=("LANGUAGE_CAFE",)),
        lambda p: p.category == "LANGUAGE_CAFE" if p.kind is PlaceKind.ACTIVITY else True,
    ),
    "child, Arabic, free, Tuesday 18:00": (
        DirectoryFilter(
            age=10, languages=("ar",), free_only=True, window=TimeWindow(2, time(18), time(18))
        ),
        lambda p: (
            p.tuesday_evening
            and (
                (p.kind is PlaceKind.VENUE and p.price_model == "FREE")
                or (
                    p.kind is PlaceKind.ACTIVITY
                    and p.free
                    and "ar" in p.languages
                    and (p.min_age is None or p.min_age <= 10)
                    and (p.max_age is None or p.max_age >= 10)
                )
            )
        ),
    ),
    "fresh only": (
        DirectoryFilter(fresh_only=True, stale_before=STALE_BEFORE),
        lambda p: not p.stale,
    ),
}


@pytest.fixture(scope="module")
def generated_db(server: Database, template_url: URL) -> Iterator[tuple[sa.Engine, list[Place]]]:
    """One database with the generated places for all the brute-force comparisons."""
    url = server.with_database(f"hverdag_test_nearby_{os.getpid()}").url
    drop_database(url)
    create_database(url, template=str(template_url.database))
    engine = sync_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        places = _insert(conn, random.Random(20261126))
    yield engine, places
    engine.dispose()
    drop_database(url)


@pytest.mark.parametrize("name", list(FILTERS))
def test_nearby_matches_brute_force(generated_db: tuple[sa.Engine, list[Place]], name: str) -> None:
    engine, generated = generated_db
    filt, match = FILTERS[name]
    # Venue suitability is part of the category filter; mirror it from the database.
    with engine.connect() as conn:
        suits = {
            r.id: set(r.suitable_categories)
            for r in conn.execute(sa.select(venue.c.id, venue.c.suitable_categories))
        }
        rng = random.Random(7)
        for _ in range(12):
            lat, lon = _random_lat_lon(rng)
            x, y = TO_UTM.transform(lon, lat)
            radius = rng.choice([500, 1500, 4000])

            def full_match(p: Place) -> bool:
                if (
                    p.kind is PlaceKind.VENUE
                    and filt.categories
                    and not (suits[p.id] & set(filt.categories))
                ):
                    return False
                return match(p)

            expected = _reference(generated, x, y, radius, full_match)
            got = _walk(conn, x, y, radius, filt, page_size=rng.choice([7, 20]))
            assert [(s, r, i) for _, s, r, i in got] == [(s, r, i) for _, s, r, i in expected]
            assert all(abs(g[0] - e[0]) < 1.0 for g, e in zip(got, expected, strict=True))
            total = count_nearby(
                conn, x, y, radius_m=radius, kinds=[PlaceKind.ACTIVITY, PlaceKind.VENUE], filt=filt
            )
            assert total == len(expected)


def test_ties_do_not_skip_or_repeat_rows(fresh_engine: sa.Engine) -> None:
    """Thirty rows on one point, paged 4 at a time: every row exactly once, the fresh ones
    first (every third stale), each part in id order."""
    with fresh_engine.begin() as conn:
        geom = sa.func.ST_SetSRID(sa.func.ST_MakePoint(262000.0, 6650000.0), 25833)
        ids = {
            i: conn.execute(
                activity.insert()
                .values(
                    title=f"t{i}",
                    category="SPORTS",
                    geom=geom,
                    source="test",
                    last_verified_at=LONG_AGO if i % 3 == 0 else AS_OF,
                )
                .returning(activity.c.id)
            ).scalar_one()
            for i in range(30)
        }
        got = _walk(conn, 262010.0, 6650000.0, 100, DirectoryFilter(), page_size=4)
    fresh = sorted(row_id for i, row_id in ids.items() if i % 3)
    stale = sorted(row_id for i, row_id in ids.items() if i % 3 == 0)
    assert [i for _, _, _, i in got] == fresh + stale
    assert [s for _, s, _, _ in got] == [False] * 20 + [True] * 10
    assert {d for d, _, _, _ in got} == {10.0}


def _libpq(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
@pytest.mark.parametrize("name", list(FILTERS))
async def test_the_driver_path_returns_what_sqlalchemy_returns(
    generated_db: tuple[sa.Engine, list[Place]], name: str
) -> None:
    """`nearby_on_driver` (psycopg with statements compiled once) against `nearby` (SQLAlchemy):
    the same rows, every column equal, page after page, all three kinds."""
    engine, _ = generated_db
    filt, _ = FILTERS[name]
    kinds = list(PlaceKind)
    rng = random.Random(11)
    compared = 0
    async with await psycopg.AsyncConnection.connect(_libpq(engine.url), autocommit=True) as driver:
        with engine.connect() as conn:
            for _ in range(6):
                lat, lon = _random_lat_lon(rng)
                x, y = TO_UTM.transform(lon, lat)
                after: NearbyKey | None = None
                for _page in range(3):
                    args = {
                        "radius_m": 4000.0,
                        "kinds": kinds,
                        "filt": filt,
                        "first": 9,
                        "stale_before": STALE_BEFORE,
                        "after": after,
                    }
                    expected = nearby(conn, x, y, **args)
                    got = await nearby_on_driver(driver, x, y, **args)
                    assert got == expected
                    compared += len(got.hits)
                    if not got.has_next:
                        break
                    after = got.hits[-1].key
    assert compared > 20  # the points lie among the generated places


@pytest.mark.anyio
async def test_a_projection_selects_only_its_columns_and_the_same_hits(
    generated_db: tuple[sa.Engine, list[Place]],
) -> None:
    """With ``columns``, a kind's rows hold only those attributes (and ``id``), equal to the
    whole rows' values, and the hits are the same in the same order; councils stay whole."""
    engine, _ = generated_db
    only = {
        PlaceKind.ACTIVITY: frozenset({"title", "category", "x", "y"}),
        PlaceKind.VENUE: frozenset({"name"}),
    }
    rng = random.Random(5)
    compared = 0
    async with await psycopg.AsyncConnection.connect(_libpq(engine.url), autocommit=True) as driver:
        for _ in range(6):
            lat, lon = _random_lat_lon(rng)
            x, y = TO_UTM.transform(lon, lat)
            args = {
                "radius_m": 4000.0,
                "kinds": list(PlaceKind),
                "filt": DirectoryFilter(),
                "stale_before": STALE_BEFORE,
            }
            whole = await nearby_on_driver(driver, x, y, first=15, **args)
            some = await nearby_on_driver(driver, x, y, first=15, columns=only, **args)
            assert [h.key for h in some.hits] == [h.key for h in whole.hits]
            assert some.has_next == whole.has_next
            for part, full in zip(some.hits, whole.hits, strict=True):
                kind = full.kind
                names = {"id"} | only[kind] if kind in only else set(vars(full.row))
                assert set(vars(part.row)) == names
                assert {n: getattr(full.row, n) for n in names} == vars(part.row)
                compared += 1
    assert compared > 20


@pytest.mark.anyio
async def test_rows_built_on_the_driver_name_what_the_statement_lacks(
    generated_db: tuple[sa.Engine, list[Place]],
) -> None:
    """A dataclass row from a statement missing some of its fields is a ValueError naming them,
    never a row built from the wrong columns."""
    engine, _ = generated_db
    statement = driver_statement(sa.select(venue.c.id, venue.c.name).limit(1))
    async with await psycopg.AsyncConnection.connect(_libpq(engine.url), autocommit=True) as driver:
        with pytest.raises(ValueError, match=r"VenueRow: the statement selects no .*'x', 'y'"):
            await run_statement_as(driver, statement, {}, VenueRow)


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        *(
            (PlaceKind.ACTIVITY, t)
            for t in (
                "leksehjelp",
                "språkkafe",
                "kvinnegruppe",
                "fotball",
                "xqzv",
                "' OR 1=1 --",
                "!!!",
                "fotbal i",
            )
        ),
        *((PlaceKind.VENUE, t) for t in ("skole", "bibliotek", "xqzv")),
    ],
)
def test_a_text_filter_finds_what_the_knn_walk_finds(
    loaded_conn: sa.Connection, text: str, kind: PlaceKind
) -> None:
    """With a text filter the statement finds candidates by the text and radius indexes and
    sorts them (no KNN walk): the same rows in the same order as the KNN walk it replaces."""
    filt = DirectoryFilter(text=text)
    table, columns, conditions = (
        (activity, activity_columns(), activity_conditions(filt))
        if kind is PlaceKind.ACTIVITY
        else (venue, venue_columns(), venue_conditions(filt))
    )
    found = 0
    for lat, lon in [(59.9139, 10.7522), (59.9611, 10.8808), (60.3712, 5.3420)]:
        x, y = TO_UTM.transform(lon, lat)
        values = {"x": x, "y": y, "radius_m": 5000.0, "limit": 30, "stale_before": STALE_BEFORE}
        walked = loaded_conn.execute(
            _knn_statement(table, columns, conditions, kind, None), values
        ).all()
        indexed = loaded_conn.execute(
            _text_first_statement(table, columns, conditions, kind, None), values
        ).all()
        assert [(r.id, round(r.distance, 6)) for r in indexed] == [
            (r.id, round(r.distance, 6)) for r in walked
        ]
        found += len(indexed)
    assert found or text in ("xqzv", "' OR 1=1 --", "!!!")


TEXT_CASES = [
    (PlaceKind.ACTIVITY, "leksehjelp"),
    (PlaceKind.ACTIVITY, "norsk"),
    (PlaceKind.ACTIVITY, "fotbal i"),
    (PlaceKind.ACTIVITY, "' OR 1=1 --"),
    (PlaceKind.VENUE, "skole"),
    (PlaceKind.VENUE, "xqzv"),
]


@pytest.mark.anyio
@pytest.mark.parametrize("probe_rows", [3, 40, 100_000])
@pytest.mark.parametrize(("kind", "text"), TEXT_CASES)
async def test_a_text_search_pages_as_the_knn_walk_whether_the_probe_suffices_or_not(
    loaded_conn: sa.Connection,
    monkeypatch: pytest.MonkeyPatch,
    kind: PlaceKind,
    text: str,
    probe_rows: int,
) -> None:
    """A text search first reads the ``TEXT_PROBE_ROWS`` nearest rows, and only when they hold
    neither a full page nor the whole radius asks the text indexes. Either way, on both the
    SQLAlchemy and the driver path, its pages are the KNN walk's rows in order; a probe that
    reads the whole table is the only statement, one of 3 rows in Oslo never is."""
    monkeypatch.setattr(nearby_module, "TEXT_PROBE_ROWS", probe_rows)
    statements: list[str] = []
    sa.event.listen(loaded_conn, "before_cursor_execute", lambda *a: statements.append(a[2]))
    filt = DirectoryFilter(text=text)
    table, columns, conditions = (
        (activity, activity_columns(), activity_conditions(filt))
        if kind is PlaceKind.ACTIVITY
        else (venue, venue_columns(), venue_conditions(filt))
    )
    url = _libpq(loaded_conn.engine.url)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as driver:
        for lat, lon in [(59.9139, 10.7522), (59.9611, 10.8808), (60.3712, 5.3420)]:
            x, y = TO_UTM.transform(lon, lat)
            walked = loaded_conn.execute(
                _knn_statement(table, columns, conditions, kind, None),
                {"x": x, "y": y, "radius_m": 5000.0, "limit": 12, "stale_before": STALE_BEFORE},
            ).all()
            args = {
                "radius_m": 5000.0,
                "kinds": [kind],
                "filt": filt,
                "first": 5,
                "stale_before": STALE_BEFORE,
            }
            paged: list[tuple[int, float]] = []
            after: NearbyKey | None = None
            for _ in range(2):
                statements.clear()
                page = nearby(loaded_conn, x, y, after=after, **args)
                if probe_rows == 100_000:
                    assert len(statements) == 1
                elif probe_rows == 3 and (lat, lon) == (59.9139, 10.7522):
                    assert len(statements) == 2
                on_driver = await nearby_on_driver(driver, x, y, after=after, **args)
                assert on_driver == page
                paged += [(hit.row.id, round(hit.distance_m, 6)) for hit in page.hits]
                if not page.has_next:
                    break
                after = page.hits[-1].key
            assert paged == [(r.id, round(r.distance, 6)) for r in walked][: len(paged)]
            assert len(paged) == min(len(walked), 10)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("leksehjelp", "leksehjelp"),
        ("Haugerud IF", "Haugerud"),
        ("fotbal i parken", "fotbal parken"),
        ("' OR 1=1 --", None),
        ("!!!", None),
        ("🙂", None),
        ("språkkafé 2026", "språkkafé 2026"),
    ],
)
def test_the_fuzzy_match_leaves_out_words_too_short_for_trigrams(
    text: str, words: str | None
) -> None:
    assert fuzzy_words(text) == words
