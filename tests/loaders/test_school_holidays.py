"""hverdag load school-holidays: the documented CSV loads, replaces its municipalities' calendar
and keeps the others'; a bad line is named and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from geo.tables import school_holiday
from loaders.report import LoadError
from loaders.school_holidays import load_school_holidays

HEADER = "municipality;name;first_day;last_day;source\n"


def _csv(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "skoleruta.csv"
    path.write_text(HEADER + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def _rows(conn: sa.Connection) -> list[tuple[str, str, str, str]]:
    h = school_holiday.c
    return [
        (r.municipality_number, r.name, str(r.first_day), str(r.last_day))
        for r in conn.execute(
            sa.select(h.municipality_number, h.name, h.first_day, h.last_day).order_by(
                h.municipality_number, h.first_day
            )
        )
    ]


def test_loads_and_replaces_only_the_files_municipalities(scratch_conn, tmp_path):
    report = load_school_holidays(
        scratch_conn,
        _csv(
            tmp_path,
            "0301;Høstferie;2030-09-30;2030-10-04;https://example.org/oslo",
            "4601;Høstferie;2030-10-07;2030-10-11;https://example.org/bergen",
        ),
    )
    assert report.inserted == 2
    load_school_holidays(
        scratch_conn, _csv(tmp_path, "0301;Vinterferie;2031-02-24;2031-02-28;kommunen")
    )
    assert _rows(scratch_conn) == [
        ("0301", "Vinterferie", "2031-02-24", "2031-02-28"),
        ("4601", "Høstferie", "2030-10-07", "2030-10-11"),
    ]


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        ("301;Høstferie;2030-09-30;2030-10-04;x", "municipality", "not a municipality"),
        ("9999;Høstferie;2030-09-30;2030-10-04;x", "municipality", "not loaded"),
        ("0301;Høstferie;30.09.2030;2030-10-04;x", "first_day", "not a date"),
        ("0301;Høstferie;2030-10-04;2030-09-30;x", "last_day", "before"),
        ("0301;Høstferie;1970-10-04;1970-10-05;x", "first_day", "outside"),
        ("0301;;2030-09-30;2030-10-04;x", "name", "required"),
        ("0301;Høstferie;2030-09-30;2030-10-04;", "source", "required"),
        ("0301;Juleferie;2030-10-02;2030-10-08;x", "first_day", "overlaps line 2"),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_written(scratch_conn, tmp_path, line, field, words):
    good = "0301;Høstferie;2030-09-30;2030-10-04;x"
    with pytest.raises(LoadError) as raised:
        load_school_holidays(scratch_conn, _csv(tmp_path, good, line))
    assert raised.value.field == field
    assert raised.value.record == "line 3"
    assert words in raised.value.reason
    assert _rows(scratch_conn) == []
