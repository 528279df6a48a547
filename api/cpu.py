"""CPU-heavy work off the event loop: a few worker threads per process, shared by every room.

One event loop serves all of a worker process's requests: a check that computes for a second on
it stalls every other request (and /healthz) for that second, and the database connections the
stalled requests wait for time out as if the database were down (issue 20). So the work whose
cost grows with what a client sends runs here, in :data:`THREADS` threads of this process's
own, while the loop goes on serving:

- a drawn area's check (:func:`api.checks.coverage_area_off_loop`): a polygon's validity check,
  repair, clip, densification and transform (geo/given_areas.py), for GraphQL's ``coverage``
  and the coverage export;
- the parsing of an uploaded file (``importVenues``'s CSV or GeoJSON, up to 5 million
  characters).

Each such piece of work is also bounded in cost *before* it starts (geo.given_areas's limits,
the upload's size), so a thread is never held long.

- **Bounded**: at most :data:`THREADS` calls run at once per process, whatever the number of
  clients; the others wait in a queue (first come, first served) until a thread is free or
  their request ends. The default thread pool that starlette and anyio use for their own work
  is never taken.
- **Cancelled with the request**: when a request is cancelled (its client went away, or the
  GraphQL operation's time limit ran out), the coroutine awaiting :func:`run` is released at
  once. A call still queued never starts; one already running cannot be stopped (GEOS has no
  interrupt from another thread), so it finishes in its thread and its result is dropped —
  bounded by the limits above, and still counted against :data:`THREADS` until it ends, so
  abandoned work cannot pile up beyond it either.
- **Useful**: shapely 2 releases the GIL inside GEOS's operations (validity, repair, overlay),
  so the loop thread keeps running Python meanwhile; Python-level work (a CSV's rows) shares
  the GIL, which the interpreter hands back to the loop every few milliseconds.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

#: Worker threads per process for CPU-heavy work. Two: a process runs per core (docs/scaling.md),
#: and with GEOS off the GIL two threads already use a core beside the loop's.
THREADS = 2

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_waiting = 0
_running = 0


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="hverdag-cpu")
        return _pool


def queued() -> int:
    """Calls waiting for a thread now."""
    return _waiting


def running() -> int:
    """Calls running in a thread now (abandoned ones included)."""
    return _running


async def run(fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """``fn(*args, **kwargs)`` in one of the :data:`THREADS` worker threads; its exception is
    raised here. Cancelling the caller returns at once (see the module's docstring)."""
    global _waiting
    call = partial(fn, *args, **kwargs)

    def work() -> R:
        global _waiting, _running
        with _lock:
            _waiting -= 1
            _running += 1
        try:
            return call()
        finally:
            with _lock:
                _running -= 1

    def unqueue(future: Future[R]) -> None:
        global _waiting
        if future.cancelled():  # cancelled while it waited: it will never run
            with _lock:
                _waiting -= 1

    executor = _executor()
    with _lock:
        _waiting += 1
    future = executor.submit(work)
    future.add_done_callback(unqueue)
    # Cancelling the awaiting task cancels the wrapped future, which cancels ``future`` if it
    # has not started yet.
    return await asyncio.wrap_future(future)
