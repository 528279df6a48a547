"""uvicorn's own lines (its access log included) come out in hverdag's format, text or JSON:
the configuration `hverdag serve` hands uvicorn, applied in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys

_ACCESS_LINE = """
import logging.config
from api.guard.logs import uvicorn_log_config
from geo.settings import load_settings

logging.config.dictConfig(uvicorn_log_config(load_settings()))
# What uvicorn's HTTP protocol logs for each response.
logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5555", "POST",
                                         "/graphql", "1.1", 200)
logging.getLogger("uvicorn.error").info("Application startup complete.")
"""


def _stderr_lines(log_format: str) -> list[str]:
    env = {**os.environ, "HVERDAG_LOG_FORMAT": log_format, "HVERDAG_LOG_LEVEL": "info"}
    done = subprocess.run(
        [sys.executable, "-c", _ACCESS_LINE], capture_output=True, text=True, check=True, env=env
    )
    return done.stderr.splitlines()


def test_uvicorns_lines_as_hverdags_text() -> None:
    access, startup = _stderr_lines("text")
    assert access.endswith(' INFO uvicorn.access: 127.0.0.1:5555 - "POST /graphql HTTP/1.1" 200')
    assert access[:4].isdigit()  # it starts with the time, as hverdag's own lines do
    assert startup.endswith(" INFO uvicorn.error: Application startup complete.")


def test_uvicorns_lines_as_json_lines() -> None:
    access, startup = (json.loads(line) for line in _stderr_lines("json"))
    assert access["logger"] == "uvicorn.access"
    assert access["level"] == "info"
    assert access["message"] == '127.0.0.1:5555 - "POST /graphql HTTP/1.1" 200'
    assert startup["message"] == "Application startup complete."
