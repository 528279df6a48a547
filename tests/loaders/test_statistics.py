"""SSB statistics: the real files against the 2020 boundaries, JSON-stat, and every refusal."""

from __future__ import annotations

import csv
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from geo.tables import municipality_statistics as stats
from loaders.ssb import read_statistics, region_number
from loaders.statistics import StatisticsReport, load_statistics
from tests.conftest import DATA_DIR, FIXTURES
from tests.loaders._support import refused, snapshot

CSV_FILE = DATA_DIR / "ssb-innvandrere-etter-innvandringsgrunn-kommuner-2006-2021.csv"
POPULATION_FILE = DATA_DIR / "kommuner-folketall-2024.json"
JSONSTAT_FIXTURE = FIXTURES / "ssb-07459-folkemengde-utvalg.json"
REASONS = {
    "Alle": "immigrants",
    "Flyktninger og deres familieinnvandrede": "refugees",
    "Arbeidsinnvandrere": "labour_immigrants",
    "Familieinnvandrede": "family_immigrants",
    "Utdanning (inkl. au pair) eller andre grunner": "education_immigrants",
}


@cache
def _csv_rows() -> tuple[tuple[str, ...], ...]:
    with CSV_FILE.open(encoding="latin-1", newline="") as file:
        return tuple(tuple(row) for row in csv.reader(file, delimiter=";"))


def _csv_table() -> list[list[str]]:
    return [list(row) for row in _csv_rows()]


@cache
def _csv_figures(code: str, year: int) -> dict[str, int]:
    """The CSV's persons, both sexes, per reason, read here without the loader's code."""
    table = _csv_rows()
    row = next(r for r in table[4:] if r[0] == code)
    figures = {}
    for column in range(2, len(row)):
        reason, sex, unit, when = (table[h][column].split(": ", 1)[1] for h in range(4))
        if sex == "Alle" and unit == "Personer" and when == str(year) and reason in REASONS:
            figures[REASONS[reason]] = int(row[column])
    return figures


def _csv_head(rows: int) -> str:
    """The real CSV's header and its first data rows, as text."""
    return "\n".join(";".join(r) for r in _csv_table()[: 4 + rows]) + "\n"


def _stored(conn: sa.Connection, number: str, year: int) -> dict[str, Any]:
    row = conn.execute(
        sa.select(stats).where(stats.c.municipality_number == number, stats.c.year == year)
    ).one()
    return dict(row._mapping)


# --- the real data, as loaded by the session fixture --------------------------------------------


def test_immigrants_in_2021_sum_to_800106(loaded_conn: sa.Connection) -> None:
    total, count = loaded_conn.execute(
        sa.select(sa.func.sum(stats.c.immigrants), sa.func.count(stats.c.immigrants)).where(
            stats.c.year == 2021
        )
    ).one()
    assert (total, count) == (800_106, 356)


@pytest.mark.parametrize(
    ("number", "code"), [("0301", "K0301"), ("3001", "K3001"), ("5444", "K5444")]
)
def test_2021_figures_equal_the_csv_row(loaded_conn: sa.Connection, number: str, code: str) -> None:
    expected = _csv_figures(code, 2021)
    assert len(expected) == 5
    stored = _stored(loaded_conn, number, 2021)
    assert {column: stored[column] for column in expected} == expected
    assert stored["population"] is None  # the CSV has no population; nothing made one up


def test_population_2024_sums_to_the_files_total(loaded_conn: sa.Connection) -> None:
    items = json.loads(POPULATION_FILE.read_text())
    assert sum(item["population"] for item in items) == 5_550_203
    total, count = loaded_conn.execute(
        sa.select(sa.func.sum(stats.c.population), sa.func.count(stats.c.population)).where(
            stats.c.year == 2024
        )
    ).one()
    assert (total, count) == (5_550_203, 356)


@pytest.mark.parametrize(
    ("number", "sources"),
    [
        ("0301", ["0301"]),  # same number in both vintages
        ("3001", ["3101"]),  # Halden: Viken 30xx became Østfold 31xx
        ("3018", ["3114"]),  # Våler in Østfold, not Våler 3419 in Innlandet
        ("3803", ["3905"]),  # Tønsberg: Vestfold og Telemark became Vestfold
        ("5444", ["5605"]),  # Sør-Varanger: Troms og Finnmark became Finnmark
        ("1507", ["1508", "1580"]),  # Ålesund (2020) = Ålesund + Haram (2024)
        ("1826", ["1826"]),  # the 2024 file names it Aarborte, the boundaries Hattfjelldal
    ],
)
def test_2024_population_reaches_the_2020_municipality(
    loaded_conn: sa.Connection, number: str, sources: list[str]
) -> None:
    by_id = {item["id"]: item["population"] for item in json.loads(POPULATION_FILE.read_text())}
    assert _stored(loaded_conn, number, 2024)["population"] == sum(by_id[s] for s in sources)


# --- reloading, other encodings and formats (rolled back) ---------------------------------------


def test_reloading_the_csv_changes_nothing(scratch_conn: sa.Connection) -> None:
    before = snapshot(scratch_conn)
    report = load_statistics(scratch_conn, CSV_FILE)
    stored = scratch_conn.execute(
        sa.select(sa.func.count()).select_from(stats).where(stats.c.source == CSV_FILE.name)
    ).scalar_one()
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, stored)
    assert isinstance(report, StatisticsReport)
    assert (report.by_number, report.by_name, report.by_split) == (356, 0, 0)
    assert report.skipped == 119  # the "(t.o.m. YYYY)" rows of former municipalities
    assert snapshot(scratch_conn) == before


def test_reloading_the_2024_population_matches_and_changes_nothing(
    scratch_conn: sa.Connection,
) -> None:
    before = snapshot(scratch_conn)
    report = load_statistics(scratch_conn, POPULATION_FILE, year=2024)
    assert isinstance(report, StatisticsReport)
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 356)
    assert (report.by_number, report.by_name, report.by_split, report.summed) == (242, 114, 1, 1)
    assert report.matched["3101"] == "3001"
    assert report.matched["1580"] == "1507"
    assert report.warnings == [
        "municipality 1507 Ålesund: summed 2 rows for 2024 "
        "(item 27 (1508 Ålesund); item 51 (1580 Haram))"
    ]
    assert snapshot(scratch_conn) == before


def test_a_utf8_copy_of_the_csv_reads_the_same(scratch_conn: sa.Connection, tmp_path: Path) -> None:
    path = tmp_path / "innvandrere-utf8.csv"
    path.write_text(_csv_head(12), encoding="utf-8")
    before = snapshot(scratch_conn)
    report = load_statistics(scratch_conn, path)
    assert report.inserted == report.updated == 0
    assert report.unchanged > 0
    assert snapshot(scratch_conn) == before


def test_a_csv_with_code_and_name_in_one_column_reads_the_same(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    """ "3001 Halden" instead of "K3001;Halden", and "301" where a spreadsheet ate the zero."""
    table = _csv_table()
    lines = []
    for row in table[:12] + [r for r in table if r[0] == "K0301"]:
        code, name, *values = row
        region = code if not name else f"{code.removeprefix('K').lstrip('0')} {name}"
        lines.append(";".join([region, *values]))
    path = tmp_path / "innvandrere.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    before = snapshot(scratch_conn)
    report = load_statistics(scratch_conn, path)
    assert report.inserted == report.updated == 0
    assert report.unchanged > 0
    assert report.matched["0301"] == "0301"
    assert snapshot(scratch_conn) == before


@pytest.mark.parametrize(
    ("code", "number"),
    [
        ("K-0301", "0301"),
        ("K0301", "0301"),
        ("0301", "0301"),
        ("301", "0301"),
        ("3001 Halden", "3001"),
        ("0", None),
        ("03", None),
        ("F-03", None),
        ("EAK", None),
        ("2111", None),
        ("9999", None),
    ],
)
def test_region_codes(code: str, number: str | None) -> None:
    assert region_number(code) == number


def test_jsonstat_fills_population_and_keeps_the_other_columns(scratch_conn: sa.Connection) -> None:
    immigrants_before = _stored(scratch_conn, "0301", 2021)["immigrants"]
    report = load_statistics(scratch_conn, JSONSTAT_FIXTURE)
    # 5 municipalities x 2 years had immigrant figures already; "Hele landet" is no municipality
    assert (report.inserted, report.updated, report.unchanged, report.skipped) == (0, 10, 0, 1)
    assert report.warnings == [
        "skipped 1 region that is no municipality (the country, "
        "counties, Svalbard): region 0 (Hele landet)"
    ]
    oslo = _stored(scratch_conn, "0301", 2021)
    assert (oslo["population"], oslo["immigrants"]) == (697_010, immigrants_before)
    assert oslo["source"] == JSONSTAT_FIXTURE.name
    # "Halden (2020-2023)" is Halden by number in the 2020 boundaries, not a ceased one
    assert _stored(scratch_conn, "3001", 2020)["population"] == 31_444
    again = load_statistics(scratch_conn, JSONSTAT_FIXTURE)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 10)


def _jsonstat(
    path: Path, dimensions: list[tuple[str, list[tuple[str, str]]]], values: list[Any], **extra: Any
) -> Path:
    doc = {
        "version": "2.0",
        "class": "dataset",
        "label": "test",
        "id": [key for key, _ in dimensions],
        "size": [len(c) for _, c in dimensions],
        "dimension": {
            key: {
                "label": key,
                "category": {
                    "index": {code: i for i, (code, _) in enumerate(cats)},
                    "label": dict(cats),
                },
            }
            for key, cats in dimensions
        },
        "value": values,
        **extra,
    }
    path.write_text(json.dumps(doc, ensure_ascii=False))
    return path


def test_jsonstat_by_reason_reads_like_the_csv(scratch_conn: sa.Connection, tmp_path: Path) -> None:
    """The same figures as SSB's API would give them (reason x sex x unit): nothing changes."""
    reasons = [(f"{i:02d}", label) for i, label in enumerate(REASONS)] + [("99", "Uoppgitt")]
    sexes = [("0", "Begge kjønn"), ("1", "Menn"), ("2", "Kvinner")]
    contents = [("Personer", "Personer"), ("Prosent", "Prosent")]
    values: list[Any] = []
    for code in ("K0301", "K3001"):
        for _, reason in reasons:
            for sex, _ in sexes:
                for unit, _ in contents:
                    for year in (2020, 2021):
                        figures = _csv_figures(code, year)
                        wanted = sex == "0" and unit == "Personer" and reason in REASONS
                        values.append(figures[REASONS[reason]] if wanted else 1)
    path = _jsonstat(
        tmp_path / "innvandrere.json",
        [
            ("Region", [("K-0301", "Oslo"), ("K-3001", "Halden")]),
            ("InnvGrunn5", reasons),
            ("Kjonn", sexes),
            ("ContentsCode", contents),
            ("Tid", [("2020", "2020"), ("2021", "2021")]),
        ],
        values,
    )
    before = snapshot(scratch_conn)
    report = load_statistics(scratch_conn, path)
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 4)
    assert snapshot(scratch_conn) == before


def test_jsonstat_sums_sex_when_there_is_no_total(tmp_path: Path) -> None:
    path = _jsonstat(
        tmp_path / "07459.json",
        [
            ("Region", [("0301", "Oslo"), ("3001", "Halden")]),
            ("Kjonn", [("1", "Menn"), ("2", "Kvinner")]),
            ("ContentsCode", [("Personer1", "Personer")]),
            ("Tid", [("2024", "2024")]),
        ],
        [100, 110, 20, None],
    )
    parsed = read_statistics(path)
    assert parsed.columns == {"population"}
    assert [row.values for row in parsed.rows] == [{(2024, "population"): 210}, {}]


def test_a_json_array_takes_its_year_from_the_name_or_the_caller(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "folketall.json"
    path.write_text(json.dumps([{"id": "0301", "name": "Oslo", "population": 700_000}]))
    refused(scratch_conn, lambda: load_statistics(scratch_conn, path), "MISSING_YEAR")
    report = load_statistics(scratch_conn, path, year=2023)
    assert report.inserted == 1
    assert _stored(scratch_conn, "0301", 2023)["population"] == 700_000


def test_progress_is_reported(scratch_conn: sa.Connection, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    load_statistics(scratch_conn, JSONSTAT_FIXTURE, progress=lambda d, t: calls.append((d, t)))
    assert calls
    assert calls[-1] == (10, 10)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


# --- refusals: each names its record, and nothing is written ------------------------------------


def test_statistics_need_municipalities_first(fresh_engine: sa.Engine) -> None:
    with fresh_engine.begin() as conn:
        error = refused(conn, lambda: load_statistics(conn, CSV_FILE), "NO_MUNICIPALITIES")
    assert "load municipalities first" in error.reason


@pytest.mark.parametrize(
    ("encode", "hint"),
    [
        (lambda text: text.encode("utf-16"), "UTF-16"),
        (lambda text: text.encode("utf-8").decode("latin-1").encode("utf-8"), "twice"),
        (lambda text: text.encode("cp865"), "garbled"),
    ],
    ids=["utf-16", "utf-8-twice", "cp865"],
)
def test_a_csv_in_the_wrong_encoding_is_refused(
    scratch_conn: sa.Connection, tmp_path: Path, encode: Any, hint: str
) -> None:
    path = tmp_path / "innvandrere.csv"
    path.write_bytes(encode(_csv_head(3)))
    error = refused(scratch_conn, lambda: load_statistics(scratch_conn, path), "BAD_ENCODING")
    assert hint in error.reason


@pytest.mark.parametrize(
    ("change", "hint"),
    [
        (lambda text: text.replace("Region;Navn", "Kommune;Navn", 1), "not 'Region'"),
        (lambda text: text.replace("År: ", "Periode: "), "year"),
        (
            lambda text: (
                text.replace("Kjønn: Kvinner", "Landbakgrunn: Afrika")
                .replace("Kjønn: Menn", "Landbakgrunn: Asia")
                .replace("Kjønn: Alle", "Landbakgrunn: Europa")
            ),
            "no total",
        ),
        (lambda text: text.replace("Innvandringsgrunn: ", "Enhet: ", 1), "mixes dimensions"),
        (lambda text: "a;b;c\n1;2;3\n", "not 'Region'"),
    ],
    ids=["first-column", "no-year", "dimension-without-total", "mixed-row", "other-csv"],
)
def test_a_csv_with_a_wrong_header_is_refused(
    scratch_conn: sa.Connection, tmp_path: Path, change: Any, hint: str
) -> None:
    path = tmp_path / "innvandrere.csv"
    path.write_bytes(change(_csv_head(3)).encode("latin-1"))
    error = refused(scratch_conn, lambda: load_statistics(scratch_conn, path), "BAD_HEADER")
    assert hint in error.reason


def test_a_bad_csv_value_names_row_and_column(scratch_conn: sa.Connection, tmp_path: Path) -> None:
    table = _csv_table()[:7]
    wanted = ["Innvandringsgrunn: Alle", "Kjønn: Alle", "Enhet: Personer", "År: 2006"]
    column = next(c for c in range(len(table[0])) if [table[h][c] for h in range(4)] == wanted)
    table[4][column] = "12a"  # K3001 Halden, all immigrants, both sexes, persons, 2006
    path = tmp_path / "innvandrere.csv"
    path.write_bytes(("\n".join(";".join(r) for r in table) + "\n").encode("latin-1"))
    error = refused(scratch_conn, lambda: load_statistics(scratch_conn, path), "BAD_VALUE")
    assert error.record == "row 5 (K3001 Halden)"
    assert error.field == "Innvandringsgrunn: Alle / Kjønn: Alle / Enhet: Personer / 2006"
    assert "'12a'" in error.reason


def test_a_jsonstat_value_array_of_the_wrong_length_is_refused(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    doc = json.loads(JSONSTAT_FIXTURE.read_text())
    doc["value"] = doc["value"][:-1]
    path = tmp_path / "07459.json"
    path.write_text(json.dumps(doc))
    error = refused(scratch_conn, lambda: load_statistics(scratch_conn, path), "BAD_JSONSTAT")
    assert "has 11 values" in error.reason
    assert "needs 12" in error.reason


@pytest.mark.parametrize(
    ("change", "hint"),
    [
        (lambda doc: doc["dimension"].pop("Tid"), "'Tid'"),
        (lambda doc: doc.update(size=[6, 1, 3]), "size says 3"),
        (lambda doc: doc.update(version="1.0"), "JSON-stat 2.0"),
        (
            lambda doc: doc["dimension"]["Tid"]["category"].update(
                index={"2020K1": 0, "2020K2": 1}
            ),
            "not a year",
        ),
    ],
    ids=["undescribed-dimension", "size", "version", "quarters"],
)
def test_a_malformed_jsonstat_is_refused(
    scratch_conn: sa.Connection, tmp_path: Path, change: Any, hint: str
) -> None:
    doc = json.loads(JSONSTAT_FIXTURE.read_text())
    change(doc)
    path = tmp_path / "07459.json"
    path.write_text(json.dumps(doc))
    error = refused(scratch_conn, lambda: load_statistics(scratch_conn, path), "BAD_JSONSTAT")
    assert hint in error.reason


@pytest.mark.parametrize(
    ("items", "code", "record"),
    [
        (
            [
                {"id": "0301", "name": "Oslo", "population": 1},
                {"id": "3199", "name": "Atlantis", "population": 5},
            ],
            "UNMATCHED",
            "item 2 (3199 Atlantis)",
        ),
        (
            [
                {"id": "0301", "name": "Oslo", "population": 1},
                {"id": "0301", "name": "Oslo", "population": 2},
            ],
            "DUPLICATE_NUMBER",
            "item 2 (0301 Oslo)",
        ),
        ([{"id": "0301", "name": "Oslo", "population": -5}], "BAD_VALUE", "item 1 (0301 Oslo)"),
        ([{"id": "0301", "name": "Oslo", "population": 1.5}], "BAD_VALUE", "item 1 (0301 Oslo)"),
        ([{"id": "30301", "name": "Oslo", "population": 1}], "BAD_NUMBER", "item 1 (30301 Oslo)"),
        # No number key at all: the refusal lists the item's keys and names --code-field.
        ([{"name": "Oslo", "population": 1}], "MISSING_FIELD", "item 1 (Oslo)"),
        ([{"id": "", "name": "Oslo", "population": 1}], "MISSING_NUMBER", "item 1 (Oslo)"),
        ([{"id": "0301", "name": "Oslo"}], "MISSING_FIELD", "item 1 (0301 Oslo)"),
    ],
    ids=[
        "unmatched",
        "duplicate",
        "negative",
        "fraction",
        "bad-number",
        "no-number-key",
        "empty-number",
        "no-population",
    ],
)
def test_a_bad_item_in_a_json_array_is_named(
    scratch_conn: sa.Connection, tmp_path: Path, items: list[dict], code: str, record: str
) -> None:
    path = tmp_path / "folketall-2024.json"
    path.write_text(json.dumps(items))
    error = refused(scratch_conn, lambda: load_statistics(scratch_conn, path), code)
    assert error.record == record


def test_unknown_formats_are_refused(scratch_conn: sa.Connection, tmp_path: Path) -> None:
    binary = tmp_path / "tall.csv"
    binary.write_bytes(os.urandom(4096))
    text = tmp_path / "tall.txt"
    text.write_text("Oslo har 700 000 innbyggere\n")
    bundle = tmp_path / "jsonstat1.json"
    bundle.write_text(json.dumps({"dataset": {"dimension": {}, "value": []}}))
    for path in (binary, text, bundle, DATA_DIR / "kommuner-2020.geojson"):
        error = refused(
            scratch_conn, lambda p=path: load_statistics(scratch_conn, p), "UNKNOWN_FORMAT"
        )
        assert error.path == str(path)
    refused(scratch_conn, lambda: load_statistics(scratch_conn, tmp_path / "nope.csv"), "NOT_FOUND")


def test_a_year_the_file_lacks_is_refused(scratch_conn: sa.Connection) -> None:
    error = refused(
        scratch_conn, lambda: load_statistics(scratch_conn, CSV_FILE, year=1999), "NO_DATA"
    )
    assert "1999" in error.reason


def test_a_json_array_with_its_own_keys_loads_with_the_field_options(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    items = [{"kommune_nr": "0301", "kommune": "Oslo", "innbyggere": 717_710}]
    path = tmp_path / "folketall-2024.json"
    path.write_text(json.dumps(items))
    error = refused(scratch_conn, lambda: load_statistics(scratch_conn, path), "MISSING_FIELD")
    assert "kommune_nr, kommune, innbyggere" in error.reason
    assert "--code-field FIELD" in error.reason
    fields = {"code": "kommune_nr", "name": "kommune", "population": "innbyggere"}
    report = load_statistics(scratch_conn, path, fields=fields)
    assert report.summary()
    stored = scratch_conn.execute(
        sa.select(stats.c.population).where(
            stats.c.municipality_number == "0301", stats.c.year == 2024
        )
    ).scalar_one()
    assert stored == 717_710
    csv_file = DATA_DIR / "ssb-innvandrere-etter-innvandringsgrunn-kommuner-2006-2021.csv"
    error = refused(
        scratch_conn,
        lambda: load_statistics(scratch_conn, csv_file, fields={"code": "x"}),
        "UNKNOWN_COLUMN",
    )
    assert "fixed dimensions" in error.reason
