"""schema.org entities (OpenActive's are schema.org's, with its context) built from the
directory's rows: one place for the mapping the RPDE feeds (api/http/feeds.py) and the public
pages (api/http/pages.py) share. Every ``data`` item here is a pure function of its rows, so an
item changes only when its ``feed_stamp`` moves (migration 0007)."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any

from geo.crs import to_wgs84
from geo.queries.calendar import CalendarActivity
from geo.sessions import OSLO
from geo.vocab import NORWEGIAN

SCHEMA_DAYS = (
    "https://schema.org/Monday",
    "https://schema.org/Tuesday",
    "https://schema.org/Wednesday",
    "https://schema.org/Thursday",
    "https://schema.org/Friday",
    "https://schema.org/Saturday",
    "https://schema.org/Sunday",
)
#: hverdag's own activity categories as a SKOS concept scheme (served at this path).
CATEGORY_SCHEME = "/vocab/activity-categories"


def script_json(data: object) -> str:
    """JSON for a ``<script type="application/ld+json">`` element: ``<``, ``>`` and ``&``
    escaped, so no text in it can end the element or open another."""
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def activity_url(base: str, activity_id: int) -> str:
    return f"{base}/a/{activity_id}"


def venue_url(base: str, venue_id: int) -> str:
    return f"{base}/v/{venue_id}"


def category_name(category: str) -> str:
    return NORWEGIAN.get(category, category.replace("_", " ").lower())


def concept(base: str, category: str) -> dict[str, Any]:
    scheme = f"{base}{CATEGORY_SCHEME}"
    return {
        "@type": "Concept",
        "@id": f"{scheme}#{category}",
        "prefLabel": category_name(category),
        "inScheme": scheme,
    }


def geo(x: float, y: float) -> dict[str, Any]:
    lat, lon = to_wgs84(x, y)
    return {"@type": "GeoCoordinates", "latitude": round(lat, 6), "longitude": round(lon, 6)}


#: OpenActive requires every part of a PostalAddress; schema.org pages show what there is.
ADDRESS_PARTS = 4


def postal_address(
    street: str | None,
    postal_code: str | None,
    locality: str | None,
    region: str | None,
    *,
    complete: bool = False,
) -> dict[str, Any] | None:
    """The address; None when nothing is known (or, ``complete``, when a part is missing)."""
    given = [part for part in (street, postal_code, locality, region) if part]
    if not given or (complete and len(given) < ADDRESS_PARTS):
        return None
    address: dict[str, Any] = {"@type": "PostalAddress", "addressCountry": "NO"}
    for key, value in (
        ("streetAddress", street),
        ("postalCode", postal_code),
        ("addressLocality", locality),
        ("addressRegion", region),
    ):
        if value:
            address[key] = value
    return address


def activity_place(
    base: str, a: CalendarActivity, *, complete_address: bool = False
) -> dict[str, Any]:
    """Where the activity takes place: its venue, or its own point."""
    place: dict[str, Any] = {"@type": "Place", "name": a.venue_name or a.title}
    address = postal_address(
        a.address,
        a.postal_code,
        a.postal_place or a.municipality_name,
        a.region,
        complete=complete_address,
    )
    if address is not None:
        place["address"] = address
    place["geo"] = geo(a.x, a.y)
    if a.venue_id is not None:
        place = {"@id": venue_url(base, a.venue_id), **place, "url": venue_url(base, a.venue_id)}
    return place


def offer(base: str, a: CalendarActivity) -> dict[str, Any]:
    found: dict[str, Any] = {
        "@type": "Offer",
        "@id": f"{activity_url(base, a.id)}#offer",
        "name": "Gratis" if a.free else "Deltakeravgift",
        "price": 0 if a.free else float(a.cost_nok or 0),
        "priceCurrency": "NOK",
        "url": a.registration_url or activity_url(base, a.id),
    }
    return found


#: An organisation with a number is identified by its entry in the Central Coordinating
#: Register for Legal Entities (Enhetsregisteret).
BRREG = "https://data.brreg.no/enhetsregisteret/api/enheter/"


def organizer(base: str, a: CalendarActivity) -> dict[str, Any]:
    identifier = (
        f"{BRREG}{a.organisation_number}"
        if a.organisation_number
        else f"{activity_url(base, a.id)}#organizer"
    )
    found: dict[str, Any] = {
        "@type": "Organization",
        "@id": identifier,
        "name": a.organisation_name or a.title,
    }
    if a.organisation_url:
        found["url"] = a.organisation_url
    return found


def duration(starts: time, ends: time) -> str:
    """ISO 8601 duration between two times of one day: ``PT1H30M``."""
    return minutes_duration((ends.hour * 60 + ends.minute) - (starts.hour * 60 + starts.minute))


def minutes_duration(minutes: int) -> str:
    hours, minutes = divmod(minutes, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes or not hours else "")


def local_datetime(day: date, at: time) -> str:
    """ISO 8601 with the offset Norway had on that day."""
    return datetime.combine(day, at, tzinfo=OSLO).isoformat()


def age_range(a: CalendarActivity) -> dict[str, Any] | None:
    if a.min_age is None and a.max_age is None:
        return None
    found: dict[str, Any] = {"@type": "QuantitativeValue"}
    if a.min_age is not None:
        found["minValue"] = a.min_age
    if a.max_age is not None:
        found["maxValue"] = a.max_age
    return found


def schedules(a: CalendarActivity) -> list[dict[str, Any]]:
    """The weekly lines as schema.org ``Schedule``s (Europe/Oslo), each with the organiser's
    cancelled dates that fall on it."""
    found = []
    for s in a.sessions:
        schedule: dict[str, Any] = {
            "@type": "Schedule",
            "scheduledEventType": "ScheduledSession",
            "repeatFrequency": "P1W",
            "byDay": [SCHEMA_DAYS[s.weekday - 1]],
            "startTime": f"{s.starts:%H:%M}",
            "endTime": f"{s.ends:%H:%M}",
            "duration": duration(s.starts, s.ends),
            "scheduleTimezone": "Europe/Oslo",
        }
        if s.valid_from:
            schedule["startDate"] = s.valid_from.isoformat()
        if s.valid_to:
            schedule["endDate"] = s.valid_to.isoformat()
        excepted = [
            local_datetime(day, s.starts)
            for day in a.cancelled
            if day.isoweekday() == s.weekday
            and (s.valid_from is None or day >= s.valid_from)
            and (s.valid_to is None or day <= s.valid_to)
        ]
        if excepted:
            schedule["exceptDate"] = excepted
        found.append(schedule)
    return found
