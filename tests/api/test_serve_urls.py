"""`hverdag demo` and `hverdag serve` print their URLs only once the server answers on them: a
reader who follows the URL the moment it appears finds the API, not a refused connection.
Runs the real command line, in-process uvicorn and the exec'd multi-worker one."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from geo.settings import PROJECT_ROOT
from tests.api.test_shutdown import _free_port


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)


@pytest.mark.parametrize(
    "command",
    [["demo"], ["serve", "--workers", "2"]],
    ids=["demo, in-process uvicorn", "serve --workers 2, exec'd uvicorn"],
)
def test_the_url_is_printed_once_it_answers(loaded_url, tmp_path, command):
    port = _free_port()
    env = {
        **os.environ,
        "HVERDAG_DATABASE_URL": loaded_url.render_as_string(hide_password=False),
        "HVERDAG_PORT": str(port),
        "HVERDAG_HOST": "127.0.0.1",
        "HVERDAG_RATE_LIMIT_ENABLED": "false",
    }
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("hverdag")), *command],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(server.stdout, lines), daemon=True).start()
    try:
        printed = []
        while not printed or not printed[-1].startswith("GraphQL and its explorer:"):
            try:
                printed.append(lines.get(timeout=120))
            except queue.Empty:
                pytest.fail(f"no URL printed: {printed} {log_path.read_text()}")
        url = printed[-1].split(": ", 1)[1].strip()
        assert url == f"http://127.0.0.1:{port}/graphql"
        # At once, no retry: the URL works the moment it is shown.
        answer = httpx.post(url, json={"query": '{ county(number: "03") { name } }'}, timeout=30)
        assert answer.json() == {"data": {"county": {"name": "Oslo"}}}
        assert lines.get(timeout=30).startswith(f"The map: http://127.0.0.1:{port}/")
    finally:
        server.send_signal(signal.SIGTERM)
        # uvicorn in-process exits by re-raising the signal it handled.
        assert server.wait(timeout=40) in (0, -signal.SIGTERM), log_path.read_text()
