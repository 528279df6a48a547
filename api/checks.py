"""The checks every interface applies to what a client sends, free of any framework: GraphQL's
inputs (:mod:`api.graphql`) and the HTTP endpoints' query parameters (:mod:`api.http.params`)
both call these, so both accept and refuse the same values.

Each takes plain values (vocabulary members by name) and answers the checked value or geo's
structure, or raises BAD_USER_INPUT naming the field by its GraphQL path (``filter.languages``);
the HTTP side renames the field to its query parameter.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from api import cpu
from api.errors import BadUserInput
from geo import validation
from geo.crs import CoordinateError, to_storage
from geo.filters import MAX_TEXT_LENGTH, DirectoryFilter, TimeWindow
from geo.given_areas import AreaInputError, area_from_bbox, area_from_geojson
from geo.queries.coverage import (
    MAX_WITHIN_M,
    AreaSelector,
    InitiativeArea,
    MunicipalityArea,
    Target,
    TargetKind,
)
from geo.queries.municipalities import MAX_SIMPLIFY_M
from geo.queries.nearby import MAX_RADIUS_M
from geo.vocab import Weekday

OSLO = ZoneInfo("Europe/Oslo")
MUNICIPALITY_NUMBER = re.compile(r"[0-9]{4}")
COUNTY_NUMBER = re.compile(r"[0-9]{2}")
#: An area initiative's slug, e.g. "groruddalen".
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")
MAX_NAME_FILTER = 100
MAX_AGE = 120
MAX_LANGUAGES = 20


# --- global ids ---------------------------------------------------------------------------------


class NodeType(StrEnum):
    """The type names in global ids (base64 of ``"Type:key"``)."""

    ACTIVITY = "Activity"
    VENUE = "Venue"
    MUNICIPALITY = "Municipality"
    COUNTY = "County"
    ORGANISATION = "Organisation"
    COUNCIL = "ImmigrantCouncil"
    AREA_INITIATIVE = "AreaInitiative"
    ACCESS_REPORT = "VenueAccessReport"


def b64encode_text(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def b64decode_text(value: str) -> str | None:
    """The text base64 ``value`` encodes; None when it is not base64 of UTF-8."""
    try:
        return base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return None


def encode_global_id(type_name: str, key: str) -> str:
    return b64encode_text(f"{type_name}:{key}")


def decode_global_id(global_id: str) -> tuple[str, str]:
    """``(type name, key)``; BAD_USER_INPUT when the id is not base64 of ``Type:key``."""
    decoded = b64decode_text(global_id)
    if decoded is None or ":" not in decoded:
        raise BadUserInput(f"{global_id!r} is not a global id of this API", field="id")
    type_name, key = decoded.split(":", 1)
    return type_name, key


# --- single values ------------------------------------------------------------------------------


def point(lat: float, lon: float, field: str = "at") -> tuple[float, float]:
    """The point in EPSG:25833 (x, y); BAD_USER_INPUT when out of range or not finite."""
    try:
        return to_storage(lat, lon)  # checks the range, and that it projects
    except CoordinateError as exc:
        name = str(exc).split(" ", 1)[0]
        raise BadUserInput(str(exc), field=f"{field}.{name}") from exc


def municipality_number(value: str, field: str = "number") -> str:
    if not MUNICIPALITY_NUMBER.fullmatch(value):
        raise BadUserInput(
            f'A municipality number has four digits, e.g. "0301"; got {value!r}', field=field
        )
    return value


def county_number(value: str, field: str = "county") -> str:
    if not COUNTY_NUMBER.fullmatch(value):
        raise BadUserInput(f'A county number has two digits, e.g. "03"; got {value!r}', field=field)
    return value


def storable_text(value: str, field: str) -> str:
    """Text PostgreSQL can take: no NUL character and no lone surrogate (JSON's "\\ud800"),
    which would otherwise fail in the driver as an internal error."""
    if "\x00" in value:
        raise BadUserInput("text must not contain the NUL character (\\u0000)", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadUserInput(
            "text must be valid Unicode (a lone surrogate is not)", field=field
        ) from None
    return value


def name_fragment(value: str, field: str = "filter.nameContains") -> str:
    if len(value) > MAX_NAME_FILTER:
        raise BadUserInput(f"nameContains is at most {MAX_NAME_FILTER} characters", field=field)
    return storable_text(value, field)


def share(value: float | None, field: str) -> float | None:
    """A share, 0-1 (both included); None passes."""
    if value is None:
        return None
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise BadUserInput(f"a share is within [0, 1], got {value!r}", field=field)
    return value


def simplify_meters(value: float | None, field: str = "simplifyMeters") -> float | None:
    if value is None:
        return None
    if not math.isfinite(value) or not 0 <= value <= MAX_SIMPLIFY_M:
        raise BadUserInput(
            f"simplifyMeters must be within [0, {MAX_SIMPLIFY_M:g}] metres, got {value!r}",
            field=field,
        )
    return value


def checked_radius(radius: float, field: str = "radiusMeters") -> float:
    if not 0 < radius <= MAX_RADIUS_M:
        raise BadUserInput(
            f"{field} must be within (0, {MAX_RADIUS_M}], got {radius!r}", field=field
        )
    return radius


def checked_within(value: float) -> float:
    if not math.isfinite(value) or not 0 < value <= MAX_WITHIN_M:
        raise BadUserInput(
            f"withinMeters must be within (0, {MAX_WITHIN_M:g}] metres, got {value!r}",
            field="withinMeters",
        )
    return value


def languages(values: Sequence[str] | None, field: str) -> tuple[str, ...]:
    """BCP 47 tags normalised (``no``, ``NO`` and ``nb-NO`` are ``nb``), duplicates dropped;
    an unknown or malformed tag is BAD_USER_INPUT naming ``field``."""
    if not values:
        return ()
    if len(values) > MAX_LANGUAGES:
        raise BadUserInput(f"at most {MAX_LANGUAGES} languages", field=field)
    try:
        return tuple(dict.fromkeys(validation.language(v, field) for v in values))
    except validation.FieldError as error:
        raise BadUserInput(error.reason, field=error.field) from None


def reader_languages(
    lang: Sequence[str] | None, accept_language: str | None, field: str = "lang"
) -> tuple[str, ...]:
    """The reader's languages in order: ``lang`` when given (checked: a bad tag is
    BAD_USER_INPUT), else the ``Accept-Language`` header's (tolerant: a browser's header is
    nobody's typo, so what is not a language in it is skipped)."""
    if lang is not None:
        return languages(lang, field)
    return accepted_languages(accept_language)


MAX_ACCEPT_LANGUAGE = 1000  # characters of the header read; real ones are under 100


def accepted_languages(header: str | None) -> tuple[str, ...]:
    """``Accept-Language``'s languages by quality (RFC 9110 §12.5.4), then by order; ``*``,
    ``q=0`` and what is not a language tag are left out."""
    if not header:
        return ()
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header[:MAX_ACCEPT_LANGUAGE].split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag.strip() in ("", "*") or not 0 < quality <= 1:
            continue
        try:
            ranked.append((-quality, position, validation.language(tag, "Accept-Language")))
        except validation.FieldError:
            continue
    ranked.sort()
    return tuple(dict.fromkeys(tag for _, _, tag in ranked))[:MAX_LANGUAGES]


# --- the directory's filter ---------------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """A weekday (by name) and a time of day; ``to`` set: a span. Europe/Oslo local time."""

    weekday: str
    start: time
    end: time | None = None
    on: date | None = None


def _today() -> date:
    return datetime.now(OSLO).date()


def _window(open_at: Moment | None, during: Moment | None) -> TimeWindow | None:
    if open_at is not None and during is not None:
        raise BadUserInput("give openAt or during, not both", field="filter.during")
    if open_at is not None:
        return TimeWindow(
            Weekday[open_at.weekday].iso, open_at.start, open_at.start, open_at.on or _today()
        )
    if during is not None:
        assert during.end is not None  # a span always has its end
        if during.end <= during.start:
            raise BadUserInput("during.to must be after during.from", field="filter.during.to")
        return TimeWindow(
            Weekday[during.weekday].iso, during.start, during.end, during.on or _today()
        )
    return None


def _text(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value) > MAX_TEXT_LENGTH:
        raise BadUserInput(
            f"text is at most {MAX_TEXT_LENGTH} characters, got {len(value)}",
            field="filter.text",
        )
    return storable_text(value.strip(), "filter.text")


def place_text(value: str, field: str = "text") -> str | None:
    """A place search's text, trimmed (None when blank); as long as a text filter's at most."""
    if len(value) > MAX_TEXT_LENGTH:
        raise BadUserInput(
            f"text is at most {MAX_TEXT_LENGTH} characters, got {len(value)}", field=field
        )
    return storable_text(value.strip(), field) or None


def directory_filter(
    *,
    categories: Sequence[str] = (),
    target_groups: Sequence[str] = (),
    age: int | None = None,
    languages_: Sequence[str] | None = None,
    free_only: bool = False,
    leisure_card: bool = False,
    open_at: Moment | None = None,
    during: Moment | None = None,
    owner_types: Sequence[str] = (),
    price_models: Sequence[str] = (),
    step_free: bool | None = None,
    text: str | None = None,
    municipality: str | None = None,
    fresh_only: bool = False,
    stale_before: datetime | None = None,
) -> DirectoryFilter:
    """Check every value; BAD_USER_INPUT naming the field when one is out of range.
    ``stale_before``: the line entries are judged stale by (geo.freshness)."""
    if age is not None and not 0 <= age <= MAX_AGE:
        raise BadUserInput(f"age must be within [0, {MAX_AGE}], got {age}", field="filter.age")
    return DirectoryFilter(
        categories=tuple(categories),
        target_groups=tuple(target_groups),
        age=age,
        languages=languages(languages_, "filter.languages"),
        free_only=free_only,
        leisure_card=leisure_card,
        window=_window(open_at, during),
        owner_types=tuple(owner_types),
        price_models=tuple(price_models),
        step_free=step_free,
        text=_text(text),
        municipality=None
        if municipality is None
        else municipality_number(municipality, field="filter.municipality"),
        fresh_only=fresh_only,
        stale_before=stale_before,
    )


# --- the coverage question ----------------------------------------------------------------------

_ACTIVITY_ONLY = ("targetGroups", "languages")
_VENUE_ONLY = ("ownerTypes", "eveningOrWeekend")


def _initiative(key: str) -> InitiativeArea:
    if SLUG.fullmatch(key):
        return InitiativeArea(slug=key)
    type_name, db_key = decode_global_id(key)
    if type_name != NodeType.AREA_INITIATIVE or not db_key.isdigit():
        raise BadUserInput(
            f"{key!r} is not an area initiative's slug or global id",
            field="area.areaInitiative",
        )
    return InitiativeArea(id=int(db_key))


def coverage_area(
    *,
    area_initiative: str | None = None,
    municipality: str | None = None,
    polygon: Any = None,
    bbox: Sequence[float] | None = None,
) -> AreaSelector:
    """The one selector given, checked; BAD_USER_INPUT naming the field otherwise."""
    given = {
        name: value
        for name, value in (
            ("areaInitiative", area_initiative),
            ("municipality", municipality),
            ("polygon", polygon),
            ("bbox", bbox),
        )
        if value is not None
    }
    if len(given) != 1:
        raise BadUserInput(
            "give exactly one of areaInitiative, municipality, polygon, bbox", field="area"
        )
    ((name, value),) = given.items()
    try:
        if name == "areaInitiative":
            return _initiative(str(value))
        if name == "municipality":
            return MunicipalityArea(municipality_number(str(value), field="area.municipality"))
        if name == "polygon":
            return area_from_geojson(value)
        return area_from_bbox(value)
    except AreaInputError as error:
        raise BadUserInput(error.reason, field=f"area.{name}") from None


async def coverage_area_off_loop(
    *,
    area_initiative: str | None = None,
    municipality: str | None = None,
    polygon: Any = None,
    bbox: Sequence[float] | None = None,
) -> AreaSelector:
    """:func:`coverage_area`, with a polygon's or a box's check in a worker thread (api.cpu):
    its repair, clip, densification and transform are CPU work that grows with the input (up to
    geo.given_areas's limits). A slug or a number is checked here, on the loop."""
    check = partial(
        coverage_area,
        area_initiative=area_initiative,
        municipality=municipality,
        polygon=polygon,
        bbox=bbox,
    )
    if polygon is None and bbox is None:
        return check()
    return await cpu.run(check)


def coverage_target(
    *,
    kind: str | None = None,
    categories: Sequence[str] = (),
    target_groups: Sequence[str] = (),
    languages_: Sequence[str] | None = None,
    free_only: bool = False,
    owner_types: Sequence[str] = (),
    evening_or_weekend: bool = False,
) -> Target:
    """Activities or venues and their filter; BAD_USER_INPUT when fields of both are mixed."""
    set_fields = {
        "targetGroups": bool(target_groups),
        "languages": bool(languages_),
        "ownerTypes": bool(owner_types),
        "eveningOrWeekend": evening_or_weekend,
    }
    activity_only = [f for f in _ACTIVITY_ONLY if set_fields[f]]
    venue_only = [f for f in _VENUE_ONLY if set_fields[f]]
    if kind is not None:
        target_kind = TargetKind(kind)
    elif venue_only and activity_only:
        raise BadUserInput(
            f"{', '.join(activity_only)} apply to activities and "
            f"{', '.join(venue_only)} to venues: ask about one kind",
            field="target",
        )
    else:
        target_kind = TargetKind.VENUE if venue_only else TargetKind.ACTIVITY
    wrong = venue_only if target_kind is TargetKind.ACTIVITY else activity_only
    if wrong:
        raise BadUserInput(
            f"{', '.join(wrong)} do not apply to {target_kind.value.lower()} targets",
            field=f"target.{wrong[0]}",
        )
    return Target(
        target_kind,
        DirectoryFilter(
            categories=tuple(categories),
            target_groups=tuple(target_groups),
            languages=languages(languages_, "target.languages"),
            free_only=free_only,
            owner_types=tuple(owner_types),
            evening_or_weekend=evening_or_weekend,
        ),
    )
