"""Translations from files: ``title@ar`` columns in the activity and venue files, and the
translations file; bad tags and fields are bad records naming the column, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from geo.tables import activity, activity_translation, venue_translation
from loaders.activities import load_activities
from loaders.report import LoadError
from loaders.translations import load_translations
from loaders.venues import load_venues
from tests.loaders._directory import (
    ACTIVITIES_CSV,
    VENUES_CSV,
    load_fixture_organisations,
    read_rows,
    write_rows,
)


def _with_columns(source: Path, target: Path, **cells_by_row: dict[str, str]) -> Path:
    rows = read_rows(source)
    for index, cells in cells_by_row.items():
        rows[int(index.removeprefix("row"))].update(cells)
    columns = {c for row in rows for c in row}
    return write_rows(target, [{c: row.get(c, "") for c in sorted(columns)} for row in rows])


def _translations(conn: sa.Connection, table: sa.Table) -> dict[tuple[str, str], tuple]:
    return {
        (r.field, r.language): (r.text, r.machine_translated, r.made_by, r.version)
        for r in conn.execute(sa.select(table))
    }


def test_activity_and_venue_files_carry_translation_columns(scratch_conn, tmp_path) -> None:
    load_fixture_organisations(scratch_conn)
    venues = _with_columns(
        VENUES_CSV, tmp_path / "venues.csv", row0={"description@uk": "Бібліотека"}
    )
    load_venues(scratch_conn, venues)
    activities = _with_columns(
        ACTIVITIES_CSV,
        tmp_path / "activities.csv",
        row0={"title@ar": "مقهى اللغة", "title@prs": "کافه زبان", "description@EN": "Made up"},
    )
    report = load_activities(scratch_conn, activities)
    assert "translations: 3 inserted, 0 updated" in report.warnings
    assert not any("not used" in w for w in report.warnings)
    stored = _translations(scratch_conn, activity_translation)
    assert stored == {
        ("title", "ar"): ("مقهى اللغة", False, "source test-fixtures", 1),
        ("title", "fa-AF"): ("کافه زبان", False, "source test-fixtures", 1),
        ("description", "en"): ("Made up", False, "source test-fixtures", 1),
    }
    assert _translations(scratch_conn, venue_translation)[("description", "uk")][0] == "Бібліотека"
    # Loading the same file again changes nothing; a new text is a new version.
    again = load_activities(scratch_conn, activities)
    assert "translations: 0 inserted, 0 updated" in again.warnings
    changed = _with_columns(
        activities, tmp_path / "changed.csv", row0={"title@ar": "مقهى اللغة العربية"}
    )
    load_activities(scratch_conn, changed)
    assert _translations(scratch_conn, activity_translation)[("title", "ar")][3] == 2


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("title@xx", "x", "BCP 47"),
        ("title@", "x", "BCP 47"),
        ("category@ar", "x", "can be translated"),
    ],
)
def test_a_bad_translation_column_is_a_bad_record_naming_it(
    scratch_conn, tmp_path, column, value, reason
) -> None:
    load_fixture_organisations(scratch_conn)
    load_venues(scratch_conn, VENUES_CSV)
    path = _with_columns(ACTIVITIES_CSV, tmp_path / "bad.csv", row0={column: value})
    before = scratch_conn.execute(sa.select(sa.func.count()).select_from(activity)).scalar()
    with pytest.raises(LoadError) as raised:
        load_activities(scratch_conn, path)
    assert raised.value.field == column
    assert raised.value.code == "INVALID_RECORD"
    assert reason in raised.value.reason
    after = scratch_conn.execute(sa.select(sa.func.count()).select_from(activity)).scalar()
    assert after == before


def test_the_translations_file(scratch_conn, tmp_path) -> None:
    load_fixture_organisations(scratch_conn)
    load_venues(scratch_conn, VENUES_CSV)
    load_activities(scratch_conn, ACTIVITIES_CSV)
    path = write_rows(
        tmp_path / "translations.csv",
        [
            {
                "entry": "activity",
                "source": "test-fixtures",
                "external_id": "a-sprakkafe-grorud",
                "field": "title",
                "language": "uk",
                "text": "Мовне кафе",
                "machine_translated": "ja",
                "made_by": "DeepL",
            },
            {
                "entry": "venue",
                "source": "test-fixtures",
                "external_id": "v-toyen-frivillighetshus",
                "field": "price_note",
                "language": "so",
                "text": "Bilaash",
                "machine_translated": "",
                "made_by": "",
            },
        ],
    )
    report = load_translations(scratch_conn, path)
    assert (report.inserted, report.updated) == (2, 0)
    assert _translations(scratch_conn, activity_translation)[("title", "uk")] == (
        "Мовне кафе",
        True,
        "DeepL",
        1,
    )
    assert _translations(scratch_conn, venue_translation)[("price_note", "so")] == (
        "Bilaash",
        False,
        "file translations.csv",
        1,
    )
    # A text the entry does not have cannot be translated.
    missing = write_rows(
        tmp_path / "missing.csv",
        [
            {
                "entry": "venue",
                "source": "test-fixtures",
                "external_id": "v-grorud-bibliotek",
                "field": "price_note",
                "language": "so",
                "text": "Bilaash",
            }
        ],
    )
    with pytest.raises(LoadError) as raised:
        load_translations(scratch_conn, missing)
    assert raised.value.field == "field"


@pytest.mark.parametrize(
    ("cells", "field", "code"),
    [
        ({"language": "xx"}, "language", "INVALID_RECORD"),
        ({"field": "category"}, "field", "INVALID_RECORD"),
        ({"entry": "council"}, "entry", "INVALID_RECORD"),
        ({"external_id": "nope"}, "external_id", "UNKNOWN_ENTRY"),
        ({"text": ""}, "text", "INVALID_RECORD"),
    ],
)
def test_a_bad_translations_row_names_its_field_and_writes_nothing(
    scratch_conn, tmp_path, cells, field, code
) -> None:
    load_fixture_organisations(scratch_conn)
    load_venues(scratch_conn, VENUES_CSV)
    load_activities(scratch_conn, ACTIVITIES_CSV)
    good = {
        "entry": "activity",
        "source": "test-fixtures",
        "external_id": "a-sprakkafe-grorud",
        "field": "title",
        "language": "uk",
        "text": "Мовне кафе",
    }
    path = write_rows(tmp_path / "t.csv", [good, {**good, "language": "ar", **cells}])
    with pytest.raises(LoadError) as raised:
        load_translations(scratch_conn, path)
    assert (raised.value.field, raised.value.code) == (field, code)
    assert raised.value.record == "line 3"
    count = scratch_conn.execute(sa.select(sa.func.count()).select_from(activity_translation))
    assert count.scalar() == 0
