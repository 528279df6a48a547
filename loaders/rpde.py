"""OpenActive RPDE feeds: ``hverdag load rpde URL``.

Follows a Realtime Paged Data Exchange 1.0 feed of ``SessionSeries`` (OpenActive Modelling
Opportunity Data 2.0) page by page, ``next`` after ``next``, to its end (a page without items)
or to the run's bounds (:class:`Limits`: pages, bytes per page and in all). Each item becomes an
activity keyed by (source, the item's id), at its location's point, with its weekly
``eventSchedule`` as sessions and its ``exceptDate`` s as cancelled dates; a ``deleted`` item
archives its activity. An item seen twice in a run counts as its last state (RPDE).

It resumes: the ``next`` URL of the last page applied is kept per feed (``feed_position``,
geo/registry.py) and moves in the same transaction as the activities, so a run that is refused
or interrupted leaves the position where it was, and the next run starts there. A second run
of a feed that has not changed reads one empty page and writes nothing.

Every item is checked before anything is written; a bad one is named by its page and id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import sqlalchemy as sa
from geoalchemy2.shape import from_shape
from shapely.geometry import Point

from geo import validation as v
from geo.crs import STORAGE_SRID
from geo.registry import feed_next_url, move_feed_position
from geo.tables import activity, organisation, venue
from geo.vocab import (
    NORWEGIAN,
    ActivityCategory,
    ActivityStatus,
    OwnerType,
    PriceModel,
    TargetGroup,
    VenueType,
)
from loaders.activities import ParsedActivity, parse_activity, write_activities
from loaders.directory import check_duplicates, join_municipalities, parse_records
from loaders.hsds import DEFAULT_CATEGORY, plausible_date
from loaders.pointfile import Record
from loaders.report import LoadError, LoadReport, Problems
from loaders.venues import ParsedVenue, parse_venue, write_venues

SERIES, FACILITY = "SessionSeries", "FacilityUse"
KINDS = frozenset({SERIES, FACILITY})
#: The longest source a row keeps (loaders/directory.py: source_of).
MAX_SOURCE = 200
SCHEMA_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAYS = dict(zip(SCHEMA_DAYS, ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"), strict=True))
#: An organiser identified by its entry in Enhetsregisteret (as hverdag's feeds write it).
BRREG = re.compile(r"^https://data\.brreg\.no/enhetsregisteret/api/enheter/([0-9]{9})$")
_CATEGORY_BY_LABEL = {NORWEGIAN.get(c.value, "").lower(): c.value for c in ActivityCategory}
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")


@dataclass(frozen=True)
class Limits:
    """What one run reads at most; a feed longer than ``pages`` goes on at the next run."""

    pages: int = 200
    page_bytes: int = 20 * 1024 * 1024
    total_bytes: int = 500 * 1024 * 1024
    timeout_s: float = 60.0


@dataclass
class Pages:
    """What a run read: the last state of each item, by (kind, id), and where to start next
    time."""

    items: dict[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)
    next_url: str = ""
    read: int = 0
    ended: bool = False

    def updated(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [
            (i, d) for (k, i), (state, d) in self.items.items() if k == kind and state == "updated"
        ]

    def deleted(self, kind: str) -> list[str]:
        return [i for (k, i), (state, _) in self.items.items() if k == kind and state == "deleted"]


Fetch = Callable[[str], bytes]


@contextmanager
def http_fetch(limits: Limits, transport: httpx.BaseTransport | None = None) -> Iterator[Fetch]:
    """A GET of one page with httpx, its body cut at ``limits.page_bytes``; yields it for the
    run's duration, then closes the client. A failure to fetch is a LoadError naming the URL."""
    with httpx.Client(
        timeout=limits.timeout_s,
        follow_redirects=True,
        headers={"accept": "application/vnd.openactive.rpde+json, application/json"},
        transport=transport,
    ) as client:

        def fetch(url: str) -> bytes:
            try:
                return _get(client, url, limits)
            except httpx.HTTPError as error:
                raise LoadError(
                    f"the page could not be fetched: {error}", code="FEED_UNAVAILABLE", path=url
                ) from None

        yield fetch


def _get(client: httpx.Client, url: str, limits: Limits) -> bytes:
    with client.stream("GET", url) as response:
        if response.status_code != 200:
            raise LoadError(f"HTTP {response.status_code}", code="FEED_UNAVAILABLE", path=url)
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limits.page_bytes:
                raise LoadError(
                    f"the page is over {limits.page_bytes} bytes", code="TOO_LARGE", path=url
                )
        return bytes(body)


# --- reading the pages --------------------------------------------------------------------------


def _not_rpde(url: str, reason: str) -> LoadError:
    return LoadError(
        f"not an RPDE feed page: {reason} (a page is JSON with 'items' and 'next'; give the "
        "feed's URL, not its dataset site)",
        code="NOT_RPDE",
        path=url,
    )


def _page(url: str, body: bytes) -> tuple[list[Any], str]:
    """A page's items and its ``next`` URL (made absolute)."""
    head = body[:200].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"<")):
        raise _not_rpde(url, "it is HTML")
    try:
        page = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _not_rpde(url, f"it is not JSON ({error}): truncated?") from None
    except RecursionError:
        raise _not_rpde(url, "its JSON nests too deep") from None
    if not isinstance(page, dict) or not isinstance(page.get("items"), list):
        raise _not_rpde(url, "it has no 'items' list")
    following = page.get("next")
    if not isinstance(following, str) or not following:
        raise _not_rpde(url, "it has no 'next' URL")
    following = urljoin(url, following)
    if urlsplit(following).scheme not in ("http", "https"):
        raise _not_rpde(url, f"its next URL {following[:100]!r} is not http(s)")
    if following == url and page["items"]:
        raise _not_rpde(url, "its next URL is itself but it has items: it would never end")
    return page["items"], following


def _item(url: str, position: int, item: Any) -> tuple[str, str, str, dict[str, Any]]:
    """(kind, id, state, data) of one item; LoadError naming it when it is not an RPDE item."""
    label = f"item {position + 1}"
    if not isinstance(item, dict):
        raise LoadError("is not an object", record=label, code="NOT_RPDE", path=url)
    item_id, state, kind = item.get("id"), item.get("state"), item.get("kind")
    if not isinstance(item_id, str | int) or isinstance(item_id, bool) or str(item_id) == "":
        raise LoadError("has no id", record=label, field="id", code="NOT_RPDE", path=url)
    label = f"item {item_id}"
    if state not in ("updated", "deleted"):
        raise LoadError(
            f"state {state!r}: RPDE says 'updated' or 'deleted'",
            record=label,
            field="state",
            code="NOT_RPDE",
            path=url,
        )
    if "modified" not in item:
        raise LoadError(
            "has no modified", record=label, field="modified", code="NOT_RPDE", path=url
        )
    if kind not in KINDS:
        raise LoadError(
            f"kind {kind!r}: this loader reads {' and '.join(sorted(KINDS))} feeds (a "
            "ScheduledSession's or Slot's times come with their SessionSeries or FacilityUse)",
            record=label,
            field="kind",
            code="UNSUPPORTED_KIND",
            path=url,
        )
    data = item.get("data")
    if state == "updated" and not isinstance(data, dict):
        raise LoadError(
            "an updated item has no data", record=label, field="data", code="NOT_RPDE", path=url
        )
    return kind, str(item_id), state, data if isinstance(data, dict) else {}


def read_pages(start: str, fetch: Fetch, limits: Limits) -> Pages:
    """The pages from ``start`` to the feed's end or the run's bounds."""
    pages = Pages(next_url=start)
    total = 0
    url = start
    while pages.read < limits.pages:
        body = fetch(url)
        total += len(body)
        if total > limits.total_bytes:
            raise LoadError(
                f"the run read over {limits.total_bytes} bytes", code="TOO_LARGE", path=url
            )
        items, following = _page(url, body)
        pages.read += 1
        for position, raw in enumerate(items):
            kind, item_id, state, data = _item(url, position, raw)
            pages.items.pop((kind, item_id), None)  # its last state, in the feed's order
            pages.items[kind, item_id] = (state, {**data, "@page": url})
        pages.next_url = following
        if not items:
            pages.ended = True
            break
        url = following
    return pages


# --- from SessionSeries to the loaders' records -------------------------------------------------


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def _category(data: Mapping[str, Any]) -> str | None:
    """The category from ``activity``: hverdag's own scheme's concept, or its label."""
    concepts = data.get("activity")
    for concept in concepts if isinstance(concepts, list) else []:
        if not isinstance(concept, dict):
            continue
        fragment = _text(concept.get("@id")).rpartition("#")[2]
        if fragment in ActivityCategory.__members__:
            return fragment
        label = _text(concept.get("prefLabel")).lower()
        if label in _CATEGORY_BY_LABEL:
            return _CATEGORY_BY_LABEL[label]
    return None


def _offer(data: Mapping[str, Any]) -> dict[str, str]:
    offers = data.get("offers")
    prices = [
        float(o["price"])
        for o in (offers if isinstance(offers, list) else [])
        if isinstance(o, dict) and _number(o.get("price"))
    ]
    if data.get("isAccessibleForFree") is True or (prices and min(prices) == 0):
        return {"free": "true"}
    if prices:
        return {"free": "false", "cost_nok": _number(min(prices))}
    return {}


def _point(data: Mapping[str, Any]) -> dict[str, str]:
    location = data.get("location")
    geo = location.get("geo") if isinstance(location, dict) else None
    if not isinstance(geo, dict):
        raise v.FieldError("location.geo", "is required: an activity needs its point")
    return {"lat": _number(geo.get("latitude")), "lon": _number(geo.get("longitude"))}


def _day(value: Any, field_name: str) -> str:
    text = _text(value)[:10]
    if not text:
        return ""
    plausible_date(text, f"{field_name} {value!r}", field=field_name)
    return text


def _schedules(data: Mapping[str, Any]) -> tuple[str, str]:
    """``eventSchedule`` as the loaders' sessions and cancelled dates."""
    sessions, cancelled = [], []
    schedules = data.get("eventSchedule")
    for schedule in schedules if isinstance(schedules, list) else []:
        if not isinstance(schedule, dict) or schedule.get("repeatFrequency") != "P1W":
            raise v.FieldError(
                "eventSchedule", "only weekly schedules (repeatFrequency P1W) can be loaded"
            )
        starts, ends = _text(schedule.get("startTime")), _text(schedule.get("endTime"))
        if not (_HHMM.match(starts) and _HHMM.match(ends)):
            raise v.FieldError("eventSchedule", "a schedule needs startTime and endTime (HH:MM)")
        days = schedule.get("byDay")
        names = [
            DAYS.get(_text(d).rsplit("/", 1)[-1], "")
            for d in (days if isinstance(days, list) else [])
        ]
        if not names or "" in names:
            raise v.FieldError("eventSchedule", f"byDay {days!r} names no schema.org weekday")
        first = _day(schedule.get("startDate"), "eventSchedule.startDate")
        last = _day(schedule.get("endDate"), "eventSchedule.endDate")
        dates = f" {first}..{last}" if first or last else ""
        sessions += [f"{name} {starts[:5]}-{ends[:5]}{dates}" for name in names]
        excepted = schedule.get("exceptDate")
        for day in excepted if isinstance(excepted, list) else []:
            cancelled.append(_day(day, "eventSchedule.exceptDate"))
    return "|".join(sessions), "|".join(d for d in cancelled if d)


def _ages(data: Mapping[str, Any]) -> dict[str, str]:
    ages = data.get("ageRange")
    if not isinstance(ages, dict):
        return {}
    return {"min_age": _number(ages.get("minValue")), "max_age": _number(ages.get("maxValue"))}


def _organiser(data: Mapping[str, Any], known: set[str]) -> dict[str, str]:
    organizer = data.get("organizer")
    found = BRREG.match(_text(organizer.get("@id"))) if isinstance(organizer, dict) else None
    return {"organisation_number": found.group(1)} if found and found.group(1) in known else {}


def activity_cells(item_id: str, data: Mapping[str, Any], known: set[str]) -> dict[str, str]:
    """A SessionSeries as an activities file's columns (docs/loaders.md)."""
    sessions, cancelled = _schedules(data)
    languages = data.get("inLanguage")
    gender = _text(data.get("genderRestriction"))
    return {
        "external_id": item_id,
        "title": _text(data.get("name")),
        "description": _text(data.get("description")),
        "category": _category(data) or DEFAULT_CATEGORY.value,
        "url": _text(data.get("url")),
        "status": ActivityStatus.ACTIVE.value,
        "languages": "|".join(
            _text(x) for x in (languages if isinstance(languages, list) else [languages])
        ),
        "target_groups": TargetGroup.WOMEN.value if gender.endswith("FemaleOnly") else "",
        "schedule": sessions,
        "exceptions": cancelled,
        **_offer(data),
        **_ages(data),
        **_point(data),
        **_organiser(data, known),
    }


def _hours(data: Mapping[str, Any]) -> str:
    """``hoursAvailable`` as the loaders' availability windows."""
    windows = []
    hours = data.get("hoursAvailable")
    for spec in hours if isinstance(hours, list) else []:
        opens = _text(spec.get("opens")) if isinstance(spec, dict) else ""
        closes = _text(spec.get("closes")) if isinstance(spec, dict) else ""
        if not (_HHMM.match(opens) and _HHMM.match(closes)):
            raise v.FieldError("hoursAvailable", "each needs opens and closes (HH:MM)")
        days = spec.get("dayOfWeek")
        names = [
            DAYS.get(_text(d).rsplit("/", 1)[-1], "")
            for d in (days if isinstance(days, list) else [days])
        ]
        if not names or "" in names:
            raise v.FieldError("hoursAvailable", f"dayOfWeek {days!r} names no schema.org weekday")
        windows += [f"{name} {opens[:5]}-{closes[:5]}" for name in names]
    return "|".join(windows)


def _venue_type(data: Mapping[str, Any]) -> str:
    types = data.get("facilityType")
    for concept in types if isinstance(types, list) else []:
        fragment = _text(concept.get("@id") if isinstance(concept, dict) else "").rpartition("#")[2]
        if fragment in VenueType.__members__:
            return fragment
    return VenueType.OTHER.value


def venue_cells(item_id: str, data: Mapping[str, Any]) -> dict[str, str]:
    """A FacilityUse as a venues file's columns (docs/loaders.md)."""
    location = data.get("location")
    address = location.get("address") if isinstance(location, dict) else None
    address = address if isinstance(address, dict) else {}
    offers = data.get("offers")
    offered = [o for o in (offers if isinstance(offers, list) else []) if isinstance(o, dict)]
    free = any(o.get("price") == 0 for o in offered)
    return {
        "external_id": item_id,
        "name": _text(data.get("name")),
        "description": _text(data.get("description")),
        "owner_type": OwnerType.MUNICIPALITY.value,
        "venue_type": _venue_type(data),
        "address": _text(address.get("streetAddress")),
        "postal_code": _text(address.get("postalCode")),
        "postal_place": _text(address.get("addressLocality")),
        "price_model": PriceModel.FREE.value if free else "",
        "booking_url": next((_text(o.get("url")) for o in offered if o.get("url")), ""),
        "availability": _hours(data),
        **_point(data),
    }


# --- the load -----------------------------------------------------------------------------------


def _known_numbers(conn: sa.Connection, pages: Pages) -> set[str]:
    numbers = set()
    for _, data in pages.updated(SERIES):
        organizer = data.get("organizer")
        found = BRREG.match(_text(organizer.get("@id"))) if isinstance(organizer, dict) else None
        if found:
            numbers.add(found.group(1))
    if not numbers:
        return set()
    return set(
        conn.execute(
            sa.select(organisation.c.organisation_number).where(
                organisation.c.organisation_number.in_(sorted(numbers))
            )
        ).scalars()
    )


def _records(updated: list[tuple[str, dict[str, Any]]]) -> list[Record]:
    return [
        Record(f"{data['@page']} item {item_id}", {"item_id": item_id}) for item_id, data in updated
    ]


def _placed(conn: sa.Connection, items: list[Any], feed: str, problems: Problems) -> None:
    """The municipality of each item's point; a point outside every one is refused."""
    with_point = [i for i in items if i.point is not None]
    join_municipalities(
        conn,
        with_point,
        [i.point for i in with_point],
        [i.point_field for i in with_point],
        feed,
        problems,
    )


def _series(pages: Pages, conn: sa.Connection, source: str, feed: str) -> list[ParsedActivity]:
    known = _known_numbers(conn, pages)
    updated = pages.updated(SERIES)
    by_id = dict(updated)

    def parse(record: Record) -> ParsedActivity:
        item_id = record.get("item_id")
        cells = activity_cells(item_id, by_id[item_id], known)
        return parse_activity(Record(record.label, cells), source, source)

    items, problems = parse_records(_records(updated), parse, feed)
    check_duplicates(items, feed, problems)
    _placed(conn, items, feed, problems)
    problems.check()
    for item in items:
        item.row |= {"venue_id": None, "archived_at": None}
        if item.point is not None:
            item.row["geom"] = from_shape(Point(item.point), srid=STORAGE_SRID)
    return items


def _facilities(pages: Pages, conn: sa.Connection, source: str, feed: str) -> list[ParsedVenue]:
    updated = pages.updated(FACILITY)
    by_id = dict(updated)

    def parse(record: Record) -> ParsedVenue:
        item_id = record.get("item_id")
        return parse_venue(
            Record(record.label, venue_cells(item_id, by_id[item_id])), source, source
        )

    items, problems = parse_records(_records(updated), parse, feed)
    check_duplicates(items, feed, problems)
    _placed(conn, items, feed, problems)
    problems.check()
    for item in items:
        item.row |= {"archived_at": None, "geom": from_shape(Point(item.point), srid=STORAGE_SRID)}
    return items


def _archive(conn: sa.Connection, table: sa.Table, source: str, ids: list[str]) -> int:
    """Archive the rows of deleted items (one already archived is left as it is)."""
    if not ids:
        return 0
    archived = conn.execute(
        sa.update(table)
        .where(
            table.c.source == source, table.c.external_id.in_(ids), table.c.archived_at.is_(None)
        )
        .values(archived_at=sa.func.now(), updated_at=sa.func.now(), version=table.c.version + 1)
        .returning(table.c.id)
    ).all()
    return len(archived)


def load_rpde(
    conn: sa.Connection,
    url: str,
    *,
    source: str | None = None,
    fetch: Fetch | None = None,
    limits: Limits | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    """Read the feed at ``url`` from where its last run stopped and apply it in the caller's
    transaction, with the feed's new position; nothing is written (the position stays) if an
    item is bad. ``fetch`` GETs a page (default: httpx, bounded by ``limits``)."""
    limits = limits or Limits()
    row_source = source or f"rpde:{url}"
    if len(row_source) > MAX_SOURCE:
        raise LoadError(
            f"the source {row_source[:60]!r}… is longer than {MAX_SOURCE} characters: name a "
            "shorter one with --source",
            code="BAD_SOURCE",
            path=url,
        )
    stored = feed_next_url(conn, url)
    start = stored or url
    if fetch is None:
        with http_fetch(limits) as fetch_http:
            pages = read_pages(start, fetch_http, limits)
    else:
        pages = read_pages(start, fetch, limits)
    report = LoadReport("rpde")
    with conn.begin_nested():
        venues = _facilities(pages, conn, row_source, url)
        if venues:
            write_venues(conn, venues, report)
        activities = _series(pages, conn, row_source, url)
        if activities:
            counts = LoadReport("activities")
            write_activities(conn, activities, counts)
            report.inserted += counts.inserted
            report.updated += counts.updated
            report.unchanged += counts.unchanged
        report.updated += _archive(conn, venue, row_source, pages.deleted(FACILITY))
        report.updated += _archive(conn, activity, row_source, pages.deleted(SERIES))
        if pages.next_url != stored and not move_feed_position(conn, url, stored, pages.next_url):
            raise LoadError(
                "another run of this feed moved its position meanwhile; nothing was written: "
                "run again",
                code="CONFLICT",
                path=url,
            )
    defaulted = sum(1 for _, d in pages.updated(SERIES) if _category(d) is None)
    if defaulted:
        report.warnings.append(
            f"{defaulted} items name no hverdag category: loaded as {DEFAULT_CATEGORY}"
        )
    if pages.updated(FACILITY):
        report.warnings.append(
            f"{len(pages.updated(FACILITY))} FacilityUses: their owner type is not in the feed: "
            f"loaded as {OwnerType.MUNICIPALITY}"
        )
    if not pages.ended:
        report.warnings.append(
            f"stopped after {pages.read} pages (the run's bound): run again to go on from "
            f"{pages.next_url}"
        )
    if progress:
        progress(len(pages.items), len(pages.items))
    return report
