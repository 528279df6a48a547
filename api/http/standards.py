"""The routes of the open standards hverdag speaks (docs/standards.md), in one list for
api/app.py: iCalendar (:mod:`api.http.ical`), OpenActive's RPDE feeds and dataset site
(:mod:`api.http.feeds`), the public pages with schema.org JSON-LD
(:mod:`api.http.pages`) and the DCAT-AP-NO catalogue (:mod:`api.http.catalog`)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from api.http.catalog import catalog_routes
from api.http.feeds import standards_pages
from api.http.ical import calendar_routes
from api.http.pages import page_routes
from geo.settings import Settings


def standards_routes(settings: Settings) -> list[BaseRoute]:
    return [
        *calendar_routes(),
        *standards_pages(settings),
        *page_routes(settings),
        *catalog_routes(settings),
    ]
