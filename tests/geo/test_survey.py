"""geo.queries.survey: exact figures on a hand-made case, and every group of the demo data set
cross-checked against counts written independently here (plain selects over the tables)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, time
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.engine import URL

from geo.db import sync_engine
from geo.queries.municipalities import MunicipalityFilter, list_municipalities
from geo.queries.survey import (
    AccessFilter,
    AccessGroupBy,
    council_coverage,
    council_coverage_total,
    venue_access,
    venue_access_total,
)
from geo.tables import (
    county,
    immigrant_council,
    municipality,
    municipality_statistics,
    venue,
    venue_access_report,
    venue_availability,
)

CONTRACT_FILTER = AccessFilter(owner_types=("STATE", "COUNTY", "MUNICIPALITY"))
COUNTS = (
    "venues",
    "free_venues",
    "reduced_venues",
    "evening_or_weekend_venues",
    "state_owned",
    "reports",
    "granted",
    "refused",
    "no_response",
    "too_expensive",
    "unsuitable",
)


# --- a hand-made case on the real boundaries and statistics ---------------------------------------


@pytest.fixture
def small(fresh_loaded_url: URL) -> Iterator[sa.Connection]:
    """Three counted venues (two in Oslo, one in Bergen), an archived one, four counted reports
    and two that do not count."""
    engine = sync_engine(fresh_loaded_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:

        def add_venue(
            name: str,
            number: str,
            owner: str,
            kind: str,
            price: str | None,
            windows: list[tuple[int, time, time]],
            archived: bool = False,
        ) -> int:
            venue_id = conn.execute(
                sa.insert(venue)
                .values(
                    name=name,
                    owner_type=owner,
                    venue_type=kind,
                    price_model=price,
                    municipality_number=number,
                    source="test",
                    external_id=name,
                    geom=sa.func.ST_SetSRID(sa.func.ST_MakePoint(262_000, 6_650_000), 25833),
                    archived_at=sa.func.now() if archived else None,
                )
                .returning(venue.c.id)
            ).scalar_one()
            for weekday, starts, ends in windows:
                conn.execute(
                    sa.insert(venue_availability).values(
                        venue_id=venue_id, weekday=weekday, starts=starts, ends=ends
                    )
                )
            return venue_id

        school = add_venue(
            "skole", "0301", "MUNICIPALITY", "SCHOOL", "FREE", [(1, time(17), time(21))]
        )
        office = add_venue(
            "statens hus", "0301", "STATE", "OFFICE", "MARKET", [(2, time(9), time(17))]
        )  # ends at 17:00, not after
        bergen = add_venue("vgs", "4601", "COUNTY", "SCHOOL", "REDUCED", [(6, time(10), time(14))])
        gone = add_venue(
            "revet",
            "0301",
            "MUNICIPALITY",
            "SCHOOL",
            "FREE",
            [(3, time(18), time(20))],
            archived=True,
        )

        def report(
            n: int,
            venue_id: int,
            outcome: str,
            suitability: int | None,
            barriers: list[str],
            on: date = date(2025, 3, 1),
            archived: bool = False,
        ) -> None:
            conn.execute(
                sa.insert(venue_access_report).values(
                    venue_id=venue_id,
                    outcome=outcome,
                    suitability=suitability,
                    barriers=barriers,
                    reported_on=on,
                    source="test",
                    external_id=f"r{n}",
                    archived_at=sa.func.now() if archived else None,
                )
            )

        report(1, school, "GRANTED", 5, ["OPENING_HOURS"])
        report(2, school, "GRANTED", 4, [], on=date(2025, 9, 1))
        report(3, office, "REFUSED", 2, ["OPENING_HOURS", "RULES"])
        report(4, bergen, "TOO_EXPENSIVE", 2, ["PRICE", "RULES", "BOOKING_PROCESS"])
        report(5, school, "REFUSED", 1, ["PRICE"], archived=True)
        report(6, gone, "GRANTED", 1, ["PRICE"])
        yield conn
    engine.dispose()


def _latest(conn: sa.Connection, number: str, column: str) -> int:
    s = municipality_statistics.c
    return conn.execute(
        sa.select(s[column])
        .where(s.municipality_number == number, s[column].is_not(None))
        .order_by(s.year.desc())
        .limit(1)
    ).scalar_one()


def test_total_of_the_small_case(small: sa.Connection) -> None:
    total = venue_access_total(small)
    assert (total.key, total.name) == ("ALL", "I alt")
    assert (
        total.venues,
        total.free_venues,
        total.reduced_venues,
        total.evening_or_weekend_venues,
        total.state_owned,
    ) == (3, 1, 1, 2, 1)
    assert (total.reports, total.granted, total.refused, total.too_expensive) == (4, 2, 1, 1)
    assert total.granted_share == 0.5
    assert total.mean_suitability == 3.25
    # OPENING_HOURS 2, RULES 2, then BOOKING_PROCESS 1 and PRICE 1: ties by name.
    assert total.top_barriers == ("OPENING_HOURS", "RULES", "BOOKING_PROCESS")


def test_by_county_every_county_in_number_order(small: sa.Connection) -> None:
    groups = venue_access(small, AccessGroupBy.COUNTY)
    numbers = (
        small.execute(
            sa.select(municipality.c.county_number)
            .distinct()
            .order_by(municipality.c.county_number)
        )
        .scalars()
        .all()
    )
    assert [g.key for g in groups] == numbers
    by_key = {g.key: g for g in groups}
    oslo, vestland = by_key["03"], by_key["46"]
    assert (oslo.name, vestland.name) == ("Oslo", "Vestland")
    assert (oslo.venues, oslo.reports, oslo.granted, oslo.state_owned) == (2, 3, 2, 1)
    assert oslo.granted_share == pytest.approx(2 / 3)
    assert oslo.mean_suitability == pytest.approx(11 / 3)
    assert oslo.top_barriers == ("OPENING_HOURS", "RULES")
    population = _latest(small, "0301", "population")
    immigrants = _latest(small, "0301", "immigrants")
    assert (oslo.population, oslo.immigrants) == (population, immigrants)
    assert oslo.venues_per_10k_residents == pytest.approx(2 * 10_000 / population)
    assert oslo.venues_per_1k_immigrants == pytest.approx(2 * 1_000 / immigrants)
    assert (
        vestland.venues,
        vestland.reduced_venues,
        vestland.evening_or_weekend_venues,
        vestland.too_expensive,
    ) == (1, 1, 1, 1)
    assert vestland.top_barriers == ("BOOKING_PROCESS", "PRICE", "RULES")
    empty = by_key["11"]
    assert (
        empty.venues,
        empty.reports,
        empty.granted_share,
        empty.mean_suitability,
        empty.top_barriers,
    ) == (0, 0, None, None, ())
    assert empty.venues_per_10k_residents == 0.0  # a population, no venues


def test_by_owner_and_venue_type_and_filters(small: sa.Connection) -> None:
    owners = venue_access(small, AccessGroupBy.OWNER_TYPE)
    assert [g.key for g in owners] == sorted(
        ["MUNICIPALITY", "COUNTY", "STATE", "ORGANISATION", "FAITH_COMMUNITY", "PRIVATE"]
    )
    state = next(g for g in owners if g.key == "STATE")
    assert (state.name, state.venues, state.state_owned, state.refused) == ("staten", 1, 1, 1)
    national = venue_access_total(small).population
    assert {g.population for g in owners} == {national}  # the whole area's

    schools = venue_access(small, AccessGroupBy.VENUE_TYPE, AccessFilter(venue_types=("SCHOOL",)))
    assert [(g.key, g.name, g.venues, g.reports) for g in schools] == [("SCHOOL", "skole", 2, 3)]

    vestland = venue_access(small, AccessGroupBy.MUNICIPALITY, AccessFilter(county="46"))
    assert {g.key[:2] for g in vestland} == {"46"}
    assert sum(g.venues for g in vestland) == 1

    state_only = venue_access_total(small, AccessFilter(owner_types=("STATE",)))
    assert (state_only.venues, state_only.reports, state_only.granted_share) == (1, 1, 0.0)

    autumn = venue_access_total(small, AccessFilter(reported_from=date(2025, 6, 1)))
    assert (autumn.venues, autumn.reports, autumn.granted, autumn.mean_suitability) == (
        3,
        1,
        1,
        4.0,
    )
    spring = venue_access_total(small, AccessFilter(reported_to=date(2025, 3, 1)))
    assert spring.reports == 3


def test_a_group_without_population_has_null_ratios(small: sa.Connection) -> None:
    small.execute(
        sa.delete(municipality_statistics).where(
            municipality_statistics.c.municipality_number == "4601"
        )
    )
    bergen = venue_access(small, AccessGroupBy.MUNICIPALITY, AccessFilter(municipality="4601"))
    assert [
        (g.key, g.venues, g.population, g.venues_per_10k_residents, g.venues_per_1k_immigrants)
        for g in bergen
    ] == [("4601", 1, None, None, None)]


def test_council_coverage_of_a_small_case(small: sa.Connection) -> None:
    """The bundled councils, then: a county council and a disbanded or archived council cover
    nothing; an independent body with a municipality number covers it."""
    before = {g.key: g for g in council_coverage(small)}
    c = immigrant_council.c
    small.execute(
        sa.update(immigrant_council)
        .values(archived_at=sa.func.now())
        .where(c.municipality_number == "0301")
    )
    for n, (level, number, status) in enumerate(
        (
            ("COUNTY", None, "ACTIVE"),
            ("MUNICIPALITY", "4601", "DISBANDED"),
            ("INDEPENDENT", "4602", "ACTIVE"),
        )
    ):
        small.execute(
            sa.insert(immigrant_council).values(
                name=f"Råd {n}",
                kind="INNVANDRERRAD",
                level=level,
                municipality_number=number,
                county_number="46",
                status=status,
                source="test",
                external_id=f"c{n}",
            )
        )
    after = {g.key: g for g in council_coverage(small)}
    assert (before["03"].with_council, after["03"].with_council) == (1, 0)
    assert after["03"].population_with_council == 0
    assert after["03"].share == 0.0
    assert after["46"].with_council == before["46"].with_council + 1
    assert after["46"].population_with_council == (
        before["46"].population_with_council + _latest(small, "4602", "population")
    )
    total = council_coverage_total(small)
    assert total.with_council == sum(g.with_council for g in after.values())
    assert total.without_council == total.municipalities - total.with_council


# --- the demo data set, cross-checked -------------------------------------------------------------


def _latest_figures(conn: sa.Connection) -> dict[str, tuple[int | None, int | None]]:
    """(population, immigrants) of each municipality, each its latest year with the figure."""
    s = municipality_statistics.c
    found: dict[str, list[int | None]] = defaultdict(lambda: [None, None])
    for index, column in enumerate(("population", "immigrants")):
        rows = conn.execute(
            sa.select(s.municipality_number, s[column])
            .ext(distinct_on(s.municipality_number))
            .where(s[column].is_not(None))
            .order_by(s.municipality_number, s.year.desc())
        )
        for number, value in rows:
            found[number][index] = value
    return {k: (v[0], v[1]) for k, v in found.items()}


def _expected_access(
    conn: sa.Connection, group_by: AccessGroupBy | None, owner_types: tuple[str, ...] = ()
) -> dict[str, dict[str, Any]]:
    """Every group's figures from plain selects and Python arithmetic."""
    v, m, r = venue.c, municipality.c, venue_access_report.c
    w = venue_availability.c
    evening = sa.select(w.venue_id).where(
        sa.or_(sa.and_(w.weekday <= 5, w.ends > time(17)), w.weekday >= 6)
    )
    group = {
        AccessGroupBy.COUNTY: m.county_number,
        AccessGroupBy.MUNICIPALITY: m.number,
        AccessGroupBy.OWNER_TYPE: v.owner_type,
        AccessGroupBy.VENUE_TYPE: v.venue_type,
        None: sa.literal("ALL"),
    }[group_by]
    where = [v.archived_at.is_(None), m.archived_at.is_(None)]
    if owner_types:
        where.append(v.owner_type.in_(owner_types))
    joined = venue.join(municipality, m.number == v.municipality_number)
    count = sa.func.count
    venue_rows = conn.execute(
        sa.select(
            group.label("key"),
            count(v.id),
            count(v.id).filter(v.price_model == "FREE"),
            count(v.id).filter(v.price_model == "REDUCED"),
            count(v.id).filter(v.id.in_(evening)),
            count(v.id).filter(v.owner_type == "STATE"),
        )
        .select_from(joined)
        .where(*where)
        .group_by(group)
    ).all()
    figures = _latest_figures(conn)
    numbers = conn.execute(
        sa.select(m.number, m.county_number).where(m.archived_at.is_(None))
    ).all()
    if group_by is AccessGroupBy.COUNTY:
        keys = {c for _, c in numbers}
    elif group_by is AccessGroupBy.MUNICIPALITY:
        keys = {n for n, _ in numbers}
    elif group_by is AccessGroupBy.OWNER_TYPE:
        keys = set(
            owner_types
            or ("MUNICIPALITY", "COUNTY", "STATE", "ORGANISATION", "FAITH_COMMUNITY", "PRIVATE")
        )
    elif group_by is AccessGroupBy.VENUE_TYPE:
        keys = {
            "SCHOOL",
            "LIBRARY",
            "CULTURE_HOUSE",
            "SPORTS_HALL",
            "COMMUNITY_CENTRE",
            "YOUTH_CLUB",
            "FAITH_VENUE",
            "MEETING_ROOM",
            "OFFICE",
            "OUTDOOR",
            "OTHER",
        }
    else:
        keys = {"ALL"}
    expected: dict[str, dict[str, Any]] = {
        k: dict.fromkeys(COUNTS, 0)
        | {"suitability": [], "barriers": Counter(), "population": None, "immigrants": None}
        for k in keys
    }
    for key, *counts in venue_rows:
        expected[key].update(zip(COUNTS[:5], counts, strict=True))
    for number, county_number in numbers:
        population, immigrants = figures.get(number, (None, None))
        if group_by is AccessGroupBy.COUNTY:
            targets = [county_number]
        elif group_by is AccessGroupBy.MUNICIPALITY:
            targets = [number]
        else:  # owner and venue types, and the total: the whole area's
            targets = list(keys)
        for key in targets:
            for name, value in (("population", population), ("immigrants", immigrants)):
                if value is not None:
                    expected[key][name] = (expected[key][name] or 0) + value
    report_rows = conn.execute(
        sa.select(group.label("key"), r.outcome, r.suitability, r.barriers)
        .select_from(
            venue_access_report.join(venue, v.id == r.venue_id).join(
                municipality, m.number == v.municipality_number
            )
        )
        .where(*where, r.archived_at.is_(None))
    )
    for key, outcome, suitability, barriers in report_rows:
        group_figures = expected[key]
        group_figures["reports"] += 1
        group_figures[outcome.lower()] += 1
        if suitability is not None:
            group_figures["suitability"].append(suitability)
        group_figures["barriers"].update(barriers)
    return expected


def _check(group: Any, want: dict[str, Any]) -> None:
    assert {name: getattr(group, name) for name in COUNTS} == {n: want[n] for n in COUNTS}, (
        group.key
    )
    assert (group.population, group.immigrants) == (want["population"], want["immigrants"])
    suits = want["suitability"]
    assert group.mean_suitability == (pytest.approx(sum(suits) / len(suits)) if suits else None)
    assert group.granted_share == (
        pytest.approx(want["granted"] / want["reports"]) if want["reports"] else None
    )
    ranked = sorted(want["barriers"].items(), key=lambda item: (-item[1], item[0]))
    assert list(group.top_barriers) == [name for name, _ in ranked[:3]], group.key
    if want["population"]:
        assert group.venues_per_10k_residents == pytest.approx(
            want["venues"] * 10_000 / want["population"]
        )


@pytest.mark.parametrize("owner_types", [(), CONTRACT_FILTER.owner_types])
@pytest.mark.parametrize("group_by", list(AccessGroupBy))
def test_venue_access_matches_direct_counts(
    loaded_conn: sa.Connection, group_by: AccessGroupBy, owner_types: tuple[str, ...]
) -> None:
    filt = AccessFilter(owner_types=owner_types)
    groups = venue_access(loaded_conn, group_by, filt)
    expected = _expected_access(loaded_conn, group_by, owner_types)
    assert [g.key for g in groups] == sorted(expected)
    for group in groups:
        _check(group, expected[group.key])
    total = venue_access_total(loaded_conn, filt)
    _check(total, _expected_access(loaded_conn, None, owner_types)["ALL"])
    for name in COUNTS:  # every grouping splits the same venues and reports
        assert sum(getattr(g, name) for g in groups) == getattr(total, name), name
    assert total.reports > 1000  # the demo's generated reports are there


def test_generated_reports_follow_the_venue(loaded_conn: sa.Connection) -> None:
    """State-owned and market-price venues fare worse; free municipal schools best."""

    def share(**kwargs: tuple[str, ...]) -> float:
        found = venue_access_total(loaded_conn, AccessFilter(**kwargs)).granted_share
        assert found is not None
        return found

    assert share(owner_types=("STATE",)) < share(owner_types=("MUNICIPALITY",))
    assert share(price_models=("MARKET",)) < share(price_models=("FREE",))
    free_schools = share(
        owner_types=("MUNICIPALITY",), venue_types=("SCHOOL",), price_models=("FREE",)
    )
    assert free_schools > share()
    expensive = venue_access_total(loaded_conn, AccessFilter(price_models=("MARKET",)))
    assert expensive.top_barriers[0] == "PRICE"


def test_council_coverage_matches_direct_counts(loaded_conn: sa.Connection) -> None:
    m, c = municipality.c, immigrant_council.c
    served = sa.select(c.municipality_number).where(
        c.status == "ACTIVE",
        c.archived_at.is_(None),
        c.level.in_(["MUNICIPALITY", "INDEPENDENT"]),
        c.municipality_number.is_not(None),
    )
    rows = loaded_conn.execute(
        sa.select(m.number, m.county_number, m.number.in_(served).label("covered")).where(
            m.archived_at.is_(None)
        )
    ).all()
    figures = _latest_figures(loaded_conn)
    names = dict(loaded_conn.execute(sa.select(county.c.number, county.c.name)).all())
    expected: dict[str, dict[str, Any]] = {}
    for number, county_number, covered in rows:
        group = expected.setdefault(county_number, Counter())
        population, immigrants = figures.get(number, (0, 0))
        group["municipalities"] += 1
        group["population"] += population or 0
        group["immigrants"] += immigrants or 0
        if covered:
            group["with_council"] += 1
            group["population_with_council"] += population or 0
            group["immigrants_with_council"] += immigrants or 0
    groups = council_coverage(loaded_conn)
    assert [g.key for g in groups] == sorted(expected)
    fields = (
        "municipalities",
        "with_council",
        "population",
        "population_with_council",
        "immigrants",
        "immigrants_with_council",
    )
    for group in groups:
        want = expected[group.key]
        assert group.name == names[group.key]
        assert {f: getattr(group, f) for f in fields} == {f: want[f] for f in fields}, group.key
        assert group.share == pytest.approx(want["with_council"] / want["municipalities"])
    total = council_coverage_total(loaded_conn)
    for name in fields:
        assert getattr(total, name) == sum(getattr(g, name) for g in groups), name
    # The bundled file: nine active municipal councils and Drammen's independent one.
    assert total.with_council == 10
    assert total.municipalities == len(rows) == 356


def test_municipalities_without_a_council_and_many_immigrants(loaded_conn: sa.Connection) -> None:
    m, c = municipality.c, immigrant_council.c
    served = sa.select(c.municipality_number).where(
        c.status == "ACTIVE",
        c.archived_at.is_(None),
        c.level.in_(["MUNICIPALITY", "INDEPENDENT"]),
        c.municipality_number.is_not(None),
    )
    figures = _latest_figures(loaded_conn)
    candidates = loaded_conn.execute(
        sa.select(m.number).where(m.archived_at.is_(None), m.number.not_in(served))
    ).scalars()
    expected = sorted(
        n
        for n in candidates
        if (f := figures.get(n)) and f[0] and f[1] is not None and f[1] / f[0] >= 0.1
    )
    page = list_municipalities(
        loaded_conn, MunicipalityFilter(has_council=False, min_immigrant_share=0.1), first=1000
    )
    assert [x.number for x in page.items] == expected
    assert page.total_count == len(expected) > 50
    assert all(x.immigrant_share is not None and x.immigrant_share >= 0.1 for x in page.items)
    with_council = list_municipalities(loaded_conn, MunicipalityFilter(has_council=True), first=100)
    assert with_council.total_count == 10
    with pytest.raises(ValueError, match="min_immigrant_share"):
        MunicipalityFilter(min_immigrant_share=1.5)
