"""The graphql tests' shared fixture: two apps on the demo data, the compiled path on and off."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import create_app
from api.graphql.compiled import CompiledQueries
from geo.settings import Settings
from tests.api.conftest import compiled_of, http_client


@pytest.fixture
async def clients(
    api_settings: Settings,
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, CompiledQueries]]:
    """(compiled, plain, the compiled path): the same requests to both must answer the same."""
    on = create_app(api_settings.model_copy(update={"compiled_queries": True}))
    off = create_app(api_settings.model_copy(update={"compiled_queries": False}))
    async with http_client(on) as compiled, http_client(off) as plain:
        yield compiled, plain, compiled_of(on)
