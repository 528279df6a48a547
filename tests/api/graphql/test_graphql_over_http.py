"""The GraphQL-over-HTTP specification: its own audit suite (graphql-http's serverAudits, run by
Node against a real server on a free port) and the media types hverdag answers with."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from api.app import create_app
from geo.settings import PROJECT_ROOT, Settings
from tests.api.running import free_port

AUDITS = Path(__file__).with_name("graphql_http_audits.cjs")
WEB = PROJECT_ROOT / "web"


@pytest.fixture
def live_url(api_settings: Settings) -> Iterator[str]:
    """The app served by uvicorn in a thread (the audits need a real socket)."""
    port = free_port()
    config = uvicorn.Config(
        create_app(api_settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        ready = threading.Event()
        for _ in range(300):
            if server.started:
                ready.set()
                break
            threading.Event().wait(0.1)
        assert ready.is_set(), "uvicorn did not start"
        yield f"http://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_every_graphql_over_http_audit_passes(live_url: str) -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed for the audits (scripts/bootstrap.sh installs it)"
    assert (WEB / "node_modules" / "graphql-http").is_dir(), "run scripts/bootstrap.sh --dev"
    run = subprocess.run(
        [node, str(AUDITS), live_url, str(WEB)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)
    assert len(results) >= 61, len(results)
    failing = [(r["id"], r["name"], r["reason"]) for r in results if r["status"] != "ok"]
    assert failing == [], json.dumps(failing, indent=1)
