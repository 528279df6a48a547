"""Municipality and county numbers across vintages: normalising them, and what changed when.

Numbers changed in the 2020 reform (e.g. Østfold 01 + Akershus 02 + Buskerud 06 became Viken
30) and again on 1 January 2024 (Viken 30 became 31/32/33, Vestfold og Telemark 38 became 39/40,
Troms og Finnmark 54 became 55/56). A figure published under one vintage's number is matched to
a municipality of another by name within the related counties; the few municipalities that were
split off rather than renumbered are listed in ``SPLIT_FROM``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from numbers import Integral, Real

# County reorganisations, as (earlier numbers, later numbers). Counties in one connected group
# share their municipalities across vintages, so a name is looked up in the whole group.
COUNTY_CHANGES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("01", "02", "06"), ("30",)),  # 2020: Viken
    (("04", "05"), ("34",)),  # 2020: Innlandet
    (("07", "08"), ("38",)),  # 2020: Vestfold og Telemark
    (("09", "10"), ("42",)),  # 2020: Agder
    (("12", "14"), ("46",)),  # 2020: Vestland
    (("16", "17"), ("50",)),  # 2018: Trøndelag
    (("19", "20"), ("54",)),  # 2020: Troms og Finnmark
    (("30",), ("31", "32", "33")),  # 2024: Østfold, Akershus, Buskerud
    (("38",), ("39", "40")),  # 2024: Vestfold, Telemark
    (("54",), ("55", "56")),  # 2024: Troms, Finnmark
)

# Municipalities split off another one: new number -> the number of the municipality whose
# area it was part of before. (SSB, Klass 131 changes 2024: Haram left Ålesund.)
SPLIT_FROM: dict[str, str] = {
    "1580": "1507",  # Haram (2024-) was part of Ålesund 1507 (2020-2023)
}

# SSB region codes with municipality-shaped numbers that are not municipalities: Svalbard (21xx),
# Jan Mayen (22xx), the continental shelf (23xx), and "unknown" (9999).
NOT_MUNICIPALITY = re.compile(r"^(2[123]\d\d|9999)$")

# "(t.o.m. 2019)" in StatBank exports, "(-2019)" or "(2020-2023)" in PxWeb/JSON-stat labels.
_CEASED = re.compile(r"t\.o\.m\.?\s*\d{4}|\(\s*(\d{4}\s*)?-\s*\d{4}\s*\)")
_QUALIFIER = re.compile(r"\([^)]*\)")
_PREFIX = re.compile(r"^[KkFf]-?")


class NumberError(ValueError):
    """A value that is not a municipality (or county) number; ``missing`` when there is none."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        self.missing = missing
        super().__init__(reason)


def normalise_number(value: object, digits: int = 4) -> str:
    """301, 301.0, "301", "0301", "K-0301" -> "0301" (``digits`` 2 for counties: 3 -> "03")."""
    what = "a municipality number" if digits == 4 else "a county number"
    if value is None or (isinstance(value, Real) and math.isnan(float(value))):
        raise NumberError("no number", missing=True)
    if isinstance(value, bool):
        raise NumberError(f"{value!r} is not {what}")
    if isinstance(value, Integral) or (isinstance(value, Real) and float(value).is_integer()):
        text = str(int(value))  # type: ignore[call-overload]
    elif isinstance(value, str):
        text = _PREFIX.sub("", value.strip())
        if not text:
            raise NumberError("no number", missing=True)
    else:
        raise NumberError(f"{value!r} is not {what}")
    if not re.fullmatch(rf"[0-9]{{1,{digits}}}", text):
        raise NumberError(f"{value!r} is not {what} (1-{digits} digits)")
    if int(text) == 0:
        raise NumberError(f"{value!r} is not {what} (0 is none)")
    return text.zfill(digits)


def ceased(name: str) -> bool:
    """Whether a publisher's label marks a municipality that no longer exists."""
    return _CEASED.search(name) is not None


def name_keys(names: Iterable[str | None]) -> frozenset[str]:
    """Comparable forms of a municipality's names: "Våler (Østf.)" -> {"våler"};
    "Guovdageaidnu - Kautokeino" -> {"guovdageaidnu", "kautokeino"}."""
    keys: set[str] = set()
    for name in names:
        if not name:
            continue
        plain = unicodedata.normalize("NFC", _QUALIFIER.sub(" ", name)).casefold()
        for part in re.split(r"\s+[-–/]\s+", plain):
            key = " ".join(part.removesuffix(" kommune").split())
            if key:
                keys.add(key)
    return frozenset(keys)


def _county_groups() -> dict[str, frozenset[str]]:
    """Each county number -> every county number connected to it by a reorganisation."""
    groups: dict[str, set[str]] = {}
    for before, after in COUNTY_CHANGES:
        merged = set(before) | set(after)
        for number in list(merged):
            merged |= groups.get(number, set())
        for number in merged:
            groups[number] = merged
    return {number: frozenset(group) for number, group in groups.items()}


_GROUPS = _county_groups()


def related_counties(county: str) -> frozenset[str]:
    """The county itself and every county before or after it (30 -> 01, 02, 06, 31, 32, 33)."""
    return _GROUPS.get(county, frozenset()) | {county}
