"""Display labels of every vocabulary the API exposes, in the languages the project ships.

The labels live in ``data/labels/{tag}.json``, one file per language (nb is the source; each
file's ``about`` says whose translation it is), so a reviewer changes a label without touching
code. ``tests/geo/test_labels.py`` checks that every value of every vocabulary below has a label
in every file and that no file labels a value that no longer exists.

A file: ``{"about": {...}, "vocabularies": {"ActivityCategory": {"SPORTS": "Idrett",
"REFUGEE_GUIDE": {"label": "…", "description": "…"}, …}, …}}``. The labels of ``CoverageNote``
are templates: ``{placeholders}`` name the note's values (geo.coverage_notes.VALUE_NAMES), which
:func:`note_text` fills in; ``about.listSeparator`` joins a list of values (", " by default).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from geo import vocab
from geo.coverage_notes import UNIT_KIND_VALUES, CoverageNote, Note, NoteValue
from geo.languages import ORIGINAL_LANGUAGE, reading_order, right_to_left
from geo.queries.coverage import TargetKind
from geo.queries.nearby import PlaceKind
from geo.settings import PROJECT_ROOT

LABELS_DIR = PROJECT_ROOT / "data" / "labels"


class CoverageRule(StrEnum):
    """The texts of coverage answers that apps show with a label: the rule (``coverage.rule``)."""

    RULE = "RULE"


#: Every vocabulary the API exposes, by the name of its GraphQL enum.
VOCABULARIES: dict[str, type[StrEnum]] = {
    "ActivityCategory": vocab.ActivityCategory,
    "TargetGroup": vocab.TargetGroup,
    "OwnerType": vocab.OwnerType,
    "VenueType": vocab.VenueType,
    "PriceModel": vocab.PriceModel,
    "Weekday": vocab.Weekday,
    "AccessOutcome": vocab.AccessOutcome,
    "AccessBarrier": vocab.AccessBarrier,
    "AreaKind": vocab.AreaKind,
    "CouncilKind": vocab.CouncilKind,
    "CouncilLevel": vocab.CouncilLevel,
    "CouncilStatus": vocab.CouncilStatus,
    "OrganisationKind": vocab.OrganisationKind,
    "ActivityStatus": vocab.ActivityStatus,
    "PlaceKind": PlaceKind,
    "CoverageTargetKind": TargetKind,
    "CoverageRule": CoverageRule,
    "CoverageNote": CoverageNote,
}

#: A ``{placeholder}`` in a label template (CoverageNote).
PLACEHOLDER = re.compile(r"\{([A-Za-z]+)\}")


@dataclass(frozen=True)
class Label:
    value: str
    label: str
    description: str | None


@dataclass(frozen=True)
class LabelSet:
    """One language's labels: its tag, direction, who made them, and the vocabularies."""

    language: str
    right_to_left: bool
    translation: str
    vocabularies: dict[str, tuple[Label, ...]]
    #: What joins a list of values in a template (", "; Arabic script: "، ").
    list_separator: str = ", "

    def label_of(self, vocabulary: str, value: str) -> Label:
        return next(label for label in self.vocabularies[vocabulary] if label.value == value)


class LabelFileError(ValueError):
    """A label file that does not have the expected shape."""


def shipped_languages(directory: Path = LABELS_DIR) -> tuple[str, ...]:
    """The tags with a label file, nb first."""
    tags = sorted(path.stem for path in directory.glob("*.json"))
    return tuple(sorted(tags, key=lambda tag: tag != ORIGINAL_LANGUAGE))


def read_label_file(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as file:
        content = json.load(file)
    if not isinstance(content, dict) or not isinstance(content.get("vocabularies"), dict):
        raise LabelFileError(f"{path.name}: no 'vocabularies' object")
    return content


@lru_cache(maxsize=64)
def label_set(language: str, directory: Path = LABELS_DIR) -> LabelSet:
    """The labels of a shipped language, in each vocabulary's order."""
    content = read_label_file(directory / f"{language}.json")
    vocabularies = {}
    for name, enum in VOCABULARIES.items():
        given = content["vocabularies"].get(name, {})
        vocabularies[name] = tuple(
            _label(member.value, given.get(member.value))
            or _source_label(name, member.value, language, directory)
            for member in enum
        )
    about = content.get("about", {})
    return LabelSet(
        language=language,
        right_to_left=right_to_left(language),
        translation=str(about.get("translation", "")),
        vocabularies=vocabularies,
        list_separator=str(about.get("listSeparator", ", ")),
    )


def _label(value: str, entry: object) -> Label | None:
    if isinstance(entry, str) and entry.strip():
        return Label(value, entry, None)
    if isinstance(entry, dict) and isinstance(entry.get("label"), str) and entry["label"].strip():
        description = entry.get("description")
        return Label(value, entry["label"], description if isinstance(description, str) else None)
    return None


def _source_label(name: str, value: str, language: str, directory: Path) -> Label:
    """nb's label where a file lacks one (the test refuses such a file; a deployment with a
    hand-edited file still answers)."""
    if language == ORIGINAL_LANGUAGE:
        raise LabelFileError(f"{ORIGINAL_LANGUAGE}.json: {name}.{value} has no label")
    source = label_set(ORIGINAL_LANGUAGE, directory).vocabularies[name]
    return next(label for label in source if label.value == value)


def best_language(wanted: tuple[str, ...], directory: Path = LABELS_DIR) -> str:
    """The shipped language a reader of ``wanted`` (normalised tags) reads best; nb at last."""
    shipped = set(shipped_languages(directory))
    return next(
        (tag for tag in reading_order(wanted) if tag in shipped),
        ORIGINAL_LANGUAGE,
    )


def label_file(language: str, directory: Path = LABELS_DIR) -> Path:
    """The file of a shipped language (a tag from :func:`shipped_languages`)."""
    return directory / f"{language}.json"


def note_text(note: Note, labels: LabelSet) -> str:
    """A coverage note in the labels' language: its template (vocabulary ``CoverageNote``) with
    each placeholder replaced by the note's value, unit kinds by their labels (``AreaKind``). A
    placeholder the note has no value for stays as written (the test refuses such a file)."""
    template = labels.label_of("CoverageNote", note.code.value).label

    def shown(found: re.Match[str]) -> str:
        name = found.group(1)
        if name not in note.values:
            return found.group(0)
        return _shown(note.values[name], labels, unit_kinds=name in UNIT_KIND_VALUES)

    return PLACEHOLDER.sub(shown, template)


def _shown(value: NoteValue, labels: LabelSet, *, unit_kinds: bool) -> str:
    if isinstance(value, tuple):
        return labels.list_separator.join(_shown(v, labels, unit_kinds=unit_kinds) for v in value)
    if unit_kinds:
        return labels.label_of("AreaKind", str(value)).label
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def placeholders(template: str) -> set[str]:
    """The names of a template's placeholders."""
    return set(PLACEHOLDER.findall(template))
