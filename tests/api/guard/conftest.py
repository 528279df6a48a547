"""A private Redis for the shared rate-limit tests: Debian's redis-server (scripts/bootstrap.sh
--dev installs it), on a Unix socket in a temporary folder, no TCP port, nothing saved."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(binary):  # noqa: PTH110 - a path from which(), or a fixed one
        pytest.fail("redis-server is not installed: `scripts/bootstrap.sh --dev` installs it")
    folder = tmp_path_factory.mktemp("redis")
    socket = folder / "redis.sock"
    process = subprocess.Popen(
        [
            binary,
            "--port", "0",
            "--unixsocket", str(socket),
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(folder),
        ],
        stdout=(folder / "redis.log").open("w"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"unix://{socket}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with redis.Redis.from_url(url) as client:
                    client.ping()
                break
            except redis.ConnectionError:
                pass
            assert process.poll() is None, (folder / "redis.log").read_text()
            assert time.monotonic() < deadline, (folder / "redis.log").read_text()
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def clean_redis(redis_url: str) -> str:
    """The private Redis, emptied: no test sees another's buckets."""
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()
    return redis_url
