"""The venue-access survey (`venueAccess`, for KUD) and immigrant-council coverage
(`councilCoverage`, for IMDi): grouped figures from geo.queries.survey."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from api.checks import county_number, municipality_number
from api.errors import BadUserInput
from api.graphql.types.vocab import AccessBarrier, OwnerType, PriceModel, VenueType
from geo.queries import survey
from geo.queries.survey import AccessFilter

if TYPE_CHECKING:
    from api.graphql.context import Context


@strawberry.enum(description="How `venueAccess` groups venues.")
class AccessGroupBy(Enum):
    COUNTY = strawberry.enum_value(
        "COUNTY",
        description=(
            "Per county (fylke), by the county number of the venue's municipality; every county "
            "of the filtered area, in number order."
        ),
    )
    MUNICIPALITY = strawberry.enum_value(
        "MUNICIPALITY",
        description=("Per municipality (kommune); every municipality of the filtered area."),
    )
    OWNER_TYPE = strawberry.enum_value(
        "OWNER_TYPE",
        description=(
            "Per owner type (eier); the filter's owner types, else all. Population and immigrants "
            "are the whole filtered area's."
        ),
    )
    VENUE_TYPE = strawberry.enum_value(
        "VENUE_TYPE",
        description=(
            "Per venue type (type lokale); the filter's venue types, else all. Population and "
            "immigrants are the whole filtered area's."
        ),
    )


@strawberry.enum(description="How `councilCoverage` groups municipalities.")
class CouncilGroupBy(Enum):
    COUNTY = strawberry.enum_value("COUNTY", description="Per county (fylke), in number order.")


@strawberry.input(
    description=(
        "Narrows the venue-access survey; every condition given must hold. Archived venues and "
        "archived reports never count."
    )
)
class VenueAccessFilter:
    owner_types: list[OwnerType] | None = None  # type: ignore[valid-type]
    venue_types: list[VenueType] | None = None  # type: ignore[valid-type]
    price_models: list[PriceModel] | None = None  # type: ignore[valid-type]
    municipality: str | None = strawberry.field(
        default=None, description='Only venues in this municipality, e.g. "0301".'
    )
    county: str | None = strawberry.field(
        default=None, description='Only venues in this county, e.g. "03".'
    )
    reported_from: date | None = strawberry.field(
        default=None, description="Only reports made on or after this date."
    )
    reported_to: date | None = strawberry.field(
        default=None, description="Only reports made on or before this date."
    )


def _names(values: list[object] | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.name for v in values or ()))  # type: ignore[attr-defined]


def to_access_filter(filt: VenueAccessFilter | None) -> AccessFilter:
    """Check every value; BAD_USER_INPUT naming the field when one is wrong."""
    if filt is None:
        return AccessFilter()
    if (
        filt.reported_from is not None
        and filt.reported_to is not None
        and filt.reported_to < filt.reported_from
    ):
        raise BadUserInput("reportedTo is before reportedFrom", field="filter.reportedTo")
    return AccessFilter(
        owner_types=_names(filt.owner_types),
        venue_types=_names(filt.venue_types),
        price_models=_names(filt.price_models),
        municipality=None
        if filt.municipality is None
        else municipality_number(filt.municipality, field="filter.municipality"),
        county=None if filt.county is None else county_number(filt.county, field="filter.county"),
        reported_from=filt.reported_from,
        reported_to=filt.reported_to,
    )


@strawberry.type(
    description=(
        "One group of the venue-access survey (kartlegging av frivilliges tilgang til lokaler): "
        "the venues in it and what volunteers reported about them. Counted: venues not archived, "
        "in a loaded municipality, matching the filter; reports not archived, on those venues."
    )
)
class VenueAccessGroup:
    key: str = strawberry.field(
        description=(
            'The group: county number ("03"), municipality number ("0301"), owner type '
            '("STATE") or venue type ("SCHOOL"); "ALL" for venueAccessTotal.'
        )
    )
    name: str = strawberry.field(
        description=(
            "The county's or municipality's name, or the Norwegian term of the owner or venue "
            'type ("staten", "skole"); "I alt" for the total.'
        )
    )
    venues: int = strawberry.field(description="Venues (lokaler) in the group.")
    free_venues: int = strawberry.field(
        description="Venues free for volunteers (price model FREE, gratis)."
    )
    reduced_venues: int = strawberry.field(
        description="Venues at a reduced price for volunteers (REDUCED, redusert leie)."
    )
    evening_or_weekend_venues: int = strawberry.field(
        description=(
            "Venues available in the evening or at the weekend (kveld og helg): a weekly window "
            "ending after 17:00 Monday-Friday, or any window on Saturday or Sunday (Europe/Oslo)."
        )
    )
    state_owned: int = strawberry.field(
        description=(
            "State-owned venues (statlig eide): owner type STATE (a state agency, university "
            "college, Statens hus). Municipal and county premises are public but not state-owned."
        )
    )
    population: int | None = strawberry.field(
        description=(
            "Residents: the sum of the group's municipalities' population, each its latest year "
            "(bundled data: 1 January 2024). For OWNER_TYPE and VENUE_TYPE groups the whole "
            "filtered area's. Null without figures."
        )
    )
    immigrants: int | None = strawberry.field(
        description=(
            "Immigrants (innvandrere): the same sum of each municipality's latest figure (bundled "
            "data: 2021)."
        )
    )
    venues_per_10k_residents: float | None = strawberry.field(
        description="venues × 10,000 / population; null when the population is 0 or unknown."
    )
    venues_per_1k_immigrants: float | None = strawberry.field(
        description="venues × 1,000 / immigrants; null when there are none or no figures."
    )
    reports: int = strawberry.field(
        description="Access reports (tilbakemeldinger) on the group's venues."
    )
    granted: int = strawberry.field(description="Reports with outcome GRANTED (fikk tilgang).")
    refused: int = strawberry.field(description="Reports with outcome REFUSED (fikk avslag).")
    no_response: int = strawberry.field(
        description="Reports with outcome NO_RESPONSE (fikk ikke svar)."
    )
    too_expensive: int = strawberry.field(
        description="Reports with outcome TOO_EXPENSIVE (for dyrt)."
    )
    unsuitable: int = strawberry.field(
        description="Reports with outcome UNSUITABLE (lokalet passet ikke)."
    )
    granted_share: float | None = strawberry.field(
        description="granted / reports, 0-1; null without reports."
    )
    mean_suitability: float | None = strawberry.field(
        description=(
            "Mean suitability (egnethet, 1-5) of the reports that give one; null when none do."
        )
    )
    top_barriers: list[AccessBarrier] = strawberry.field(  # type: ignore[valid-type]
        description=(
            "The barriers (hindringer) most reports name, most first, at most three; ties in "
            "alphabetical order. Empty when no report names one."
        )
    )

    @classmethod
    def from_geo(cls, g: survey.AccessGroup) -> VenueAccessGroup:
        return cls(
            key=g.key,
            name=g.name,
            venues=g.venues,
            free_venues=g.free_venues,
            reduced_venues=g.reduced_venues,
            evening_or_weekend_venues=g.evening_or_weekend_venues,
            state_owned=g.state_owned,
            population=g.population,
            immigrants=g.immigrants,
            venues_per_10k_residents=g.venues_per_10k_residents,
            venues_per_1k_immigrants=g.venues_per_1k_immigrants,
            reports=g.reports,
            granted=g.granted,
            refused=g.refused,
            no_response=g.no_response,
            too_expensive=g.too_expensive,
            unsuitable=g.unsuitable,
            granted_share=g.granted_share,
            mean_suitability=g.mean_suitability,
            top_barriers=[AccessBarrier[b] for b in g.top_barriers],  # type: ignore[index]
        )


@strawberry.type(
    description=(
        "Immigrant-council coverage of one group of municipalities. A municipality has a council "
        "when an active immigrant council (innvandrerråd) or a body like one (dialogforum, "
        "mangfoldsråd, …) serves it: status ACTIVE, level MUNICIPALITY or INDEPENDENT, with the "
        "municipality's number. A county council (fylkesråd) serves no single municipality."
    )
)
class CouncilCoverageGroup:
    key: str = strawberry.field(description='County number ("03"); "ALL" for the total.')
    name: str = strawberry.field(description='County name; "I alt" for the total.')
    municipalities: int = strawberry.field(description="Municipalities in the group.")
    with_council: int = strawberry.field(description="Municipalities with a council.")
    without_council: int = strawberry.field(description="Municipalities without one.")
    share: float | None = strawberry.field(
        description="withCouncil / municipalities, 0-1; null for no municipalities."
    )
    population: int | None = strawberry.field(
        description=(
            "Residents: the sum of each municipality's latest population (bundled data: 2024)."
        )
    )
    population_with_council: int | None = strawberry.field(
        description="Residents of the municipalities with a council."
    )
    immigrants: int | None = strawberry.field(
        description=(
            "Immigrants: the sum of each municipality's latest figure (bundled data: 2021)."
        )
    )
    immigrants_with_council: int | None = strawberry.field(
        description="Immigrants living in the municipalities with a council."
    )

    @classmethod
    def from_geo(cls, g: survey.CouncilGroup) -> CouncilCoverageGroup:
        return cls(
            key=g.key,
            name=g.name,
            municipalities=g.municipalities,
            with_council=g.with_council,
            without_council=g.without_council,
            share=g.share,
            population=g.population,
            population_with_council=g.population_with_council,
            immigrants=g.immigrants,
            immigrants_with_council=g.immigrants_with_council,
        )


_FILTER_DESCRIPTION = "Which venues and reports count; all of them when omitted."


async def resolve_venue_access(
    info: strawberry.Info[Context, None],
    group_by: Annotated[AccessGroupBy, strawberry.argument(description="How to group.")],
    filter: Annotated[
        VenueAccessFilter | None,
        strawberry.argument(  # the contract's name
            description=_FILTER_DESCRIPTION
        ),
    ] = None,
) -> list[VenueAccessGroup]:
    groups = await info.context.run(
        survey.venue_access, survey.AccessGroupBy(group_by.value), to_access_filter(filter)
    )
    return [VenueAccessGroup.from_geo(g) for g in groups]


async def resolve_venue_access_total(
    info: strawberry.Info[Context, None],
    filter: Annotated[
        VenueAccessFilter | None, strawberry.argument(description=_FILTER_DESCRIPTION)
    ] = None,
) -> VenueAccessGroup:
    total = await info.context.run(survey.venue_access_total, to_access_filter(filter))
    return VenueAccessGroup.from_geo(total)


async def resolve_council_coverage(
    info: strawberry.Info[Context, None],
    group_by: Annotated[
        CouncilGroupBy, strawberry.argument(description="How to group.")
    ] = CouncilGroupBy.COUNTY,
) -> list[CouncilCoverageGroup]:
    groups = await info.context.run(survey.council_coverage, survey.CouncilGroupBy(group_by.value))
    return [CouncilCoverageGroup.from_geo(g) for g in groups]


async def resolve_council_coverage_total(
    info: strawberry.Info[Context, None],
) -> CouncilCoverageGroup:
    return CouncilCoverageGroup.from_geo(await info.context.run(survey.council_coverage_total))
