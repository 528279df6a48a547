"""Logging set-up: text for a terminal, or JSON lines for a log collector (HVERDAG_LOG_FORMAT).

A JSON line is one object: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``request_id`` (when
the record belongs to a request), ``message`` and, for an error with a traceback, ``exception``
(the formatted traceback as one string). This is where the detail of a masked error goes: the
client gets only the request id.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from geo.settings import Settings

#: Handlers this module installed, so that a second app in one process does not add another.
_INSTALLED = "_hverdag_handler"


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "request_id": getattr(record, "request_id", None),
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[1] is not None:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


#: hverdag's text lines, uvicorn's own (startup, access log) included.
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonLinesFormatter()
    return logging.Formatter(TEXT_FORMAT)


def configure_logging(settings: Settings) -> None:
    """hverdag's loggers at the configured level, with a handler in the configured format
    unless the host application configured logging itself (a root handler)."""
    hverdag = logging.getLogger("hverdag")
    try:
        hverdag.setLevel(settings.log_level.upper())
    except ValueError:
        hverdag.setLevel(logging.INFO)
    ours = [h for h in hverdag.handlers if getattr(h, _INSTALLED, False)]
    if ours:
        for handler in ours:
            handler.setFormatter(formatter(settings.log_format))
        return
    if not hverdag.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        setattr(handler, _INSTALLED, True)
        handler.setFormatter(formatter(settings.log_format))
        hverdag.addHandler(handler)


def uvicorn_log_config(settings: Settings) -> dict[str, Any]:
    """uvicorn's own loggers (startup, access log) in hverdag's format: JSON lines, or text
    lines like hverdag's, with the time (uvicorn's default access lines have none)."""
    formatter_config: dict[str, Any] = (
        {"()": "api.guard.logs.JsonLinesFormatter"}
        if settings.log_format == "json"
        else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"hverdag": formatter_config},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "hverdag",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            name: {"handlers": ["default"], "level": settings.log_level.upper(), "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
