"""The data model's vocabularies as GraphQL enums, each value described by its Norwegian term."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum, StrEnum

import strawberry

from geo import vocab
from geo.coverage_notes import CoverageNote as CoverageNoteCode
from geo.queries import coverage as coverage_queries
from geo.queries import nearby as nearby_queries


def _graphql_enum(
    source: type[StrEnum], description: str, values: Mapping[str, str] | None = None
) -> type[Enum]:
    """A strawberry enum with the same names and values, each value described by ``values``,
    else by its Norwegian term."""
    members = {
        member.name: strawberry.enum_value(
            member.value,
            description=(values or {}).get(member.name) or vocab.NORWEGIAN.get(member.name),
        )
        for member in source
    }
    return strawberry.enum(Enum(source.__name__, members), description=description)  # type: ignore[misc]


ActivityCategory = _graphql_enum(vocab.ActivityCategory, "What an activity is for.")
TargetGroup = _graphql_enum(
    vocab.TargetGroup, "Whom an activity is for (children 6-12, youth 13-19, …)."
)
OwnerType = _graphql_enum(vocab.OwnerType, "Who owns a venue.")
VenueType = _graphql_enum(vocab.VenueType, "What kind of premises a venue is.")
PriceModel = _graphql_enum(vocab.PriceModel, "What volunteers pay for a venue.")
CouncilKind = _graphql_enum(vocab.CouncilKind, "The kind of immigrant council.")
CouncilLevel = _graphql_enum(vocab.CouncilLevel, "Whose council it is.")
CouncilStatus = _graphql_enum(vocab.CouncilStatus, "Whether a council still exists.")
OrganisationKind = _graphql_enum(vocab.OrganisationKind, "What kind of organisation.")
RegistryStatus = _graphql_enum(
    vocab.RegistryStatus, "What Enhetsregisteret says of an organisation that is not active."
)
ActivityStatus = _graphql_enum(vocab.ActivityStatus, "Whether an activity runs.")
Weekday = _graphql_enum(vocab.Weekday, "A day of the week (Europe/Oslo).")
PlaceKind = _graphql_enum(nearby_queries.PlaceKind, "The kinds of place `nearby` returns.")
AccessOutcome = _graphql_enum(vocab.AccessOutcome, "What came of a request to use a venue.")
AccessBarrier = _graphql_enum(vocab.AccessBarrier, "What stood in the way of using a venue.")
AreaKind = _graphql_enum(
    vocab.AreaKind,
    "Kinds of population unit (statistical area): SSB's "
    "grid cells, grunnkretser, Oslo's districts.",
)
CoverageTargetKind = _graphql_enum(
    coverage_queries.TargetKind, "What `coverage` counts as within reach."
)
CoverageNote = _graphql_enum(
    CoverageNoteCode,
    "What a note on a coverage answer is about; its `values` are named in each value's "
    "description (the placeholders of its label template, vocabularies' CoverageNote).",
    {
        "AREA_REPAIRED": "The polygon was invalid and repaired (MakeValid): problem (GEOS's "
        "words, English), lon, lat (where).",
        "AREA_REPAIRED_UNLOCATED": "The polygon was invalid and repaired; GEOS said not "
        "where: problem.",
        "PROJECTED_AREA_REPAIRED": "The area became invalid in EPSG:25833 and was repaired: "
        "problem.",
        "AREA_CLIPPED": "The area was clipped to the region around Norway: minLon, maxLon, "
        "minLat, maxLat.",
        "NO_UNITS_OUTSIDE_REGION": "No units: the area lies wholly outside the region around "
        "Norway.",
        "NO_UNITS_OF_KIND": "No units of the kind asked for in the area: unitKind, otherKinds "
        "(the kinds that have units there).",
        "NO_UNITS_OF_ANY_KIND": "No units of the kind asked for, nor of any other kind, in the "
        "area: unitKind.",
        "NO_POPULATION_FIGURE": "Units without a population figure, counted as 0: missing, units.",
        "IMMIGRANTS_UNKNOWN": "No unit has an immigrant figure: the immigrant totals are null.",
        "IMMIGRANTS_PARTLY_KNOWN": "Some units lack an immigrant figure, so no total is given: "
        "known, units.",
    },
)

WEEKDAYS = list(vocab.Weekday)


def weekday_of(iso: int) -> Enum:
    """The GraphQL weekday for an ISO weekday number (1 = Monday)."""
    return Weekday[WEEKDAYS[iso - 1].name]  # type: ignore[index]


def as_enum(enum: type[Enum], value: str | None) -> Enum | None:
    return None if value is None else enum[value]  # type: ignore[index]
