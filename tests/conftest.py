"""Test databases on a real PostGIS: the embedded cluster (or HVERDAG_DATABASE_URL's server).

- ``template_url``: migrated, empty; created once per session.
- ``loaded_template_url``: the template plus the bundled real data (boundaries, statistics,
  Oslo's areas, initiatives, councils); never connected to after it is built, so it can be cloned.
- ``demo_template_url``: that plus the rest of ``hverdag demo``'s data set (the strategy's
  organisations and activities, generated places).
- ``loaded_url``: a clone of the demo shared by read-only tests; its connections default to
  read-only, so a test that writes by mistake fails instead of leaking into the next test.
- ``fresh_url`` / ``fresh_loaded_url`` / ``fresh_demo_url``: a clone of the empty, the real-data
  or the demo template for one test that writes, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from geo.db import Database, create_database, drop_database, migrate, sync_engine
from geo.settings import PROJECT_ROOT, Settings, load_settings

DATA_DIR = PROJECT_ROOT / "data"
FIXTURES = PROJECT_ROOT / "tests" / "fixtures"


def _name(kind: str) -> str:
    return f"hverdag_test_{kind}_{os.getpid()}_{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def server(settings: Settings) -> Iterator[Database]:
    database = Database.from_settings(settings)
    yield database
    database.close()


@pytest.fixture(scope="session")
def template_url(server: Database) -> Iterator[URL]:
    url = server.with_database(_name("tpl")).url
    migrate(url)
    yield url
    drop_database(url)


def _clone(server: Database, template: URL, kind: str) -> URL:
    url = server.with_database(_name(kind)).url
    create_database(url, template=str(template.database))
    return url


def _filled_clone(
    server: Database, template: URL, kind: str, fill: Callable[[sa.Connection], object]
) -> URL:
    """A clone of ``template`` with ``fill`` run on it in one transaction."""
    url = _clone(server, template, kind)
    engine = sync_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            fill(conn)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def loaded_template_url(server: Database, template_url: URL) -> Iterator[URL]:
    from loaders.bundle import load_bundled

    url = _filled_clone(
        server, template_url, "loaded_tpl", lambda conn: load_bundled(conn, DATA_DIR)
    )
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def demo_template_url(server: Database, loaded_template_url: URL) -> Iterator[URL]:
    from loaders.bundle import load_demo_extras

    url = _filled_clone(
        server, loaded_template_url, "demo_tpl", lambda conn: load_demo_extras(conn, DATA_DIR)
    )
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def loaded_url(server: Database, demo_template_url: URL) -> Iterator[URL]:
    url = _clone(server, demo_template_url, "loaded")
    engine = sync_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            name = conn.dialect.identifier_preparer.quote(str(url.database))
            conn.exec_driver_sql(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    finally:
        engine.dispose()
    yield url
    drop_database(url)


def _fresh(server: Database, template: URL, kind: str) -> Iterator[URL]:
    url = _clone(server, template, kind)
    yield url
    drop_database(url)


@pytest.fixture
def fresh_url(server: Database, template_url: URL) -> Iterator[URL]:
    yield from _fresh(server, template_url, "fresh")


@pytest.fixture
def fresh_loaded_url(server: Database, loaded_template_url: URL) -> Iterator[URL]:
    yield from _fresh(server, loaded_template_url, "fresh_loaded")


@pytest.fixture
def fresh_demo_url(server: Database, demo_template_url: URL) -> Iterator[URL]:
    yield from _fresh(server, demo_template_url, "fresh_demo")


@pytest.fixture
def loaded_conn(loaded_url: URL) -> Iterator[sa.Connection]:
    """A read-only connection to the shared database with the real data."""
    engine = sync_engine(loaded_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


@pytest.fixture
def fresh_engine(fresh_url: URL) -> Iterator[sa.Engine]:
    engine = sync_engine(fresh_url, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()
