"""hverdag: the database lifecycle, loaders, the demo and the server.

With no HVERDAG_DATABASE_URL, every command that needs the database starts the embedded cluster
and, if it started it, stops it again on exit (``hverdag db start`` leaves it running on purpose).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import math
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from geo.cluster import ClusterError
from geo.settings import Settings, load_settings

if TYPE_CHECKING:
    from geo.db import Database
    from loaders.report import LoadReport

log = logging.getLogger("hverdag")

STATISTICS_KINDS = ("population", "statistics")


class CliError(Exception):
    """A failure the user can act on: printed as one line, exit status 1, no traceback."""


# --- database -----------------------------------------------------------------------------------


@contextmanager
def _database(settings: Settings, *, keep_running: bool = False) -> Iterator[Database]:
    """The resolved database, migrated; the embedded cluster is stopped on exit if we started it."""
    from geo.db import Database, migrate

    database = Database.from_settings(settings)
    try:
        migrate(database.url)
        yield database
    finally:
        if not keep_running:
            database.close()


def _cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from geo.cluster import EmbeddedCluster
    from geo.db import Database, downgrade, migrate

    if args.action in {"start", "stop", "status"} and settings.database_url:
        raise CliError("HVERDAG_DATABASE_URL is set: that server is not managed by hverdag")
    if args.action == "start":
        cluster = EmbeddedCluster(settings.home)
        started = cluster.start()
        state = "started" if started else "already running"
        print(f"{state}: {cluster.url(settings.database_name)}")
    elif args.action == "stop":
        stopped = EmbeddedCluster(settings.home).stop()
        print("stopped" if stopped else "not running")
    elif args.action == "status":
        cluster = EmbeddedCluster(settings.home)
        running = cluster.running()
        print(f"{'running' if running else 'stopped'}: {cluster.base}")
        return 0 if running else 3
    elif args.action == "url":
        print(
            Database.from_settings(settings, start=False).url.render_as_string(hide_password=True)
        )
    elif args.action == "migrate":
        database = Database.from_settings(settings)
        try:
            migrate(database.url, args.revision or "head")
            print(f"migrated to {args.revision or 'head'}")
        finally:
            database.close()
    elif args.action in {"backup", "restore"}:
        return _backup_or_restore(args, settings)
    elif args.action == "downgrade":
        database = Database.from_settings(settings)
        try:
            downgrade(database.url, args.revision or "-1")
            print(f"downgraded to {args.revision or '-1'}")
        finally:
            database.close()
    return 0


def _backup_or_restore(args: argparse.Namespace, settings: Settings) -> int:
    """``db backup FILE``: pg_dump (custom format). ``db restore FILE [--into NAME]``: into a
    new database on the same server, all-or-nothing."""
    from geo.backup import BackupError, backup, restore
    from geo.db import Database

    if not args.revision:
        raise CliError(f"db {args.action} needs a FILE")
    path = Path(args.revision)
    database = Database.from_settings(settings)
    try:
        if args.action == "backup":
            backup(database.url, path)
            print(f"backed up {database.url.database} to {path} ({path.stat().st_size:,} bytes)")
            return 0
        target = database.url.set(database=args.into or f"{database.url.database}_restored")
        restore(path, target)
        print(
            f"restored {path} into the new database {target.database}; to serve it, set "
            f"HVERDAG_DATABASE_URL to it (or swap the names: docs/operations.md)"
        )
        return 0
    except BackupError as error:
        raise CliError(str(error)) from None
    finally:
        database.close()


# --- loaders ------------------------------------------------------------------------------------


class ProgressBar:
    """A progress callback that shows a bar on stderr once a load has taken over a second,
    and closes it when the load reports it is done."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(
                total=total, desc=self.label, unit="rec", delay=1.0, file=sys.stderr, leave=False
            )
        self.bar.total = total
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


LOADERS = {
    "municipalities": "loaders.boundaries:load_municipalities",
    "counties": "loaders.boundaries:load_counties",
    "population": "loaders.statistics:load_statistics",
    "statistics": "loaders.statistics:load_statistics",
    "areas": "loaders.areas:load_areas",
    "initiatives": "loaders.initiatives:load_initiatives",
    "councils": "loaders.councils:load_councils",
    "organisations": "loaders.organisations:load_organisations",
    "venues": "loaders.venues:load_venues",
    "activities": "loaders.activities:load_activities",
    "access-reports": "loaders.access_reports:load_access_reports",
    "organisation-updates": "loaders.organisation_updates:load_organisation_updates",
    "translations": "loaders.translations:load_translations",
    "school-holidays": "loaders.school_holidays:load_school_holidays",
    "ical": "loaders.ical:load_ical",
    "hsds": "loaders.hsds:load_hsds",
    "rpde": "loaders.rpde:load_rpde",
}
#: Pages of Enhetsregisteret's update feed one run fetches at most (of 1,000 updates each).
MAX_FEED_PAGES = 50


#: The loaders of vector and CSV files, which take the file's own field names.
FIELD_KINDS = frozenset(
    {
        "municipalities",
        "counties",
        "population",
        "statistics",
        "areas",
        "councils",
        "organisations",
        "venues",
        "activities",
        "access-reports",
    }
)
#: Options naming the file's field for a role, by the role.
FIELD_ROLES = ("code", "name", "population", "immigrants", "year", "municipality")


def _field_options(args: argparse.Namespace) -> dict[str, str]:
    """``--code-field X`` and the like, and each ``--field COLUMN=FIELD``: role or column ->
    the file's field."""
    fields = {
        role: value for role in FIELD_ROLES if (value := getattr(args, f"{role}_field", None))
    }
    for pair in args.field or []:
        column, sep, name = pair.partition("=")
        if not sep or not column.strip() or not name.strip():
            raise CliError(f"--field takes COLUMN=FIELD (e.g. --field name=navn), got {pair!r}")
        fields[column.strip()] = name.strip()
    return fields


def _loader(kind: str) -> Callable[..., LoadReport]:
    """Import only the loader asked for: the CLI starts fast."""
    module, name = LOADERS[kind].split(":")
    with _loaders_installed():
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


#: The packages only the loaders need (pyproject's "loaders" extra).
LOADER_PACKAGES = frozenset({"pyogrio", "tqdm"})


@contextmanager
def _loaders_installed() -> Iterator[None]:
    """A CliError saying how to install the loaders' extra when one of its packages is missing
    (an API-only install: `pip install hverdag` without `[loaders]`)."""
    try:
        yield
    except ModuleNotFoundError as error:
        if error.name not in LOADER_PACKAGES:
            raise
        raise CliError(
            f"the loaders need the package {error.name}, in hverdag's 'loaders' extra: "
            "install it with .venv/bin/pip install -e '.[loaders]' (scripts/bootstrap.sh does)"
        ) from None


def _print_report(report: object) -> None:
    for warning in getattr(report, "warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    print(report.summary())


def _feed_pages(url: str, after: int) -> list[object]:
    """Enhetsregisteret's update feed from ``url``: the updates after ``after`` (unless the URL
    names where to start), with their changes, following ``_links.next``."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    import httpx

    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if "oppdateringsid" not in query and "dato" not in query:
        query["oppdateringsid"] = str(after + 1)
    query.setdefault("includeChanges", "true")
    query.setdefault("size", "1000")
    next_url: str | None = urlunsplit(parts._replace(query=urlencode(query)))
    pages: list[object] = []
    with httpx.Client(timeout=60, headers={"accept": "application/json"}) as client:
        while next_url and len(pages) < MAX_FEED_PAGES:
            response = client.get(next_url)
            if response.status_code != 200:
                raise CliError(f"{next_url}: HTTP {response.status_code}")
            page = response.json()
            pages.append(page)
            if not (page.get("_embedded") or {}).get("oppdaterteEnheter"):
                break
            next_url = ((page.get("_links") or {}).get("next") or {}).get("href")
    return pages


def _cmd_organisation_updates_url(args: argparse.Namespace, settings: Settings) -> int:
    from geo.db import sync_engine
    from geo.registry import last_update_id
    from loaders.organisation_updates import FEED, load_pages

    with _database(settings) as database:
        engine = sync_engine(database.url, settings)
        try:
            with engine.connect() as conn:
                after = last_update_id(conn, FEED)
            pages = _feed_pages(args.file, after)
            with engine.begin() as conn:
                report = load_pages(conn, pages, args.file)
        finally:
            engine.dispose()
    _print_report(report)
    return 0


def _cmd_load_ical(args: argparse.Namespace, settings: Settings) -> int:
    """``load ical URL-or-FILE --organisation ORGNR``: a feed, not a file of rows."""
    from geo.db import sync_engine

    if not args.organisation:
        raise CliError("load ical needs --organisation ORGNR (whose activities the feed holds)")
    load_ical = _loader("ical")
    with _database(settings) as database:
        engine = sync_engine(database.url, settings)
        try:
            with engine.begin() as conn:
                report = load_ical(
                    conn,
                    args.file,
                    organisation=args.organisation,
                    source=args.source,
                    category=args.category,
                    max_bytes=settings.max_upload_bytes,
                )
        finally:
            engine.dispose()
    _print_report(report)
    return 0


def _cmd_rpde(args: argparse.Namespace, settings: Settings) -> int:
    """An RPDE feed from where its last run stopped, applied with its new position in one
    transaction (loaders/rpde.py)."""
    from geo.db import sync_engine

    if not args.file.startswith(("https://", "http://")):
        raise CliError(f"load rpde takes the feed's URL (http or https), got {args.file!r}")
    load_rpde = _loader("rpde")
    with _database(settings) as database:
        engine = sync_engine(database.url, settings)
        try:
            with engine.begin() as conn:
                report = load_rpde(conn, args.file, source=args.source)
        finally:
            engine.dispose()
    _print_report(report)
    return 0


def _cmd_load(args: argparse.Namespace, settings: Settings) -> int:
    from geo.db import sync_engine

    if args.kind == "ical":
        return _cmd_load_ical(args, settings)
    if args.kind == "organisation-updates" and args.file.startswith(("https://", "http://")):
        return _cmd_organisation_updates_url(args, settings)
    if args.kind == "rpde":
        return _cmd_rpde(args, settings)
    path = Path(args.file)
    if not path.is_file() and not (args.kind == "hsds" and path.is_dir()):
        raise CliError(f"no such file: {path}")
    if args.kind == "areas" and not args.area_kind:
        raise CliError("load areas needs --kind (GRID_250M, GRID_1KM, GRUNNKRETS, DELBYDEL, BYDEL)")
    loader = _loader(args.kind)
    kwargs: dict[str, object] = {"progress": ProgressBar(f"load {args.kind}")}
    if args.source:
        kwargs["source"] = args.source
    if args.kind in STATISTICS_KINDS and args.year:
        kwargs["year"] = args.year
    if args.kind == "areas":
        kwargs["kind"] = args.area_kind.upper()
    fields = _field_options(args)
    if fields:
        if args.kind not in FIELD_KINDS:
            raise CliError(
                f"load {args.kind} takes no field options: its files have fixed fields "
                f"(the options are for {', '.join(sorted(FIELD_KINDS))})"
            )
        kwargs["fields"] = fields
    with _database(settings) as database:
        engine = sync_engine(database.url, settings)
        try:
            with engine.begin() as conn:
                report = loader(conn, path, **kwargs)
        finally:
            engine.dispose()
    _print_report(report)
    return 0


# --- demo and serve -----------------------------------------------------------------------------


def load_demo_data(settings: Settings, database: Database) -> None:
    """Load the bundled real data unless it is already there (a second run reloads nothing)."""
    from geo.db import sync_engine

    with _loaders_installed():
        from loaders.bundle import demo_loaded, load_demo

    engine = sync_engine(database.url, settings)
    try:
        with engine.begin() as conn:
            if demo_loaded(conn):
                print("demo data already loaded")
                return
            print(f"loading the bundled demo data from {settings.data_dir} …")
            for report in load_demo(conn, settings.data_dir, progress_factory=ProgressBar):
                _print_report(report)
            from geo.feeds import refresh_occurrences

            print(f"feeds: {refresh_occurrences(conn).summary()}")
    finally:
        engine.dispose()


def _urls(settings: Settings) -> str:
    base = f"http://{settings.host}:{settings.port}"
    return (
        f"GraphQL and its explorer: {base}/graphql\n"
        f"The map: {base}/  (OGC API Features for QGIS: {base}/ogc)"
    )


def _answers(settings: Settings) -> bool:
    """Whether the server on ``settings``' port answers ``/healthz`` now."""
    import http.client

    wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104 - matched
    host = wildcard.get(settings.host, settings.host)
    connection = http.client.HTTPConnection(host, settings.port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _announce_once_answering(settings: Settings, alive: Callable[[], bool]) -> None:
    """Print the URLs once the server answers on them, not before (a URL printed while the port
    still refuses sends a reader to a dead page); give up when ``alive`` says the server died."""
    while alive():
        if _answers(settings):
            print(_urls(settings), flush=True)
            return
        time.sleep(0.1)


def _announce_from_a_grandchild(settings: Settings) -> None:
    """:func:`_announce_once_answering` in a process of its own, for a server that replaces this
    process (exec): a grandchild, reparented at once, so that no zombie waits on uvicorn."""
    server = os.getpid()

    def alive() -> bool:
        try:
            os.kill(server, 0)
        except ProcessLookupError:
            return False
        return True

    sys.stdout.flush()
    child = os.fork()
    if child:
        os.waitpid(child, 0)
        return
    try:
        if os.fork() == 0:
            _announce_once_answering(settings, alive)
    finally:
        os._exit(0)


def _serve(settings: Settings, database: Database, workers: int) -> None:
    import uvicorn

    # Workers build their own app from the environment: hand them the resolved URL.
    os.environ["HVERDAG_DATABASE_URL"] = database.url.render_as_string(hide_password=False)
    from api.guard.logs import uvicorn_log_config
    from api.guard.server import uvicorn_options

    if workers > 1 and not database.started_cluster:
        _announce_from_a_grandchild(settings)
        _exec_uvicorn(settings, workers)  # does not return
    threading.Thread(
        target=_announce_once_answering, args=(settings, lambda: True), daemon=True
    ).start()
    # SIGTERM: uvicorn stops accepting, lets in-flight requests finish (up to the grace
    # period), then runs the lifespan's shutdown (docs/reliability.md). The limits on request
    # heads and idle connections, and the proxy headers, come from api.guard.server.
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=settings.log_level,
        timeout_graceful_shutdown=settings.graceful_shutdown_s,
        log_config=uvicorn_log_config(settings),
        **uvicorn_options(settings),
    )


def _exec_uvicorn(settings: Settings, workers: int) -> None:
    """Become uvicorn's own command line: with several workers the process that supervises them
    is this one, which by now holds the migration tool and the loaders (~120 MB) for nothing.
    Only when it owns no embedded cluster it must stop on exit. The same server, the same
    options, the logging configuration in a file (uvicorn reads it again in each worker)."""
    from api.guard.logs import uvicorn_log_config
    from api.guard.server import uvicorn_arguments

    handle, log_config = tempfile.mkstemp(prefix="hverdag-uvicorn-log-", suffix=".json")
    with os.fdopen(handle, "w") as file:
        json.dump(uvicorn_log_config(settings), file)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(  # noqa: S606 - a fixed argument list, no shell
        sys.executable,
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--host",
            settings.host,
            "--port",
            str(settings.port),
            "--workers",
            str(workers),
            "--log-level",
            settings.log_level.lower(),
            "--log-config",
            log_config,
            "--timeout-graceful-shutdown",
            str(math.ceil(settings.graceful_shutdown_s)),
            *uvicorn_arguments(settings),
        ],
    )


def _refresh_feeds(settings: Settings, database: Database) -> None:
    """The RPDE feeds' sessions and slots from today on (geo/feeds.py)."""
    from geo.db import sync_engine
    from geo.feeds import refresh_occurrences

    engine = sync_engine(database.url, settings)
    try:
        with engine.begin() as conn:
            print(f"feeds: {refresh_occurrences(conn).summary()}")
    finally:
        engine.dispose()


def _cmd_feeds(args: argparse.Namespace, settings: Settings) -> int:
    with _database(settings) as database:
        _refresh_feeds(settings, database)
    return 0


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    with _database(settings) as database:
        load_demo_data(settings, database)
        if not args.no_serve:
            _serve(settings, database, args.workers)
    return 0


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    with _database(settings) as database:
        _serve(settings, database, args.workers)
    return 0


def _cmd_deliver(args: argparse.Namespace, settings: Settings) -> int:
    """Deliver webhooks until SIGTERM or SIGINT (a delivery in flight finishes first)."""
    import asyncio
    import signal

    from api.delivery import Deliverer, delivery_url
    from geo.db import async_engine

    async def deliver(url: str) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        engine = async_engine(delivery_url(url), settings.model_copy(update={"pool_size": 1}))
        try:
            await Deliverer(engine, settings).run_forever(stop)
        finally:
            await engine.dispose()

    with _database(settings) as database:
        print("delivering webhooks; stop with Ctrl-C or SIGTERM", flush=True)
        asyncio.run(deliver(database.url.render_as_string(hide_password=False)))
    return 0


def _cmd_schema(args: argparse.Namespace, settings: Settings) -> int:
    from api.graphql.schema_export import export_schema

    sdl = export_schema()
    if args.output == "-":
        sys.stdout.write(sdl)
    else:
        Path(args.output).write_text(sdl, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


# --- API keys -----------------------------------------------------------------------------------


def _cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    from geo.db import sync_engine
    from geo.keys import ApiKeyError, create_key, list_keys, revoke_key

    with _database(settings) as database:
        engine = sync_engine(database.url, settings)
        try:
            with engine.begin() as conn:
                if args.action == "create":
                    if not args.role:
                        raise CliError("keys create needs --role")
                    secret, key = create_key(
                        conn,
                        args.role,
                        label=args.label or "",
                        municipality_number=args.municipality,
                        organisation_number=args.organisation,
                    )
                    print(
                        f"key {key.id} ({key.role.value}, {key.label}); shown once, keep "
                        f"it secret:\n{secret}"
                    )
                elif args.action == "list":
                    for key in list_keys(conn):
                        scope = key.municipality_number or (
                            f"organisation {key.organisation_number}"
                            if key.organisation_id
                            else "-"
                        )
                        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "live"
                        print(
                            f"{key.id}\t{key.prefix}…\t{key.role.value}\t{scope}\t{state}\t"
                            f"{key.label}"
                        )
                else:
                    if not args.key:
                        raise CliError("keys revoke needs the key's id or prefix")
                    key = revoke_key(conn, args.key)
                    print(f"revoked key {key.id} ({key.prefix}…, {key.label})")
        except ApiKeyError as error:
            raise CliError(str(error)) from None
        finally:
            engine.dispose()
    return 0


# --- parser -------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hverdag", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser(
        "db", help="the database: start, stop, status, url, migrate, backup, restore"
    )
    db.add_argument(
        "action",
        choices=["start", "stop", "status", "url", "migrate", "downgrade", "backup", "restore"],
    )
    db.add_argument(
        "revision",
        nargs="?",
        metavar="REVISION|FILE",
        help="for migrate/downgrade: the Alembic revision; for backup/restore: "
        "the dump file (pg_dump's custom format)",
    )
    db.add_argument(
        "--into",
        metavar="NAME",
        help="for restore: the new database to create (default: <database>_restored)",
    )
    db.set_defaults(run=_cmd_db)

    load = commands.add_parser("load", help="load an open-data file (all-or-nothing)")
    load.add_argument("kind", choices=list(LOADERS))
    load.add_argument(
        "file",
        help="GeoJSON, GML, GeoPackage, Shapefile; CSV; SSB JSON-stat2; for "
        "organisation-updates also the feed's URL; for ical an .ics file or URL; for hsds a "
        "directory or zip; for rpde the feed's URL",
    )
    load.add_argument(
        "--kind",
        dest="area_kind",
        metavar="KIND",
        help="for areas: GRID_250M, GRID_1KM, GRUNNKRETS, DELBYDEL or BYDEL",
    )
    load.add_argument("--source", help="provenance stored with the rows (default: file name)")
    load.add_argument("--year", type=int, help="statistics: the year of a file that has none")
    for role in FIELD_ROLES:
        load.add_argument(
            f"--{role}-field",
            metavar="FIELD",
            help=f"the file's field holding the {role} (vector and CSV loaders)",
        )
    load.add_argument(
        "--field",
        action="append",
        metavar="COLUMN=FIELD",
        help="the file's field holding one of the loader's columns, e.g. --field "
        "owner_type=eiertype (repeatable; columns in docs/loaders.md)",
    )
    load.add_argument("--organisation", metavar="ORGNR", help="ical: whose activities they are")
    load.add_argument(
        "--category",
        metavar="CATEGORY",
        help="ical: the category of events whose CATEGORIES name none (default MEETING_PLACE)",
    )
    load.set_defaults(run=_cmd_load)

    for name, runner, text in (
        ("demo", _cmd_demo, "load the bundled real data, then serve"),
        ("serve", _cmd_serve, "serve the API"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
        if name == "demo":
            sub.add_argument("--no-serve", action="store_true", help="load, then exit")
        sub.set_defaults(run=runner)

    deliver = commands.add_parser(
        "deliver", help="deliver webhooks (also done by serve unless HVERDAG_WEBHOOK_DELIVERY=0)"
    )
    deliver.set_defaults(run=_cmd_deliver)

    keys = commands.add_parser("keys", help="API keys: create (printed once), list, revoke")
    keys.add_argument("action", choices=["create", "list", "revoke"])
    keys.add_argument("key", nargs="?", help="for revoke: the key's id or its listed prefix")
    keys.add_argument("--role", help="MUNICIPALITY_EDITOR, ORGANISATION_EDITOR, ANALYST, ADMIN")
    keys.add_argument("--municipality", help="a MUNICIPALITY_EDITOR's municipality, e.g. 0301")
    keys.add_argument("--organisation", help="an ORGANISATION_EDITOR's organisation number")
    keys.add_argument("--label", help="who holds the key (shown in lists and the audit log)")
    keys.set_defaults(run=_cmd_keys)

    feeds = commands.add_parser(
        "feeds",
        help="refresh the RPDE feeds' sessions and slots for the coming weeks (run it from a "
        "timer: every few minutes, at least daily)",
    )
    feeds.add_argument("action", choices=["refresh"])
    feeds.set_defaults(run=_cmd_feeds)

    schema = commands.add_parser("schema", help="the GraphQL schema")
    schema.add_argument("action", choices=["export"])
    schema.add_argument("-o", "--output", default="schema.graphql", help="file, or - for stdout")
    schema.set_defaults(run=_cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from loaders.report import LoadError

    try:
        settings = load_settings()
        return int(args.run(args, settings))
    except (CliError, ClusterError, LoadError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except ValidationError as error:
        print(f"error: invalid setting: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
