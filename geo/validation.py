"""Field validation shared by the loaders and the write API: one rule, one place.

Each function returns the normalised value or raises :class:`FieldError` naming the field and
the reason; callers add which record it was.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from geo.languages import LanguageTagError, normalised_tag

E = TypeVar("E", bound=StrEnum)

_ORGNR_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


class FieldError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")

    @property
    def errors(self) -> list[FieldError]:
        """Each wrong field (one here; :class:`FieldErrors` holds several)."""
        return [self]


class FieldErrors(FieldError):  # noqa: N818 - several FieldErrors
    """Several fields of one record are wrong. It reads as its first error where one is
    enough (a single write's message), and lists all in ``errors`` for a file's report."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self._errors = [each for error in errors for each in error.errors]
        super().__init__(self._errors[0].field, self._errors[0].reason)

    @property
    def errors(self) -> list[FieldError]:
        return list(self._errors)


#: Most problems a file's refusal lists (the loaders and ``importVenues``); the rest are counted.
MAX_REPORTED = 100


def each_field(checks: Mapping[str, Callable[[], object]]) -> dict[str, Any]:
    """``{name: check()}``, every check run even after one fails, so a record's report names
    each wrong field: :class:`FieldErrors` (or the one :class:`FieldError`) when any fails."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, check in checks.items():
        try:
            values[name] = check()
        except FieldError as error:
            errors.extend(error.errors)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise FieldErrors(errors)
    return values


def organisation_number(value: object, field: str = "organisation_number") -> str:
    """Nine digits whose last is the mod-11 check digit (Brønnøysund's rule); spaces allowed."""
    digits = re.sub(r"\s", "", str(value))
    if not re.fullmatch(r"[0-9]{9}", digits):
        raise FieldError(field, f"must be nine digits, got {value!r}")
    remainder = sum(int(d) * w for d, w in zip(digits, _ORGNR_WEIGHTS, strict=False)) % 11
    check = 0 if remainder == 0 else 11 - remainder
    if check == 10 or check != int(digits[8]):
        raise FieldError(field, f"{digits} fails the mod-11 check")
    return digits


def municipality_number(value: object, field: str = "municipality_number") -> str:
    """A municipality number as four digits: the integer 301 and the string "301" are "0301"."""
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if not re.fullmatch(r"[0-9]{1,4}", text) or int(text) == 0:
        raise FieldError(field, f"is not a municipality number: {value!r}")
    return text.zfill(4)


def county_number(value: object, field: str = "county_number") -> str:
    text = str(value).strip()
    if not re.fullmatch(r"[0-9]{1,2}", text) or int(text) == 0:
        raise FieldError(field, f"is not a county number: {value!r}")
    return text.zfill(2)


def vocabulary(enum: type[E], value: object, field: str) -> E:
    text = str(value).strip().upper()
    try:
        return enum(text)
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise FieldError(field, f"{value!r} is not one of {allowed}") from None


def language(value: object, field: str = "languages") -> str:
    """A BCP 47 tag, normalised (geo/languages.py: ``no``, ``NO``, ``nb-NO`` are ``nb``)."""
    try:
        return normalised_tag(str(value))
    except LanguageTagError as error:
        raise FieldError(field, str(error)) from None


def optional_int(
    value: object, field: str, *, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise FieldError(field, f"must be a whole number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise FieldError(field, f"must be at least {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise FieldError(field, f"must be at most {maximum}, got {number}")
    return number


def required_text(value: object, field: str, *, max_length: int = 500) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        raise FieldError(field, "is required")
    if len(text) > max_length:
        raise FieldError(field, f"is longer than {max_length} characters")
    return text


def optional_text(value: object, field: str, *, max_length: int = 5000) -> str | None:
    text = "" if value is None else str(value).strip()
    if len(text) > max_length:
        raise FieldError(field, f"is longer than {max_length} characters")
    return text or None


# --- Directory records (venues, activities): shared by the loaders and the write API -------------

MAX_NAME = 500
MAX_DESCRIPTION = 5000
MAX_SHORT = 500
MAX_LIST_ITEMS = 50
LIST_SEPARATOR = "|"

_TRUE = frozenset({"ja", "j", "yes", "y", "true", "t", "1", "sann"})
_FALSE = frozenset({"nei", "n", "no", "false", "f", "0", "usann"})
_WEEKDAYS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        (
            ("mon", "monday", "man", "mandag"),
            ("tue", "tuesday", "tir", "tirsdag"),
            ("wed", "wednesday", "ons", "onsdag"),
            ("thu", "thursday", "tor", "torsdag"),
            ("fri", "friday", "fre", "fredag"),
            ("sat", "saturday", "lør", "lor", "lørdag", "lordag"),
            ("sun", "sunday", "søn", "son", "søndag", "sondag"),
        ),
        start=1,
    )
    for name in names
}
WEEKDAY_NAMES = "MON TUE WED THU FRI SAT SUN (or man tir ons tor fre lør søn)"
_TIME = re.compile(r"^([0-9]{1,2})[:.]([0-9]{2})$")
_RANGE_DASH = re.compile(r"\s*[-–—]\s*")
_URL = re.compile(r"^https?://[^\s/?#]+\.[^\s/?#]+(?:[/?#]\S*)?$", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MAX_COST = Decimal("99999999.99")


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def items(value: object, field: str, *, max_length: int = 100) -> list[str]:
    """A ``|``-separated list (or a list) as stripped, non-empty items without repeats."""
    raw = value if isinstance(value, list | tuple) else _text(value).split(LIST_SEPARATOR)
    result: list[str] = []
    for item in (_text(i) for i in raw):
        if len(item) > max_length:
            raise FieldError(field, f"item {item[:30]!r}… is longer than {max_length} characters")
        if item and item not in result:
            result.append(item)
    if len(result) > MAX_LIST_ITEMS:
        raise FieldError(field, f"has more than {MAX_LIST_ITEMS} items")
    return result


def vocabulary_list(enum: type[E], value: object, field: str) -> list[str]:
    """A ``|``-separated list of vocabulary values, upper-cased and checked."""
    return list(dict.fromkeys(vocabulary(enum, item, field).value for item in items(value, field)))


def tokens(value: object, field: str) -> list[str]:
    """A ``|``-separated list of free words as upper-case tokens ("step free" -> STEP_FREE)."""
    return list(dict.fromkeys(re.sub(r"[\s-]+", "_", item).upper() for item in items(value, field)))


def languages(value: object, field: str = "languages") -> list[str]:
    return list(dict.fromkeys(language(item, field) for item in items(value, field)))


def boolean(value: object, field: str) -> bool | None:
    """ja/nei, yes/no, true/false, 1/0 (any case); empty is None (unknown)."""
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise FieldError(field, f"{value!r} is not one of ja/nei, yes/no, true/false, 1/0")


def weekday(value: object, field: str = "weekday") -> int:
    """A weekday name as its ISO number (1 = Monday); English or Norwegian, short or long."""
    number = _WEEKDAYS.get(_text(value).lower().rstrip("."))
    if number is None:
        raise FieldError(field, f"{value!r} is not a weekday; use {WEEKDAY_NAMES}")
    return number


def clock_time(value: object, field: str) -> time:
    """HH:MM (or HH.MM), 00:00-23:59."""
    found = _TIME.fullmatch(_text(value))
    if not found:
        raise FieldError(field, f"{value!r} is not a time of day as HH:MM")
    hour, minute = int(found.group(1)), int(found.group(2))
    if hour > 23 or minute > 59:
        raise FieldError(field, f"{value!r} is out of range (00:00-23:59)")
    return time(hour, minute)


def time_range(value: object, field: str) -> tuple[time, time]:
    """ "17:00-21:00": a start and a later end on the same day."""
    parts = _RANGE_DASH.split(_text(value))
    if len(parts) != 2:
        raise FieldError(field, f"{value!r} is not a time range like 17:00-21:00")
    starts, ends = clock_time(parts[0], field), clock_time(parts[1], field)
    if ends <= starts:
        raise FieldError(field, f"{value!r} ends before it starts")
    return starts, ends


def optional_date(value: object, field: str) -> date | None:
    """YYYY-MM-DD; empty is None."""
    text = _text(value)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FieldError(field, f"{value!r} is not a date as YYYY-MM-DD") from None


def date_range(value: object, field: str) -> tuple[date | None, date | None]:
    """ "2026-08-15..2026-12-20", open at either end ("2026-08-15..", "..2026-12-20")."""
    text = _text(value)
    if ".." not in text:
        raise FieldError(field, f"{value!r} is not a date range like 2026-08-15..2026-12-20")
    first, last = text.split("..", 1)
    valid_from, valid_to = optional_date(first, field), optional_date(last, field)
    if valid_from and valid_to and valid_to < valid_from:
        raise FieldError(field, f"{value!r} ends before it starts")
    return valid_from, valid_to


def weekly_window(value: object, field: str) -> tuple[int, time, time]:
    """ "MON 17:00-21:00": ISO weekday, start, end (Europe/Oslo local time)."""
    parts = _text(value).split(None, 1)
    if len(parts) != 2:
        raise FieldError(field, f"{value!r} is not a weekly window like MON 17:00-21:00")
    return (weekday(parts[0], field), *time_range(parts[1], field))


def session(value: object, field: str) -> tuple[int, time, time, date | None, date | None]:
    """ "TUE 18:00-20:00 2026-08-15..2026-12-20": a weekly session, optionally valid in a range."""
    parts = _text(value).split()
    if len(parts) not in (2, 3):
        raise FieldError(
            field, f"{value!r} is not a session like TUE 18:00-20:00 [2026-08-15..2026-12-20]"
        )
    day, starts, ends = weekly_window(" ".join(parts[:2]), field)
    valid_from, valid_to = date_range(parts[2], field) if len(parts) == 3 else (None, None)
    return day, starts, ends, valid_from, valid_to


def url(value: object, field: str) -> str | None:
    """An http(s) URL with a public host name (one with a dot: not ``localhost``, since
    readers elsewhere follow it); empty is None."""
    text = _text(value)
    if not text:
        return None
    if len(text) > MAX_SHORT or not _URL.fullmatch(text):
        raise FieldError(
            field,
            f"{text[:80]!r} is not a public http(s) URL: it needs a host name with a dot, "
            "as in https://example.org/page",
        )
    return text


def email(value: object, field: str) -> str | None:
    text = _text(value)
    if not text:
        return None
    if len(text) > 254 or not _EMAIL.fullmatch(text):
        raise FieldError(field, f"{text[:80]!r} is not an e-mail address")
    return text


def postal_code(value: object, field: str = "postal_code") -> str | None:
    """A Norwegian postal code, four digits (301 -> 0301); empty is None."""
    text = _text(value)
    if not text:
        return None
    if not re.fullmatch(r"[0-9]{1,4}", text):
        raise FieldError(field, f"{value!r} is not a four-digit postal code")
    return text.zfill(4)


def age_range(minimum: object, maximum: object) -> tuple[int | None, int | None]:
    low = optional_int(minimum, "min_age", minimum=0, maximum=120)
    high = optional_int(maximum, "max_age", minimum=0, maximum=120)
    if low is not None and high is not None and high < low:
        raise FieldError("max_age", f"{high} is below min_age {low}")
    return low, high


def cost(value: object, field: str = "cost_nok") -> Decimal | None:
    """An amount in NOK, at least 0, at most two decimals; "150", "150.50" and "150,50"."""
    text = _text(value).replace(" ", "").replace(",", ".")
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise FieldError(field, f"{value!r} is not an amount") from None
    if not amount.is_finite() or amount < 0 or amount > _MAX_COST:
        raise FieldError(field, f"{value!r} must be between 0 and {_MAX_COST}")
    if amount != amount.quantize(Decimal("0.01")):
        raise FieldError(field, f"{value!r} has more than two decimals")
    return amount.quantize(Decimal("0.01"))


def free_and_cost(free: bool | None, amount: Decimal | None) -> tuple[bool, Decimal | None]:
    """Free unless a cost is given; ``free=false`` needs the cost, ``free=true`` refuses one."""
    if free is None:
        free = amount is None or amount == 0
    if not free and amount is None:
        raise FieldError("cost_nok", "is required when free is false")
    if free and amount:
        raise FieldError("cost_nok", f"is {amount} but free is true")
    return free, amount


def lat_lon(lat: object, lon: object) -> tuple[float, float] | None:
    """WGS84 latitude and longitude (a decimal comma allowed); both empty is None."""
    texts = {"lat": _text(lat), "lon": _text(lon)}
    if not any(texts.values()):
        return None
    numbers: dict[str, float] = {}
    for name, text in texts.items():
        if not text:
            raise FieldError(name, "is required with " + ("lon" if name == "lat" else "lat"))
        try:
            numbers[name] = float(text.replace(",", "."))
        except ValueError:
            raise FieldError(name, f"{text!r} is not a number") from None
    for name, limit in (("lat", 90.0), ("lon", 180.0)):
        if not math.isfinite(numbers[name]) or abs(numbers[name]) > limit:
            raise FieldError(name, f"{texts[name]} is outside [-{limit:g}, {limit:g}]")
    return numbers["lat"], numbers["lon"]
