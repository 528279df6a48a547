"""Field validation shared by the loaders and the write API: one rule, one place.

Each function returns the normalised value or raises :class:`FieldError` naming the field and
the reason; callers add which record it was.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TypeVar

E = TypeVar("E", bound=StrEnum)

_ORGNR_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)
# ISO 639-1 codes, plus the few 639-3 codes with no 639-1 code that Norway's newcomers speak
# (prs: Dari; ckb: Central Kurdish).
_LANGUAGE = re.compile(r"^[a-z]{2}$")
LANGUAGES_639_3 = frozenset({"prs", "ckb", "kmr"})


class FieldError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


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
    code = str(value).strip().lower()
    if not (_LANGUAGE.fullmatch(code) or code in LANGUAGES_639_3):
        raise FieldError(field, f"{value!r} is not an ISO 639-1 language code")
    return code


def optional_int(value: object, field: str, *, minimum: int | None = None,
                 maximum: int | None = None) -> int | None:
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
