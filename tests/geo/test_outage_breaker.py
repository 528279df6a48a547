"""The outage breaker: open on a failed connection, one trial per interval, closed on success;
and wired to a real engine's events (a connection to a missing socket opens it)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from geo.db import OutageBreaker, async_engine, outage_breaker
from geo.settings import load_settings


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_lets_one_caller_try_per_interval_while_open():
    clock = Clock()
    breaker = OutageBreaker(retry_s=0.5, clock=clock)
    assert [breaker.may_try() for _ in range(3)] == [True, True, True]
    breaker.failed()
    assert breaker.open
    assert [breaker.may_try() for _ in range(3)] == [False, False, False]
    clock.now += 0.5
    assert [breaker.may_try() for _ in range(3)] == [True, False, False]
    breaker.failed()  # the trial failed too: wait another interval
    clock.now += 0.4
    assert not breaker.may_try()
    clock.now += 0.1
    assert breaker.may_try()
    breaker.succeeded()
    assert not breaker.open
    assert [breaker.may_try() for _ in range(3)] == [True, True, True]


@pytest.mark.anyio
async def test_a_failed_connection_opens_the_engines_breaker(tmp_path, loaded_url):
    settings = load_settings()
    dead = async_engine(loaded_url.set(query={"host": str(tmp_path)}), settings)
    alive = async_engine(loaded_url, settings)
    try:
        with pytest.raises(sa.exc.OperationalError):
            async with dead.connect():
                pass
        assert outage_breaker(dead).open
        async with alive.connect() as conn:
            assert (await conn.execute(sa.select(sa.literal(1)))).scalar_one() == 1
        assert not outage_breaker(alive).open
    finally:
        await dead.dispose()
        await alive.dispose()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
