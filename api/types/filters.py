"""The directory's filter inputs, validated at the edge and turned into geo's DirectoryFilter."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import strawberry

from api.errors import BadUserInput
from api.inputs import LatLonInput, municipality_number, storable_text
from api.types.vocab import (
    ActivityCategory,
    OwnerType,
    PriceModel,
    TargetGroup,
    Weekday,
)
from geo import validation
from geo.filters import MAX_TEXT_LENGTH, DirectoryFilter, TimeWindow
from geo.queries.nearby import MAX_RADIUS_M
from geo.vocab import Weekday as GeoWeekday

OSLO = ZoneInfo("Europe/Oslo")
MAX_AGE = 120
MAX_LANGUAGES = 20


@strawberry.input(description="A weekday and a time of day, Europe/Oslo local time.")
class OpenAtInput:
    weekday: Weekday  # type: ignore[valid-type]
    time: time = strawberry.field(description='Local time, e.g. "18:00".')
    on: date | None = strawberry.field(
        default=None,
        description=(
            "The date whose schedules count (sessions valid then); default: today in Oslo."
        ),
    )


@strawberry.input(description="A weekday and a span of time, Europe/Oslo local time.")
class WindowInput:
    weekday: Weekday  # type: ignore[valid-type]
    from_: time = strawberry.field(name="from")
    to: time
    on: date | None = strawberry.field(
        default=None, description=("The date whose schedules count; default: today in Oslo.")
    )


@strawberry.input(
    description=(
        "Narrows the directory; every condition given must hold. Each applies to the kinds that "
        "have the attribute: age, languages, target groups and the leisure card to activities; "
        "owner type and step-free access to venues (and to an activity's venue); categories to an "
        "activity's category and a venue's suitable categories; freeOnly to an activity's cost and "
        "a venue's price model (FREE); openAt/during to an activity's sessions and a venue's "
        "availability. Councils have none of these: any filter but text and municipality leaves "
        "them out."
    )
)
class DirectoryFilterInput:
    categories: list[ActivityCategory] | None = None  # type: ignore[valid-type]
    target_groups: list[TargetGroup] | None = None  # type: ignore[valid-type]
    age: int | None = strawberry.field(default=None, description="An age the activity fits.")
    languages: list[str] | None = strawberry.field(
        default=None, description='Any of these ISO 639-1 codes, e.g. ["ar", "so"].'
    )
    free_only: bool | None = None
    leisure_card_accepted: bool | None = strawberry.field(
        default=None, description="Only activities that accept Fritidskortet."
    )
    open_at: OpenAtInput | None = strawberry.field(
        default=None, description="Running (or available) at that moment."
    )
    during: WindowInput | None = strawberry.field(
        default=None, description="Running (or available) at some point in that span."
    )
    owner_types: list[OwnerType] | None = None  # type: ignore[valid-type]
    price_models: list[PriceModel] | None = None  # type: ignore[valid-type]
    step_free: bool | None = None
    text: str | None = strawberry.field(
        default=None,
        description=(
            "Words in the name or description; copes with æøå, compound words and small typos."
        ),
    )
    municipality: str | None = strawberry.field(
        default=None, description='Only in this municipality, e.g. "0301".'
    )


def _today() -> date:
    return datetime.now(OSLO).date()


def _window(filt: DirectoryFilterInput) -> TimeWindow | None:
    if filt.open_at is not None and filt.during is not None:
        raise BadUserInput("give openAt or during, not both", field="filter.during")
    if filt.open_at is not None:
        at = filt.open_at
        return TimeWindow(GeoWeekday[at.weekday.name].iso, at.time, at.time, at.on or _today())
    if filt.during is not None:
        span = filt.during
        if span.to <= span.from_:
            raise BadUserInput("during.to must be after during.from", field="filter.during.to")
        return TimeWindow(
            GeoWeekday[span.weekday.name].iso, span.from_, span.to, span.on or _today()
        )
    return None


def _languages(values: list[str] | None) -> tuple[str, ...]:
    if not values:
        return ()
    if len(values) > MAX_LANGUAGES:
        raise BadUserInput(f"at most {MAX_LANGUAGES} languages", field="filter.languages")
    try:
        return tuple(validation.language(v, "filter.languages") for v in values)
    except validation.FieldError as error:
        raise BadUserInput(error.reason, field=error.field) from None


def _text(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value) > MAX_TEXT_LENGTH:
        raise BadUserInput(
            f"text is at most {MAX_TEXT_LENGTH} characters, got {len(value)}", field="filter.text"
        )
    return storable_text(value.strip(), "filter.text")


def _names(values: list[object] | None) -> tuple[str, ...]:
    return tuple(v.name for v in values or ())  # type: ignore[attr-defined]


def to_geo_filter(filt: DirectoryFilterInput | None) -> DirectoryFilter:
    """Check every value; BAD_USER_INPUT naming the field when one is out of range."""
    if filt is None:
        return DirectoryFilter()
    if filt.age is not None and not 0 <= filt.age <= MAX_AGE:
        raise BadUserInput(f"age must be within [0, {MAX_AGE}], got {filt.age}", field="filter.age")
    return DirectoryFilter(
        categories=_names(filt.categories),
        target_groups=_names(filt.target_groups),
        age=filt.age,
        languages=_languages(filt.languages),
        free_only=bool(filt.free_only),
        leisure_card=bool(filt.leisure_card_accepted),
        window=_window(filt),
        owner_types=_names(filt.owner_types),
        price_models=_names(filt.price_models),
        step_free=filt.step_free,
        text=_text(filt.text),
        municipality=None
        if filt.municipality is None
        else municipality_number(filt.municipality, field="filter.municipality"),
    )


@strawberry.input(description="A point and how far from it to look.")
class NearInput:
    at: LatLonInput
    radius_meters: float = strawberry.field(
        default=5000.0, description="Straight-line distance, metres, at most 100 km."
    )


def checked_radius(radius: float, field: str = "radiusMeters") -> float:
    if not 0 < radius <= MAX_RADIUS_M:
        raise BadUserInput(
            f"radiusMeters must be within (0, {MAX_RADIUS_M}], got {radius!r}", field=field
        )
    return radius
