"""Brønnøysund's update feed (issue 17, item 4) on the fixture pages: a deleted organisation
flagged, a name and an address applied, a bankrupt one's activities flagged for review (not
deleted), a re-run changing nothing, a resumed run applying only later updates, bad updates
refused with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from geo.db import sync_engine
from geo.tables import activity, organisation, problem_report, registry_sync
from loaders.activities import load_activities
from loaders.organisation_updates import FEED, load_organisation_updates
from loaders.report import LoadError
from loaders.venues import load_venues
from tests.conftest import FIXTURES
from tests.loaders._directory import ACTIVITIES_CSV, VENUES_CSV, load_fixture_organisations

PAGE = FIXTURES / "brreg-oppdateringer-enheter.json"
NEXT_PAGE = FIXTURES / "brreg-oppdateringer-enheter-2.json"


@pytest.fixture
def engine(fresh_loaded_url: URL):
    engine = sync_engine(fresh_loaded_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        load_fixture_organisations(conn)
        load_venues(conn, VENUES_CSV)
        load_activities(conn, ACTIVITIES_CSV)
    yield engine
    engine.dispose()


def _organisations(conn: sa.Connection) -> dict[str, sa.Row]:
    return {
        r.organisation_number: r
        for r in conn.execute(
            sa.select(organisation).where(organisation.c.organisation_number.isnot(None))
        )
    }


def _state(conn: sa.Connection) -> tuple:
    """Everything the loader may write."""
    return (
        [tuple(r) for r in conn.execute(sa.select(organisation).order_by(organisation.c.id))],
        [tuple(r) for r in conn.execute(sa.select(problem_report).order_by(problem_report.c.id))],
        [tuple(r) for r in conn.execute(sa.select(activity).order_by(activity.c.id))],
        [tuple(r) for r in conn.execute(sa.select(registry_sync))],
    )


def test_deleted_flagged_renamed_and_moved_then_a_rerun_changes_nothing(engine) -> None:
    with engine.connect() as conn:
        before = _organisations(conn)
    with engine.begin() as conn:
        report = load_organisation_updates(conn, PAGE)
    assert (report.updated, report.not_ours, report.last_update_id) == (2, 1, 24106015)
    with engine.connect() as conn:
        after = _organisations(conn)
        assert (
            conn.execute(
                sa.select(registry_sync.c.last_update_id).where(registry_sync.c.feed == FEED)
            ).scalar_one()
            == 24106015
        )
        first = _state(conn)
    deleted = after["123456793"]
    assert (deleted.registry_status, deleted.version) == (
        "DELETED",
        before["123456793"].version + 1,
    )
    assert deleted.archived_at is None  # flagged, not deleted
    renamed = after["123456785"]
    assert renamed.name == "EKSEMPEL FRIVILLIGSENTRAL GRØNLAND"
    assert (renamed.address, renamed.postal_code, renamed.postal_place) == (
        "Grønlandsleiret 1",
        "0190",
        "OSLO",
    )
    assert renamed.municipality_number == "0301"
    assert renamed.registry_status is None
    assert "123456808" not in after  # a unit we do not hold: not created

    with engine.begin() as conn:
        again = load_organisation_updates(conn, PAGE)
    assert (again.updated, again.already_applied) == (0, 3)
    with engine.connect() as conn:
        assert _state(conn) == first


def test_a_resumed_run_applies_only_later_updates_and_flags_activities(engine) -> None:
    with engine.begin() as conn:
        load_organisation_updates(conn, PAGE)
    with engine.connect() as conn:
        deleted_before = _organisations(conn)["123456793"]
    with engine.begin() as conn:
        report = load_organisation_updates(conn, NEXT_PAGE)
    # 24106015 (deleted) was applied before: not again; 24107230 (bankrupt) is new.
    assert (report.already_applied, report.updated, report.last_update_id) == (1, 1, 24107230)
    with engine.connect() as conn:
        orgs = _organisations(conn)
        assert orgs["123456793"] == deleted_before
        bankrupt = orgs["123456785"]
        assert bankrupt.registry_status == "BANKRUPT"
        live = (
            conn.execute(
                sa.select(activity.c.id).where(
                    activity.c.organisation_id == bankrupt.id,
                    activity.c.archived_at.is_(None),
                    activity.c.status == "ACTIVE",
                )
            )
            .scalars()
            .all()
        )
        reports = conn.execute(
            sa.select(problem_report).where(problem_report.c.source == "brreg")
        ).all()
    assert live  # the fixture's activities of 123456785 are still there, not archived
    assert report.flagged == len(live)
    assert sorted(r.entry_id for r in reports) == sorted(live)
    assert {(r.entry_kind, r.kind, r.status) for r in reports} == {
        ("ACTIVITY", "NO_LONGER_RUNS", "OPEN")
    }
    assert all("123456785" in r.message and "bankrupt" in r.message for r in reports)
    assert all(r.reporter_hash is None for r in reports)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"oppdateringsid": "24106011"}, "oppdateringsid"),
        ({"organisasjonsnummer": "12345678"}, "organisasjonsnummer"),
        ({"endringstype": "Flyttet"}, "endringstype"),
        ({"dato": "30.11.2026"}, "dato"),
        ({"endringer": [{"op": "replace"}]}, "endringer"),
    ],
)
def test_a_bad_update_is_refused_and_nothing_is_written(
    engine, tmp_path: Path, change: dict, field: str
) -> None:
    document = json.loads(PAGE.read_text(encoding="utf-8"))
    document["_embedded"]["oppdaterteEnheter"][2].update(change)
    bad = tmp_path / "feed.json"
    bad.write_text(json.dumps(document), encoding="utf-8")
    with engine.connect() as conn:
        before = _state(conn)
    with pytest.raises(LoadError) as raised, engine.begin() as conn:
        load_organisation_updates(conn, bad)
    assert raised.value.field == field
    with engine.connect() as conn:
        assert _state(conn) == before
