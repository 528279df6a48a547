"""``hverdag load hsds``, the round trip: the demo's HSDS package, loaded into a database with
the real data but no directory, exports again as the same content (ids mapped, and what may
differ named in MAY_DIFFER); loading it again changes nothing."""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from api.app import create_app
from geo.db import sync_engine
from geo.queries.hsds import RESOURCES, hsds_id
from geo.settings import load_settings
from geo.tables import activity, activity_schedule, organisation, venue
from loaders.hsds import load_hsds
from tests.api.conftest import http_client

SOURCE = "hsds-round-trip"
#: Columns that may differ between the two exports, and why:
#: - services' assured_date and last_modified: when a row was last verified and changed, which
#:   the load itself does (the upsert verifies what it loads: docs/freshness.md).
#: - schedules' and languages' ids: keys of child rows (a schedule row's own id, "activity
#:   /language"), made anew; the rows are compared by every other column.
MAY_DIFFER = {
    "services": {"assured_date", "last_modified"},
    "schedules": {"id"},
    "languages": {"id"},
}
#: Points go to EPSG:25833 for storage and back: the 7th decimal of a degree (1 cm) may move.
DEGREES = 2e-7


def _export(url: URL) -> bytes:
    async def fetch() -> bytes:
        settings = load_settings(
            database_url=url.render_as_string(hide_password=False), rate_limit_enabled=False
        )
        async with http_client(create_app(settings)) as client:
            response = await client.get("/export/hsds/datapackage.zip", timeout=300)
            assert response.status_code == 200, response.text
            return response.content

    return asyncio.run(fetch())


def _tables(package: bytes) -> dict[str, list[dict[str, str]]]:
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        return {
            r.stem: list(csv.DictReader(io.StringIO(z.read(r.path).decode(), newline="")))
            for r in RESOURCES.values()
        }


def _id_map(source_conn: sa.Connection, target_conn: sa.Connection) -> dict[str, str]:
    """The first export's ids -> the second's, through the loaded rows' external ids (the first
    export's UUIDs): each kind of id made from a row's id, for every row that was loaded."""
    mapping: dict[str, str] = {}
    kinds = (
        (organisation, ("organisation", "organisation-number")),
        (venue, ("venue", "venue-address")),
        (activity, ("activity", "activity-at", "activity-place")),
    )
    for table, prefixes in kinds:
        loaded = dict(
            target_conn.execute(
                sa.select(table.c.external_id, table.c.id).where(table.c.source == SOURCE)
            ).all()
        )
        for old in source_conn.execute(sa.select(table.c.id)).scalars():
            new = loaded.get(hsds_id(f"{prefixes[0]}/{old}"))
            if new is not None:
                mapping |= {hsds_id(f"{p}/{old}"): hsds_id(f"{p}/{new}") for p in prefixes}
    return mapping


def _canonical(
    tables: dict[str, list[dict[str, str]]], mapping: dict[str, str]
) -> dict[str, list[dict[str, str]]]:
    """Every id mapped, the columns that may differ left out, rows sorted."""
    found = {}
    for name, rows in tables.items():
        left_out = MAY_DIFFER.get(name, set())
        mapped = [
            {k: mapping.get(value, value) for k, value in row.items() if k not in left_out}
            for row in rows
        ]
        found[name] = sorted(mapped, key=lambda row: (row.get("id", ""), sorted(row.items())))
    return found


def _same_rows(name: str, first: list[dict[str, str]], second: list[dict[str, str]]) -> None:
    assert len(first) == len(second), name
    if "id" in first[0]:
        ids, again = {r["id"] for r in first}, {r["id"] for r in second}
        assert ids == again, (name, sorted(ids - again)[:3], sorted(again - ids)[:3])
    for before, after in zip(first, second, strict=True):
        for column in ("latitude", "longitude"):
            if column in before:
                assert abs(float(before.pop(column)) - float(after.pop(column))) <= DEGREES, (
                    name,
                    before,
                )
        assert before == after, name


@pytest.fixture
def target(fresh_loaded_url: URL) -> Iterator[sa.Engine]:
    """The real data (boundaries) without a directory: no organisation, venue or activity."""
    engine = sync_engine(fresh_loaded_url, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def test_export_load_export_gives_the_same_content_and_reloading_changes_nothing(
    loaded_url, loaded_conn, target, fresh_loaded_url, tmp_path
):
    package = tmp_path / "hverdag.zip"
    package.write_bytes(_export(loaded_url))
    first = _tables(package.read_bytes())
    assert len(first["services"]) > 1000
    assert first["schedules"]
    assert first["languages"]
    with target.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(activity)).scalar() == 0
        report = load_hsds(conn, package, source=SOURCE)
    with target.connect() as conn:
        loaded = {
            t.name: conn.execute(
                sa.select(sa.func.count()).select_from(t).where(t.c.source == SOURCE)
            ).scalar_one()
            for t in (organisation, venue, activity)
        }
    assert loaded["activity"] == len(first["services"])
    assert report.inserted == sum(loaded.values())
    second = _tables(_export(fresh_loaded_url))
    with target.connect() as conn:
        mapping = _id_map(loaded_conn, conn)
    # Only the first export's ids are mapped: the second's are already the new ones (and a new
    # id may equal an old one of another row).
    before, after = _canonical(first, mapping), _canonical(second, {})
    assert set(before) == set(after) == set(RESOURCES)
    for name in RESOURCES:
        _same_rows(name, before[name], after[name])

    with target.connect() as conn:
        versions = conn.execute(sa.select(sa.func.sum(activity.c.version))).scalar()
        sessions = conn.execute(sa.select(sa.func.count()).select_from(activity_schedule)).scalar()
    with target.begin() as conn:
        again = load_hsds(conn, package, source=SOURCE)
    assert (again.inserted, again.updated) == (0, 0)
    assert again.unchanged == report.inserted
    with target.connect() as conn:
        assert conn.execute(sa.select(sa.func.sum(activity.c.version))).scalar() == versions
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(activity_schedule)).scalar()
            == sessions
        )
