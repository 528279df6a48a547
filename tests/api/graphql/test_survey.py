"""venueAccess, councilCoverage and municipalities(filter: {hasCouncil, minImmigrantShare}) on
the demo data set: the contract's operations, totals against direct SQL, and bad input."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on

from geo.tables import (
    immigrant_council,
    municipality,
    municipality_statistics,
    venue,
    venue_access_report,
)
from tests.api.conftest import bad_input

pytestmark = pytest.mark.anyio

# The contract's operations (docs/api-examples.graphql), verbatim.
VENUE_ACCESS = """
query VenueAccess {
  venueAccess(groupBy: COUNTY, filter: {ownerTypes: [STATE, COUNTY, MUNICIPALITY]}) {
    key name venues freeVenues reducedVenues eveningOrWeekendVenues stateOwned
    venuesPer10kResidents venuesPer1kImmigrants
    reports grantedShare meanSuitability topBarriers
  }
}
"""
COUNCIL_COVERAGE = """
query CouncilCoverage {
  councilCoverage(groupBy: COUNTY) {
    key name municipalities withCouncil share population populationWithCouncil immigrantsWithCouncil
  }
  municipalities(filter: {hasCouncil: false, minImmigrantShare: 0.1}, first: 50) {
    totalCount edges { node { number name immigrantShare } }
  }
}
"""
PUBLIC = ("STATE", "COUNTY", "MUNICIPALITY")
BARRIERS = {
    "PRICE",
    "OPENING_HOURS",
    "BOOKING_PROCESS",
    "NO_RESPONSE",
    "INSURANCE_OR_KEYS",
    "ACCESSIBILITY",
    "SIZE",
    "EQUIPMENT",
    "LOCATION",
    "RULES",
    "OTHER",
}


def _served() -> sa.Select:
    c = immigrant_council.c
    return sa.select(c.municipality_number).where(
        c.status == "ACTIVE",
        c.archived_at.is_(None),
        c.level != "COUNTY",
        c.municipality_number.is_not(None),
    )


def _latest(conn: sa.Connection, column: str) -> dict[str, int]:
    s = municipality_statistics.c
    return dict(
        conn.execute(
            sa.select(s.municipality_number, s[column])
            .ext(distinct_on(s.municipality_number))
            .where(s[column].is_not(None))
            .order_by(s.municipality_number, s.year.desc())
        ).all()
    )


async def test_the_contract_venue_access(gql, loaded_conn) -> None:
    groups = (await gql.data(VENUE_ACCESS))["venueAccess"]
    v, m, r = venue.c, municipality.c, venue_access_report.c
    where = [v.archived_at.is_(None), m.archived_at.is_(None), v.owner_type.in_(PUBLIC)]
    joined = venue.join(municipality, m.number == v.municipality_number)
    venues = dict(
        loaded_conn.execute(
            sa.select(m.county_number, sa.func.count())
            .select_from(joined)
            .where(*where)
            .group_by(m.county_number)
        ).all()
    )
    reports = dict(
        loaded_conn.execute(
            sa.select(m.county_number, sa.func.count())
            .select_from(
                venue_access_report.join(venue, v.id == r.venue_id).join(
                    municipality, m.number == v.municipality_number
                )
            )
            .where(*where, r.archived_at.is_(None))
            .group_by(m.county_number)
        ).all()
    )
    state = loaded_conn.execute(
        sa.select(sa.func.count()).select_from(joined).where(*where, v.owner_type == "STATE")
    ).scalar_one()
    counties = sorted(
        set(
            loaded_conn.execute(sa.select(m.county_number).where(m.archived_at.is_(None))).scalars()
        )
    )
    assert [g["key"] for g in groups] == counties
    assert {g["key"]: g["venues"] for g in groups} == {k: venues.get(k, 0) for k in counties}
    assert {g["key"]: g["reports"] for g in groups} == {k: reports.get(k, 0) for k in counties}
    assert sum(g["stateOwned"] for g in groups) == state > 0
    oslo = next(g for g in groups if g["key"] == "03")
    population, immigrants = _latest(loaded_conn, "population"), _latest(loaded_conn, "immigrants")
    assert oslo["name"] == "Oslo"
    assert oslo["venuesPer10kResidents"] == pytest.approx(
        oslo["venues"] * 10_000 / population["0301"]
    )
    assert oslo["venuesPer1kImmigrants"] == pytest.approx(
        oslo["venues"] * 1_000 / immigrants["0301"]
    )
    assert 0 < oslo["grantedShare"] < 1
    assert 1 <= oslo["meanSuitability"] <= 5
    assert 1 <= len(oslo["topBarriers"]) <= 3
    assert set(oslo["topBarriers"]) <= BARRIERS
    for group in groups:
        assert group["freeVenues"] + group["reducedVenues"] <= group["venues"]
        assert group["eveningOrWeekendVenues"] <= group["venues"]


async def test_the_total_is_the_sum_of_any_grouping(gql) -> None:
    fields = "key name venues freeVenues stateOwned reports granted refused population"
    data = await gql.data(f"""{{
        total: venueAccessTotal(filter: {{ownerTypes: [STATE, COUNTY, MUNICIPALITY]}}) {{
          {fields} grantedShare }}
        byOwner: venueAccess(groupBy: OWNER_TYPE,
                             filter: {{ownerTypes: [STATE, COUNTY, MUNICIPALITY]}}) {{ {fields} }}
        byMunicipality: venueAccess(groupBy: MUNICIPALITY,
                                    filter: {{ownerTypes: [STATE, COUNTY, MUNICIPALITY]}}) {{
          {fields} }}
    }}""")
    total = data["total"]
    assert (total["key"], total["name"]) == ("ALL", "I alt")
    assert [g["key"] for g in data["byOwner"]] == ["COUNTY", "MUNICIPALITY", "STATE"]
    assert [g["name"] for g in data["byOwner"]] == ["fylkeskommune", "kommune", "staten"]
    assert len(data["byMunicipality"]) == 356
    for grouping in ("byOwner", "byMunicipality"):
        for name in ("venues", "freeVenues", "stateOwned", "reports", "granted", "refused"):
            assert sum(g[name] for g in data[grouping]) == total[name], (grouping, name)
    assert sum(g["population"] for g in data["byMunicipality"]) == total["population"]
    assert total["grantedShare"] == pytest.approx(total["granted"] / total["reports"])


async def test_the_contract_council_coverage(gql, loaded_conn) -> None:
    data = await gql.data(COUNCIL_COVERAGE)
    m = municipality.c
    population = _latest(loaded_conn, "population")
    immigrants = _latest(loaded_conn, "immigrants")
    rows = loaded_conn.execute(
        sa.select(m.number, m.county_number, m.number.in_(_served()).label("covered")).where(
            m.archived_at.is_(None)
        )
    ).all()
    groups = data["councilCoverage"]
    assert [g["key"] for g in groups] == sorted({r.county_number for r in rows})
    for group in groups:
        mine = [r for r in rows if r.county_number == group["key"]]
        covered = [r.number for r in mine if r.covered]
        assert group["municipalities"] == len(mine)
        assert group["withCouncil"] == len(covered)
        assert group["share"] == pytest.approx(len(covered) / len(mine))
        assert group["population"] == sum(population.get(r.number, 0) for r in mine)
        assert group["populationWithCouncil"] == sum(population.get(n, 0) for n in covered)
        assert group["immigrantsWithCouncil"] == sum(immigrants.get(n, 0) for n in covered)
    assert sum(g["withCouncil"] for g in groups) == 10

    missing = sorted(
        r.number
        for r in rows
        if not r.covered
        and population.get(r.number)
        and r.number in immigrants
        and immigrants[r.number] / population[r.number] >= 0.1
    )
    listed = data["municipalities"]
    assert listed["totalCount"] == len(missing)
    assert [e["node"]["number"] for e in listed["edges"]] == missing[:50]
    assert all(e["node"]["immigrantShare"] >= 0.1 for e in listed["edges"])


async def test_council_coverage_total(gql) -> None:
    data = await gql.data("""{ councilCoverageTotal { key municipalities withCouncil
        withoutCouncil share } councilCoverage { withCouncil } }""")
    total = data["councilCoverageTotal"]
    assert total["withCouncil"] == sum(g["withCouncil"] for g in data["councilCoverage"])
    assert total["withoutCouncil"] == total["municipalities"] - total["withCouncil"]
    assert total["share"] == pytest.approx(total["withCouncil"] / total["municipalities"])


async def test_one_statement_per_survey(gql, count_statements) -> None:
    await gql.data("{ venueAccess(groupBy: VENUE_TYPE) { key topBarriers } }")
    await gql.data("{ councilCoverage { key } }")
    assert len(count_statements.statements) == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (
            "{ municipalities(filter: {minImmigrantShare: 1.5}) { totalCount } }",
            "filter.minImmigrantShare",
        ),
        (
            "{ municipalities(filter: {minImmigrantShare: -0.1}) { totalCount } }",
            "filter.minImmigrantShare",
        ),
        (
            '{ venueAccess(groupBy: COUNTY, filter: {municipality: "301"}) { key } }',
            "filter.municipality",
        ),
        ('{ venueAccess(groupBy: COUNTY, filter: {county: "Oslo"}) { key } }', "filter.county"),
        (
            '{ venueAccessTotal(filter: {reportedFrom: "2025-06-01", reportedTo: "2025-01-01"}) '
            "{ key } }",
            "filter.reportedTo",
        ),
    ],
)
async def test_bad_input(gql, query: str, field: str) -> None:
    error = bad_input(await gql(query))
    assert error["extensions"]["field"] == field


async def test_an_unknown_group_is_refused_before_running(gql) -> None:
    bad_input(await gql("{ venueAccess(groupBy: PRICE_MODEL) { key } }"))


def test_the_cli_loads_access_reports() -> None:
    from api.cli import LOADERS, _loader
    from loaders.access_reports import load_access_reports

    assert LOADERS["access-reports"] == "loaders.access_reports:load_access_reports"
    assert _loader("access-reports") is load_access_reports
