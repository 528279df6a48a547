"""A writable copy of the loaded database per test module; each test's writes are rolled back."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from geo.db import Database, create_database, drop_database, sync_engine


@pytest.fixture(scope="module")
def scratch_engine(server: Database, loaded_template_url: URL) -> Iterator[sa.Engine]:
    url = server.with_database(f"hverdag_test_loaders_{os.getpid()}_{uuid.uuid4().hex[:6]}").url
    create_database(url, template=str(loaded_template_url.database))
    engine = sync_engine(url, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()
    drop_database(url)


@pytest.fixture
def scratch_conn(scratch_engine: sa.Engine) -> Iterator[sa.Connection]:
    """The bundled data, writable; whatever the test writes is rolled back afterwards."""
    with scratch_engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            transaction.rollback()
