"""One way to read: every read of the API (GraphQL, exports, HSDS, tiles, OGC API) goes through a
:class:`Reader`, which

- reads where reads belong: the read replica's engine when one is configured;
- refuses at once while the database is known to be down (:class:`geo.db.OutageBreaker`, which
  only a failed connection attempt opens: a statement cancelled because its client went away
  is not an outage);
- tries a read once more on a new connection when the pooled one turns out dead (the server
  restarted since it was last used);
- discards, alone, a connection whose statement was interrupted (a cancelled request, a client
  that hung up mid-download): it never goes back to the pool, and the pool's others stay;
- bounds the connections one request holds at once (:class:`ReadLimits`): a request's first
  connection is always granted, more only while the process has connections to spare, so one
  request with many aliases cannot take the pool from everybody else;
- streams a statement's rows from a server-side cursor (:class:`ReadStream`).

It knows nothing of GraphQL or HTTP: the interfaces turn :class:`DatabaseUnavailable` into their
own errors.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Concatenate, ParamSpec, TypeVar

import anyio
import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.util import greenlet_spawn

from geo.db import OutageBreaker, outage_breaker
from geo.queries.export import BATCH_SIZE

P = ParamSpec("P")
R = TypeVar("R")
DriverConnection = psycopg.AsyncConnection[Any]

UNAVAILABLE_MESSAGE = "The database is unavailable; try again shortly"


class DatabaseUnavailable(Exception):  # noqa: N818 - a state, as the interfaces name it
    """The database is known to be down: refused without trying (the outage breaker)."""

    def __init__(self) -> None:
        super().__init__(UNAVAILABLE_MESSAGE)
        self.message = UNAVAILABLE_MESSAGE


@dataclass(frozen=True)
class ReadLimits:
    #: Most connections one request holds at once (HVERDAG_REQUEST_CONNECTIONS).
    per_request: int = 4
    #: Connections of the read pool that extra (second, third…) connections of a request may
    #: use at once in this process; a request's first connection does not count against it.
    shared_extra: int = 10
    #: Heavy reads (text searches, counts of all matches, coverage) running at once in this
    #: process (HVERDAG_HEAVY_READS): the rest wait, and ordinary reads keep the CPU.
    heavy: int = 1


class _DeadConnectionError(Exception):
    """A pooled connection the server had closed: the read can be tried on a new one."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class Reader:
    """A process's reads: its engines, their breaker and the limits shared by its requests."""

    def __init__(
        self,
        engine: AsyncEngine,
        driver_engine: AsyncEngine | None = None,
        limits: ReadLimits | None = None,
    ) -> None:
        self.engine = engine
        #: Autocommit connections to ``engine``'s server (geo.db.autocommit_engine), for single
        #: statements run on psycopg itself; without one, ``engine``'s, switched for the call.
        self.driver_engine = driver_engine
        self.limits = limits or ReadLimits()
        self._extra = asyncio.Semaphore(max(0, self.limits.shared_extra))
        self._heavy = asyncio.Semaphore(max(1, self.limits.heavy))

    @property
    def breaker(self) -> OutageBreaker | None:
        return outage_breaker(self.engine)

    def for_request(self) -> RequestReads:
        return RequestReads(self)


@dataclass
class _Lanes:
    """The connections one request holds: its own lane, and extra lanes while the process has
    some to spare (never more than ``per_request`` in all)."""

    reader: Reader
    own: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))
    extra_held: int = 0

    async def acquire(self) -> Callable[[], None]:
        """A lane for one connection; call what it returns to give it back."""
        if not self.own.locked():
            await self.own.acquire()  # free: no wait
            return self.own.release
        shared = self.reader._extra
        if self.extra_held + 1 < self.reader.limits.per_request and not shared.locked():
            await shared.acquire()
            self.extra_held += 1
            return self._release_extra
        await self.own.acquire()  # wait for this request's own lane
        return self.own.release

    def _release_extra(self) -> None:
        self.extra_held -= 1
        self.reader._extra.release()


class RequestReads:
    """One request's reads through its :class:`Reader`."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self._lanes = _Lanes(reader)

    @asynccontextmanager
    async def heavy(self) -> AsyncIterator[None]:
        """Around a heavy read (a text search, a count of every match, a coverage report): it
        waits for one of the process's few heavy slots, so a crowd of them cannot take the
        database's CPU from ordinary reads."""
        async with self.reader._heavy:
            yield

    def _may_try(self) -> OutageBreaker | None:
        breaker = self.reader.breaker
        if breaker is not None and not breaker.may_try():
            raise DatabaseUnavailable
        return breaker

    async def run(
        self, fn: Callable[Concatenate[Connection, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run a plain ``geo`` function on a pooled connection (read-only use; rolled back).
        Once more on a new connection when the pooled one turns out dead."""
        breaker = self._may_try()
        release = await self._lanes.acquire()
        try:
            for attempt in range(2):
                conn = await self.reader.engine.connect()
                try:
                    result = await conn.run_sync(fn, *args, **kwargs)
                except DBAPIError as exc:
                    await _close(conn)  # SQLAlchemy has invalidated it if the server went away
                    if attempt or not exc.connection_invalidated:
                        raise
                    continue
                except BaseException as exc:
                    await (_close(conn) if isinstance(exc, Exception) else _release(conn))
                    raise
                await _close(conn)
                _up(breaker)
                return result
        finally:
            release()
        raise AssertionError("unreachable")

    async def run_async(
        self,
        fn: Callable[Concatenate[AsyncConnection, P], Awaitable[R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """As :meth:`run`, for an async ``geo`` function of an ``AsyncConnection`` (tiles,
        OGC API)."""
        breaker = self._may_try()
        release = await self._lanes.acquire()
        try:
            for attempt in range(2):
                conn = await self.reader.engine.connect()
                try:
                    result = await fn(conn, *args, **kwargs)
                except DBAPIError as exc:
                    await _close(conn)  # SQLAlchemy has invalidated it if the server went away
                    if attempt or not exc.connection_invalidated:
                        raise
                    continue
                except BaseException as exc:
                    await (_close(conn) if isinstance(exc, Exception) else _release(conn))
                    raise
                await _close(conn)
                _up(breaker)
                return result
        finally:
            release()
        raise AssertionError("unreachable")

    async def run_on_driver(
        self,
        fn: Callable[Concatenate[DriverConnection, P], Awaitable[R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """Run an async ``geo`` function on a pooled connection's psycopg connection, in
        autocommit: each statement is one round trip (no BEGIN and ROLLBACK around it). For
        reads whose statements need no common snapshot. Retried once, as :meth:`run`."""
        breaker = self._may_try()
        release = await self._lanes.acquire()
        try:
            result = await self._on_driver(fn, *args, **kwargs)
        except _DeadConnectionError:
            try:
                result = await self._on_driver(fn, *args, **kwargs)
            except _DeadConnectionError as dead:
                raise dead.error from None
        finally:
            release()
        _up(breaker)
        return result

    async def _on_driver(
        self,
        fn: Callable[Concatenate[DriverConnection, P], Awaitable[R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        # The pool's connection itself, with no Connection around it: the Connection and its
        # async wrapper cost as much CPU as psycopg's own work on the statement. A failure to
        # connect still goes through the engine's events (the OutageBreaker) and comes out as
        # SQLAlchemy's OperationalError, as from connect().
        engine = self.reader.driver_engine or self.reader.engine
        pooled = await engine.raw_connection()
        driver: DriverConnection = pooled.driver_connection  # type: ignore[assignment]
        switched = not driver.autocommit
        try:
            if switched:
                await driver.set_autocommit(True)
            return await fn(driver, *args, **kwargs)
        except psycopg.OperationalError as exc:
            if not driver.broken:
                raise  # a statement timeout, say: the connection is fine
            # The server went away: never hand this connection out again, and drop the
            # pool's others, made before it went (SQLAlchemy's own response to a
            # disconnect, which it does not see here).
            await greenlet_spawn(pooled.invalidate)
            await engine.dispose(close=False)
            raise _DeadConnectionError(exc) from exc
        except BaseException as exc:
            if not isinstance(exc, Exception) and not _idle(driver):
                # Interrupted (the request was cancelled) and psycopg could not end the
                # statement cleanly: this connection goes, the pool's others stay.
                with anyio.CancelScope(shield=True):
                    await greenlet_spawn(pooled.invalidate)
            raise
        finally:
            with anyio.CancelScope(shield=True):
                if switched and not driver.closed:
                    await driver.set_autocommit(False)
                await greenlet_spawn(pooled.close)  # back to the pool (its reset may await)

    async def open_stream(
        self,
        build: Callable[[Connection], sa.Select[Any]],
        *,
        snapshot: bool = False,
    ) -> ReadStream:
        """A connection held for a download, with ``build``'s statement's first batch fetched
        (so a failure is known before any byte is sent). ``snapshot``: one REPEATABLE READ,
        read-only transaction for several statements (:meth:`ReadStream.batches`). Close the
        stream however the download ends."""
        breaker = self._may_try()
        conn = await self.reader.engine.connect()
        stream = ReadStream(conn)
        try:
            if snapshot:
                await conn.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            stmt = await conn.run_sync(build)
            stream.statement = stmt
            stream.first_batches = stream.batches(stmt)
            stream.first = await anext(stream.first_batches, [])
        except BaseException:
            await stream.close()
            raise
        _up(breaker)
        return stream


class ReadStream:
    """A connection held while a download streams, closed exactly once. Closed in the middle
    of a statement's rows (the client hung up, the server stopped), the connection is
    discarded rather than returned: the pool never gets a connection in an unknown state."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.statement: sa.Select[Any] | None = None
        self.first_batches: AsyncIterator[Sequence[sa.Row[Any]]] = _no_rows()
        self.first: Sequence[sa.Row[Any]] = []
        #: Statements whose rows were not all read: then the connection is discarded.
        self._unfinished = 0
        self._iterators: list[AsyncGenerator[Sequence[sa.Row[Any]], None]] = []
        self.closed = False

    def batches(
        self, stmt: sa.Select[Any], batch_size: int = BATCH_SIZE
    ) -> AsyncIterator[Sequence[sa.Row[Any]]]:
        """Batches of ``stmt``'s rows from a server-side cursor, each batch one ``FETCH``."""
        rows = self._rows(stmt, batch_size)
        self._iterators.append(rows)
        return rows

    async def _rows(
        self, stmt: sa.Select[Any], batch_size: int
    ) -> AsyncGenerator[Sequence[sa.Row[Any]], None]:
        self._unfinished += 1
        result = await self.conn.stream(stmt.execution_options(yield_per=batch_size))
        async for batch in result.partitions():
            yield batch
        await result.close()
        self._unfinished -= 1

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with anyio.CancelScope(shield=True):
            if self._unfinished:
                await _discard(self.conn)
            for rows in self._iterators:
                with contextlib.suppress(Exception):  # its connection is gone already
                    await rows.aclose()
            if not self._unfinished:
                await _close(self.conn)


async def _close(conn: AsyncConnection) -> None:
    """Back to the pool (rolled back), undisturbed by a cancellation arriving meanwhile."""
    # A connection that died after its work was done: the pool discards it.
    with anyio.CancelScope(shield=True), contextlib.suppress(DBAPIError):
        await conn.close()


def _idle(driver: DriverConnection | None) -> bool:
    """Whether psycopg left the connection usable: open, and no statement running (after a
    cancellation it cancels the statement and waits; when that is interrupted, it closes)."""
    return (
        driver is not None
        and not driver.closed
        and not driver.broken
        and driver.info.transaction_status != psycopg.pq.TransactionStatus.ACTIVE
    )


async def _release(conn: AsyncConnection) -> None:
    """A connection whose work was interrupted: back to the pool when psycopg left it usable,
    else discarded alone."""
    sync = conn.sync_connection
    if sync is None or sync.invalidated:  # SQLAlchemy has already let it go
        await _discard(conn)
    elif _idle(sync.connection.driver_connection):
        await _close(conn)
    else:
        await _discard(conn)


async def _discard(conn: AsyncConnection) -> None:
    """This connection alone is closed and never returned to the pool (no rollback is tried
    on a connection that may be mid-statement or already closed by the driver)."""
    with anyio.CancelScope(shield=True):
        try:
            if not conn.closed and not conn.invalidated:
                await conn.invalidate()
        finally:
            await conn.close()


async def _no_rows() -> AsyncIterator[Sequence[sa.Row[Any]]]:
    return
    yield


def _up(breaker: OutageBreaker | None) -> None:
    """A read worked: the database is up (with no ping before checkout, a read is the proof
    it is back)."""
    if breaker is not None and breaker.open:
        breaker.succeeded()
