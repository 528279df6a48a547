"""Generated venues (premises): type and owner mixes, Norwegian names, prices, weekly windows.

Schools and libraries owned by municipalities are the most common; some premises are state-owned
(a university college, a government building), some belong to faith communities or
organisations. About half are free for volunteers. ``accessibility`` and ``amenities`` have no
vocabulary in geo/vocab.py yet; the generator uses the upper-case words below.
"""

from __future__ import annotations

import math
from datetime import date, time, timedelta
from typing import NamedTuple

from geo.vocab import ActivityCategory as C
from geo.vocab import OwnerType as O
from geo.vocab import PriceModel
from geo.vocab import VenueType as V
from loaders.synthetic.weighted import Dice, Weighted

UNIFORMS = 48  # per venue; enough for every draw below

LOCAL_NAMES = (
    "Haugen",
    "Bakken",
    "Berg",
    "Lia",
    "Dalen",
    "Moen",
    "Nes",
    "Vika",
    "Åsen",
    "Holmen",
    "Sletta",
    "Tangen",
    "Vollen",
    "Lunden",
    "Rud",
    "Vang",
    "Solberg",
    "Nordby",
    "Sørby",
    "Østby",
    "Skogen",
    "Engen",
    "Bråten",
    "Hagen",
    "Jordet",
    "Myra",
    "Brekke",
    "Sand",
    "Strand",
    "Eidet",
    "Kleiva",
    "Furulund",
    "Granli",
    "Bjørkly",
    "Lindeberg",
    "Eikeli",
    "Fjellstad",
    "Sjøli",
    "Elvebakken",
    "Torget",
)
STREETS = (
    "Skoleveien",
    "Kirkeveien",
    "Storgata",
    "Idrettsveien",
    "Parkveien",
    "Sentrumsveien",
    "Bibliotekgata",
    "Torggata",
    "Fjordveien",
    "Stasjonsveien",
    "Kongens gate",
    "Industriveien",
    "Kulturveien",
    "Rådhusgata",
    "Strandveien",
    "Bekkeveien",
)

VENUE_TYPES: Weighted[str] = Weighted(
    [
        (V.SCHOOL, 28),
        (V.LIBRARY, 14),
        (V.SPORTS_HALL, 10),
        (V.COMMUNITY_CENTRE, 9),
        (V.CULTURE_HOUSE, 8),
        (V.MEETING_ROOM, 8),
        (V.YOUTH_CLUB, 6),
        (V.FAITH_VENUE, 6),
        (V.OFFICE, 4),
        (V.OTHER, 4),
        (V.OUTDOOR, 3),
    ]
)

OWNERS: dict[str, Weighted[str]] = {
    V.SCHOOL: Weighted([(O.MUNICIPALITY, 84), (O.COUNTY, 12), (O.PRIVATE, 4)]),
    V.LIBRARY: Weighted([(O.MUNICIPALITY, 90), (O.STATE, 7), (O.COUNTY, 3)]),
    V.SPORTS_HALL: Weighted([(O.MUNICIPALITY, 70), (O.ORGANISATION, 20), (O.COUNTY, 10)]),
    V.COMMUNITY_CENTRE: Weighted(
        [(O.ORGANISATION, 50), (O.MUNICIPALITY, 45), (O.FAITH_COMMUNITY, 5)]
    ),
    V.CULTURE_HOUSE: Weighted([(O.MUNICIPALITY, 70), (O.ORGANISATION, 20), (O.PRIVATE, 10)]),
    V.MEETING_ROOM: Weighted(
        [(O.MUNICIPALITY, 30), (O.STATE, 25), (O.ORGANISATION, 25), (O.PRIVATE, 20)]
    ),
    V.YOUTH_CLUB: Weighted([(O.MUNICIPALITY, 80), (O.ORGANISATION, 20)]),
    V.FAITH_VENUE: Weighted([(O.FAITH_COMMUNITY, 100)]),
    V.OFFICE: Weighted([(O.STATE, 45), (O.MUNICIPALITY, 30), (O.ORGANISATION, 25)]),
    V.OTHER: Weighted([(O.PRIVATE, 40), (O.ORGANISATION, 40), (O.MUNICIPALITY, 20)]),
    V.OUTDOOR: Weighted([(O.MUNICIPALITY, 60), (O.ORGANISATION, 30), (O.STATE, 10)]),
}

# Name templates per (type, owner), else per type: {place}, {municipality}, {n} (a room number).
NAMES: dict[tuple[str, str | None], tuple[str, ...]] = {
    (V.SCHOOL, None): (
        "{place} skole, gymsal",
        "{place} skole, aula",
        "{place} skole, kantine",
        "{place} ungdomsskole, gymsal",
        "{place} barneskole, SFO-rommet",
    ),
    (V.SCHOOL, O.COUNTY): (
        "{place} videregående skole, auditorium",
        "{place} videregående skole, kantine",
    ),
    (V.SCHOOL, O.PRIVATE): ("{place} friskole, fellesrommet",),
    (V.LIBRARY, None): (
        "{municipality} bibliotek, avdeling {place}",
        "{municipality} bibliotek, møterom {n}",
        "{place} bibliotek",
    ),
    (V.LIBRARY, O.STATE): ("Høgskolebiblioteket, campus {municipality}",),
    (V.SPORTS_HALL, None): ("{place} idrettshall", "{place} flerbrukshall", "{place}hallen"),
    (V.COMMUNITY_CENTRE, None): (
        "{place} grendehus",
        "{place} samfunnshus",
        "{municipality} frivilligsentral",
        "{place} aktivitetshus",
    ),
    (V.CULTURE_HOUSE, None): (
        "{municipality} kulturhus, lille sal",
        "{place} kulturhus, sal {n}",
        "{place} kulturverksted",
    ),
    (V.MEETING_ROOM, None): (
        "{municipality} rådhus, møterom {n}",
        "{place} helsestasjon, grupperom",
    ),
    (V.MEETING_ROOM, O.STATE): (
        "Statens hus, {municipality}, møterom {n}",
        "Høgskolen, campus {municipality}, seminarrom {n}",
    ),
    (V.MEETING_ROOM, O.ORGANISATION): ("{place} velhus", "Frivillighetens hus, {municipality}"),
    (V.MEETING_ROOM, O.PRIVATE): ("{place} næringshage, møterom {n}",),
    (V.YOUTH_CLUB, None): ("{place} fritidsklubb", "{place} ungdomshus"),
    (V.FAITH_VENUE, None): (
        "{place} kirke, menighetssalen",
        "{place} menighetshus",
        "Moskeen i {municipality}, møtesalen",
        "{place} misjonshus",
    ),
    (V.OFFICE, None): ("{municipality} kommune, flyktningtjenesten, kursrom",),
    (V.OFFICE, O.STATE): ("NAV {municipality}, kurssal", "Statens hus, {municipality}, kursrom"),
    (V.OFFICE, O.ORGANISATION): ("{municipality} frivilligsentral, kontor",),
    (V.OTHER, None): ("{place} seniorsenter", "{place} bydelskafé", "{place} bruktbutikk, kafé"),
    (V.OUTDOOR, None): ("{place} friområde, gapahuk", "{place} kunstgressbane", "{place} turhytte"),
}

KIND_TEXT: dict[str, str] = {
    V.SCHOOL: "Skolelokale",
    V.LIBRARY: "Bibliotekrom",
    V.SPORTS_HALL: "Idrettshall",
    V.COMMUNITY_CENTRE: "Grendehus og møteplass",
    V.CULTURE_HOUSE: "Sal i kulturhus",
    V.MEETING_ROOM: "Møterom",
    V.YOUTH_CLUB: "Fritidsklubb",
    V.FAITH_VENUE: "Menighetslokale",
    V.OFFICE: "Kurs- og kontorlokale",
    V.OTHER: "Lokale",
    V.OUTDOOR: "Uteområde",
}

CAPACITY: dict[str, tuple[int, int]] = {  # (smallest, largest) people, drawn log-uniformly
    V.SCHOOL: (30, 250),
    V.LIBRARY: (10, 80),
    V.SPORTS_HALL: (80, 600),
    V.COMMUNITY_CENTRE: (30, 200),
    V.CULTURE_HOUSE: (40, 400),
    V.MEETING_ROOM: (8, 40),
    V.YOUTH_CLUB: (20, 120),
    V.FAITH_VENUE: (30, 300),
    V.OFFICE: (8, 30),
    V.OTHER: (10, 80),
    V.OUTDOOR: (20, 200),
}

PRICES: dict[str, Weighted[str]] = {
    O.MUNICIPALITY: Weighted(
        [(PriceModel.FREE, 60), (PriceModel.REDUCED, 25), (PriceModel.MARKET, 15)]
    ),
    O.COUNTY: Weighted([(PriceModel.FREE, 50), (PriceModel.REDUCED, 25), (PriceModel.MARKET, 25)]),
    O.STATE: Weighted([(PriceModel.FREE, 35), (PriceModel.REDUCED, 30), (PriceModel.MARKET, 35)]),
    O.ORGANISATION: Weighted(
        [(PriceModel.FREE, 45), (PriceModel.REDUCED, 35), (PriceModel.MARKET, 20)]
    ),
    O.FAITH_COMMUNITY: Weighted(
        [(PriceModel.FREE, 55), (PriceModel.REDUCED, 30), (PriceModel.MARKET, 15)]
    ),
    O.PRIVATE: Weighted([(PriceModel.FREE, 10), (PriceModel.REDUCED, 30), (PriceModel.MARKET, 60)]),
}

SUITS: dict[str, tuple[str, ...]] = {
    V.SCHOOL: (
        C.HOMEWORK_HELP,
        C.LANGUAGE_CAFE,
        C.SPORTS,
        C.PARENT_SUPPORT,
        C.NORWEGIAN_PRACTICE,
        C.MEETING_PLACE,
        C.CULTURE,
    ),
    V.LIBRARY: (
        C.LANGUAGE_CAFE,
        C.NORWEGIAN_PRACTICE,
        C.HOMEWORK_HELP,
        C.DIGITAL_SKILLS,
        C.INFORMATION,
        C.MEETING_PLACE,
    ),
    V.SPORTS_HALL: (C.SPORTS, C.ACTIVITY_GUIDE, C.YOUTH_CLUB),
    V.COMMUNITY_CENTRE: (
        C.MEETING_PLACE,
        C.LANGUAGE_CAFE,
        C.WOMENS_GROUP,
        C.PARENT_SUPPORT,
        C.NORWEGIAN_PRACTICE,
        C.REFUGEE_GUIDE,
        C.LIFE_SKILLS,
    ),
    V.CULTURE_HOUSE: (C.CULTURE, C.MEETING_PLACE, C.LANGUAGE_CAFE, C.DIALOGUE, C.YOUTH_CLUB),
    V.MEETING_ROOM: (
        C.NORWEGIAN_PRACTICE,
        C.WORK_TRAINING,
        C.INFORMATION,
        C.MENTORING,
        C.LIFE_SKILLS,
        C.DIGITAL_SKILLS,
    ),
    V.YOUTH_CLUB: (C.YOUTH_CLUB, C.HOMEWORK_HELP, C.SPORTS, C.MENTORING, C.CULTURE),
    V.FAITH_VENUE: (C.DIALOGUE, C.MEETING_PLACE, C.WOMENS_GROUP, C.LANGUAGE_CAFE, C.PARENT_SUPPORT),
    V.OFFICE: (C.WORK_TRAINING, C.INFORMATION, C.DIGITAL_SKILLS, C.MENTORING),
    V.OTHER: (C.MEETING_PLACE, C.LANGUAGE_CAFE, C.WOMENS_GROUP, C.WORK_TRAINING),
    V.OUTDOOR: (C.OUTDOOR, C.SPORTS, C.ACTIVITY_GUIDE),
}

SUITABLE: dict[str, Weighted[str]] = {
    kind: Weighted([(str(c), 1.0) for c in categories]) for kind, categories in SUITS.items()
}

ACCESSIBILITY = (
    ("ACCESSIBLE_TOILET", 0.6),
    ("LIFT", 0.3),
    ("HEARING_LOOP", 0.25),
    ("ACCESSIBLE_PARKING", 0.4),
)
AMENITIES = (
    ("KITCHEN", 0.5),
    ("PROJECTOR", 0.55),
    ("STORAGE", 0.35),
    ("OFFICE_EQUIPMENT", 0.2),
    ("WIFI", 0.75),
    ("SOUND_SYSTEM", 0.25),
)

WINDOW_COUNT: Weighted[int] = Weighted([(0, 10), (1, 20), (2, 30), (3, 25), (4, 15)])
WINDOW_DAYS: Weighted[int] = Weighted(
    [(1, 16), (2, 16), (3, 16), (4, 16), (5, 16), (6, 12), (7, 8)]
)
EVENINGS = ((time(17), time(21)), (time(17), time(22)), (time(18), time(22)))
WEEKEND_DAYS = ((time(10), time(16)), (time(12), time(18)), (time(9), time(15)))
VERIFIED_FROM = date(2026, 1, 5)


class VenueRow(NamedTuple):
    """One venue as staged for COPY (the order of the staging table's columns)."""

    ord: int
    external_id: str
    name: str
    description: str
    owner_type: str
    venue_type: str
    address: str
    x: float
    y: float
    municipality_number: str
    capacity: int | None
    price_model: str
    price_note: str | None
    step_free: bool | None
    accessibility: list[str]
    amenities: list[str]
    suitable_categories: list[str]
    last_verified: date


class WindowRow(NamedTuple):
    """A weekly availability window of a staged venue."""

    venue_ord: int
    seq: int
    weekday: int
    starts: time
    ends: time


def _name(dice: Dice, venue_type: str, owner: str, municipality: str) -> str:
    templates = NAMES.get((venue_type, owner)) or NAMES[(venue_type, None)]
    return dice.item(templates).format(
        place=dice.item(LOCAL_NAMES), municipality=municipality, n=dice.integer(1, 12)
    )


def _capacity(dice: Dice, venue_type: str) -> int | None:
    if dice.chance(0.08):
        return None
    low, high = CAPACITY[venue_type]
    return max(5, round(low * math.pow(high / low, dice.u()) / 5) * 5)


def _price_note(dice: Dice, price_model: str) -> str | None:
    if price_model == PriceModel.FREE:
        return "Gratis for frivillige organisasjoner"
    if price_model == PriceModel.REDUCED:
        return f"Redusert leie for frivillige: {dice.integer(2, 8) * 50} kr per time"
    return f"Ordinær leie: {dice.integer(3, 15) * 100} kr per time"


def _step_free(dice: Dice) -> bool | None:
    u = dice.u()
    return True if u < 0.70 else (False if u < 0.92 else None)


def _flags(dice: Dice, options: tuple[tuple[str, float], ...]) -> list[str]:
    return [name for name, p in options if dice.chance(p)]


def _windows(dice: Dice, venue_ord: int) -> list[WindowRow]:
    days = WINDOW_DAYS.several(dice, WINDOW_COUNT.pick(dice.u()))
    return [
        WindowRow(venue_ord, seq, day, *dice.item(EVENINGS if day <= 5 else WEEKEND_DAYS))
        for seq, day in enumerate(days)
    ]


def _description(
    venue_type: str,
    municipality: str,
    capacity: int | None,
    price_note: str | None,
    windows: list[WindowRow],
) -> str:
    parts = [f"{KIND_TEXT[venue_type]} i {municipality}."]
    if capacity:
        parts.append(f"Plass til {capacity} personer.")
    if price_note:
        parts.append(f"{price_note}.")
    if windows:
        parts.append("Ledig for frivillige på faste tider.")
    return " ".join(parts)


def make_venue(
    dice: Dice,
    ord_: int,
    external_id: str,
    municipality_number: str,
    municipality: str,
    x: float,
    y: float,
) -> tuple[VenueRow, list[WindowRow]]:
    """One venue and its windows; reads at most :data:`UNIFORMS` numbers from ``dice``."""
    venue_type = VENUE_TYPES.pick(dice.u())
    owner = OWNERS[venue_type].pick(dice.u())
    name = _name(dice, venue_type, owner, municipality)
    capacity = _capacity(dice, venue_type)
    price_model = str(PRICES[owner].pick(dice.u()))
    price_note = _price_note(dice, price_model)
    step_free = _step_free(dice)
    accessibility = ["STEP_FREE_ENTRANCE", *_flags(dice, ACCESSIBILITY)] if step_free else []
    amenities = _flags(dice, AMENITIES)
    suitable = SUITABLE[venue_type].several(dice, dice.integer(2, 5))
    windows = _windows(dice, ord_)
    row = VenueRow(
        ord_,
        external_id,
        name,
        _description(venue_type, municipality, capacity, price_note, windows),
        str(owner),
        str(venue_type),
        f"{dice.item(STREETS)} {dice.integer(1, 120)}",
        x,
        y,
        municipality_number,
        capacity,
        price_model,
        price_note,
        step_free,
        accessibility,
        amenities,
        suitable,
        VERIFIED_FROM + timedelta(days=dice.integer(0, 300)),
    )
    return row, windows


def short_name(name: str) -> str:
    """A venue's building without the room: "Haugen skole, gymsal" -> "Haugen skole"."""
    return name.split(",", 1)[0]
