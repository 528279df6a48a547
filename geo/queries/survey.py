"""The venue-access survey for KUD (``venue_access``) and immigrant-council coverage for IMDi
(``council_coverage``): grouped counts in one statement each.

Rules, each in one place:

- **Which venues count**: not archived, matching the filter, and in a loaded (not archived)
  municipality; so every grouping of the same filter has the same venues in all. A county group
  uses the municipality's county number.
- **Evening or weekend**: :func:`geo.filters.evening_or_weekend` (a window ending after 17:00 on
  a weekday, or any window on Saturday or Sunday). **State-owned**: owner type STATE (statlig
  eid); municipal and county premises are not counted as state-owned. **Free** / **reduced**:
  price model FREE / REDUCED (an unknown price model is neither).
- **Which reports count**: not archived, on a counted venue, reported within the filter's dates.
  ``granted_share`` is GRANTED over all counted reports; ``mean_suitability`` averages the reports
  that give one (1-5); ``top_barriers`` are the three barriers named by most reports, ties by
  name.
- **Per capita**: the group's population is the sum of its municipalities' latest population,
  its immigrants the sum of their latest immigrant figure (each municipality's own latest year:
  geo.queries.municipalities.latest_figure; for the bundled data 2024 and 2021). An OWNER_TYPE or
  VENUE_TYPE group's population is that of the whole filtered area. No population (or zero):
  null ratios.
- **Groups**: every county or municipality of the filtered area, every owner or venue type (those
  of the filter when it names some), with zeros where there is nothing, in key order.
- **Council coverage**: :func:`geo.filters.has_active_council` (status ACTIVE, level MUNICIPALITY
  or INDEPENDENT with a municipality number; a county council covers no single municipality).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.engine import Connection

from geo.filters import DirectoryFilter, evening_or_weekend, has_active_council, venue_conditions
from geo.queries.municipalities import latest_figure
from geo.tables import county, municipality, venue, venue_access_report
from geo.vocab import AccessOutcome, OwnerType, PriceModel, VenueType

#: Key and name of a total (one group over everything the filter lets through).
TOTAL_KEY = "ALL"
TOTAL_NAME = "I alt"
#: How many of the most reported barriers a group lists.
TOP_BARRIERS = 3

OWNER_TYPE_NAMES: dict[str, str] = {
    OwnerType.MUNICIPALITY: "kommune",
    OwnerType.COUNTY: "fylkeskommune",
    OwnerType.STATE: "staten",
    OwnerType.ORGANISATION: "organisasjon",
    OwnerType.FAITH_COMMUNITY: "tros- og livssynssamfunn",
    OwnerType.PRIVATE: "privat",
}
VENUE_TYPE_NAMES: dict[str, str] = {
    VenueType.SCHOOL: "skole",
    VenueType.LIBRARY: "bibliotek",
    VenueType.CULTURE_HOUSE: "kulturhus",
    VenueType.SPORTS_HALL: "idrettshall",
    VenueType.COMMUNITY_CENTRE: "grendehus, samfunnshus",
    VenueType.YOUTH_CLUB: "fritidsklubb",
    VenueType.FAITH_VENUE: "menighetslokale",
    VenueType.MEETING_ROOM: "møterom",
    VenueType.OFFICE: "kontor- og kurslokale",
    VenueType.OUTDOOR: "uteområde",
    VenueType.OTHER: "annet",
}


class AccessGroupBy(StrEnum):
    COUNTY = "COUNTY"
    MUNICIPALITY = "MUNICIPALITY"
    OWNER_TYPE = "OWNER_TYPE"
    VENUE_TYPE = "VENUE_TYPE"


class CouncilGroupBy(StrEnum):
    COUNTY = "COUNTY"


@dataclass(frozen=True)
class AccessFilter:
    """Narrows the survey; every condition given must hold."""

    owner_types: tuple[str, ...] = ()
    venue_types: tuple[str, ...] = ()
    price_models: tuple[str, ...] = ()
    #: Four-digit municipality number.
    municipality: str | None = None
    #: Two-digit county number.
    county: str | None = None
    #: Reports from (and including) this date.
    reported_from: date | None = None
    #: Reports up to and including this date.
    reported_to: date | None = None


def _ratio(count: int, per: int, base: int | None) -> float | None:
    return None if not base else count * per / base


@dataclass(frozen=True, slots=True)
class AccessGroup:
    key: str
    name: str
    venues: int
    free_venues: int
    reduced_venues: int
    evening_or_weekend_venues: int
    state_owned: int
    #: Sum of the group's municipalities' latest population (None: no figures).
    population: int | None
    #: Sum of their latest immigrant figures (None: no figures).
    immigrants: int | None
    reports: int
    granted: int
    refused: int
    no_response: int
    too_expensive: int
    unsuitable: int
    mean_suitability: float | None
    top_barriers: tuple[str, ...]

    @property
    def venues_per_10k_residents(self) -> float | None:
        return _ratio(self.venues, 10_000, self.population)

    @property
    def venues_per_1k_immigrants(self) -> float | None:
        return _ratio(self.venues, 1_000, self.immigrants)

    @property
    def granted_share(self) -> float | None:
        return None if not self.reports else self.granted / self.reports


@dataclass(frozen=True, slots=True)
class CouncilGroup:
    key: str
    name: str
    municipalities: int
    with_council: int
    population: int | None
    population_with_council: int | None
    immigrants: int | None
    immigrants_with_council: int | None

    @property
    def without_council(self) -> int:
        return self.municipalities - self.with_council

    @property
    def share(self) -> float | None:
        """Municipalities with a council over all municipalities (None for none)."""
        return None if not self.municipalities else self.with_council / self.municipalities


# --- venue access -------------------------------------------------------------------------------

_OUTCOME_FIELDS = {
    AccessOutcome.GRANTED: "granted",
    AccessOutcome.REFUSED: "refused",
    AccessOutcome.NO_RESPONSE: "no_response",
    AccessOutcome.TOO_EXPENSIVE: "too_expensive",
    AccessOutcome.UNSUITABLE: "unsuitable",
}


def _area(filt: AccessFilter) -> sa.CTE:
    """The filtered area's municipalities with their latest population and immigrants."""
    where: list[sa.ColumnElement[bool]] = [municipality.c.archived_at.is_(None)]
    if filt.county is not None:
        where.append(municipality.c.county_number == filt.county)
    if filt.municipality is not None:
        where.append(municipality.c.number == filt.municipality)
    return (
        sa.select(
            municipality.c.number,
            municipality.c.county_number,
            municipality.c.name,
            latest_figure(municipality.c.number, "population").label("population"),
            latest_figure(municipality.c.number, "immigrants").label("immigrants"),
        )
        .where(*where)
        .cte("area")
    )


def _group_key(group_by: AccessGroupBy | None, area: sa.CTE) -> sa.ColumnElement[Any]:
    if group_by is AccessGroupBy.COUNTY:
        return sa.cast(area.c.county_number, sa.Text)
    if group_by is AccessGroupBy.MUNICIPALITY:
        return sa.cast(area.c.number, sa.Text)
    if group_by is AccessGroupBy.OWNER_TYPE:
        return venue.c.owner_type
    if group_by is AccessGroupBy.VENUE_TYPE:
        return venue.c.venue_type
    return sa.literal(TOTAL_KEY, sa.Text)


def _scope(filt: AccessFilter, group_by: AccessGroupBy | None, area: sa.CTE) -> sa.CTE:
    """The counted venues, each with its group key."""
    where = venue_conditions(
        DirectoryFilter(owner_types=filt.owner_types, price_models=filt.price_models)
    )
    if filt.venue_types:
        where.append(venue.c.venue_type.in_(filt.venue_types))
    return (
        sa.select(
            venue.c.id,
            _group_key(group_by, area).label("key"),
            venue.c.owner_type,
            venue.c.price_model,
            evening_or_weekend(venue.c.id).label("evening_or_weekend"),
        )
        .select_from(venue.join(area, area.c.number == venue.c.municipality_number))
        .where(*where)
        .cte("scope")
    )


def _keys(filt: AccessFilter, group_by: AccessGroupBy | None, area: sa.CTE) -> sa.Subquery:
    """Every group (key, name, population, immigrants), nothing in it or not."""
    if group_by is AccessGroupBy.MUNICIPALITY:
        return sa.select(
            sa.cast(area.c.number, sa.Text).label("key"),
            area.c.name,
            area.c.population,
            area.c.immigrants,
        ).subquery("keys")
    if group_by is AccessGroupBy.COUNTY:
        name = sa.func.coalesce(sa.func.min(county.c.name), sa.cast(area.c.county_number, sa.Text))
        return (
            sa.select(
                sa.cast(area.c.county_number, sa.Text).label("key"),
                name.label("name"),
                sa.func.sum(area.c.population).label("population"),
                sa.func.sum(area.c.immigrants).label("immigrants"),
            )
            .select_from(
                area.outerjoin(
                    county,
                    sa.and_(
                        county.c.number == area.c.county_number, county.c.archived_at.is_(None)
                    ),
                )
            )
            .group_by(area.c.county_number)
            .subquery("keys")
        )
    totals = sa.select(
        sa.func.sum(area.c.population).label("population"),
        sa.func.sum(area.c.immigrants).label("immigrants"),
    ).subquery("totals")
    if group_by is None:
        values: list[str] = [TOTAL_KEY]
    elif group_by is AccessGroupBy.OWNER_TYPE:
        values = list(filt.owner_types) or [o.value for o in OwnerType]
    else:
        values = list(filt.venue_types) or [t.value for t in VenueType]
    listed = (
        sa.func.unnest(sa.literal(sorted(set(values)), ARRAY(sa.Text)))
        .table_valued("key")
        .render_derived("listed")
    )
    return (
        sa.select(
            listed.c.key,
            sa.cast(sa.null(), sa.Text).label("name"),
            totals.c.population,
            totals.c.immigrants,
        )
        .select_from(listed.join(totals, sa.true()))
        .subquery("keys")
    )


def _venue_stats(scope: sa.CTE) -> sa.Subquery:
    count = sa.func.count
    return (
        sa.select(
            scope.c.key,
            count().label("venues"),
            count().filter(scope.c.price_model == PriceModel.FREE.value).label("free_venues"),
            count().filter(scope.c.price_model == PriceModel.REDUCED.value).label("reduced_venues"),
            count().filter(scope.c.evening_or_weekend).label("evening_or_weekend_venues"),
            count().filter(scope.c.owner_type == OwnerType.STATE.value).label("state_owned"),
        )
        .group_by(scope.c.key)
        .subquery("venue_stats")
    )


def _reports(filt: AccessFilter, scope: sa.CTE) -> sa.CTE:
    where: list[sa.ColumnElement[bool]] = [venue_access_report.c.archived_at.is_(None)]
    if filt.reported_from is not None:
        where.append(venue_access_report.c.reported_on >= filt.reported_from)
    if filt.reported_to is not None:
        where.append(venue_access_report.c.reported_on <= filt.reported_to)
    return (
        sa.select(
            scope.c.key,
            venue_access_report.c.outcome,
            venue_access_report.c.suitability,
            venue_access_report.c.barriers,
        )
        .select_from(venue_access_report.join(scope, scope.c.id == venue_access_report.c.venue_id))
        .where(*where)
        .cte("scope_reports")
    )


def _report_stats(reports: sa.CTE) -> sa.Subquery:
    by_outcome = [
        sa.func.count().filter(reports.c.outcome == outcome.value).label(name)
        for outcome, name in _OUTCOME_FIELDS.items()
    ]
    return (
        sa.select(
            reports.c.key,
            sa.func.count().label("reports"),
            *by_outcome,
            sa.cast(sa.func.avg(reports.c.suitability), sa.Float).label("mean_suitability"),
        )
        .group_by(reports.c.key)
        .subquery("report_stats")
    )


def _top_barriers(reports: sa.CTE) -> sa.Subquery:
    """Per group, the barriers named by most reports (ties by name), at most TOP_BARRIERS."""
    named = sa.func.unnest(reports.c.barriers).table_valued("barrier").render_derived("named")
    counted = (
        sa.select(reports.c.key, named.c.barrier, sa.func.count().label("n"))
        .select_from(reports.join(named, sa.true()))
        .group_by(reports.c.key, named.c.barrier)
        .subquery("counted")
    )
    ranked = sa.select(
        counted.c.key,
        counted.c.barrier,
        sa.func.row_number()
        .over(partition_by=counted.c.key, order_by=(counted.c.n.desc(), counted.c.barrier))
        .label("rank"),
    ).subquery("ranked")
    return (
        sa.select(
            ranked.c.key,
            sa.func.array_agg(aggregate_order_by(ranked.c.barrier, ranked.c.rank)).label(
                "top_barriers"
            ),
        )
        .where(ranked.c.rank <= TOP_BARRIERS)
        .group_by(ranked.c.key)
        .subquery("top")
    )


def _group_name(group_by: AccessGroupBy | None, key: str, name: str | None) -> str:
    if group_by is AccessGroupBy.OWNER_TYPE:
        return OWNER_TYPE_NAMES.get(key, key)
    if group_by is AccessGroupBy.VENUE_TYPE:
        return VENUE_TYPE_NAMES.get(key, key)
    if group_by is None:
        return TOTAL_NAME
    return name or key


def _venue_access(
    conn: Connection, group_by: AccessGroupBy | None, filt: AccessFilter
) -> list[AccessGroup]:
    area = _area(filt)
    scope = _scope(filt, group_by, area)
    reports = _reports(filt, scope)
    keys = _keys(filt, group_by, area)
    vs, rs, top = _venue_stats(scope), _report_stats(reports), _top_barriers(reports)
    zero = sa.literal(0)
    counts = [
        sa.func.coalesce(vs.c[name], zero).label(name)
        for name in (
            "venues",
            "free_venues",
            "reduced_venues",
            "evening_or_weekend_venues",
            "state_owned",
        )
    ]
    counts += [
        sa.func.coalesce(rs.c[name], zero).label(name)
        for name in ("reports", *_OUTCOME_FIELDS.values())
    ]
    stmt = (
        sa.select(
            keys.c.key,
            keys.c.name,
            keys.c.population,
            keys.c.immigrants,
            *counts,
            rs.c.mean_suitability,
            top.c.top_barriers,
        )
        .select_from(
            keys.outerjoin(vs, vs.c.key == keys.c.key)
            .outerjoin(rs, rs.c.key == keys.c.key)
            .outerjoin(top, top.c.key == keys.c.key)
        )
        .order_by(keys.c.key.collate("C"))  # byte order, whatever the database's locale
    )
    groups = []
    for row in conn.execute(stmt):
        values = row._asdict()
        values["name"] = _group_name(group_by, row.key, row.name)
        values["population"] = None if row.population is None else int(row.population)
        values["immigrants"] = None if row.immigrants is None else int(row.immigrants)
        values["top_barriers"] = tuple(row.top_barriers or ())
        groups.append(AccessGroup(**values))
    return groups


def venue_access(
    conn: Connection, group_by: AccessGroupBy, filt: AccessFilter | None = None
) -> list[AccessGroup]:
    """The venue-access survey per group (see the module's docstring for every rule)."""
    return _venue_access(conn, AccessGroupBy(group_by), filt or AccessFilter())


def venue_access_total(conn: Connection, filt: AccessFilter | None = None) -> AccessGroup:
    """The same figures over everything the filter lets through, as one group (key "ALL").

    Its counts are the sums of any grouping's; its ratios and top barriers are the whole's."""
    return _venue_access(conn, None, filt or AccessFilter())[0]


# --- council coverage ---------------------------------------------------------------------------


def _council_coverage(conn: Connection, by_county: bool) -> list[CouncilGroup]:
    per = (
        sa.select(
            municipality.c.number,
            municipality.c.county_number,
            latest_figure(municipality.c.number, "population").label("population"),
            latest_figure(municipality.c.number, "immigrants").label("immigrants"),
            has_active_council(municipality.c.number).label("covered"),
        )
        .where(municipality.c.archived_at.is_(None))
        .cte("covered")
    )
    key = sa.cast(per.c.county_number, sa.Text) if by_county else sa.literal(TOTAL_KEY, sa.Text)
    name = (
        sa.func.coalesce(sa.func.min(county.c.name), key)
        if by_county
        else sa.literal(TOTAL_NAME, sa.Text)
    )
    stmt = (
        sa.select(
            key.label("key"),
            name.label("name"),
            sa.func.count().label("municipalities"),
            sa.func.count().filter(per.c.covered).label("with_council"),
            sa.func.sum(per.c.population).label("population"),
            sa.func.sum(per.c.population).filter(per.c.covered).label("population_with_council"),
            sa.func.sum(per.c.immigrants).label("immigrants"),
            sa.func.sum(per.c.immigrants).filter(per.c.covered).label("immigrants_with_council"),
        )
        .select_from(
            per.outerjoin(
                county,
                sa.and_(county.c.number == per.c.county_number, county.c.archived_at.is_(None)),
            )
        )
        .group_by(key)
        .order_by(key.collate("C"))
    )
    groups = []
    for row in conn.execute(stmt):

        def total(value: Any, whole: Any) -> int | None:
            return None if whole is None else int(value or 0)

        groups.append(
            CouncilGroup(
                key=row.key,
                name=row.name,
                municipalities=row.municipalities,
                with_council=row.with_council,
                population=total(row.population, row.population),
                population_with_council=total(row.population_with_council, row.population),
                immigrants=total(row.immigrants, row.immigrants),
                immigrants_with_council=total(row.immigrants_with_council, row.immigrants),
            )
        )
    return groups


def council_coverage(
    conn: Connection, group_by: CouncilGroupBy = CouncilGroupBy.COUNTY
) -> list[CouncilGroup]:
    """Per county: its municipalities, those with an active council or a body like one
    (:func:`geo.filters.has_active_council`), and the population and immigrants (each
    municipality's latest figures) living in them; in county-number order."""
    CouncilGroupBy(group_by)
    return _council_coverage(conn, by_county=True)


def council_coverage_total(conn: Connection) -> CouncilGroup:
    """The same over every loaded municipality (key "ALL"); None-safe on an empty database."""
    found = _council_coverage(conn, by_county=False)
    return found[0] if found else CouncilGroup(TOTAL_KEY, TOTAL_NAME, 0, 0, None, None, None, None)
