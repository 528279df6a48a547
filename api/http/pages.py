"""Public pages: ``/a/{id}`` (an activity) and ``/v/{id}`` (a venue), in Norwegian, readable on
a phone, with their schema.org JSON-LD embedded for search engines (an activity is an
``EventSeries`` whose ``subEvent``s are its next sessions as ``Event``s; a venue a ``Place``).
The same JSON-LD is served alone at ``/a/{id}.jsonld`` and ``/v/{id}.jsonld``, and at the
page's own URL to a client that asks for ``application/ld+json``. ``{id}`` is the row's number
or its GraphQL id. See docs/standards.md."""

from __future__ import annotations

import html
from datetime import date, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from api.checks import NodeType
from api.errors import BadUserInput
from api.http.ical import today
from api.http.jsonld import (
    SCHEMA_DAYS,
    activity_place,
    activity_url,
    category_name,
    geo,
    offer,
    organizer,
    postal_address,
    schedules,
    script_json,
    venue_url,
)
from api.http.params import node_id
from api.http.streaming import export_failure, request_id_of
from geo.feeds import occurrence_id
from geo.queries.calendar import CalendarActivity, calendar_activity
from geo.queries.pages import VenuePage, venue_page
from geo.sessions import occurrences, skipped_days
from geo.settings import Settings

JSONLD = "application/ld+json"
#: How many coming sessions a page lists (and its JSON-LD holds as Events), and how far ahead.
NEXT_SESSIONS, AHEAD_DAYS = 8, 56
WEEKDAYS = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")
MONTHS = (
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
)
#: Norwegian names of venue types (until the vocabulary's labels cover them).
VENUE_TYPES = {
    "SCHOOL": "skole",
    "LIBRARY": "bibliotek",
    "CULTURE_HOUSE": "kulturhus",
    "SPORTS_HALL": "idrettshall",
    "COMMUNITY_CENTRE": "grendehus, bydelshus",
    "YOUTH_CLUB": "fritidsklubb",
    "FAITH_VENUE": "trossamfunn",
    "MEETING_ROOM": "møterom",
    "OFFICE": "kontor",
    "OUTDOOR": "utendørs",
    "OTHER": "annet",
}
_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
main{max-width:40rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;line-height:1.25;margin:.5rem 0}
.kind{color:#555;margin:0}
section{background:#fff;border:1px solid #ddd;border-radius:.5rem;padding:.75rem 1rem;margin:1rem 0}
h2{font-size:1.1rem;margin:.25rem 0 .5rem}
ul{padding-left:1.2rem;margin:.25rem 0}
a{color:#0b5cad}
.actions a{display:inline-block;margin:.25rem .5rem .25rem 0;padding:.5rem .75rem;
border:1px solid #0b5cad;border-radius:.4rem;text-decoration:none}
.note{color:#555;font-size:.9rem}
"""


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _day(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()]} {day.day}. {MONTHS[day.month - 1]} {day.year}"


def _e(text: object) -> str:
    return html.escape(str(text))


def _page(title: str, canonical: str, data: dict[str, Any] | None, body: str) -> str:
    script = f'<script type="application/ld+json">{script_json(data)}</script>' if data else ""
    alternate = (
        f'<link rel="alternate" type="{JSONLD}" href="{_e(canonical)}.jsonld">' if data else ""
    )
    return f"""<!doctype html>
<html lang="nb"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<link rel="canonical" href="{_e(canonical)}">{alternate}
<style>{_STYLE}</style>{script}
</head><body><main>{body}</main></body></html>"""


def _wants_jsonld(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return JSONLD in accept and "text/html" not in accept


# --- an activity ------------------------------------------------------------------------------


def next_sessions(a: CalendarActivity, on: date) -> list[Any]:
    """The activity's next sessions from ``on`` (geo.sessions: holidays and cancellations
    excepted)."""
    last = on + timedelta(days=AHEAD_DAYS)
    skipped = skipped_days(
        on,
        last,
        cancelled=a.cancelled,
        school_holidays=a.school_holidays,
        pauses_in_school_holidays=a.pauses_in_school_holidays,
    )
    return occurrences(a.sessions, on, last, skipped)[:NEXT_SESSIONS]


def activity_jsonld(base: str, a: CalendarActivity, on: date) -> dict[str, Any]:
    """schema.org: an ``EventSeries`` with its next sessions as ``Event``s (what a search
    engine shows as an event)."""
    url = activity_url(base, a.id)
    place = activity_place(base, a)
    who = organizer(base, a)
    price = {**offer(base, a), "availability": "https://schema.org/InStock"}
    series: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "EventSeries",
        "@id": url,
        "url": url,
        "name": a.title,
        "location": place,
        "organizer": who,
        "offers": price,
        "isAccessibleForFree": a.free,
        "keywords": category_name(a.category),
    }
    if a.description:
        series["description"] = a.description
    if a.languages:
        series["inLanguage"] = a.languages
    if a.min_age is not None or a.max_age is not None:
        series["typicalAgeRange"] = f"{a.min_age or 0}-{a.max_age or ''}"
    if a.sessions:
        series["eventSchedule"] = schedules(a)
    if a.live:
        events = []
        for o in next_sessions(a, on):
            event: dict[str, Any] = {
                "@type": "Event",
                "@id": f"{url}#/subEvent/{occurrence_id(a.id, o.starts)}",
                "url": url,
                "name": a.title,
                "startDate": o.starts.isoformat(),
                "endDate": o.ends.isoformat(),
                "eventStatus": "https://schema.org/EventScheduled",
                "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
                "location": place,
                "organizer": who,
                "offers": price,
                "isAccessibleForFree": a.free,
            }
            if a.description:
                event["description"] = a.description
            events.append(event)
        if events:
            series["subEvent"] = events
    return series


def _weekly(a: CalendarActivity) -> str:
    lines = []
    for s in a.sessions:
        text = f"{WEEKDAYS[s.weekday - 1]}er {s.starts:%H:%M}–{s.ends:%H:%M}"
        if s.valid_from or s.valid_to:
            first = _day(s.valid_from) if s.valid_from else ""
            last = _day(s.valid_to) if s.valid_to else ""
            text += f" ({first} – {last})"
        lines.append(f"<li>{_e(text)}</li>")
    return "".join(lines) or "<li>Ingen fast timeplan</li>"


def _activity_html(base: str, a: CalendarActivity, on: date, data: dict[str, Any]) -> str:
    url = activity_url(base, a.id)
    ics = f"{base}/calendar/activities/{a.id}.ics"
    webcal = "webcal://" + ics.split("://", 1)[1]
    sessions = "".join(
        f"<li>{_e(_day(o.day))} kl. {o.starts:%H:%M}–{o.ends:%H:%M}</li>"
        for o in (next_sessions(a, on) if a.live else [])
    )
    where = _e(a.venue_name or "Eget oppmøtested")
    if a.venue_id is not None:
        where = f'<a href="{_e(venue_url(base, a.venue_id))}">{where}</a>'
    address = ", ".join(
        _e(p) for p in (a.address, " ".join(x for x in (a.postal_code, a.postal_place) if x)) if p
    )
    price = "Gratis" if a.free else f"{a.cost_nok} kr"
    facts = [f"<li>Pris: {_e(price)}</li>"]
    if a.languages:
        facts.append(f"<li>Språk: {_e(', '.join(a.languages))}</li>")
    if a.min_age is not None or a.max_age is not None:
        facts.append(f"<li>Alder: {_e(a.min_age or 0)}–{_e(a.max_age or '')} år</li>")
    if a.registration_required:
        link = a.registration_url or url
        facts.append(f'<li>Påmelding kreves: <a href="{_e(link)}">meld deg på</a></li>')
    if a.organisation_name:
        org = _e(a.organisation_name)
        if a.organisation_url:
            org = f'<a href="{_e(a.organisation_url)}">{org}</a>'
        facts.append(f"<li>Arrangør: {org}</li>")
    if a.pauses_in_school_holidays:
        facts.append("<li>Holder pause i skoleferiene</li>")
    status = "" if a.live else '<p class="note"><strong>Aktiviteten er ikke i gang nå.</strong></p>'
    pauses = "Ikke på helligdager" + (
        ", og ikke i skoleferiene" if a.pauses_in_school_holidays else ""
    )
    body = f"""<p class="kind">{_e(category_name(a.category))}</p>
<h1>{_e(a.title)}</h1>{status}
{f"<p>{_e(a.description)}</p>" if a.description else ""}
<section><h2>Når</h2><ul>{_weekly(a)}</ul>
{f"<h2>Neste gang</h2><ul>{sessions}</ul>" if sessions else ""}
<p class="note">{pauses}.</p>
<p class="actions"><a href="{_e(webcal)}">Abonner i kalenderen</a>
<a href="{_e(ics)}">Last ned (.ics)</a></p></section>
<section><h2>Hvor</h2><p>{where}{f"<br>{address}" if address else ""}</p></section>
<section><h2>Praktisk</h2><ul>{"".join(facts)}</ul></section>"""
    return _page(a.title, url, data, body)


# --- a venue ----------------------------------------------------------------------------------


def venue_jsonld(base: str, v: VenuePage) -> dict[str, Any]:
    url = venue_url(base, v.id)
    place: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Place",
        "@id": url,
        "url": url,
        "name": v.name,
        "geo": geo(v.x, v.y),
        "additionalType": VENUE_TYPES.get(v.venue_type, v.venue_type.lower()),
    }
    address = postal_address(
        v.address, v.postal_code, v.postal_place or v.municipality_name, v.region
    )
    if address is not None:
        place["address"] = address
    if v.description:
        place["description"] = v.description
    if v.capacity is not None:
        place["maximumAttendeeCapacity"] = v.capacity
    features = [
        {"@type": "LocationFeatureSpecification", "name": name, "value": True}
        for name in [*v.amenities, *v.accessibility]
    ]
    if v.step_free is not None:
        features.append(
            {"@type": "LocationFeatureSpecification", "name": "trinnfri", "value": v.step_free}
        )
    if features:
        place["amenityFeature"] = features
    if v.windows:
        # When volunteers may use it (its free availability), as the hours it is open to them.
        place["openingHoursSpecification"] = [
            {
                "@type": "OpeningHoursSpecification",
                "dayOfWeek": SCHEMA_DAYS[weekday - 1],
                "opens": f"{starts:%H:%M}",
                "closes": f"{ends:%H:%M}",
            }
            for weekday, starts, ends in v.windows
        ]
    if v.activities:
        place["event"] = [
            {"@type": "EventSeries", "@id": activity_url(base, a.id), "name": a.title}
            for a in v.activities
        ]
    return place


def _venue_html(base: str, v: VenuePage, data: dict[str, Any]) -> str:
    url = venue_url(base, v.id)
    address = ", ".join(
        _e(p) for p in (v.address, " ".join(x for x in (v.postal_code, v.postal_place) if x)) if p
    )
    activities = "".join(
        f'<li><a href="{_e(activity_url(base, a.id))}">{_e(a.title)}</a> '
        f"({_e(category_name(a.category))})</li>"
        for a in v.activities
    )
    windows = "".join(
        f"<li>{_e(WEEKDAYS[weekday - 1])}er {starts:%H:%M}–{ends:%H:%M}</li>"
        for weekday, starts, ends in v.windows
    )
    facts = []
    if v.owner_name:
        facts.append(f"<li>Eier: {_e(v.owner_name)}</li>")
    if v.capacity:
        facts.append(f"<li>Plass til {_e(v.capacity)}</li>")
    if v.step_free is not None:
        facts.append(f"<li>{'Trinnfri adkomst' if v.step_free else 'Ikke trinnfri adkomst'}</li>")
    if v.price_note:
        facts.append(f"<li>Pris: {_e(v.price_note)}</li>")
    if v.booking_url:
        facts.append(f'<li><a href="{_e(v.booking_url)}">Bestill lokalet</a></li>')
    status = (
        ""
        if v.archived_at is None
        else '<p class="note"><strong>Lokalet er ikke lenger i bruk.</strong></p>'
    )
    body = f"""<p class="kind">{_e(VENUE_TYPES.get(v.venue_type, v.venue_type.lower()))}</p>
<h1>{_e(v.name)}</h1>{status}
{f"<p>{_e(v.description)}</p>" if v.description else ""}
<section><h2>Hvor</h2><p>{address or _e(v.municipality_name or "")}</p></section>
{f"<section><h2>Aktiviteter her</h2><ul>{activities}</ul></section>" if activities else ""}
{f"<section><h2>Ledig for frivillige</h2><ul>{windows}</ul></section>" if windows else ""}
{f"<section><h2>Praktisk</h2><ul>{''.join(facts)}</ul></section>" if facts else ""}"""
    return _page(v.name, url, data, body)


# --- routes -----------------------------------------------------------------------------------


def _not_found(what: str, as_jsonld: bool) -> Response:
    reason = f"{what} finnes ikke"
    if as_jsonld:
        return JSONResponse({"error": {"code": "NOT_FOUND", "reason": reason}}, status_code=404)
    return HTMLResponse(
        _page(reason, "/", None, f"<h1>{_e(reason)}</h1><p><a href='/'>Til kartet</a></p>"),
        status_code=404,
    )


def _bad(error: BadUserInput) -> Response:
    return JSONResponse({"error": error.extensions()}, status_code=400)


def page_routes(settings: Settings) -> list[Route]:
    async def activity_page(request: Request) -> Response:
        as_jsonld = request.url.path.endswith(".jsonld") or _wants_jsonld(request)
        try:
            activity_id = node_id(request.path_params["id"], NodeType.ACTIVITY)
        except BadUserInput as error:
            return _bad(error)
        try:
            found = await request.state.reader.for_request().run(calendar_activity, activity_id)
        except Exception as exc:
            return export_failure(exc, request_id_of(request), "page")
        if found is None:
            return _not_found("Aktiviteten", as_jsonld)
        base, on = _base(request), today()
        data = activity_jsonld(base, found, on)
        if as_jsonld:
            return JSONResponse(data, media_type=JSONLD)
        status = 200 if found.archived_at is None else 410
        return HTMLResponse(_activity_html(base, found, on, data), status_code=status)

    async def venue_page_route(request: Request) -> Response:
        as_jsonld = request.url.path.endswith(".jsonld") or _wants_jsonld(request)
        try:
            venue_id = node_id(request.path_params["id"], NodeType.VENUE)
        except BadUserInput as error:
            return _bad(error)
        try:
            found = await request.state.reader.for_request().run(venue_page, venue_id)
        except Exception as exc:
            return export_failure(exc, request_id_of(request), "page")
        if found is None:
            return _not_found("Lokalet", as_jsonld)
        data = venue_jsonld(_base(request), found)
        if as_jsonld:
            return JSONResponse(data, media_type=JSONLD)
        status = 200 if found.archived_at is None else 410
        return HTMLResponse(_venue_html(_base(request), found, data), status_code=status)

    return [
        Route("/a/{id}.jsonld", activity_page, methods=["GET"]),
        Route("/a/{id}", activity_page, methods=["GET"]),
        Route("/v/{id}.jsonld", venue_page_route, methods=["GET"]),
        Route("/v/{id}", venue_page_route, methods=["GET"]),
    ]
