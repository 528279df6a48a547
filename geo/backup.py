"""Backup and restore with PostgreSQL's own tools: ``pg_dump`` in the custom format, then
``pg_restore`` into a new database, all-or-nothing.

A restore never touches an existing database: it creates the one it is given, restores in one
transaction that stops at the first error, and drops that database again if anything failed, so
a database either holds the whole dump or does not exist. Switching the service over to it is a
separate, deliberate step (docs/operations.md).

The tools come from the newest installed PostgreSQL (the embedded cluster's), which must be at
least the server's version; the connection is handed over as a libpq URI with the password in
``PGPASSWORD``, never on the command line.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy.engine import URL

from geo.cluster import pg_binary
from geo.db import create_database, database_exists, drop_database


class BackupError(RuntimeError):
    """A dump or restore failed; the message has the tool's own words."""


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """``url`` as a libpq URI without its password, and the environment carrying it."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(tool: str, *args: str, url: URL) -> None:
    conninfo, env = _libpq(url)
    result = subprocess.run(
        [str(pg_binary(tool)), f"--dbname={conninfo}", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"{tool} failed: {result.stderr.strip()}")


def backup(url: URL, path: Path) -> None:
    """Dump ``url``'s database to ``path`` (custom format, compressed; one consistent
    snapshot, taken while the service runs).

    The dump holds every row, API key hashes and contact details included, so it is readable
    by its owner alone (0600) from the moment it exists: pg_dump writes into a file made so
    beforehand (mkstemp, whatever the umask), in ``path``'s folder, which then replaces
    ``path`` only once the dump is whole; a failed dump leaves an earlier one as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    partial = Path(name)
    try:
        _run(
            "pg_dump",
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--file={partial}",
            url=url,
        )
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def restore(path: Path, url: URL) -> None:
    """Restore the dump at ``path`` into ``url``'s database, which must not exist yet."""
    if not path.is_file():
        raise BackupError(f"no such dump: {path}")
    if database_exists(url):
        raise BackupError(
            f"database {url.database!r} exists; a restore only creates a new "
            "one (drop it, or choose another name)"
        )
    create_database(url, template="template0")  # empty, as pg_restore expects
    try:
        _run(
            "pg_restore",
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            "--no-privileges",
            str(path),
            url=url,
        )
        _rebase_feed_clock(url)
    except BaseException:
        drop_database(url)
        raise


def _rebase_feed_clock(url: URL) -> None:
    """The RPDE feeds' stamps are transaction ids (migration 0007): in another cluster those
    start again from low numbers, so the clock is shifted past the highest restored stamp."""
    import sqlalchemy as sa

    from geo.db import sync_engine

    engine = sync_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            has_clock = conn.execute(
                sa.text("SELECT to_regproc('hverdag_feed_clock_rebase') IS NOT NULL")
            ).scalar_one()
            if has_clock:  # a dump from before migration 0007 has no feeds
                conn.execute(sa.text("SELECT hverdag_feed_clock_rebase()"))
    finally:
        engine.dispose()
