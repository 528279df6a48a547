"""The HTTP endpoints' query parameters (exports, OGC API, tiles), checked by the same code as
GraphQL's arguments (:mod:`api.checks`):

- the directory's filter as ``activities(filter:)`` and ``venues(filter:)``
  (:func:`api.checks.directory_filter`);
- the coverage export's question as ``coverage(…)`` (:func:`api.checks.coverage_area`,
  :func:`api.checks.coverage_target`, :func:`api.checks.checked_within`).

So both interfaces accept and refuse the same values. Only the parsing of text into typed values
is here; every error is a BAD_USER_INPUT whose ``field`` names the query parameter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import Enum
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request

from api import checks
from api.errors import BadUserInput
from geo import freshness
from geo.filters import DirectoryFilter
from geo.queries.coverage import AreaSelector, Target
from geo.queries.coverage import TargetKind as CoverageTargetKind
from geo.settings import Settings
from geo.vocab import (
    ActivityCategory,
    AreaKind,
    OwnerType,
    PriceModel,
    TargetGroup,
    Weekday,
)

#: Most values of one list parameter (repeated or comma-separated).
MAX_VALUES = 50

_WEEKDAY_ABBREVIATIONS = {member.name[:3]: member.name for member in Weekday}


# --- text to values ---------------------------------------------------------------------------


def _one(params: QueryParams, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise BadUserInput(f"give {name} once, not {len(values)} times", field=name)
    return values[0].strip() if values and values[0].strip() else None


def _many(params: QueryParams, name: str) -> list[str]:
    values = [part.strip() for value in params.getlist(name) for part in value.split(",")]
    values = list(dict.fromkeys(v for v in values if v))
    if len(values) > MAX_VALUES:
        raise BadUserInput(f"at most {MAX_VALUES} values of {name}", field=name)
    return values


def _member(enum: Any, value: str, name: str) -> Enum:
    try:
        return enum[value.upper()]  # type: ignore[no-any-return]
    except KeyError:
        allowed = ", ".join(member.name for member in enum)
        raise BadUserInput(f"{value!r} is not a {name}; one of {allowed}", field=name) from None


def _boolean(value: str, name: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise BadUserInput(f"{name} is true or false, got {value!r}", field=name)


def _parsed(value: str, name: str, parse: Callable[[str], Any], example: str) -> Any:
    try:
        return parse(value)
    except ValueError:
        raise BadUserInput(f"{name} must look like {example}, got {value!r}", field=name) from None


def _lists(params: QueryParams, spec: Mapping[str, tuple[str, Any]]) -> dict[str, Any]:
    """List parameters as the checks' arguments: parameter -> (argument, enum or None for
    text); enum values by member name."""
    values: dict[str, Any] = {}
    for name, (attribute, enum) in spec.items():
        given = _many(params, name)
        if given:
            values[attribute] = [_member(enum, v, name).name for v in given] if enum else given
    return values


def _booleans(params: QueryParams, spec: Mapping[str, str]) -> dict[str, bool]:
    values: dict[str, bool] = {}
    for name, attribute in spec.items():
        value = _one(params, name)
        if value is not None:
            values[attribute] = _boolean(value, name)
    return values


def _renamed(error: BadUserInput, fields: Mapping[str, str], prefix: str) -> BadUserInput:
    """``error`` with its GraphQL field path (``filter.languages``) as the query parameter."""
    found = error.details.get("field")
    if isinstance(found, str):
        path = found.removeprefix(prefix)
        error.details["field"] = fields.get(path) or fields.get(path.split(".")[0], path)
    return error


def reader_languages(params: QueryParams) -> tuple[str, ...]:
    """``lang``: the reader's languages in order, repeated or comma-separated
    (``?lang=prs,fa,en``); BAD_USER_INPUT naming ``lang`` for a tag that is no language."""
    tags = [tag for value in params.getlist("lang") for tag in value.split(",") if tag.strip()]
    return checks.languages(tags, "lang")


def check_known(params: QueryParams, known: Collection[str]) -> None:
    """An unknown parameter is refused: a typo must not silently export everything."""
    for name in params:
        if name not in known:
            raise BadUserInput(
                f"unknown parameter {name!r}; known: {', '.join(sorted(known))}", field=name
            )


# --- the directory's filter -------------------------------------------------------------------

#: List parameters: parameter -> (api.checks.directory_filter argument, enum or None).
_FILTER_LISTS: dict[str, tuple[str, Any]] = {
    "category": ("categories", ActivityCategory),
    "targetGroup": ("target_groups", TargetGroup),
    "language": ("languages_", None),
    "ownerType": ("owner_types", OwnerType),
    "priceModel": ("price_models", PriceModel),
}
_FILTER_BOOLEANS = {
    "freeOnly": "free_only",
    "leisureCardAccepted": "leisure_card",
    "stepFree": "step_free",
    "freshOnly": "fresh_only",
}
_FILTER_SINGLE = ("age", "text", "municipality", "weekday", "time", "from", "to", "on")
FILTER_PARAMETERS = frozenset({*_FILTER_LISTS, *_FILTER_BOOLEANS, *_FILTER_SINGLE})
#: Where the checks' field paths (GraphQL names) point among the query parameters.
_FILTER_FIELDS = {
    "categories": "category",
    "targetGroups": "targetGroup",
    "languages": "language",
    "ownerTypes": "ownerType",
    "priceModels": "priceModel",
    "openAt": "time",
    "during": "from",
    "during.to": "to",
}


def _weekday(value: str) -> str:
    return _member(Weekday, _WEEKDAY_ABBREVIATIONS.get(value.upper(), value), "weekday").name


def _window(params: QueryParams) -> dict[str, Any]:
    """``weekday`` + ``time`` is GraphQL's ``openAt``; ``weekday`` + ``from`` + ``to`` its
    ``during``; ``on`` (a date) picks the schedules valid then."""
    weekday, at = _one(params, "weekday"), _one(params, "time")
    starts, ends, on = _one(params, "from"), _one(params, "to"), _one(params, "on")
    if weekday is None:
        for name, value in (("time", at), ("from", starts), ("to", ends), ("on", on)):
            if value is not None:
                raise BadUserInput(f"{name} needs a weekday", field="weekday")
        return {}
    day = _weekday(weekday)
    on_date = None if on is None else _parsed(on, "on", date.fromisoformat, '"2025-03-04"')
    if at is not None and (starts is not None or ends is not None):
        raise BadUserInput(
            "give time (running then) or from and to (running some time in between), not both",
            field="time",
        )
    if at is not None:
        start = _parsed(at, "time", time.fromisoformat, '"18:00"')
        return {"open_at": checks.Moment(day, start, on=on_date)}
    if starts is None or ends is None:
        raise BadUserInput(
            "with a weekday, give time, or both from and to",
            field="time" if starts is None and ends is None else "to" if ends is None else "from",
        )
    return {
        "during": checks.Moment(
            day,
            _parsed(starts, "from", time.fromisoformat, '"17:00"'),
            _parsed(ends, "to", time.fromisoformat, '"21:00"'),
            on_date,
        )
    }


#: HVERDAG_STALE_AFTER_DAYS's default, where the app's state has no value (a bare test app).
_DEFAULT_STALE_AFTER_DAYS: int = Settings.model_fields["stale_after_days"].default


def stale_line(request: Request) -> datetime:
    """This request's staleness line (geo.freshness): now, less the app's
    HVERDAG_STALE_AFTER_DAYS."""
    days = request.scope.get("state", {}).get("stale_after_days", _DEFAULT_STALE_AFTER_DAYS)
    return freshness.stale_before(datetime.now(UTC), days)


def directory_filter(params: QueryParams, stale_before: datetime) -> DirectoryFilter:
    """The filter, checked by :func:`api.checks.directory_filter` as GraphQL's ``filter``;
    ``stale_before``: the staleness line of this request (:func:`stale_line`)."""
    values: dict[str, Any] = {
        "stale_before": stale_before,
        **_lists(params, _FILTER_LISTS),
        **_booleans(params, _FILTER_BOOLEANS),
    }
    if (age := _one(params, "age")) is not None:
        values["age"] = _parsed(age, "age", int, "12")
    for name in ("text", "municipality"):
        if (value := _one(params, name)) is not None:
            values[name] = value
    values.update(_window(params))
    try:
        return checks.directory_filter(**values)
    except BadUserInput as error:
        raise _renamed(error, _FILTER_FIELDS, "filter.") from None


# --- the coverage question --------------------------------------------------------------------

_AREAS = ("areaInitiative", "municipality", "bbox")
_TARGET_LISTS: dict[str, tuple[str, Any]] = {
    "category": ("categories", ActivityCategory),
    "targetGroup": ("target_groups", TargetGroup),
    "language": ("languages_", None),
    "ownerType": ("owner_types", OwnerType),
}
_TARGET_BOOLEANS = {"freeOnly": "free_only", "eveningOrWeekend": "evening_or_weekend"}
COVERAGE_PARAMETERS = frozenset(
    {*_AREAS, "withinMeters", "unitKind", "target", *_TARGET_LISTS, *_TARGET_BOOLEANS}
)
_COVERAGE_FIELDS = {
    "area.areaInitiative": "areaInitiative",
    "area.municipality": "municipality",
    "area.bbox": "bbox",
    "target.targetGroups": "targetGroup",
    "target.languages": "language",
    "target.ownerTypes": "ownerType",
    "target.eveningOrWeekend": "eveningOrWeekend",
    # decode_global_id's field, for an initiative key that is neither a slug
    # nor a global id
    "id": "areaInitiative",
}


@dataclass(frozen=True)
class CoverageQuestion:
    area: AreaSelector
    target: Target
    within_m: float
    unit_kind: str
    #: The parameter that named the area (for a 404 when it is not loaded).
    area_parameter: str


def _bbox(value: str) -> list[float]:
    parts = value.split(",")
    numbers = [_parsed(part.strip(), "bbox", float, '"10.6,59.8,10.9,60.0"') for part in parts]
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise BadUserInput(
            "bbox is four numbers: minLon,minLat,maxLon,maxLat (WGS84)", field="bbox"
        )
    return numbers


def coverage_question(params: QueryParams) -> CoverageQuestion:
    """Area, target, reach and unit kind, checked by GraphQL's ``coverage`` code."""
    areas = {name: value for name in _AREAS if (value := _one(params, name)) is not None}
    if len(areas) != 1:
        raise BadUserInput("give exactly one of areaInitiative, municipality, bbox", field="area")
    ((area_name, area_value),) = areas.items()
    within, unit_kind = _one(params, "withinMeters"), _one(params, "unitKind")
    if within is None:
        raise BadUserInput("withinMeters is required: the reach, in metres", field="withinMeters")
    if unit_kind is None:
        raise BadUserInput(
            f"unitKind is required, one of {', '.join(m.name for m in AreaKind)}",
            field="unitKind",
        )
    kind = _one(params, "target")
    area_argument = {"areaInitiative": "area_initiative"}.get(area_name, area_name)
    area_value_parsed: Any = _bbox(area_value) if area_name == "bbox" else area_value
    target_kind = None if kind is None else _member(CoverageTargetKind, kind, "target").name
    target_values = {**_lists(params, _TARGET_LISTS), **_booleans(params, _TARGET_BOOLEANS)}
    try:
        return CoverageQuestion(
            area=checks.coverage_area(**{area_argument: area_value_parsed}),
            target=checks.coverage_target(kind=target_kind, **target_values),
            within_m=checks.checked_within(_parsed(within, "withinMeters", float, "500")),
            unit_kind=_member(AreaKind, unit_kind, "unitKind").name,
            area_parameter=area_name,
        )
    except BadUserInput as error:
        raise _renamed(error, _COVERAGE_FIELDS, "") from None


# --- CSV --------------------------------------------------------------------------------------

_CSV_CHOICES = {
    "sep": ("separator", {"comma": ",", "semicolon": ";"}),
    "decimal": ("decimal", {"point": ".", "comma": ","}),
}
CSV_PARAMETERS = frozenset(_CSV_CHOICES)


def csv_options(params: QueryParams, fmt: str) -> dict[str, str]:
    """``sep`` and ``decimal`` as the CSV writer's options (CSV only)."""
    options: dict[str, str] = {}
    for name, (option, choices) in _CSV_CHOICES.items():
        value = _one(params, name)
        if value is None:
            continue
        if fmt != "csv":
            raise BadUserInput(f"{name} applies to CSV only", field=name)
        if value.lower() not in choices:
            raise BadUserInput(f"{name} is one of {', '.join(choices)}; got {value!r}", field=name)
        options[option] = choices[value.lower()]
    if options.get("decimal") == "," and options.get("separator", ",") == ",":
        raise BadUserInput("decimal=comma needs sep=semicolon", field="decimal")
    return options


# --- ids and places (calendars, feeds, public pages) ---------------------------------------------

NEAR_PARAMETERS = frozenset({"near", "withinMeters"})


def node_id(value: str, node_type: checks.NodeType, field: str = "id") -> int:
    """A row id from a path: the number itself, or the API's global id of ``node_type``."""
    key = value
    if not value.isdigit():
        type_name, key = checks.decode_global_id(value)
        if type_name != node_type:
            raise BadUserInput(f"{value!r} is not a {node_type} id", field=field)
    if not key.isdigit() or len(key) > 18:
        raise BadUserInput(f"{value!r} is not a {node_type} id", field=field)
    return int(key)


def near(params: QueryParams) -> tuple[float, float, float] | None:
    """``near=lat,lon`` (WGS84) and ``withinMeters``: the point in storage coordinates and the
    reach; None when neither is given."""
    at, within = _one(params, "near"), _one(params, "withinMeters")
    if at is None:
        if within is not None:
            raise BadUserInput("withinMeters needs near=lat,lon", field="near")
        return None
    parts = at.split(",")
    if len(parts) != 2:
        raise BadUserInput("near is lat,lon in WGS84, e.g. 59.915,10.77", field="near")
    lat, lon = (_parsed(part.strip(), "near", float, '"59.915,10.77"') for part in parts)
    if within is None:
        raise BadUserInput("near needs withinMeters: the reach, in metres", field="withinMeters")
    meters = checks.checked_radius(
        _parsed(within, "withinMeters", float, "3000"), field="withinMeters"
    )
    x, y = checks.point(lat, lon, field="near")
    return x, y, meters
