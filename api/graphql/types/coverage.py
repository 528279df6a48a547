"""`coverage`: how many people in an area live within reach of an activity or a venue, and the
gaps. The rule lives in geo.queries.coverage (and docs/coverage.md); this module checks the
input and shapes the answer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from api import checks
from api.errors import BadUserInput, NotFound
from api.graphql.relay import DEFAULT_PAGE_SIZE, decode_cursor, encode_cursor
from api.graphql.types.vocab import (
    ActivityCategory,
    AreaKind,
    CoverageNote,
    CoverageTargetKind,
    OwnerType,
    TargetGroup,
)
from geo.coverage_notes import Note
from geo.given_areas import MAX_VERTICES
from geo.labels import LabelSet, best_language, label_set, note_text
from geo.queries.coverage import (
    MAX_GAPS_PAGE,
    MAX_WITHIN_M,
    RULE,
    AreaSelector,
    CoverageSummary,
    Gap,
    GapKey,
    MunicipalityArea,
    Target,
    UnknownArea,
    coverage_gaps,
    coverage_summary,
)

if TYPE_CHECKING:
    from api.graphql.context import Context

_CONNECTION = "coverageGaps"
NOTES_LANG = Annotated[
    list[str] | None,
    strawberry.argument(
        description=(
            'The reader\'s languages in order, BCP 47 tags (e.g. ["prs", "fa", "en"]); without '
            "it, the request's Accept-Language. `noteDetails` answer in the shipped language "
            "they read best (Dari → Persian, Nynorsk → Bokmål, …), else Norwegian bokmål; "
            "docs/languages.md."
        )
    ),
]
#: population | code
GAP_KEY = re.compile(r"([0-9]{1,10})\|([^|]{1,64})")


@strawberry.input(
    one_of=True,
    description=(
        "Where to measure: exactly one of an area initiative, a municipality, a GeoJSON polygon or "
        "a bounding box. A polygon or box is clipped to the region around Norway (lon -20..45, lat "
        "50..85); an invalid polygon (self-intersecting, say) is repaired (MakeValid, structure "
        "method) and the answer's notes say so."
    ),
)
class CoverageAreaInput:
    area_initiative: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description='An area initiative by slug (e.g. "groruddalen") or global id.',
    )
    municipality: str | None = strawberry.field(
        default=strawberry.UNSET, description='A municipality number, e.g. "0301".'
    )
    polygon: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "A GeoJSON Polygon or MultiPolygon (or a Feature with one) in WGS84, positions "
            f"[lon, lat] (RFC 7946), at most {MAX_VERTICES:,} vertices."
        ),
    )
    bbox: list[float] | None = strawberry.field(
        default=strawberry.UNSET,
        description="[minLon, minLat, maxLon, maxLat] in WGS84 degrees, min < max.",
    )


@strawberry.input(
    description=(
        "What counts as within reach. Activities (active ones) by default; venues when `kind` is "
        "VENUE or a venue-only field is set. Categories and freeOnly apply to both (a venue's "
        "suitable categories; a venue's price model FREE); targetGroups and languages only to "
        "activities; ownerTypes and eveningOrWeekend only to venues. Every condition given must "
        "hold."
    )
)
class CoverageTargetInput:
    kind: CoverageTargetKind | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="ACTIVITY or VENUE; implied by the fields when left out."
    )
    categories: list[ActivityCategory] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Any of these categories."
    )
    target_groups: list[TargetGroup] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Activities for any of these groups."
    )
    languages: list[str] | None = strawberry.field(
        default=None, description='Activities in any of these languages (BCP 47 tags), e.g. ["ar"].'
    )
    free_only: bool | None = strawberry.field(
        default=None, description="Only free activities, or venues whose price model is FREE."
    )
    owner_types: list[OwnerType] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Venues owned by any of these."
    )
    evening_or_weekend: bool | None = strawberry.field(
        default=None,
        description=(
            "Venues available in the evening or at the weekend: a weekly window ending after "
            "17:00 on a weekday, or any window on Saturday or Sunday."
        ),
    )


@strawberry.type(description="A populated unit with no target within reach.")
class CoverageGap:
    code: str = strawberry.field(description="The unit's code, e.g. SSB's grid id.")
    name: str | None = strawberry.field(description="Its name, where units have names.")
    municipality_number: str | None = strawberry.field(description="Its municipality.")
    population: int
    immigrant_population: int | None = strawberry.field(
        description=(
            "Immigrants living in it; null where the data has no figure (SSB's population grid "
            "gives totals only)."
        )
    )
    nearest_distance_meters: float | None = strawberry.field(
        description=(
            "Straight-line distance, metres, from the unit's polygon to the nearest target "
            "anywhere (also outside the area); null when no target matches at all."
        )
    )
    geometry: JSON = strawberry.field(
        description=(
            "The unit as a GeoJSON geometry (RFC 7946: WGS84, [lon, lat], exterior rings "
            "counter-clockwise)."
        )
    )
    district: str | None = strawberry.field(
        description=(
            "The district (bydel) the unit lies in (its interior point), where districts are "
            "loaded for its municipality; e.g. Stovner."
        )
    )
    sub_district: str | None = strawberry.field(
        description="The sub-district (delbydel) the unit lies in, where they are loaded."
    )
    cursor: str = strawberry.field(description="Pass as `gaps(after:)` for the gaps after it.")

    @classmethod
    def from_gap(cls, gap: Gap) -> CoverageGap:
        return cls(
            code=gap.code,
            name=gap.name,
            municipality_number=gap.municipality_number,
            population=gap.population,
            immigrant_population=gap.immigrant_population,
            nearest_distance_meters=None
            if gap.nearest_distance_m is None
            else round(gap.nearest_distance_m, 2),
            geometry=gap.geometry,
            district=gap.district,
            sub_district=gap.sub_district,
            cursor=encode_cursor(_CONNECTION, f"{gap.population}|{gap.code}"),
        )


@strawberry.type(
    description=(
        "A note on a coverage answer as data: its code, its values and its text in the "
        "reader's language (docs/coverage.md)."
    )
)
class CoverageNoteDetail:
    code: CoverageNote  # type: ignore[valid-type]
    values: JSON = strawberry.field(
        description=(
            'The note\'s values by name, e.g. {"missing": 3, "units": 12}: counts, '
            "coordinates, unit kinds (AreaKind values, a list for otherKinds), GEOS's problem. "
            "Each code's names are in its description."
        )
    )
    text: str = strawberry.field(
        description=(
            "The note in the reader's language (`lang` of `coverage`, else Accept-Language; "
            "the shipped language read best, else Norwegian bokmål): the code's label "
            "template (vocabularies' CoverageNote) with the values put in, unit kinds by "
            "their labels."
        )
    )
    language: str = strawberry.field(description="The text's language (BCP 47).")
    right_to_left: bool = strawberry.field(description="Whether it is written right to left.")

    @classmethod
    def of(cls, note: Note, labels: LabelSet) -> CoverageNoteDetail:
        return cls(
            code=CoverageNote[note.code.name],  # type: ignore[misc]
            values={
                name: list(value) if isinstance(value, tuple) else value
                for name, value in note.values.items()
            },
            text=note_text(note, labels),
            language=labels.language,
            right_to_left=labels.right_to_left,
        )


@dataclass(frozen=True)
class _Question:
    area: AreaSelector
    target: Target
    within_m: float
    unit_kind: str


@strawberry.type(
    description=(
        "Who lives within reach of a target in an area, by population unit: straight-line "
        "distance (see `rule`)."
    )
)
class CoverageReport:
    area_name: str | None = strawberry.field(
        description="The initiative's or municipality's name; null for a polygon or box."
    )
    unit_kind: AreaKind  # type: ignore[valid-type]
    within_meters: float = strawberry.field(description="The reach asked about, metres.")
    unit_count: int = strawberry.field(description="Units in the area.")
    covered_unit_count: int
    population: int = strawberry.field(
        description="People in the area's units (a unit without a figure counts as 0)."
    )
    covered_population: int = strawberry.field(description="People in covered units.")
    uncovered_population: int
    covered_share: float | None = strawberry.field(
        description="coveredPopulation / population, 0-1; null when nobody lives there."
    )
    gap_count: int = strawberry.field(
        description="Uncovered units with people in them: how many `gaps` there are in all."
    )
    immigrant_population: int | None = strawberry.field(
        description=(
            "Immigrants in the area's units; null unless every unit has the figure (SSB's 1 km "
            "grid has none)."
        )
    )
    covered_immigrant_population: int | None
    population_years: list[int] = strawberry.field(
        description="The years the units' population figures are from."
    )
    rule: str = strawberry.field(description="The rule the figures follow, in words.")
    notes: list[str] = strawberry.field(
        description=(
            "What to know about this answer, in English: a repaired or clipped polygon, no units "
            "of this kind in the area, missing figures. The same notes as `noteDetails`, which "
            "has their codes, values and texts in the reader's language."
        )
    )
    question: strawberry.Private[_Question]
    coded_notes: strawberry.Private[tuple[Note, ...]]
    #: The shipped language noteDetails answer in: this root's own (another root of the same
    #: operation may be asked in another language).
    notes_language: strawberry.Private[str]

    @classmethod
    def from_summary(
        cls, summary: CoverageSummary, question: _Question, notes_language: str
    ) -> CoverageReport:
        return cls(
            area_name=summary.area_name,
            unit_kind=AreaKind[summary.unit_kind],  # type: ignore[misc]
            within_meters=summary.within_m,
            unit_count=summary.unit_count,
            covered_unit_count=summary.covered_unit_count,
            population=summary.population,
            covered_population=summary.covered_population,
            uncovered_population=summary.uncovered_population,
            covered_share=summary.covered_share,
            gap_count=summary.gap_count,
            immigrant_population=summary.immigrant_population,
            covered_immigrant_population=summary.covered_immigrant_population,
            population_years=list(summary.population_years),
            rule=RULE,
            notes=[note.english for note in summary.notes],
            question=question,
            coded_notes=summary.notes,
            notes_language=notes_language,
        )

    @strawberry.field(
        description=(
            "The notes (`notes`, in order) as codes with their values, each with its text in "
            "the reader's language."
        )
    )
    def note_details(self) -> list[CoverageNoteDetail]:
        labels = label_set(self.notes_language)
        return [CoverageNoteDetail.of(note, labels) for note in self.coded_notes]

    @strawberry.field(
        description=(
            "The uncovered units with people in them, largest population first (then by code), "
            f"a page at a time: `first` at most {MAX_GAPS_PAGE}, `after` a gap's cursor."
        )
    )
    async def gaps(
        self,
        info: strawberry.Info[Context, None],
        first: Annotated[
            int, strawberry.argument(description=f"How many, at most {MAX_GAPS_PAGE}.")
        ] = DEFAULT_PAGE_SIZE,
        after: Annotated[
            str | None, strawberry.argument(description="The `cursor` of the last gap seen.")
        ] = None,
    ) -> list[CoverageGap]:
        if not 0 <= first <= MAX_GAPS_PAGE:
            raise BadUserInput(
                f"first must be within [0, {MAX_GAPS_PAGE}], got {first}; page with `after`",
                field="gaps.first",
                maximum=MAX_GAPS_PAGE,
            )
        after_key = _gap_key(decode_cursor(after, _CONNECTION, GAP_KEY))
        if self.unit_count == 0 or first == 0:
            return []
        q = self.question
        async with info.context.heavy_if(True):
            gaps, _ = await info.context.run(
                coverage_gaps,
                q.area,
                q.target,
                q.within_m,
                q.unit_kind,
                first=first,
                after=after_key,
            )
        return [CoverageGap.from_gap(gap) for gap in gaps]


def _gap_key(text: str | None) -> GapKey | None:
    if text is None:
        return None
    found = GAP_KEY.fullmatch(text)
    assert found is not None  # decode_cursor checked the pattern
    return GapKey(int(found.group(1)), found.group(2))


def _given(value: Any) -> Any:
    return None if value is strawberry.UNSET else value


def _names(values: list[Any] | None) -> tuple[str, ...]:
    return tuple(v.name for v in values or ())


async def to_area(area: CoverageAreaInput) -> AreaSelector:
    """The one selector given, checked (:func:`api.checks.coverage_area`; a polygon or a box in
    a worker thread, off the event loop)."""
    return await checks.coverage_area_off_loop(
        area_initiative=_given(area.area_initiative),
        municipality=_given(area.municipality),
        polygon=_given(area.polygon),
        bbox=_given(area.bbox),
    )


def to_target(target: CoverageTargetInput) -> Target:
    """Activities or venues and their filter (:func:`api.checks.coverage_target`)."""
    return checks.coverage_target(
        kind=None if target.kind is None else target.kind.name,
        categories=_names(target.categories),
        target_groups=_names(target.target_groups),
        languages_=target.languages,
        free_only=bool(target.free_only),
        owner_types=_names(target.owner_types),
        evening_or_weekend=bool(target.evening_or_weekend),
    )


async def resolve_coverage(
    info: strawberry.Info[Context, None],
    area: Annotated[CoverageAreaInput, strawberry.argument(description="Where to measure.")],
    target: Annotated[
        CoverageTargetInput, strawberry.argument(description="What counts as within reach.")
    ],
    within_meters: Annotated[
        float,
        strawberry.argument(
            description=(
                f"The reach: straight-line metres, more than 0 and at most {MAX_WITHIN_M:g}."
            )
        ),
    ],
    unit_kind: Annotated[
        AreaKind,
        strawberry.argument(  # type: ignore[valid-type]
            description="The population units to count in."
        ),
    ],
    lang: NOTES_LANG = None,
) -> CoverageReport:
    notes_language = best_language(info.context.reader_languages(lang))  # checked before reads
    question = _Question(
        await to_area(area),
        to_target(target),
        checks.checked_within(within_meters),
        unit_kind.name,
    )
    try:
        async with info.context.heavy_if(True):
            summary = await info.context.run(
                coverage_summary,
                question.area,
                question.target,
                question.within_m,
                question.unit_kind,
            )
    except UnknownArea as error:
        field = (
            "area.municipality"
            if isinstance(question.area, MunicipalityArea)
            else "area.areaInitiative"
        )
        raise NotFound(str(error), field=field) from None
    return CoverageReport.from_summary(summary, question, notes_language)
