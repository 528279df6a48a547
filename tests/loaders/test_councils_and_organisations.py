"""Councils from innvandrerrad.csv and organisations from Enhetsregisteret JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from geo.db import sync_engine
from geo.tables import immigrant_council, organisation
from geo.validation import FieldError, organisation_number
from loaders.councils import load_councils
from loaders.organisations import load_organisations
from loaders.report import LoadError
from tests.conftest import DATA_DIR, FIXTURES
from tests.loaders._directory import rows_of

COUNCILS = DATA_DIR / "innvandrerrad.csv"


@pytest.fixture
def engine(fresh_loaded_url: URL):
    """The real boundaries, without what these tests load themselves (the bundle has it)."""
    engine = sync_engine(fresh_loaded_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        for table in (immigrant_council, organisation):
            conn.execute(table.delete())
    yield engine
    engine.dispose()


def _snapshot(conn: sa.Connection, table: sa.Table) -> list[tuple]:
    """The rows, but when they were last verified: a reload verifies them (not a change)."""
    return rows_of(conn, table)


def test_real_councils_load_and_reload_unchanged(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        first = load_councils(conn, COUNCILS)
    with engine.begin() as conn:
        before = _snapshot(conn, immigrant_council)
        second = load_councils(conn, COUNCILS)
        after = _snapshot(conn, immigrant_council)
        oslo = conn.execute(
            sa.select(immigrant_council).where(immigrant_council.c.municipality_number == "0301")
        ).one()
    lines = COUNCILS.read_text(encoding="utf-8").strip().splitlines()
    assert first.inserted == len(lines) - 1
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, len(lines) - 1)
    assert before == after
    assert oslo.name == "Rådet for innvandrerorganisasjoner"
    assert (oslo.kind, oslo.level, oslo.status, oslo.county_number) == (
        "INNVANDRERRAD",
        "MUNICIPALITY",
        "ACTIVE",
        "03",
    )


@pytest.mark.parametrize(
    ("line", "field", "code"),
    [
        (
            "X;INNVANDRERRAD;MUNICIPALITY;9999;;99;ACTIVE;;;;",
            "kommunenummer",
            "UNKNOWN_MUNICIPALITY",
        ),
        ("X;PARLIAMENT;MUNICIPALITY;0301;;03;ACTIVE;;;;", "kind", "INVALID_RECORD"),
        ("X;INNVANDRERRAD;MUNICIPALITY;;;03;ACTIVE;;;;", "kommunenummer", "INVALID_RECORD"),
        ("X;INNVANDRERRAD;MUNICIPALITY;0301;;03;ACTIVE;;-3;;", "members", "INVALID_RECORD"),
        (";INNVANDRERRAD;MUNICIPALITY;0301;;03;ACTIVE;;;;", "name", "INVALID_RECORD"),
        ("X;DIALOGFORUM;COUNTY;;;x;ACTIVE;;;;", "fylkesnummer", "INVALID_RECORD"),
        # A council's county is its municipality's (issue 20, item 8).
        ("X;INNVANDRERRAD;MUNICIPALITY;0301;;46;ACTIVE;;;;", "fylkesnummer", "INVALID_RECORD"),
        ("X;DIALOGFORUM;COUNTY;0301;;46;ACTIVE;;;;", "fylkesnummer", "INVALID_RECORD"),
        ("X;DIALOGFORUM;COUNTY;;;;ACTIVE;;;;", "fylkesnummer", "INVALID_RECORD"),
        (
            f"X;INNVANDRERRAD;MUNICIPALITY;0301;;03;ACTIVE;;;{'w' * 501};",
            "source",
            "INVALID_RECORD",
        ),
    ],
)
def test_a_bad_council_row_names_its_line_and_writes_nothing(
    engine: sa.Engine, tmp_path: Path, line: str, field: str, code: str
) -> None:
    good = COUNCILS.read_text(encoding="utf-8").strip().splitlines()
    path = tmp_path / "councils.csv"
    path.write_text("\n".join([*good[:4], line, *good[4:]]) + "\n", encoding="utf-8")
    with pytest.raises(LoadError) as caught, engine.begin() as conn:
        load_councils(conn, path)
    assert (caught.value.record, caught.value.field, caught.value.code) == ("line 5", field, code)
    with engine.connect() as conn:
        assert _snapshot(conn, immigrant_council) == []


def test_councils_in_latin1_are_refused_with_the_reason(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(COUNCILS.read_text(encoding="utf-8").encode("latin-1", errors="replace"))
    with pytest.raises(LoadError, match="UTF-8") as caught, engine.begin() as conn:
        load_councils(conn, path)
    assert caught.value.code == "BAD_ENCODING"


def test_enhetsregisteret_units_become_organisations(engine: sa.Engine) -> None:
    path = FIXTURES / "brreg-enheter.json"
    with engine.begin() as conn:
        report = load_organisations(conn, path)
        rows = {r.organisation_number: r for r in conn.execute(sa.select(organisation))}
    with engine.begin() as conn:
        again = load_organisations(conn, path)
    assert report.inserted == 3
    assert again.unchanged == 3
    assert rows["974760673"].kind == "PUBLIC_BODY"
    assert rows["974760673"].municipality_number == "1813"
    assert rows["123456785"].kind == "VOLUNTEER_CENTRE"
    assert rows["123456785"].in_voluntary_register is True
    assert rows["123456785"].website == "https://www.example.org"
    # 3205 is a 2024 number; the bundled boundaries are 2020's: kept out, with a warning.
    assert rows["123456793"].municipality_number is None
    assert rows["123456793"].kind == "SPORTS_CLUB"
    assert any("3205" in w for w in report.warnings)


def test_an_invalid_organisation_number_names_the_unit(engine: sa.Engine, tmp_path: Path) -> None:
    document = json.loads((FIXTURES / "brreg-enheter.json").read_text(encoding="utf-8"))
    document["_embedded"]["enheter"][1]["organisasjonsnummer"] = "123456789"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(LoadError, match="mod-11") as caught, engine.begin() as conn:
        load_organisations(conn, path)
    assert caught.value.record == "unit 2 (123456789)"
    with engine.connect() as conn:
        assert _snapshot(conn, organisation) == []


@pytest.mark.parametrize("number", ["12345678", "1234567890", "12345678A", "123456789"])
def test_organisation_number_rules(number: str) -> None:
    with pytest.raises(FieldError):
        organisation_number(number)


def test_councils_with_their_own_column_names_load_with_the_field_options(
    engine: sa.Engine, tmp_path: Path
) -> None:
    text = COUNCILS.read_text(encoding="utf-8")
    header, _, body = text.partition("\n")
    theirs = tmp_path / "rad.csv"
    theirs.write_text(header.replace("name;", "navn;", 1) + "\n" + body, encoding="utf-8")
    with engine.begin() as conn, pytest.raises(LoadError) as refused:
        load_councils(conn, theirs)
    assert refused.value.code == "BAD_HEADER"
    assert "navn" in refused.value.reason
    assert "--name-field FIELD" in refused.value.reason
    with engine.begin() as conn:
        report = load_councils(conn, theirs, source=COUNCILS.name, fields={"name": "navn"})
    with engine.begin() as conn:
        again = load_councils(conn, COUNCILS)
    assert report.inserted > 0
    assert again.inserted == 0  # the same councils as the documented file's, unchanged
    assert again.unchanged == report.inserted
