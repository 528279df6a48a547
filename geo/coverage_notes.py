"""Notes on a coverage answer as codes with values, not sentences.

A note says what was done to a drawn area (repaired, clipped) or what the figures lack (no units
of the kind asked for, units without a population figure, immigrants not known). Each is a
:class:`CoverageNote` code with its values (counts, unit kinds, the repair done), so that an app
or the API can say it in the reader's language: the vocabulary ``CoverageNote`` of
``data/labels/{tag}.json`` holds one template per code, its ``{placeholders}`` named as the
values are (:data:`VALUE_NAMES`; geo.labels.note_text fills them in).

Each note keeps its English sentence too (:attr:`Note.english`): the API's ``notes``, worded as
they were before the codes, which clients may compare.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class CoverageNote(StrEnum):
    """What a coverage answer's note is about."""

    AREA_REPAIRED = "AREA_REPAIRED"
    AREA_REPAIRED_UNLOCATED = "AREA_REPAIRED_UNLOCATED"
    PROJECTED_AREA_REPAIRED = "PROJECTED_AREA_REPAIRED"
    AREA_CLIPPED = "AREA_CLIPPED"
    NO_UNITS_OUTSIDE_REGION = "NO_UNITS_OUTSIDE_REGION"
    NO_UNITS_OF_KIND = "NO_UNITS_OF_KIND"
    NO_UNITS_OF_ANY_KIND = "NO_UNITS_OF_ANY_KIND"
    NO_POPULATION_FIGURE = "NO_POPULATION_FIGURE"
    IMMIGRANTS_UNKNOWN = "IMMIGRANTS_UNKNOWN"
    IMMIGRANTS_PARTLY_KNOWN = "IMMIGRANTS_PARTLY_KNOWN"


#: A note's value: a count, a coordinate, a unit kind (an AreaKind value), unit kinds, a text.
NoteValue = int | float | str | tuple[str, ...]

#: The names of each code's values: exactly the placeholders of its label templates.
VALUE_NAMES: dict[CoverageNote, frozenset[str]] = {
    CoverageNote.AREA_REPAIRED: frozenset({"problem", "lon", "lat"}),
    CoverageNote.AREA_REPAIRED_UNLOCATED: frozenset({"problem"}),
    CoverageNote.PROJECTED_AREA_REPAIRED: frozenset({"problem"}),
    CoverageNote.AREA_CLIPPED: frozenset({"minLon", "maxLon", "minLat", "maxLat"}),
    CoverageNote.NO_UNITS_OUTSIDE_REGION: frozenset(),
    CoverageNote.NO_UNITS_OF_KIND: frozenset({"unitKind", "otherKinds"}),
    CoverageNote.NO_UNITS_OF_ANY_KIND: frozenset({"unitKind"}),
    CoverageNote.NO_POPULATION_FIGURE: frozenset({"missing", "units"}),
    CoverageNote.IMMIGRANTS_UNKNOWN: frozenset(),
    CoverageNote.IMMIGRANTS_PARTLY_KNOWN: frozenset({"known", "units"}),
}

#: Values that are unit kinds (AreaKind values): a text shows them by their labels.
UNIT_KIND_VALUES = frozenset({"unitKind", "otherKinds"})


@dataclass(frozen=True)
class Note:
    """One note: its code, its values by name (:data:`VALUE_NAMES`) and its English sentence."""

    code: CoverageNote
    #: Out of the hash (a dict has none), so that a note, a GivenArea and a CoverageSummary
    #: stay hashable as frozen dataclasses are expected to be; equality still compares them.
    values: Mapping[str, NoteValue] = field(hash=False)
    english: str


def area_repaired(problem: str, lon: float | None, lat: float | None) -> Note:
    """A drawn polygon was invalid (GEOS's ``problem``, at lon/lat when GEOS says where) and
    repaired with MakeValid."""
    values: dict[str, NoteValue]
    if lon is None or lat is None:
        code, values, reason = CoverageNote.AREA_REPAIRED_UNLOCATED, {"problem": problem}, problem
    else:
        code = CoverageNote.AREA_REPAIRED
        values = {"problem": problem, "lon": lon, "lat": lat}
        reason = f"{problem} at lon {lon:.6g}, lat {lat:.6g}"
    return Note(
        code,
        values,
        f"The polygon was invalid ({reason}); it was repaired with "
        f"MakeValid (structure method) and the repaired area was used.",
    )


def projected_area_repaired(problem: str) -> Note:
    return Note(
        CoverageNote.PROJECTED_AREA_REPAIRED,
        {"problem": problem},
        f"The projected area was repaired ({problem}).",
    )


def area_clipped(region: tuple[float, float, float, float]) -> Note:
    """The area was cut to ``region`` (min lon, min lat, max lon, max lat)."""
    min_lon, min_lat, max_lon, max_lat = region
    return Note(
        CoverageNote.AREA_CLIPPED,
        {"minLon": min_lon, "maxLon": max_lon, "minLat": min_lat, "maxLat": max_lat},
        f"The area was clipped to lon {min_lon:g}..{max_lon:g}, lat "
        f"{min_lat:g}..{max_lat:g}, the region around Norway where units lie.",
    )


def no_units_outside_region() -> Note:
    return Note(
        CoverageNote.NO_UNITS_OUTSIDE_REGION,
        {},
        "No units: the area lies outside the region around Norway.",
    )


def no_units_of_kind(unit_kind: str, other_kinds: Sequence[str]) -> Note:
    """No units of ``unit_kind`` in the area; ``other_kinds`` are the kinds that have some."""
    if not other_kinds:
        return Note(
            CoverageNote.NO_UNITS_OF_ANY_KIND,
            {"unitKind": unit_kind},
            f"No {unit_kind} units are loaded in this area; no units of any kind are.",
        )
    return Note(
        CoverageNote.NO_UNITS_OF_KIND,
        {"unitKind": unit_kind, "otherKinds": tuple(other_kinds)},
        f"No {unit_kind} units are loaded in this area; units of {', '.join(other_kinds)} are.",
    )


def no_population_figure(missing: int, units: int) -> Note:
    return Note(
        CoverageNote.NO_POPULATION_FIGURE,
        {"missing": missing, "units": units},
        f"{missing} of {units} units have no population figure and count as 0.",
    )


def immigrants_not_known(known: int, units: int) -> Note:
    """Immigrant figures for ``known`` of ``units`` units (fewer than all)."""
    if known == 0:
        return Note(
            CoverageNote.IMMIGRANTS_UNKNOWN,
            {},
            "Immigrant population is not known for these units (SSB's population grid, for "
            "one, gives totals only), so the immigrant figures are null.",
        )
    return Note(
        CoverageNote.IMMIGRANTS_PARTLY_KNOWN,
        {"known": known, "units": units},
        f"Immigrant population is known for {known} of {units} units only, so no total is given.",
    )
