"""The embedded PostgreSQL + PostGIS cluster used when no database URL is configured.

It lives in a project-local folder, listens only on a Unix socket inside that folder (no TCP
port), and is driven with the system's ``initdb`` and ``pg_ctl``. PostgreSQL refuses to run as
root, so as root the server runs as an unprivileged system user (``postgres`` where the Debian
package created it, else ``hverdag``, created on demand).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SUPERUSER = "hverdag"
# A Unix socket path may not exceed 107 bytes; ".s.PGSQL.5432" takes 13 of them.
_MAX_SOCKET_DIR = 90


class ClusterError(RuntimeError):
    """The embedded cluster cannot be set up or started; the message says what to do."""


def _pg_bindir() -> Path:
    """The newest installed PostgreSQL server's bin folder."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(re.sub(r"\D", "", p.parent.parent.name) or 0),
    )
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb") or shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise ClusterError(
        "No PostgreSQL server found. Install it (Debian/Ubuntu: apt-get install postgresql) "
        "or set HVERDAG_DATABASE_URL to an existing server."
    )


def pg_binary(name: str) -> Path:
    """A PostgreSQL client or server program (``pg_dump``, ``pg_restore``) of the newest
    installed version."""
    path = _pg_bindir() / name
    if not path.exists():
        raise ClusterError(
            f"{name} not found beside {path.parent}; install PostgreSQL's "
            "client programs (Debian/Ubuntu: apt-get install postgresql-client)"
        )
    return path


def postgis_installed(bindir: Path) -> bool:
    """Whether the PostGIS extension files exist for this server version."""
    sharedir = (
        subprocess.run(
            [str(bindir / "pg_config"), "--sharedir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if (bindir / "pg_config").exists()
        else ""
    )
    version = bindir.parent.name
    places = [Path(sharedir)] if sharedir else []
    places.append(Path("/usr/share/postgresql") / version)
    return any((p / "extension" / "postgis.control").exists() for p in places)


def _server_user() -> pwd.struct_passwd | None:
    """The account the server runs as: None means 'as myself' (not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "hverdag"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "hverdag"],
        check=True,
    )
    return pwd.getpwnam("hverdag")


def _reachable_by(user: pwd.struct_passwd, path: Path) -> bool:
    """Whether ``user`` can traverse every parent of ``path`` (root's home often blocks it)."""
    for parent in [path, *path.parents]:
        if not parent.exists():
            continue
        st = parent.stat()
        if st.st_uid == user.pw_uid:
            continue
        if st.st_gid == user.pw_gid and st.st_mode & 0o010:
            continue
        if not st.st_mode & 0o001:
            return False
    return True


@dataclass
class EmbeddedCluster:
    """A private cluster below ``home``: ``pgdata/``, ``run/`` (the socket) and ``server.log``."""

    home: Path

    def __post_init__(self) -> None:
        self.home = self.home.resolve()
        self.bindir = _pg_bindir()
        self.user = _server_user()
        self.base = self._base_folder()

    def _base_folder(self) -> Path:
        """``home`` itself, unless the server user cannot reach it or the socket path is too long.

        Then the cluster goes to a folder in the temp dir named after ``home``, and a note in
        ``home`` says where, so that two checkouts never share a cluster.
        """
        reachable = self.user is None or _reachable_by(self.user, self.home)
        if reachable and len(str(self.home / "run")) <= _MAX_SOCKET_DIR:
            return self.home
        digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"hverdag-{digest}"

    @property
    def pgdata(self) -> Path:
        return self.base / "pgdata"

    @property
    def socket_dir(self) -> Path:
        return self.base / "run"

    @property
    def logfile(self) -> Path:
        return self.base / "server.log"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a server binary as the server user; never through a shell."""
        kwargs: dict[str, object] = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            [str(self.bindir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            check=False,
            cwd=str(self.base),
            **kwargs,
        )

    def _prepare_folders(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        for folder in (self.base, self.socket_dir):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            if self.user is not None:
                os.chown(folder, self.user.pw_uid, self.user.pw_gid)
        if self.base != self.home:
            (self.home / "CLUSTER-LOCATION").write_text(f"{self.base}\n")

    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def initialise(self) -> None:
        """``initdb`` once: trust auth on the socket only, no TCP, tuned for a small API."""
        if self.initialised():
            return
        if not postgis_installed(self.bindir):
            raise ClusterError(
                f"PostGIS is not installed for PostgreSQL {self.bindir.parent.name}. "
                f"Install it (Debian/Ubuntu: apt-get install "
                f"postgresql-{self.bindir.parent.name}-postgis-3)."
            )
        self._prepare_folders()
        result = self._run(
            "initdb",
            "-D",
            str(self.pgdata),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )
        if result.returncode != 0:
            raise ClusterError(f"initdb failed:\n{result.stderr.strip()}")
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# hverdag: private cluster, Unix socket only\n"
                "listen_addresses = ''\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                "jit = off\n"
                "max_connections = 200\n"
                "shared_buffers = 256MB\n"
                "fsync = on\n"
            )

    def running(self) -> bool:
        if not self.initialised():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.pgdata)).returncode == 0

    def start(self) -> bool:
        """Start the server if it is not running; True when this call started it."""
        self.initialise()
        self._prepare_folders()
        if self.running():
            return False
        result = self._run(
            "pg_ctl", "start", "-D", str(self.pgdata), "-l", str(self.logfile), "-w", "-t", "60"
        )
        if result.returncode != 0:
            tail = self.logfile.read_text()[-2000:] if self.logfile.exists() else ""
            raise ClusterError(f"pg_ctl start failed:\n{result.stderr.strip()}\n{tail}")
        log.info("embedded PostgreSQL started in %s", self.base)
        return True

    def stop(self) -> bool:
        """Stop the server cleanly (fast mode: rolls back open transactions); True if it ran."""
        if not self.running():
            return False
        result = self._run("pg_ctl", "stop", "-D", str(self.pgdata), "-m", "fast", "-w")
        if result.returncode != 0:
            raise ClusterError(f"pg_ctl stop failed:\n{result.stderr.strip()}")
        log.info("embedded PostgreSQL stopped")
        return True
