"""The directory's filter inputs, validated at the edge and turned into geo's DirectoryFilter."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import strawberry

from api import checks
from api.graphql.inputs import LatLonInput
from api.graphql.types.vocab import (
    ActivityCategory,
    OwnerType,
    PriceModel,
    TargetGroup,
    Weekday,
)
from geo.filters import DirectoryFilter


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
        default=None,
        description=(
            'Any of these languages, BCP 47 tags (no, NO, nb-NO all mean nb), e.g. ["ar", "so"].'
        ),
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
    fresh_only: bool | None = strawberry.field(
        default=None,
        description="Leave out stale entries (not verified for HVERDAG_STALE_AFTER_DAYS days).",
    )


def _names(values: list[Any] | None) -> tuple[str, ...]:
    return tuple(v.name for v in values or ())


def to_geo_filter(filt: DirectoryFilterInput | None, stale_before: datetime) -> DirectoryFilter:
    """Check every value (:func:`api.checks.directory_filter`); ``stale_before`` is the
    request's staleness line (``Context.stale_before``)."""
    if filt is None:
        return DirectoryFilter(stale_before=stale_before)
    open_at = filt.open_at
    during = filt.during
    return checks.directory_filter(
        categories=_names(filt.categories),
        target_groups=_names(filt.target_groups),
        age=filt.age,
        languages_=filt.languages,
        free_only=bool(filt.free_only),
        leisure_card=bool(filt.leisure_card_accepted),
        open_at=None
        if open_at is None
        else checks.Moment(open_at.weekday.name, open_at.time, on=open_at.on),
        during=None
        if during is None
        else checks.Moment(during.weekday.name, during.from_, during.to, during.on),
        owner_types=_names(filt.owner_types),
        price_models=_names(filt.price_models),
        step_free=filt.step_free,
        text=filt.text,
        municipality=filt.municipality,
        fresh_only=bool(filt.fresh_only),
        stale_before=stale_before,
    )


@strawberry.input(description="A point and how far from it to look.")
class NearInput:
    at: LatLonInput
    radius_meters: float = strawberry.field(
        default=5000.0, description="Straight-line distance, metres, at most 100 km."
    )
