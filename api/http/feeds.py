"""OpenActive's open opportunity data: RPDE 1.0 feeds (Realtime Paged Data Exchange, ordered by
modified and id) of the OpenActive Modelling Opportunity Data 2.0 types, and the dataset site
that describes them.

| path | RPDE kind | from |
|---|---|---|
| ``/feeds/session-series`` | ``SessionSeries`` | activities, with their weekly ``eventSchedule`` |
| ``/feeds/scheduled-sessions`` | ``ScheduledSession`` | their sessions for the coming weeks |
| ``/feeds/facility-uses`` | ``FacilityUse`` | venues that offer free availability windows |
| ``/feeds/facility-use-slots`` | ``FacilityUseSlot`` | those windows for the coming weeks |

``/openactive`` is the dataset site (HTML with the ``Dataset`` as JSON-LD, its ``distribution``
listing the feeds), ``/openactive/data-catalog`` a ``DataCatalog`` naming it (what OpenActive's
registry harvests), ``/vocab/activity-categories`` and ``/vocab/venue-types`` the SKOS concept
schemes the items' ``activity`` and ``facilityType`` point into. Pages and ``modified`` come
from geo/queries/feeds.py; see docs/standards.md.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from api.errors import BadUserInput, ErrorCode
from api.http.jsonld import (
    CATEGORY_SCHEME,
    SCHEMA_DAYS,
    activity_place,
    activity_url,
    age_range,
    category_name,
    concept,
    geo,
    minutes_duration,
    offer,
    organizer,
    postal_address,
    schedules,
    script_json,
    venue_url,
)
from api.http.params import check_known
from api.http.streaming import export_failure, json_error, request_id_of
from geo.queries import feeds as feed_queries
from geo.queries.calendar import CalendarActivity
from geo.queries.feeds import Cursor, FacilityVenue, FeedKind, Occurrence, Page, feed_page
from geo.sessions import OSLO
from geo.settings import Settings
from geo.vocab import NORWEGIAN, ActivityCategory, VenueType

OA_CONTEXT = ["https://openactive.io/", "https://openactive.io/ns-beta"]
RPDE_FORMAT = "application/vnd.openactive.rpde+json; version=1"
FEEDS = {
    "session-series": FeedKind.SESSION_SERIES,
    "scheduled-sessions": FeedKind.SCHEDULED_SESSION,
    "facility-uses": FeedKind.FACILITY_USE,
    "facility-use-slots": FeedKind.SLOT,
}
#: The OpenActive type each feed carries (the dataset site's ``additionalType``).
TYPES = {
    FeedKind.SESSION_SERIES: "SessionSeries",
    FeedKind.SCHEDULED_SESSION: "ScheduledSession",
    FeedKind.FACILITY_USE: "FacilityUse",
    FeedKind.SLOT: "Slot",
}
VENUE_SCHEME = "/vocab/venue-types"
_MAX_ID = 80


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _duration(starts: datetime, ends: datetime) -> str:
    return minutes_duration(int((ends - starts).total_seconds() // 60))


# --- items --------------------------------------------------------------------------------------


def session_series(base: str, a: CalendarActivity) -> dict[str, Any]:
    url = activity_url(base, a.id)
    data: dict[str, Any] = {
        "@context": OA_CONTEXT,
        "@type": "SessionSeries",
        "@id": url,
        "identifier": a.id,
        "name": a.title,
        "url": url,
        "activity": [concept(base, a.category)],
        "organizer": organizer(base, a),
        "location": activity_place(base, a, complete_address=True),
        "offers": [offer(base, a)],
        "isAccessibleForFree": a.free,
        "genderRestriction": "https://openactive.io/"
        + ("FemaleOnly" if a.target_groups == ["WOMEN"] else "NoRestriction"),
        "eventSchedule": schedules(a),
    }
    if a.description:
        data["description"] = a.description
    if a.languages:
        data["inLanguage"] = a.languages
    if (ages := age_range(a)) is not None:
        data["ageRange"] = ages
    return data


def scheduled_session(base: str, o: Occurrence) -> dict[str, Any]:
    series = activity_url(base, o.parent_id)
    return {
        "@context": OA_CONTEXT,
        "@type": "ScheduledSession",
        "@id": f"{series}#/subEvent/{o.id}",
        "identifier": o.id,
        "superEvent": series,
        "url": series,
        "startDate": o.starts.astimezone(OSLO).isoformat(),
        "endDate": o.ends.astimezone(OSLO).isoformat(),
        "duration": _duration(o.starts, o.ends),
        "eventStatus": "https://schema.org/EventScheduled",
    }


def _venue_type(base: str, venue_type: str) -> dict[str, Any]:
    scheme = f"{base}{VENUE_SCHEME}"
    return {
        "@type": "Concept",
        "@id": f"{scheme}#{venue_type}",
        "prefLabel": NORWEGIAN.get(venue_type, venue_type.replace("_", " ").lower()),
        "inScheme": scheme,
    }


def _venue_offers(v: FacilityVenue) -> list[dict[str, Any]]:
    """Free: the feeds hold only venues free for volunteers (OpenActive requires a price, and
    for the others the sources give a price model, not a figure)."""
    found: dict[str, Any] = {
        "@type": "Offer",
        "name": "Gratis for frivillige",
        "price": 0,
        "priceCurrency": "NOK",
    }
    if v.booking_url:
        found["url"] = v.booking_url
    return [found]


def facility_use(base: str, v: FacilityVenue, settings: Settings) -> dict[str, Any]:
    url = venue_url(base, v.id)
    provider: dict[str, Any] = {
        "@type": "Organization",
        "name": v.owner_name or settings.publisher_name,
    }
    if v.owner_url:
        provider["url"] = v.owner_url
    data: dict[str, Any] = {
        "@context": OA_CONTEXT,
        "@type": "FacilityUse",
        "@id": url,
        "identifier": v.id,
        "name": v.name,
        "url": url,
        "facilityType": [_venue_type(base, v.venue_type)],
        "provider": provider,
        "location": {
            "@type": "Place",
            "@id": url,
            "url": url,
            "name": v.name,
            "geo": geo(v.x, v.y),
        },
        "hoursAvailable": [
            {
                "@type": "OpeningHoursSpecification",
                "dayOfWeek": [SCHEMA_DAYS[weekday - 1]],
                "opens": f"{starts:%H:%M}",
                "closes": f"{ends:%H:%M}",
            }
            for weekday, starts, ends in v.windows
        ],
        "offers": _venue_offers(v),
    }
    address = postal_address(
        v.address, v.postal_code, v.postal_place or v.municipality_name, v.region, complete=True
    )
    if address is not None:
        data["location"]["address"] = address
    if v.description:
        data["description"] = v.description
    return data


def slot(base: str, o: Occurrence, v: FacilityVenue | None) -> dict[str, Any]:
    url = venue_url(base, o.parent_id)
    data: dict[str, Any] = {
        "@context": OA_CONTEXT,
        "@type": "Slot",
        "@id": f"{url}#/slots/{o.id}",
        "identifier": o.id,
        "facilityUse": url,
        "startDate": o.starts.astimezone(OSLO).isoformat(),
        "endDate": o.ends.astimezone(OSLO).isoformat(),
        "duration": _duration(o.starts, o.ends),
        # Availability windows are not booked through hverdag: the venue is free then.
        "remainingUses": 1,
        "maximumUses": 1,
    }
    if v is not None:
        data["offers"] = _venue_offers(v)
    return data


def _data(kind: FeedKind, base: str, item_id: Any, page: Page, settings: Settings) -> Any:
    match kind:
        case FeedKind.SESSION_SERIES:
            return session_series(base, page.series[int(item_id)])
        case FeedKind.FACILITY_USE:
            return facility_use(base, page.venues[int(item_id)], settings)
        case FeedKind.SCHEDULED_SESSION:
            return scheduled_session(base, page.occurrences[str(item_id)])
        case FeedKind.SLOT:
            o = page.occurrences[str(item_id)]
            return slot(base, o, page.venues.get(o.parent_id))
    raise AssertionError(kind)


def _items(kind: FeedKind, base: str, page: Page, settings: Settings) -> list[dict[str, Any]]:
    items = []
    for entry in page.entries:
        item: dict[str, Any] = {
            "state": "deleted" if entry.deleted else "updated",
            "kind": kind.value,
            "id": entry.id,
            "modified": entry.modified,
        }
        if not entry.deleted:
            item["data"] = _data(kind, base, entry.id, page, settings)
        items.append(item)
    return items


# --- the feed endpoint --------------------------------------------------------------------------


def _cursor(request: Request, kind: FeedKind) -> Cursor | None:
    params = request.query_params
    check_known(params, {"afterTimestamp", "afterId"})
    stamp, after_id = params.get("afterTimestamp"), params.get("afterId")
    if stamp is None and after_id is None:
        return None
    if stamp is None or after_id is None:
        missing = "afterTimestamp" if stamp is None else "afterId"
        raise BadUserInput("give afterTimestamp and afterId together", field=missing)
    if not stamp.isdigit() or len(stamp) > 19:
        raise BadUserInput(f"afterTimestamp is an integer, got {stamp!r}", field="afterTimestamp")
    numeric = kind in (FeedKind.SESSION_SERIES, FeedKind.FACILITY_USE)
    if len(after_id) > _MAX_ID or (numeric and (not after_id.isdigit() or len(after_id) > 18)):
        raise BadUserInput(f"afterId {after_id!r} is not an id of this feed", field="afterId")
    return Cursor(int(stamp), int(after_id) if numeric else after_id)


def _next_url(base: str, path: str, cursor: Cursor | None) -> str:
    if cursor is None:
        return f"{base}{path}"
    from urllib.parse import urlencode

    return f"{base}{path}?" + urlencode({"afterTimestamp": cursor.modified, "afterId": cursor.id})


def feed_endpoint(settings: Settings) -> Any:
    async def feed(request: Request) -> Response:
        kind = FEEDS.get(request.path_params["name"])
        if kind is None:
            return json_error(
                404,
                ErrorCode.NOT_FOUND,
                f"No feed {request.path_params['name']!r}; there are {', '.join(FEEDS)}",
            )
        try:
            after = _cursor(request, kind)
        except BadUserInput as error:
            return JSONResponse({"error": error.extensions()}, status_code=400)
        try:
            page = await request.state.reader.for_request().run(
                feed_page, kind, after, feed_queries.PAGE_SIZE
            )
        except Exception as exc:
            return export_failure(exc, request_id_of(request), "feed")
        base = _base(request)
        last = page.entries[-1] if page.entries else None
        # The next page starts after this page's last item; an empty page is the last one,
        # and its next URL is its own (RPDE).
        cursor = Cursor(last.modified, last.id) if last is not None else after
        body = {
            "next": _next_url(base, request.url.path, cursor),
            "items": _items(kind, base, page, settings),
            "license": settings.data_licence,
        }
        return JSONResponse(body, headers={"link": f'<{base}/openactive>; rel="describedby"'})

    return feed


# --- the dataset site and vocabularies -----------------------------------------------------------


def dataset(base: str, settings: Settings) -> dict[str, Any]:
    return {
        "@context": ["https://openactive.io/", "https://schema.org/"],
        "@type": "Dataset",
        "@id": f"{base}/openactive",
        "url": f"{base}/openactive",
        "name": f"{settings.publisher_name}: aktiviteter og lokaler for hverdagsintegrering",
        "description": (
            "Frivillige aktiviteter (språkkafeer, leksehjelp, idrett, kultur …) og ledige "
            "lokaler for frivillige i Norge, med ukentlige timeplaner og kommende økter, "
            "publisert etter OpenActive Modelling Opportunity Data 2.0 som RPDE-strømmer."
        ),
        "keywords": ["Aktiviteter", "Frivillighet", "Integrering", "Lokaler", "OpenActive"],
        "license": settings.data_licence,
        "discussionUrl": settings.publisher_url,
        "documentation": "https://permalink.openactive.io/dataset-site/open-data-documentation",
        "inLanguage": ["nb-NO"],
        "schemaVersion": "https://openactive.io/modelling-opportunity-data/2.0/",
        "publisher": {
            "@type": "Organization",
            "name": settings.publisher_name,
            "url": settings.publisher_url,
        },
        "distribution": [
            {
                "@type": "DataDownload",
                "name": TYPES[kind],
                "additionalType": f"https://openactive.io/{TYPES[kind]}",
                "encodingFormat": RPDE_FORMAT,
                "contentUrl": f"{base}/feeds/{path}",
            }
            for path, kind in FEEDS.items()
        ],
    }


def _dataset_html(data: dict[str, Any]) -> str:
    rows = "".join(
        f"<li><a href='{html.escape(d['contentUrl'])}'>{html.escape(d['name'])}</a> "
        f"<code>{html.escape(d['contentUrl'])}</code></li>"
        for d in data["distribution"]
    )
    embedded = script_json(data)
    return f"""<!doctype html>
<html lang="nb"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(data["name"])}</title>
<script type="application/ld+json">{embedded}</script>
</head><body>
<h1>{html.escape(data["name"])}</h1>
<p>{html.escape(data["description"])}</p>
<h2>Strømmer (RPDE)</h2><ul>{rows}</ul>
<p>Dataene eies av {html.escape(data["publisher"]["name"])} og er lisensiert under
<a href="{html.escape(data["license"])}">{html.escape(data["license"])}</a>: alle kan hente,
bruke og dele dem.</p>
</body></html>"""


def _scheme(base: str, path: str, title: str, members: dict[str, str]) -> dict[str, Any]:
    scheme = f"{base}{path}"
    return {
        "@context": "https://openactive.io/",
        "@type": "ConceptScheme",
        "@id": scheme,
        "title": title,
        "url": scheme,
        "concept": [
            {"@type": "Concept", "@id": f"{scheme}#{name}", "prefLabel": label}
            for name, label in members.items()
        ],
    }


def standards_pages(settings: Settings) -> list[Route]:
    async def dataset_site(request: Request) -> Response:
        return HTMLResponse(_dataset_html(dataset(_base(request), settings)))

    async def data_catalog(request: Request) -> Response:
        base = _base(request)
        return JSONResponse(
            {
                "@context": ["https://schema.org/", "https://openactive.io/"],
                "@type": "DataCatalog",
                "@id": f"{base}/openactive/data-catalog",
                "name": f"{settings.publisher_name}: OpenActive",
                "publisher": {"@type": "Organization", "name": settings.publisher_name},
                "license": settings.data_licence,
                "dataset": [f"{base}/openactive"],
            },
            media_type="application/ld+json",
        )

    async def categories(request: Request) -> Response:
        members = {c.value: category_name(c.value) for c in ActivityCategory}
        body = _scheme(_base(request), CATEGORY_SCHEME, "hverdag: aktivitetskategorier", members)
        return JSONResponse(body, media_type="application/ld+json")

    async def venue_types(request: Request) -> Response:
        members = {t.value: NORWEGIAN.get(t.value, t.value.lower()) for t in VenueType}
        body = _scheme(_base(request), VENUE_SCHEME, "hverdag: lokaletyper", members)
        return JSONResponse(body, media_type="application/ld+json")

    return [
        Route("/feeds/{name}", feed_endpoint(settings), methods=["GET"]),
        Route("/openactive", dataset_site, methods=["GET"]),
        Route("/openactive/data-catalog", data_catalog, methods=["GET"]),
        Route(CATEGORY_SCHEME, categories, methods=["GET"]),
        Route(VENUE_SCHEME, venue_types, methods=["GET"]),
    ]
