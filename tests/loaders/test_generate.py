"""The seeded generator on a real PostGIS with the bundled municipalities and statistics."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from geo.db import Database, create_database, drop_database, sync_engine
from geo.tables import (
    activity,
    activity_schedule,
    municipality,
    municipality_statistics,
    venue,
    venue_availability,
)
from geo.vocab import ActivityCategory, OwnerType, TargetGroup, VenueType
from loaders.generate import SOURCE, STAGED, generate
from loaders.report import LoadError, LoadReport
from loaders.synthetic import activities as act
from loaders.synthetic import venues as ven
from loaders.synthetic.weighted import Dice, Weighted
from tests.conftest import _name

VENUES, ACTIVITIES = 1_500, 2_500
NORDMARKA_SOUTH_EDGE = 6_655_000  # EPSG:25833 northing; 58 % of Oslo's area lies north of it
LANGUAGES = {"nb", "en", "uk", "ar", "so", "ti", "pl", "fa", "fa-AF", "ur", "lt", "es", "ku", "tr"}


def _clone(server: Database, template: URL, kind: str) -> URL:
    url = server.with_database(_name(kind)).url
    create_database(url, template=str(template.database))
    return url


def _run(url: URL, progress: list[tuple[int, int]] | None = None, **kwargs: int) -> LoadReport:
    engine = sync_engine(url, poolclass=sa.pool.NullPool)
    track = (lambda done, total: progress.append((done, total))) if progress is not None else None
    try:
        with engine.begin() as conn:
            return generate(
                conn, **{"venues": VENUES, "activities": ACTIVITIES, **kwargs}, progress=track
            )
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def generated_url(server: Database, loaded_template_url: URL) -> Iterator[URL]:
    """The bundled data plus VENUES venues and ACTIVITIES activities for seed 1."""
    url = _clone(server, loaded_template_url, "generated")
    try:
        progress: list[tuple[int, int]] = []
        report = _run(url, progress, seed=1)
        assert report.what == "generated"
        assert (report.inserted, report.updated, report.unchanged) == (VENUES + ACTIVITIES, 0, 0)
        assert progress[-1] == (VENUES + ACTIVITIES, VENUES + ACTIVITIES)
        assert [done for done, _ in progress] == sorted({done for done, _ in progress})
        yield url
    finally:
        drop_database(url)


@pytest.fixture
def conn(generated_url: URL) -> Iterator[sa.Connection]:
    engine = sync_engine(generated_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


@pytest.fixture
def generated_copy(server: Database, generated_url: URL) -> Iterator[URL]:
    url = _clone(server, generated_url, "generated_copy")
    yield url
    drop_database(url)


def _scalar(conn: sa.Connection, stmt: sa.Select) -> object:
    return conn.execute(stmt).scalar_one()


def _checksum(url: URL) -> str:
    """A hash of every generated row in id order (all columns but the timestamps, the time of
    verification among them, and the feeds' stamp, the writing transaction's id)."""
    engine = sync_engine(url, poolclass=sa.pool.NullPool)
    owner = venue.alias("owner")
    statements = [
        sa.select(
            *[
                c
                for c in table.c
                if c.name
                not in ("geom", "created_at", "updated_at", "last_verified_at", "feed_stamp")
            ],
            sa.func.ST_AsEWKB(table.c.geom),
        ).order_by(table.c.id)
        for table in (venue, activity)
    ] + [
        sa.select(venue_availability, owner.c.external_id)
        .join(owner, owner.c.id == venue_availability.c.venue_id)
        .order_by(venue_availability.c.id),
        sa.select(activity_schedule, activity.c.external_id)
        .join(activity, activity.c.id == activity_schedule.c.activity_id)
        .order_by(activity_schedule.c.id),
    ]
    digest = hashlib.sha256()
    try:
        with engine.connect() as connection:
            for stmt in statements:
                for row in connection.execute(stmt):
                    digest.update(repr(tuple(row)).encode())
    finally:
        engine.dispose()
    return digest.hexdigest()


# --- determinism and idempotence -------------------------------------------------------------


def test_the_same_seed_gives_the_same_rows_and_another_seed_other_rows(
    server: Database, loaded_template_url: URL, generated_url: URL
) -> None:
    again = _clone(server, loaded_template_url, "generated_again")
    other = _clone(server, loaded_template_url, "generated_other")
    try:
        _run(again, seed=1)
        _run(other, seed=2)
        assert _checksum(again) == _checksum(generated_url)
        assert _checksum(other) != _checksum(generated_url)
    finally:
        drop_database(again)
        drop_database(other)


def test_a_second_run_with_the_same_seed_changes_nothing(generated_copy: URL) -> None:
    engine = sync_engine(generated_copy, poolclass=sa.pool.NullPool)
    stamps = sa.select(
        sa.func.count(), sa.func.max(venue.c.updated_at), sa.func.max(venue.c.version)
    )
    activity_stamps = sa.select(
        sa.func.count(), sa.func.max(activity.c.updated_at), sa.func.max(activity.c.version)
    )
    try:
        with engine.connect() as c:
            before = (c.execute(stamps).one(), c.execute(activity_stamps).one())
        checksum = _checksum(generated_copy)
        report = _run(generated_copy, seed=1)
        with engine.connect() as c:
            after = (c.execute(stamps).one(), c.execute(activity_stamps).one())
    finally:
        engine.dispose()
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, VENUES + ACTIVITIES)
    assert after == before
    assert _checksum(generated_copy) == checksum


def test_changed_rows_are_updated_with_their_sessions_and_other_sources_are_left_alone(
    generated_copy: URL,
) -> None:
    engine = sync_engine(generated_copy, poolclass=sa.pool.NullPool)
    real = {
        "name": "Haugen skole",
        "owner_type": "MUNICIPALITY",
        "venue_type": "SCHOOL",
        "geom": sa.func.ST_SetSRID(sa.func.ST_MakePoint(262000, 6650000), 25833),
        "source": "kommune",
        "external_id": "gen-1-venue-0",
    }
    try:
        with engine.begin() as c:
            real_id = c.execute(sa.insert(venue).values(real).returning(venue.c.id)).scalar_one()
        # Other counts draw other streams: the first 2,000 activities come out different.
        report = _run(generated_copy, seed=1, activities=2_000)
        again = _run(generated_copy, seed=1, activities=2_000)
        with engine.connect() as c:
            kept = c.execute(
                sa.select(venue.c.name, venue.c.version).where(venue.c.id == real_id)
            ).one()
            versions = dict(
                c.execute(
                    sa.select(activity.c.version, sa.func.count()).group_by(activity.c.version)
                ).all()
            )
            per = (
                sa.select(sa.func.count().label("n"))
                .select_from(activity_schedule)
                .group_by(activity_schedule.c.activity_id)
                .subquery()
            )
            sessions = c.execute(sa.select(sa.func.min(per.c.n), sa.func.max(per.c.n))).one()
    finally:
        engine.dispose()
    assert report.inserted == 0
    assert report.updated > 1_500  # nearly all of them differ somewhere
    assert report.updated + report.unchanged == VENUES + 2_000
    assert (again.inserted, again.updated) == (0, 0)
    assert tuple(kept) == ("Haugen skole", 1)
    assert versions.get(2) == report.updated
    assert tuple(sessions) == (1, 2)  # replaced, not added to


# --- where the rows are ----------------------------------------------------------------------


@pytest.mark.parametrize("table", [venue, activity], ids=["venue", "activity"])
def test_every_point_lies_in_the_municipality_it_names(
    conn: sa.Connection, table: sa.Table
) -> None:
    m = municipality.c
    in_own = sa.exists().where(
        m.number == table.c.municipality_number, sa.func.ST_Covers(m.geom, table.c.geom)
    )
    in_any = sa.exists().where(sa.func.ST_Covers(m.geom, table.c.geom))
    count = sa.select(sa.func.count()).select_from(table)
    assert _scalar(conn, count) == (VENUES if table is venue else ACTIVITIES)
    assert _scalar(conn, count.where(~in_own)) == 0
    assert _scalar(conn, count.where(~in_any)) == 0


def _rows_per_municipality(conn: sa.Connection) -> dict[str, int]:
    legs = [sa.select(t.c.municipality_number.label("number")) for t in (venue, activity)]
    both = sa.union_all(*legs).subquery()
    stmt = sa.select(both.c.number, sa.func.count()).group_by(both.c.number)
    return {str(number): int(n) for number, n in conn.execute(stmt)}


def test_rows_follow_where_immigrants_live(conn: sa.Connection) -> None:
    s = municipality_statistics.c
    latest = sa.select(sa.func.max(s.year)).where(s.immigrants.is_not(None)).scalar_subquery()
    immigrants = {
        str(n): int(v)
        for n, v in conn.execute(
            sa.select(s.municipality_number, s.immigrants).where(s.year == latest)
        )
    }
    rows = _rows_per_municipality(conn)
    total = VENUES + ACTIVITIES
    assert max(rows, key=rows.__getitem__) == "0301"
    oslo_share = immigrants["0301"] / sum(immigrants.values())
    assert 0.6 * oslo_share <= rows["0301"] / total <= 1.4 * oslo_share
    for number in ("4601", "5001", "1103"):  # Bergen, Trondheim, Stavanger
        assert rows[number] > rows.get("1816", 0)  # Vevelstad, one of the smallest


def test_oslo_concentrates_in_the_built_up_area_not_in_nordmarka(conn: sa.Connection) -> None:
    northing = sa.func.ST_Y(venue.c.geom)
    oslo = sa.select(sa.func.count()).where(venue.c.municipality_number == "0301")
    in_forest = _scalar(conn, oslo.where(northing >= NORDMARKA_SOUTH_EDGE))
    assert int(in_forest) < 0.15 * int(_scalar(conn, oslo))  # spread evenly: 58 %


def test_activities_at_a_venue_share_its_point_exactly(conn: sa.Connection) -> None:
    a, v = activity.c, venue.c
    at_venue = sa.select(sa.func.count()).select_from(activity.join(venue, v.id == a.venue_id))
    differs = sa.or_(
        sa.func.ST_AsEWKB(a.geom) != sa.func.ST_AsEWKB(v.geom),
        a.municipality_number != v.municipality_number,
    )
    assert int(_scalar(conn, at_venue)) > 0.3 * ACTIVITIES
    assert _scalar(conn, at_venue.where(differs)) == 0


# --- what the rows say -----------------------------------------------------------------------


def test_every_row_says_it_was_generated(conn: sa.Connection) -> None:
    for table, kind in ((venue, "venue"), (activity, "activity")):
        ids = [
            str(i)
            for i in conn.execute(
                sa.select(table.c.external_id).where(table.c.source == SOURCE)
            ).scalars()
        ]
        assert sorted(ids) == sorted(f"gen-1-{kind}-{n}" for n in range(len(ids)))
        assert len(ids) == (VENUES if table is venue else ACTIVITIES)


def test_ages_match_target_groups(conn: sa.Connection) -> None:
    rows = conn.execute(
        sa.select(activity.c.target_groups, activity.c.min_age, activity.c.max_age)
    ).all()
    young = {TargetGroup.CHILDREN, TargetGroup.YOUTH}
    grown = {
        TargetGroup.ADULTS,
        TargetGroup.SENIORS,
        TargetGroup.WOMEN,
        TargetGroup.LABOUR_MIGRANTS,
    }
    expected_young = {
        frozenset({"CHILDREN"}): (6, 12),
        frozenset({"YOUTH"}): (13, 19),
        frozenset({"CHILDREN", "YOUTH"}): (6, 19),
    }
    for groups, low, high in rows:
        present = frozenset(groups)
        if present in expected_young:
            assert (low, high) == expected_young[present]
        elif present and present <= grown:
            assert high is None
            assert low in (None, 18, 60)
            assert low != 60 or present == {"SENIORS"}
        else:
            assert (low, high) == (None, None), groups
        assert not (present & young) or present <= young or (low, high) == (None, None)


def test_languages_always_include_norwegian(conn: sa.Connection) -> None:
    for languages in conn.execute(sa.select(activity.c.languages)).scalars():
        assert languages[0] == "nb"
        assert set(languages) <= LANGUAGES
        assert len(set(languages)) == len(languages)


def test_costs_schedules_and_status_are_realistic(conn: sa.Connection) -> None:
    a = activity.c
    free = int(_scalar(conn, sa.select(sa.func.count()).where(a.free)))
    assert 0.70 * ACTIVITIES <= free <= 0.80 * ACTIVITIES
    costs = conn.execute(sa.select(a.cost_nok).where(~a.free)).scalars().all()
    assert all(50 <= cost <= 300 for cost in costs)
    assert _scalar(conn, sa.select(sa.func.count()).where(a.free, a.cost_nok.is_not(None))) == 0
    card = conn.execute(sa.select(a.target_groups).where(a.leisure_card_accepted)).scalars()
    card_groups = [set(g) for g in card]
    assert card_groups
    assert all(g and g <= {"CHILDREN", "YOUTH"} for g in card_groups)
    statuses = dict(conn.execute(sa.select(a.status, sa.func.count()).group_by(a.status)).all())
    assert set(statuses) == {"ACTIVE", "PAUSED"}
    assert statuses["PAUSED"] < 0.1 * ACTIVITIES
    e = activity_schedule.c
    per = (
        sa.select(sa.func.count().label("n"))
        .select_from(activity_schedule)
        .group_by(e.activity_id)
        .subquery()
    )
    assert tuple(
        conn.execute(sa.select(sa.func.min(per.c.n), sa.func.max(per.c.n), sa.func.count())).one()
    ) == (1, 2, ACTIVITIES)
    weekday_evening = sa.select(sa.func.count()).where(
        e.weekday <= 5,
        e.starts >= sa.literal("16:00").cast(sa.Time),
        e.starts <= sa.literal("19:30").cast(sa.Time),
    )
    weekdays = sa.select(sa.func.count()).where(e.weekday <= 5)
    assert int(_scalar(conn, weekday_evening)) > 0.75 * int(_scalar(conn, weekdays))
    length = sa.func.extract("epoch", e.ends - e.starts) / 3600
    assert tuple(conn.execute(sa.select(sa.func.min(length), sa.func.max(length))).one()) == (1, 3)
    termed = int(_scalar(conn, sa.select(sa.func.count()).where(e.valid_from.is_not(None))))
    assert (
        0 < termed < int(_scalar(conn, sa.select(sa.func.count()).select_from(activity_schedule)))
    )


def _shares(conn: sa.Connection, column: sa.ColumnElement) -> dict[str, float]:
    rows = conn.execute(sa.select(column, sa.func.count()).group_by(column)).all()
    total = sum(n for _, n in rows)
    return {str(value): n / total for value, n in rows}


def test_category_and_venue_mixes_are_weighted(conn: sa.Connection) -> None:
    categories = _shares(conn, activity.c.category)
    top = sorted(categories, key=categories.__getitem__, reverse=True)[:4]
    assert set(top) == {
        ActivityCategory.LANGUAGE_CAFE,
        ActivityCategory.NORWEGIAN_PRACTICE,
        ActivityCategory.HOMEWORK_HELP,
        ActivityCategory.SPORTS,
    }
    assert set(categories) == {c.value for c in ActivityCategory}
    kinds = _shares(conn, sa.func.concat(venue.c.venue_type, "/", venue.c.owner_type))
    assert max(kinds, key=kinds.__getitem__) == "SCHOOL/MUNICIPALITY"
    assert kinds["LIBRARY/MUNICIPALITY"] > 0.08
    owners = _shares(conn, venue.c.owner_type)
    assert {OwnerType.STATE, OwnerType.FAITH_COMMUNITY, OwnerType.ORGANISATION} <= set(owners)
    prices = _shares(conn, venue.c.price_model)
    assert 0.4 <= prices["FREE"] <= 0.6
    assert set(prices) == {"FREE", "REDUCED", "MARKET"}
    with_windows = venue.outerjoin(venue_availability, venue_availability.c.venue_id == venue.c.id)
    counts = conn.execute(
        sa.select(sa.func.count(venue_availability.c.id))
        .select_from(with_windows)
        .group_by(venue.c.id)
    ).scalars()
    assert set(counts) == {0, 1, 2, 3, 4}


def test_titles_and_names_are_norwegian_and_name_the_place(conn: sa.Connection) -> None:
    names = conn.execute(sa.select(venue.c.name, venue.c.venue_type)).all()
    schools = [n for n, t in names if t == VenueType.SCHOOL]
    assert any(re.fullmatch(r"\w+ skole, gymsal", n) for n in schools)
    titled = conn.execute(
        sa.select(activity.c.title, municipality.c.name).join(
            municipality, municipality.c.number == activity.c.municipality_number
        )
    ).all()
    assert sum(place in title for title, place in titled) > 0.3 * ACTIVITIES
    assert any(title.startswith("Språkkafé på ") for title, _ in titled)
    assert any(re.fullmatch(r"Leksehjelp for \d+\.-\d+\. trinn", t) for t, _ in titled)


# --- refusals --------------------------------------------------------------------------------


def test_without_municipalities_it_says_what_to_load_first(fresh_url: URL) -> None:
    with pytest.raises(LoadError) as caught:
        _run(fresh_url, seed=1)
    assert caught.value.code == "NO_MUNICIPALITIES"


@pytest.mark.parametrize(
    "kwargs", [{"venues": -1}, {"activities": -5}, {"seed": -1}, {"venues": True}]
)
def test_counts_and_seed_must_be_non_negative_integers(fresh_url: URL, kwargs: dict) -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        _run(fresh_url, **kwargs)


# --- building blocks, without a database -----------------------------------------------------


def test_staging_tables_take_the_row_tuples_as_they_are() -> None:
    for table, row_type in STAGED:
        assert [c.name for c in table.c] == list(row_type._fields)


def test_rows_stay_within_their_budget_of_random_numbers() -> None:
    rng = np.random.default_rng(0)
    for i in range(3_000):
        ven.make_venue(Dice(rng.random(ven.UNIFORMS).tolist()), i, "x", "0301", "Oslo", 0.0, 0.0)
        place = act.Place("0301", "Oslo", 0.0, 0.0, *(("v", "Haugen skole") if i % 2 else ()))
        act.make_activity(Dice(rng.random(act.UNIFORMS).tolist()), i, "x", place)


def test_weighted_draws_several_distinct_values_in_declared_order() -> None:
    weighted = Weighted([("a", 1.0), ("b", 5.0), ("c", 0.0), ("d", 2.0)])
    assert weighted.pick(0.0) == "a"
    assert weighted.pick(0.99) == "d"
    rng = np.random.default_rng(1)
    for _ in range(200):
        chosen = weighted.several(Dice(rng.random(4).tolist()), 3)
        assert chosen == ["a", "b", "d"]
    assert weighted.several(Dice([]), 0) == []
