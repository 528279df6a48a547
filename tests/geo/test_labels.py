"""The shipped labels: every value of every vocabulary labelled in every language, nothing else."""

from __future__ import annotations

import pytest

from geo.labels import (
    LABELS_DIR,
    VOCABULARIES,
    best_language,
    label_set,
    read_label_file,
    shipped_languages,
)
from geo.languages import normalised_tag

#: The issue's list: nb, nn, en, ar, uk, so, ti, fa, prs (fa-AF), pl, ur, ru.
REQUIRED = ("nb", "nn", "en", "ar", "uk", "so", "ti", "fa", "prs", "pl", "ur", "ru")


def test_every_required_language_is_shipped() -> None:
    shipped = set(shipped_languages())
    assert {normalised_tag(code) for code in REQUIRED} <= shipped
    assert shipped_languages()[0] == "nb"


@pytest.mark.parametrize("language", shipped_languages())
def test_every_value_has_a_label_and_no_file_labels_a_value_that_does_not_exist(
    language: str,
) -> None:
    content = read_label_file(LABELS_DIR / f"{language}.json")
    assert content["about"]["language"] == language == normalised_tag(language)
    assert content["about"]["translation"].strip()
    labelled = content["vocabularies"]
    assert set(labelled) == set(VOCABULARIES), "vocabularies missing or unknown"
    source = read_label_file(LABELS_DIR / "nb.json")["vocabularies"]
    for name, enum in VOCABULARIES.items():
        assert set(labelled[name]) == {member.value for member in enum}, name
        for value, entry in labelled[name].items():
            label = entry if isinstance(entry, str) else entry["label"]
            assert label.strip(), f"{name}.{value} has an empty label"
            if isinstance(source[name][value], dict):  # described in the source: everywhere
                assert isinstance(entry, dict), f"{name}.{value} undescribed in {language}"
                assert entry["description"].strip(), f"{name}.{value} undescribed in {language}"


def test_a_label_set_keeps_each_vocabularys_order_and_knows_its_direction() -> None:
    arabic = label_set("ar")
    assert arabic.right_to_left
    assert not label_set("uk").right_to_left
    categories = arabic.vocabularies["ActivityCategory"]
    assert [label.value for label in categories] == list(VOCABULARIES["ActivityCategory"])
    guide = next(label for label in categories if label.value == "REFUGEE_GUIDE")
    assert guide.description


def test_a_reader_gets_the_shipped_language_they_read_best() -> None:
    assert best_language(("fa-AF",)) == "fa-AF"
    assert best_language(("ar-SA",)) == "ar"  # ar-SA → ar
    assert best_language(("de", "en")) == "en"
    assert best_language(("de",)) == "nb"  # nothing read: the source
    assert best_language(("en-GB", "ar")) == "en"
