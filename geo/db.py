"""Database engines, the database lifecycle (create, migrate, check) and the resolved URL."""

from __future__ import annotations

import ast
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa
from psycopg.types.json import set_json_loads
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from geo.cluster import EmbeddedCluster
from geo.settings import Settings

if TYPE_CHECKING:
    from alembic.config import Config

EXTENSIONS = ("postgis", "btree_gist", "pg_trgm", "unaccent")


@dataclass
class Database:
    """Where the data lives: a configured server, or the embedded cluster (started on demand)."""

    url: URL
    cluster: EmbeddedCluster | None = None
    started_cluster: bool = False

    @classmethod
    def from_settings(cls, settings: Settings, *, start: bool = True) -> Database:
        if settings.database_url:
            return cls(url=make_url(settings.database_url))
        cluster = EmbeddedCluster(settings.home)
        started = cluster.start() if start else False
        return cls(
            url=make_url(cluster.url(settings.database_name)),
            cluster=cluster,
            started_cluster=started,
        )

    def with_database(self, name: str) -> Database:
        return Database(url=self.url.set(database=name), cluster=self.cluster)

    def close(self) -> None:
        """Stop the embedded cluster if, and only if, this process started it."""
        if self.cluster is not None and self.started_cluster:
            self.cluster.stop()
            self.started_cluster = False


def _connect_args(settings: Settings | None, *, api: bool) -> dict[str, object]:
    # JIT compiles for 100+ ms on a 1 ms query whose cost estimate is high: always off.
    options = "-c jit=off -c timezone=UTC"
    if api and settings is not None:
        options += f" -c statement_timeout={settings.statement_timeout_ms}"
    args: dict[str, object] = {"options": options}
    if api:
        # After five executions a server-side prepared statement can switch to a generic plan
        # that scans far more (a parameterised LIMIT); SQLAlchemy's compiled cache already
        # saves the client's work.
        args["prepare_threshold"] = None
    if settings is not None:
        args["connect_timeout"] = max(1, round(settings.connect_timeout_s))
    return args


def sync_engine(url: URL | str, settings: Settings | None = None, **kwargs: object) -> Engine:
    """An engine for loaders, migrations and the CLI (no statement timeout: loads may be long)."""
    return sa.create_engine(
        url, connect_args=_connect_args(settings, api=False), pool_pre_ping=True, **kwargs
    )


class OutageBreaker:
    """Fails requests at once while the database is known to be down, instead of letting each
    one wait for the pool and a connection attempt of its own.

    The engine's events drive it: a failed connection attempt opens it (nothing else: a
    statement cancelled because its client went away is not an outage); a new connection
    closes it. While open, one caller every ``retry_s`` is let
    through to try the database (so it closes by itself once PostgreSQL is back); the others
    are told at once. A busy pool (overload) does not open it: that is a pool timeout, not a
    failure of the database.
    """

    def __init__(self, retry_s: float = 0.5, clock: Callable[[], float] = time.monotonic) -> None:
        self.retry_s = retry_s
        self.clock = clock
        self.down_since: float | None = None
        self.next_try = 0.0

    @property
    def open(self) -> bool:
        return self.down_since is not None

    def may_try(self) -> bool:
        """Whether this caller may use the database now (always, unless it is down)."""
        if self.down_since is None:
            return True
        now = self.clock()
        if now >= self.next_try:
            self.next_try = now + self.retry_s
            return True
        return False

    def failed(self) -> None:
        now = self.clock()
        if self.down_since is None:
            self.down_since = now
        self.next_try = max(self.next_try, now + self.retry_s)

    def succeeded(self) -> None:
        self.down_since = None


_BREAKERS: weakref.WeakKeyDictionary[Engine, OutageBreaker] = weakref.WeakKeyDictionary()


def outage_breaker(engine: AsyncEngine) -> OutageBreaker | None:
    """The breaker of an engine made by :func:`async_engine` (None for any other)."""
    return _BREAKERS.get(engine.sync_engine)


def _watch(engine: Engine, breaker: OutageBreaker) -> None:
    def on_error(context: sa.engine.ExceptionContext) -> None:
        # Only a failure to reach PostgreSQL opens it. A connection lost mid-statement (the
        # statement cancelled because its client hung up, or the server restarted) is not
        # proof of an outage: the read is retried on a new connection, and that attempt
        # opens the breaker if the server is really gone.
        if context.connection is None and not context.is_pre_ping:
            breaker.failed()

    def on_connect(dbapi_connection: object, record: object) -> None:
        breaker.succeeded()

    sa.event.listen(engine, "handle_error", on_error)
    sa.event.listen(engine.pool, "connect", on_connect)
    _BREAKERS[engine] = breaker


def async_engine(
    url: URL | str,
    settings: Settings,
    *,
    autocommit: bool = False,
    breaker: OutageBreaker | None = None,
) -> AsyncEngine:
    """The API's engine: bounded pool, statement timeout, quick failure when the DB is down
    (connect timeout, and an :class:`OutageBreaker` once an attempt has failed: ``breaker``,
    to share one with another engine on the same server).

    ``autocommit``: connections that stay in autocommit, for single statements that need no
    transaction (:func:`autocommit_engine`)."""
    # A connection that never holds a transaction has nothing to roll back when it returns.
    modes: dict[str, Any] = (
        {"isolation_level": "AUTOCOMMIT", "pool_reset_on_return": None} if autocommit else {}
    )
    engine = create_async_engine(
        make_url(url).set(drivername="postgresql+psycopg_async"),
        connect_args=_connect_args(settings, api=True),
        pool_size=settings.pool_size,
        max_overflow=settings.pool_size,
        pool_timeout=settings.pool_timeout_s,
        # No ping before every checkout (a round trip, a large share of a near-me request;
        # docs/performance.md): a connection the server dropped fails on use instead, and
        # geo.reader retries that read once on a new connection.
        pool_pre_ping=False,
        **modes,
    )
    _watch(engine.sync_engine, breaker if breaker is not None else OutageBreaker())
    return engine


def autocommit_engine(settings: Settings, reader: AsyncEngine) -> AsyncEngine:
    """A pool of autocommit connections to where ``reader`` reads, sharing its outage breaker:
    for the near-me statements run straight on psycopg (api.graphql.context ``run_on_driver``). A
    connection of ``reader``'s pool would have to be switched to autocommit and back, and
    rolled back on return: a tenth of the worker's CPU for a near-me request
    (docs/performance.md). Their JSON is parsed by orjson: a page read in other languages
    carries each row's translations as JSON (geo.queries.translations.with_translations):
    under cProfile, 2,000 such pages took 358 ms to parse with the standard library's
    parser, 75 ms with orjson."""
    engine = async_engine(reader.url, settings, autocommit=True, breaker=outage_breaker(reader))
    sa.event.listen(engine.sync_engine.pool, "connect", _parse_json_with_orjson)
    return engine


def _parse_json_with_orjson(dbapi_connection: Any, record: object) -> None:
    set_json_loads(orjson.loads, dbapi_connection.driver_connection)


def read_engine(settings: Settings, primary: AsyncEngine) -> AsyncEngine:
    """The engine for read-only work: a replica's (``HVERDAG_DATABASE_READ_URL``) when one is
    configured, else the primary's own."""
    if not settings.database_read_url:
        return primary
    return async_engine(settings.database_read_url, settings)


def _admin_url(url: URL) -> URL:
    return url.set(database="postgres")


def database_exists(url: URL) -> bool:
    engine = sync_engine(_admin_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                sa.select(sa.literal(1))
                .select_from(sa.table("pg_database", sa.column("datname")))
                .where(sa.column("datname") == url.database)
            ).first()
        return found is not None
    finally:
        engine.dispose()


def create_database(url: URL, *, template: str | None = None) -> None:
    """CREATE DATABASE (optionally from a template); identifiers quoted by the dialect."""
    engine = sync_engine(_admin_url(url), poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            preparer = conn.dialect.identifier_preparer
            statement = f"CREATE DATABASE {preparer.quote(str(url.database))}"
            if template:
                statement += f" TEMPLATE {preparer.quote(template)}"
            conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def drop_database(url: URL) -> None:
    engine = sync_engine(_admin_url(url), poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            name = conn.dialect.identifier_preparer.quote(str(url.database))
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        engine.dispose()


# Alembic is imported where it is used: the API's workers only ever read the revision (/readyz),
# and importing it at start costs each worker ~9 MB.


def alembic_config(url: URL) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("geo") / "migrations"))
    config.set_main_option(
        "sqlalchemy.url", url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


def migrate(url: URL, revision: str = "head") -> None:
    """Create the database if missing, then bring it to ``revision`` with Alembic."""
    from alembic import command

    if not database_exists(url):
        create_database(url)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: URL, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


#: Where Alembic records a database's revision.
_ALEMBIC_VERSION = sa.table("alembic_version", sa.column("version_num", sa.String))


def head_revision() -> str | None:
    """The newest migration: the revision no other migration follows, read from the files'
    ``revision`` and ``down_revision``. Without Alembic, which /readyz would otherwise load into
    every worker (~10 MB each); a test checks this is Alembic's own answer."""
    parents: dict[str, tuple[str, ...]] = {}
    for path in (resources.files("geo") / "migrations" / "versions").iterdir():
        if path.name.endswith(".py"):
            found = _literals(path.read_text(encoding="utf-8"), {"revision", "down_revision"})
            down = found.get("down_revision")
            parents[found["revision"]] = (
                tuple(down) if isinstance(down, tuple | list) else () if down is None else (down,)
            )
    heads = set(parents) - {parent for ups in parents.values() for parent in ups}
    if len(heads) > 1:
        raise RuntimeError(f"the migrations have several heads: {sorted(heads)}")
    return next(iter(heads), None)


def _literals(source: str, names: set[str]) -> dict[str, Any]:
    """The module-level literal values assigned to ``names`` in a Python source."""
    found: dict[str, Any] = {}
    for node in ast.parse(source).body:
        target: ast.expr
        if isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        elif isinstance(node, ast.Assign):
            target, value = node.targets[0], node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in names and value is not None:
            found[target.id] = ast.literal_eval(value)
    return found


def current_revision(conn: Connection) -> str | None:
    """The database's revision, as Alembic recorded it (None before the first migration)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    versions = conn.execute(sa.select(_ALEMBIC_VERSION.c.version_num)).scalars().all()
    if len(versions) > 1:
        raise RuntimeError(f"the database records several revisions: {sorted(versions)}")
    return versions[0] if versions else None


def migrations_current(conn: Connection) -> bool:
    return current_revision(conn) == head_revision()


@contextmanager
def connect(url: URL, settings: Settings | None = None) -> Iterator[Connection]:
    """One connection with a transaction that commits on success and rolls back on error."""
    engine = sync_engine(url, settings, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()
