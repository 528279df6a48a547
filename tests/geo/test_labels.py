"""The shipped labels: every value of every vocabulary labelled in every language, nothing else."""

from __future__ import annotations

import pytest

from geo.coverage_notes import VALUE_NAMES, CoverageNote, Note, NoteValue
from geo.labels import (
    LABELS_DIR,
    VOCABULARIES,
    best_language,
    label_set,
    note_text,
    placeholders,
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


#: A value of each name a note can carry (geo.coverage_notes.VALUE_NAMES).
SAMPLE_VALUES: dict[str, NoteValue] = {
    "problem": "Self-intersection",
    "lon": 10.85,
    "lat": 59.95,
    "minLon": -20.0,
    "maxLon": 45.0,
    "minLat": 50.0,
    "maxLat": 85.0,
    "unitKind": "GRID_250M",
    "otherKinds": ("GRID_1KM", "BYDEL"),
    "missing": 3,
    "units": 12,
    "known": 7,
}


@pytest.mark.parametrize("language", shipped_languages())
def test_every_note_template_has_exactly_the_placeholders_of_its_values(language: str) -> None:
    """A template names the note's values, no more and no fewer, in every language as in nb;
    a description, shown as it is, names none."""
    source = {label.value: label for label in label_set("nb").vocabularies["CoverageNote"]}
    for label in label_set(language).vocabularies["CoverageNote"]:
        code = CoverageNote(label.value)
        assert placeholders(label.label) == placeholders(source[code].label), (language, code)
        assert placeholders(label.label) == VALUE_NAMES[code], (language, code)
        assert not placeholders(label.description or ""), (language, code)


@pytest.mark.parametrize("language", shipped_languages())
def test_every_note_reads_with_its_values_filled_in(language: str) -> None:
    labels = label_set(language)
    kinds = {label.value: label.label for label in labels.vocabularies["AreaKind"]}
    for code in CoverageNote:
        values = {name: SAMPLE_VALUES[name] for name in VALUE_NAMES[code]}
        text = note_text(Note(code, values, "unused"), labels)
        assert "{" not in text, (language, code, text)
        assert "}" not in text, (language, code, text)
        for name, value in values.items():
            if name == "unitKind":
                assert kinds[str(value)] in text, (language, code)
            elif name == "otherKinds":
                assert labels.list_separator.join(kinds[k] for k in value) in text
            elif isinstance(value, float):
                assert f"{value:g}" in text, (language, code, name)
            else:
                assert str(value) in text, (language, code, name)


def test_list_separators_follow_the_script() -> None:
    assert label_set("en").list_separator == ", "
    assert label_set("ar").list_separator == label_set("fa-AF").list_separator == "، "
    assert label_set("ti").list_separator == "፣ "
