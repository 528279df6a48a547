"""The routes of the open standards hverdag speaks (docs/standards.md), in one list for
api/app.py: iCalendar (:mod:`api.http.ical`)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from api.http.ical import calendar_routes
from geo.settings import Settings


def standards_routes(settings: Settings) -> list[BaseRoute]:
    return [*calendar_routes()]
