"""The embedded cluster: private folder, Unix socket only, started and stopped cleanly."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import sqlalchemy as sa

from geo.cluster import EmbeddedCluster
from geo.db import sync_engine


def test_cluster_runs_on_a_private_socket_and_stops(tmp_path: Path) -> None:
    cluster = EmbeddedCluster(tmp_path / "home")
    assert cluster.start() is True
    try:
        assert cluster.running()
        assert cluster.start() is False  # already running: not ours to stop twice
        socket = cluster.socket_dir / ".s.PGSQL.5432"
        assert stat.S_ISSOCK(socket.stat().st_mode)
        engine = sync_engine(cluster.url("postgres"), poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                assert conn.exec_driver_sql("SHOW listen_addresses").scalar() == ""
                assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
                server_user = conn.exec_driver_sql(
                    "SELECT usename FROM pg_stat_activity WHERE pid = pg_backend_pid()"
                ).scalar()
                assert server_user == "hverdag"
        finally:
            engine.dispose()
        owner = cluster.pgdata.stat().st_uid
        if os.geteuid() == 0:
            assert owner != 0, "as root, the server must run as an unprivileged user"
            if cluster.base != cluster.home:  # pytest's tmp folders are private to root
                assert (cluster.home / "CLUSTER-LOCATION").read_text().strip() == str(cluster.base)
        else:
            assert owner == os.geteuid()
    finally:
        assert cluster.stop() is True
    assert not cluster.running()
    assert cluster.stop() is False
    if cluster.base != cluster.home:
        shutil.rmtree(cluster.base)
