"""A seeded generator of venues and activities across Norway, for the demo and the benchmark.

Rows go where people live: municipalities are drawn by weight (immigrants in the latest year
with figures, else population, else area) and points cluster around a few centres inside each
municipality's polygon (loaders/synthetic/places.py), so ``municipality_number`` is the spatial
join's answer by construction. Attributes follow realistic mixes (loaders/synthetic/venues.py and
activities.py). The same database and seed give the same rows in the same order.

Every row says where it came from: ``source = "generated"`` and
``external_id = "gen-{seed}-{kind}-{n}"``. Rows are written in batches: COPY into temporary
staging tables, then ``INSERT ... SELECT ... ON CONFLICT (source, external_id) DO UPDATE`` only
where something differs, inside the caller's transaction. A second run with the same seed and
counts therefore reports every row unchanged and writes nothing; rows from other sources are never
touched. A venue's windows and an activity's sessions are replaced when, and only when, their
parent row is inserted or updated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql.elements import ColumnElement

from geo.crs import STORAGE_SRID
from geo.tables import activity, activity_schedule, venue, venue_availability
from loaders.report import LoadError, LoadReport
from loaders.synthetic import activities as act
from loaders.synthetic import venues as ven
from loaders.synthetic.places import Areas, load_areas, place
from loaders.synthetic.weighted import Dice

SOURCE = "generated"
BATCH = 10_000
Progress = Callable[[int, int], None]
_VENUE_STREAM, _ACTIVITY_STREAM = 1, 2  # SeedSequence keys; 0 is the municipalities' centres


def external_id(seed: int, kind: str, n: int) -> str:
    return f"gen-{seed}-{kind}-{n}"


# --- staging tables (temporary, private to the connection) -----------------------------------

_stage = sa.MetaData()


def _temp(name: str, *columns: sa.Column[Any]) -> sa.Table:
    return sa.Table(name, _stage, *columns, prefixes=["TEMPORARY"])


def _col(name: str, type_: Any) -> sa.Column[Any]:
    return sa.Column(name, type_)


_TEXTS = ARRAY(sa.Text)
venue_stage = _temp(
    "gen_venue_stage",
    _col("ord", sa.BigInteger),
    _col("external_id", sa.Text),
    _col("name", sa.Text),
    _col("description", sa.Text),
    _col("owner_type", sa.Text),
    _col("venue_type", sa.Text),
    _col("address", sa.Text),
    _col("x", sa.Double),
    _col("y", sa.Double),
    _col("municipality_number", sa.CHAR(4)),
    _col("capacity", sa.Integer),
    _col("price_model", sa.Text),
    _col("price_note", sa.Text),
    _col("step_free", sa.Boolean),
    _col("accessibility", _TEXTS),
    _col("amenities", _TEXTS),
    _col("suitable_categories", _TEXTS),
    _col("last_verified", sa.Date),
)
window_stage = _temp(
    "gen_window_stage",
    _col("venue_ord", sa.BigInteger),
    _col("seq", sa.SmallInteger),
    _col("weekday", sa.SmallInteger),
    _col("starts", sa.Time),
    _col("ends", sa.Time),
)
activity_stage = _temp(
    "gen_activity_stage",
    _col("ord", sa.BigInteger),
    _col("external_id", sa.Text),
    _col("title", sa.Text),
    _col("description", sa.Text),
    _col("category", sa.Text),
    _col("venue_external_id", sa.Text),
    _col("x", sa.Double),
    _col("y", sa.Double),
    _col("municipality_number", sa.CHAR(4)),
    _col("target_groups", _TEXTS),
    _col("min_age", sa.SmallInteger),
    _col("max_age", sa.SmallInteger),
    _col("languages", _TEXTS),
    _col("free", sa.Boolean),
    _col("cost_nok", sa.Numeric(10, 2)),
    _col("leisure_card_accepted", sa.Boolean),
    _col("registration_required", sa.Boolean),
    _col("status", sa.Text),
)
session_stage = _temp(
    "gen_session_stage",
    _col("activity_ord", sa.BigInteger),
    _col("seq", sa.SmallInteger),
    _col("weekday", sa.SmallInteger),
    _col("starts", sa.Time),
    _col("ends", sa.Time),
    _col("valid_from", sa.Date),
    _col("valid_to", sa.Date),
)
STAGED = (
    (venue_stage, ven.VenueRow),
    (window_stage, ven.WindowRow),
    (activity_stage, act.ActivityRow),
    (session_stage, act.SessionRow),
)


def _raw(conn: sa.Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under ``conn``, in the same transaction."""
    return cast(psycopg.Connection[Any], conn.connection.driver_connection)


def _copy(conn: sa.Connection, table: sa.Table, rows: Iterable[Sequence[Any]]) -> None:
    """Empty the staging table, then COPY ``rows`` into it."""
    name = sql.Identifier(table.name)
    columns = sql.SQL(", ").join(sql.Identifier(c.name) for c in table.c)
    with _raw(conn).cursor() as cursor:
        cursor.execute(sql.SQL("TRUNCATE {}").format(name))
        with cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(name, columns)) as copy:
            for row in rows:
                copy.write_row(row)


# --- upserts ---------------------------------------------------------------------------------


@dataclass
class Upserted:
    """The parent rows a batch inserted and updated, as (id, ord); the rest were unchanged."""

    inserted: list[tuple[int, int]] = field(default_factory=list)
    updated: list[tuple[int, int]] = field(default_factory=list)


def _point(stage: sa.Table) -> ColumnElement[Any]:
    return sa.func.ST_SetSRID(sa.func.ST_MakePoint(stage.c.x, stage.c.y), STORAGE_SRID)


def _bigints(values: Sequence[int]) -> ColumnElement[Any]:
    return sa.literal(list(values), ARRAY(sa.BigInteger))


def _ord(external: str) -> int:
    """The n of "gen-{seed}-{kind}-{n}", which is the row's ord in the staging table."""
    return int(external.rsplit("-", 1)[1])


def _upsert(
    conn: sa.Connection, target: sa.Table, stage: sa.Table, values: Mapping[str, ColumnElement[Any]]
) -> Upserted:
    """INSERT the staged rows in order; on a (source, external_id) conflict UPDATE the row only
    where something differs, so unchanged rows keep their updated_at and version."""
    names = list(values)
    source = sa.select(*(v.label(k) for k, v in values.items())).order_by(stage.c.ord)
    insert_rows = pg_insert(target).from_select(names, source)
    differs = sa.tuple_(*(target.c[n] for n in names)).is_distinct_from(
        sa.tuple_(*(insert_rows.excluded[n] for n in names))
    )
    stmt = insert_rows.on_conflict_do_update(
        index_elements=[target.c.source, target.c.external_id],
        set_={
            **{n: insert_rows.excluded[n] for n in names},
            "updated_at": sa.func.now(),
            "version": target.c.version + 1,
        },
        where=differs,
    ).returning(
        target.c.id, target.c.external_id, sa.cast(sa.column("xmax"), sa.Text) == "0"
    )  # xmax 0: a new row version
    result = Upserted()
    for row_id, external, fresh in conn.execute(stmt):
        (result.inserted if fresh else result.updated).append((row_id, _ord(external)))
    return result


def _replace_children(
    conn: sa.Connection, target: sa.Table, parent_key: str, stage: sa.Table, upserted: Upserted
) -> None:
    """Delete the children of updated parents, then insert the staged children of every
    inserted or updated parent (the staging table's columns: parent ord, seq, the values)."""
    if upserted.updated:
        conn.execute(
            sa.delete(target).where(
                target.c[parent_key] == sa.any_(_bigints([i for i, _ in upserted.updated]))
            )
        )
    changed = upserted.inserted + upserted.updated
    if not changed:
        return
    parent_ord, seq, *payload = stage.c
    parents = (
        sa.func.unnest(_bigints([i for i, _ in changed]), _bigints([o for _, o in changed]))
        .table_valued("id", "ord")
        .render_derived("parent")
    )
    rows = (
        sa.select(parents.c.id, *payload)
        .select_from(stage.join(parents, parents.c.ord == parent_ord))
        .order_by(parent_ord, seq)
    )
    conn.execute(sa.insert(target).from_select([parent_key, *(c.name for c in payload)], rows))


def _venue_values() -> dict[str, ColumnElement[Any]]:
    s = venue_stage.c
    values: dict[str, ColumnElement[Any]] = {
        name: s[name] for name in ven.VenueRow._fields if name not in ("ord", "x", "y")
    }
    return values | {"geom": _point(venue_stage), "source": sa.literal(SOURCE)}


def _activity_values() -> dict[str, ColumnElement[Any]]:
    s = activity_stage.c
    skip = ("ord", "x", "y", "venue_external_id")
    values: dict[str, ColumnElement[Any]] = {
        name: s[name] for name in act.ActivityRow._fields if name not in skip
    }
    # A scalar subquery: one probe of the (source, external_id) index per row, whatever the
    # planner thinks of the never-analysed staging table.
    venue_id = (
        sa.select(venue.c.id)
        .where(venue.c.source == SOURCE, venue.c.external_id == s.venue_external_id)
        .scalar_subquery()
    )
    return values | {
        "geom": _point(activity_stage),
        "venue_id": venue_id,
        "source": sa.literal(SOURCE),
    }


# --- rows ------------------------------------------------------------------------------------


@dataclass
class VenueMemory:
    """What activities need to know of the generated venues: where, and the building's name."""

    which: np.ndarray
    xy: np.ndarray
    names: list[str] = field(default_factory=list)

    @classmethod
    def empty(cls, n: int) -> VenueMemory:
        return cls(np.zeros(n, dtype=np.int32), np.zeros((n, 2)))


def _rng(seed: int, stream: int, batch: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, stream, batch]))


def _venue_batch(
    seed: int, batch: int, start: int, n: int, areas: Areas, memory: VenueMemory
) -> tuple[list[ven.VenueRow], list[ven.WindowRow]]:
    rng = _rng(seed, _VENUE_STREAM, batch)
    which, xy = place(rng, areas, n)
    uniforms = rng.random((n, ven.UNIFORMS)).tolist()
    rows, windows = [], []
    for i, (index, (x, y)) in enumerate(zip(which.tolist(), xy.tolist(), strict=True)):
        area = areas.items[index]
        row, row_windows = ven.make_venue(
            Dice(uniforms[i]),
            start + i,
            external_id(seed, "venue", start + i),
            area.number,
            area.name,
            x,
            y,
        )
        rows.append(row)
        windows.extend(row_windows)
    memory.which[start : start + n] = which
    memory.xy[start : start + n] = xy
    memory.names.extend(ven.short_name(row.name) for row in rows)
    return rows, windows


def _places(
    rng: np.random.Generator, seed: int, n: int, areas: Areas, memory: VenueMemory
) -> list[act.Place]:
    """Where each of ``n`` activities happens: at a generated venue, or at its own point."""
    venues = len(memory.names)
    at_venue = (rng.random(n) < act.AT_VENUE_SHARE) if venues else np.zeros(n, dtype=bool)
    picks = rng.integers(0, max(venues, 1), n).tolist()
    which, xy = place(rng, areas, int((~at_venue).sum()))
    own = iter(zip(which.tolist(), xy.tolist(), strict=True))
    places = []
    for here, k in zip(at_venue.tolist(), picks, strict=True):
        if here:
            area = areas.items[int(memory.which[k])]
            x, y = memory.xy[k].tolist()
            places.append(
                act.Place(
                    area.number, area.name, x, y, external_id(seed, "venue", k), memory.names[k]
                )
            )
        else:
            index, (x, y) = next(own)
            area = areas.items[index]
            places.append(act.Place(area.number, area.name, x, y))
    return places


def _activity_batch(
    seed: int, batch: int, start: int, n: int, areas: Areas, memory: VenueMemory
) -> tuple[list[act.ActivityRow], list[act.SessionRow]]:
    rng = _rng(seed, _ACTIVITY_STREAM, batch)
    places = _places(rng, seed, n, areas, memory)
    uniforms = rng.random((n, act.UNIFORMS)).tolist()
    rows, sessions = [], []
    for i, where in enumerate(places):
        row, row_sessions = act.make_activity(
            Dice(uniforms[i]), start + i, external_id(seed, "activity", start + i), where
        )
        rows.append(row)
        sessions.extend(row_sessions)
    return rows, sessions


# --- the run ---------------------------------------------------------------------------------

Built = tuple[Sequence[Sequence[Any]], Sequence[Sequence[Any]]]  # parent rows, child rows


@dataclass(frozen=True)
class _Kind:
    """How to build, stage and write one kind of parent row and its children."""

    build: Callable[[int, int, int, int, Areas, VenueMemory], Built]
    stage: sa.Table
    target: sa.Table
    values: Callable[[], dict[str, ColumnElement[Any]]]
    child_stage: sa.Table
    child_target: sa.Table
    parent_key: str

    def write(self, conn: sa.Connection, rows: Built) -> Upserted:
        parents, children = rows
        _copy(conn, self.stage, parents)
        _copy(conn, self.child_stage, children)
        upserted = _upsert(conn, self.target, self.stage, self.values())
        _replace_children(conn, self.child_target, self.parent_key, self.child_stage, upserted)
        return upserted


VENUES = _Kind(
    _venue_batch, venue_stage, venue, _venue_values, window_stage, venue_availability, "venue_id"
)
ACTIVITIES = _Kind(
    _activity_batch,
    activity_stage,
    activity,
    _activity_values,
    session_stage,
    activity_schedule,
    "activity_id",
)


@dataclass(frozen=True)
class _Batch:
    kind: _Kind
    number: int
    start: int
    size: int


def _plan(venues: int, activities: int) -> list[_Batch]:
    """Venues first (activities refer to them), in batches of at most BATCH rows."""
    return [
        _Batch(kind, number, start, min(BATCH, count - start))
        for kind, count in ((VENUES, venues), (ACTIVITIES, activities))
        for number, start in enumerate(range(0, count, BATCH))
    ]


def _count(report: LoadReport, upserted: Upserted, batch_size: int) -> None:
    report.inserted += len(upserted.inserted)
    report.updated += len(upserted.updated)
    report.unchanged += batch_size - len(upserted.inserted) - len(upserted.updated)


def _check(venues: int, activities: int, seed: int) -> None:
    for name, value in (("venues", venues), ("activities", activities), ("seed", seed)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


def _load_areas(conn: sa.Connection, seed: int) -> Areas:
    areas = load_areas(conn, seed)
    if not areas.items:
        raise LoadError(
            "no municipalities loaded; load the municipality boundaries first "
            "(hverdag demo loads the bundled ones)",
            code="NO_MUNICIPALITIES",
        )
    return areas


def _write(
    conn: sa.Connection,
    batches: list[_Batch],
    build: Callable[[_Batch], Built],
    report: LoadReport,
    progress: Progress | None,
) -> None:
    """Build batch k+1 in a worker thread while the server writes batch k. Batches are built
    one after the other, in order, so the result does not depend on the timing."""
    total, done = sum(b.size for b in batches), 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="generate") as builder:
        following = [*batches[1:], None]
        pending = builder.submit(build, batches[0]) if batches else None
        for batch, after in zip(batches, following, strict=True):
            rows = pending.result() if pending else ((), ())
            pending = builder.submit(build, after) if after else None
            _count(report, batch.kind.write(conn, rows), batch.size)
            done += batch.size
            if progress is not None:
                progress(done, total)


def generate(
    conn: sa.Connection,
    *,
    venues: int,
    activities: int,
    seed: int = 1,
    progress: Progress | None = None,
) -> LoadReport:
    """Generate ``venues`` venues and ``activities`` activities for ``seed`` (see the module's
    docstring); ``progress(done, total)`` is called after each batch. The report counts venues
    and activities (their windows and sessions go with them)."""
    _check(venues, activities, seed)
    areas = _load_areas(conn, seed)
    report = LoadReport(what="generated", warnings=list(areas.warnings))
    memory = VenueMemory.empty(venues)

    def build(batch: _Batch) -> Built:
        return batch.kind.build(seed, batch.number, batch.start, batch.size, areas, memory)

    stages = (venue_stage, window_stage, activity_stage, session_stage)
    for table in stages:
        table.create(conn, checkfirst=True)  # left over from a failed run in autocommit mode
    _write(conn, _plan(venues, activities), build, report, progress)
    for table in stages:
        table.drop(conn, checkfirst=True)
    if report.inserted or report.updated:
        conn.exec_driver_sql("ANALYZE venue, venue_availability, activity, activity_schedule")
    return report
