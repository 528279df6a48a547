"""Municipality numbers, names and county changes across vintages (no database)."""

from __future__ import annotations

import numpy as np
import pytest

from loaders.numbering import (
    NumberError,
    ceased,
    name_keys,
    normalise_number,
    related_counties,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (301, "0301"),
        (np.int32(301), "0301"),
        (301.0, "0301"),
        ("301", "0301"),
        ("0301", "0301"),
        (" 0301 ", "0301"),
        ("K0301", "0301"),
        ("K-0301", "0301"),
        (5444, "5444"),
        (1, "0001"),
    ],
)
def test_municipality_numbers_are_zero_padded(value: object, expected: str) -> None:
    assert normalise_number(value) == expected


@pytest.mark.parametrize(("value", "expected"), [(3, "03"), ("3", "03"), (46, "46")])
def test_county_numbers_are_zero_padded(value: object, expected: str) -> None:
    assert normalise_number(value, 2) == expected


@pytest.mark.parametrize("value", [0, "0000", 12345, -301, 301.5, "03O1", "abc", True, [301]])
def test_what_is_not_a_municipality_number(value: object) -> None:
    with pytest.raises(NumberError) as caught:
        normalise_number(value)
    assert not caught.value.missing
    assert "municipality number" in str(caught.value)


@pytest.mark.parametrize("value", [None, float("nan"), np.nan, "", "  "])
def test_a_missing_number_is_missing(value: object) -> None:
    with pytest.raises(NumberError) as caught:
        normalise_number(value)
    assert caught.value.missing


def test_a_county_number_has_at_most_two_digits() -> None:
    with pytest.raises(NumberError, match="county number"):
        normalise_number(301, 2)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Moss (t.o.m. 2019)", True),
        ("Holmestrand (f.o.m. 2018, t.o.m. 2019)", True),
        ("Moss (-2019)", True),
        ("Halden (2020-2023)", True),
        ("Åfjord (f.o.m. 2020)", False),
        ("Haram (2024-)", False),
        ("Halden", False),
    ],
)
def test_ceased_municipalities_are_recognised(name: str, expected: bool) -> None:
    assert ceased(name) is expected


def test_names_compare_without_qualifiers_and_across_languages() -> None:
    assert name_keys(["Våler (Østf.)"]) == {"våler"}
    assert name_keys(["Guovdageaidnu - Kautokeino"]) == {"guovdageaidnu", "kautokeino"}
    assert name_keys(["Aurskog-Høland"]) == {"aurskog-høland"}
    assert name_keys(["Trondheim - Tråante"]) & name_keys(["Trondheim"])
    assert name_keys([None, "", "Oslo kommune"]) == {"oslo"}


def test_counties_relate_across_both_reforms() -> None:
    assert related_counties("31") == {"01", "02", "06", "30", "31", "32", "33"}
    assert related_counties("30") == related_counties("33")
    assert related_counties("40") == {"07", "08", "38", "39", "40"}
    assert related_counties("56") == {"19", "20", "54", "55", "56"}
    assert related_counties("03") == {"03"}
    assert related_counties("15") == {"15"}
