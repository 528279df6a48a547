"""Generated activities: category mix, target groups with matching ages, languages, cost, schedules.

Language cafés, Norwegian practice, homework help and sports are the most common categories.
Ages follow the target groups: children 6-12, youth 13-19, both 6-19; groups of grown-ups only
are 18+ (seniors 60+) or open; anything mixed is open. Languages are BCP 47 tags as
geo/languages.py writes them, always with "nb"; Dari is "fa-AF" (ISO 639-3 "prs"). Three in
four are free; the rest cost 50-300 NOK, and some of those for children and youth take
Fritidskortet. Sessions are weekly, mostly weekday evenings (16:00-19:30 starts), daytime at
weekends, 1-3 h, some valid for one school term only.
"""

from __future__ import annotations

from datetime import date, time
from typing import NamedTuple

from geo.vocab import NORWEGIAN, ActivityStatus
from geo.vocab import ActivityCategory as C
from geo.vocab import TargetGroup as G
from loaders.synthetic.venues import LOCAL_NAMES
from loaders.synthetic.weighted import Dice, Weighted

UNIFORMS = 48  # per activity; enough for every draw below
AT_VENUE_SHARE = 0.45  # of activities, when there are venues, how many take place at one

CATEGORIES: Weighted[str] = Weighted(
    [
        (C.LANGUAGE_CAFE, 16),
        (C.NORWEGIAN_PRACTICE, 14),
        (C.HOMEWORK_HELP, 13),
        (C.SPORTS, 12),
        (C.MEETING_PLACE, 7),
        (C.REFUGEE_GUIDE, 5),
        (C.CULTURE, 5),
        (C.WOMENS_GROUP, 4),
        (C.OUTDOOR, 4),
        (C.PARENT_SUPPORT, 3),
        (C.MENTORING, 3),
        (C.WORK_TRAINING, 3),
        (C.DIGITAL_SKILLS, 3),
        (C.YOUTH_CLUB, 3),
        (C.LIFE_SKILLS, 2),
        (C.INFORMATION, 2),
        (C.DIALOGUE, 2),
        (C.ACTIVITY_GUIDE, 2),
    ]
)

_G = tuple[str, ...]
GROUPS: dict[str, Weighted[_G]] = {
    C.LANGUAGE_CAFE: Weighted(
        [
            ((G.ADULTS,), 3),
            ((G.ADULTS, G.NEWLY_ARRIVED), 3),
            ((), 3),
            ((G.ADULTS, G.SENIORS), 1),
            ((G.WOMEN,), 1),
        ]
    ),
    C.NORWEGIAN_PRACTICE: Weighted(
        [
            ((G.ADULTS, G.NEWLY_ARRIVED), 4),
            ((G.ADULTS,), 2),
            ((G.WOMEN,), 1),
            ((G.ADULTS, G.LABOUR_MIGRANTS), 2),
            ((G.ASYLUM_SEEKERS,), 1),
            ((G.YOUTH,), 1),
        ]
    ),
    C.HOMEWORK_HELP: Weighted([((G.CHILDREN,), 5), ((G.YOUTH,), 4), ((G.CHILDREN, G.YOUTH), 2)]),
    C.REFUGEE_GUIDE: Weighted(
        [
            ((G.NEWLY_ARRIVED,), 4),
            ((G.FAMILIES, G.NEWLY_ARRIVED), 2),
            ((G.NEWLY_ARRIVED, G.ASYLUM_SEEKERS), 1),
        ]
    ),
    C.MENTORING: Weighted([((G.YOUTH,), 3), ((G.ADULTS,), 2), ((G.WOMEN,), 1)]),
    C.SPORTS: Weighted(
        [
            ((G.CHILDREN,), 3),
            ((G.YOUTH,), 3),
            ((G.CHILDREN, G.YOUTH), 2),
            ((G.ADULTS,), 2),
            ((G.WOMEN,), 1),
            ((), 2),
        ]
    ),
    C.CULTURE: Weighted(
        [((), 3), ((G.CHILDREN,), 1), ((G.YOUTH,), 1), ((G.ADULTS,), 2), ((G.FAMILIES,), 1)]
    ),
    C.OUTDOOR: Weighted(
        [((), 3), ((G.FAMILIES,), 2), ((G.ADULTS, G.NEWLY_ARRIVED), 2), ((G.YOUTH,), 1)]
    ),
    C.PARENT_SUPPORT: Weighted([((G.FAMILIES,), 4), ((G.FAMILIES, G.NEWLY_ARRIVED), 2)]),
    C.WOMENS_GROUP: Weighted(
        [((G.WOMEN,), 4), ((G.WOMEN, G.NEWLY_ARRIVED), 2), ((G.SENIORS, G.WOMEN), 1)]
    ),
    C.LIFE_SKILLS: Weighted(
        [
            ((G.ADULTS, G.NEWLY_ARRIVED), 2),
            ((G.YOUTH,), 1),
            ((G.WOMEN,), 1),
            ((G.ASYLUM_SEEKERS,), 1),
        ]
    ),
    C.DIGITAL_SKILLS: Weighted(
        [((G.SENIORS,), 2), ((G.ADULTS,), 2), ((G.ADULTS, G.NEWLY_ARRIVED), 2)]
    ),
    C.WORK_TRAINING: Weighted(
        [
            ((G.ADULTS,), 2),
            ((G.ADULTS, G.NEWLY_ARRIVED), 2),
            ((G.LABOUR_MIGRANTS,), 1),
            ((G.WOMEN,), 1),
            ((G.YOUTH,), 1),
        ]
    ),
    C.INFORMATION: Weighted(
        [
            ((G.NEWLY_ARRIVED,), 2),
            ((), 1),
            ((G.LABOUR_MIGRANTS,), 1),
            ((G.ASYLUM_SEEKERS,), 1),
            ((G.FAMILIES,), 1),
        ]
    ),
    C.DIALOGUE: Weighted([((), 3), ((G.ADULTS,), 2), ((G.YOUTH,), 1), ((G.WOMEN,), 1)]),
    C.MEETING_PLACE: Weighted([((), 4), ((G.FAMILIES,), 1), ((G.SENIORS,), 1), ((G.WOMEN,), 1)]),
    C.YOUTH_CLUB: Weighted([((G.YOUTH,), 5), ((G.CHILDREN, G.YOUTH), 1)]),
    C.ACTIVITY_GUIDE: Weighted(
        [((G.CHILDREN, G.YOUTH), 3), ((G.CHILDREN,), 1), ((G.YOUTH,), 1), ((G.FAMILIES,), 1)]
    ),
}
YOUNG = frozenset({G.CHILDREN, G.YOUTH})
GROWN = frozenset({G.ADULTS, G.SENIORS, G.WOMEN, G.LABOUR_MIGRANTS})

# {place}: the venue's building or a local name; {municipality}; {grade} for homework help.
TITLES: dict[str, tuple[str, ...]] = {
    C.LANGUAGE_CAFE: (
        "Språkkafé på {place}",
        "Språkkafé i {municipality}",
        "Internasjonal kafé på {place}",
    ),
    C.NORWEGIAN_PRACTICE: (
        "Norsktrening på {place}",
        "Snakk norsk! Samtalegruppe i {municipality}",
        "Norsktrening for nybegynnere i {municipality}",
    ),
    C.HOMEWORK_HELP: (
        "Leksehjelp for {grade}",
        "Leksehjelp for {grade} på {place}",
        "Leksehjelp i {municipality}",
    ),
    C.REFUGEE_GUIDE: (
        "Flyktningguide i {municipality}",
        "En god nabo i {municipality}",
        "Folkevenn i {municipality}",
    ),
    C.MENTORING: ("Mentorprogram i {municipality}", "Jobbmentor i {municipality}"),
    C.SPORTS: (
        "Fotball for alle på {place}",
        "Åpen hall på {place}",
        "Svømmetrening i {municipality}",
        "Innebandy på {place}",
    ),
    C.CULTURE: (
        "Internasjonalt kor i {municipality}",
        "Kunstverksted på {place}",
        "Teatergruppe i {municipality}",
    ),
    C.OUTDOOR: (
        "Turgruppe i {municipality}",
        "Friluftsliv for nye i Norge – {municipality}",
        "Søndagstur fra {place}",
    ),
    C.PARENT_SUPPORT: (
        "Foreldrekafé på {place}",
        "Fadderordning for nye familier i {municipality}",
    ),
    C.WOMENS_GROUP: (
        "Kvinnegruppe på {place}",
        "Kvinnekafé i {municipality}",
        "Sykafé for kvinner på {place}",
    ),
    C.LIFE_SKILLS: (
        "Livsmestring i hverdagen – {municipality}",
        "Samtalegruppe om livsmestring på {place}",
    ),
    C.DIGITAL_SKILLS: ("Digital hjelp: BankID, Helsenorge og NAV", "Datakafé på {place}"),
    C.WORK_TRAINING: ("CV- og jobbsøkerkurs i {municipality}", "Arbeidstrening i {municipality}"),
    C.INFORMATION: (
        "Informasjonsmøte for nyankomne i {municipality}",
        "Veiledning om rettigheter på {place}",
    ),
    C.DIALOGUE: ("Dialoggruppe om tro og livssyn", "Dialogmøte i {municipality}"),
    C.MEETING_PLACE: ("Åpen kafé på {place}", "Møteplass for alle i {municipality}"),
    C.YOUTH_CLUB: ("Fritidsklubb på {place}", "Ungdomskveld i {municipality}"),
    C.ACTIVITY_GUIDE: ("Aktivitetsguide for barn og unge i {municipality}",),
}
AUDIENCE: dict[str, str] = {
    G.CHILDREN: "barn",
    G.YOUTH: "ungdom",
    G.ADULTS: "voksne",
    G.SENIORS: "seniorer",
    G.WOMEN: "kvinner",
    G.FAMILIES: "familier",
    G.NEWLY_ARRIVED: "nyankomne",
    G.ASYLUM_SEEKERS: "asylsøkere",
    G.LABOUR_MIGRANTS: "arbeidsinnvandrere",
}

EXTRA_LANGUAGES: Weighted[str] = Weighted(
    [
        ("en", 30),
        ("uk", 14),
        ("ar", 14),
        ("so", 10),
        ("ti", 9),
        ("pl", 9),
        ("fa", 6),
        ("fa-AF", 5),  # Dari (prs)
        ("ur", 4),
        ("lt", 4),
        ("es", 4),
        ("ku", 3),
        ("tr", 3),
    ]
)
EXTRA_COUNT: Weighted[int] = Weighted([(0, 30), (1, 40), (2, 20), (3, 10)])
EXTRA_COUNT_NORWEGIAN: Weighted[int] = Weighted([(0, 7), (1, 3)])
LANGUAGE_NAMES = {
    "nb": "norsk",
    "en": "engelsk",
    "uk": "ukrainsk",
    "ar": "arabisk",
    "so": "somali",
    "ti": "tigrinja",
    "pl": "polsk",
    "fa": "persisk",
    "fa-AF": "dari",
    "ur": "urdu",
    "lt": "litauisk",
    "es": "spansk",
    "ku": "kurdisk",
    "tr": "tyrkisk",
}

FREE_SHARE = 0.75
COSTS: Weighted[int] = Weighted([(50, 3), (100, 4), (150, 2), (200, 2), (250, 1), (300, 1)])
LEISURE_CARD_SHARE = 0.6  # of paid activities for children and youth
PAUSED_SHARE = 0.04

SESSION_COUNT: Weighted[int] = Weighted([(1, 70), (2, 30)])
SESSION_DAYS: Weighted[int] = Weighted([(1, 20), (2, 20), (3, 20), (4, 20), (5, 6), (6, 8), (7, 6)])
EVENING_STARTS = tuple(time(16 + m // 60, m % 60) for m in range(0, 240, 30))  # 16:00-19:30
DAYTIME_STARTS = tuple(time(10 + m // 60, m % 60) for m in range(0, 210, 30))  # 10:00-13:00
WEEKEND_STARTS = tuple(time(10 + m // 60, m % 60) for m in range(0, 270, 30))  # 10:00-14:00
DURATIONS: Weighted[int] = Weighted([(60, 3), (90, 4), (120, 3), (150, 1), (180, 1)])
TERMS = ((date(2026, 8, 17), date(2026, 12, 18)), (date(2027, 1, 4), date(2027, 6, 18)))
TERM_SHARE = 0.3
WEEKDAYS = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")


class ActivityRow(NamedTuple):
    """One activity as staged for COPY (the order of the staging table's columns)."""

    ord: int
    external_id: str
    title: str
    description: str
    category: str
    venue_external_id: str | None
    x: float
    y: float
    municipality_number: str
    target_groups: list[str]
    min_age: int | None
    max_age: int | None
    languages: list[str]
    free: bool
    cost_nok: int | None
    leisure_card_accepted: bool
    registration_required: bool
    status: str


class SessionRow(NamedTuple):
    """A weekly session of a staged activity."""

    activity_ord: int
    seq: int
    weekday: int
    starts: time
    ends: time
    valid_from: date | None
    valid_to: date | None


class Place(NamedTuple):
    """Where an activity happens."""

    municipality_number: str
    municipality: str
    x: float
    y: float
    venue_external_id: str | None = None
    venue_name: str | None = None


def age_range(dice: Dice, groups: tuple[str, ...]) -> tuple[int | None, int | None]:
    """Ages that match the target groups (see the module's docstring)."""
    present = frozenset(groups)
    if present and present <= YOUNG:
        return (6 if G.CHILDREN in present else 13), (19 if G.YOUTH in present else 12)
    if present and present <= GROWN:
        if present == {G.SENIORS}:
            return (60, None) if dice.chance(0.5) else (None, None)
        return (18, None) if dice.chance(0.7) else (None, None)
    return None, None


def _grade(dice: Dice, groups: tuple[str, ...]) -> str:
    if G.CHILDREN in groups and G.YOUTH in groups:
        return "1.-10. trinn"
    if G.YOUTH in groups:
        return dice.item(("8.-10. trinn", "videregående"))
    return dice.item(("1.-4. trinn", "5.-7. trinn"))


def _title(dice: Dice, category: str, groups: tuple[str, ...], where: Place) -> str:
    place = where.venue_name or dice.item(LOCAL_NAMES)
    return dice.item(TITLES[category]).format(
        place=place, municipality=where.municipality, grade=_grade(dice, groups)
    )


def _languages(dice: Dice, category: str) -> list[str]:
    counts = EXTRA_COUNT_NORWEGIAN if category == C.NORWEGIAN_PRACTICE else EXTRA_COUNT
    return ["nb", *EXTRA_LANGUAGES.several(dice, counts.pick(dice.u()))]


def _sessions(dice: Dice, activity_ord: int) -> list[SessionRow]:
    days = SESSION_DAYS.several(dice, SESSION_COUNT.pick(dice.u()))
    term = dice.item(TERMS) if dice.chance(TERM_SHARE) else (None, None)
    sessions = []
    for seq, day in enumerate(days):
        starts = (
            dice.item(EVENING_STARTS if dice.chance(0.85) else DAYTIME_STARTS)
            if day <= 5
            else dice.item(WEEKEND_STARTS)
        )
        minutes = starts.hour * 60 + starts.minute + DURATIONS.pick(dice.u())
        sessions.append(
            SessionRow(activity_ord, seq, day, starts, time(minutes // 60, minutes % 60), *term)
        )
    return sessions


def _noun(category: str) -> str:
    """The category's first Norwegian term: "flyktningguide, en god nabo, …" -> "Flyktningguide"."""
    return NORWEGIAN[category].split(",")[0].capitalize()


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} og {words[-1]}"


def _description(
    category: str,
    groups: tuple[str, ...],
    ages: tuple[int | None, int | None],
    where: Place,
    sessions: list[SessionRow],
    cost: int | None,
    card: bool,
    languages: list[str],
) -> str:
    audience = _join([AUDIENCE[g] for g in groups]) if groups else "alle"
    low, high = ages
    age = f" ({low}-{high} år)" if high else (f" (fra {low} år)" if low else "")
    first = sessions[0]
    parts = [
        f"{_noun(category)} for {audience}{age} i {where.municipality}.",
        f"Hver {WEEKDAYS[first.weekday - 1]} kl. {first.starts:%H.%M}-{first.ends:%H.%M}.",
        f"Pris: {cost} kr." if cost else "Gratis.",
    ]
    if card:
        parts.append("Fritidskortet kan brukes.")
    parts.append(f"Språk: {_join([LANGUAGE_NAMES[code] for code in languages])}.")
    return " ".join(parts)


def make_activity(
    dice: Dice, ord_: int, external_id: str, where: Place
) -> tuple[ActivityRow, list[SessionRow]]:
    """One activity and its sessions; reads at most :data:`UNIFORMS` numbers from ``dice``."""
    category = str(CATEGORIES.pick(dice.u()))
    groups = tuple(str(g) for g in GROUPS[category].pick(dice.u()))
    ages = age_range(dice, groups)
    title = _title(dice, category, groups, where)
    cost = None if dice.chance(FREE_SHARE) else COSTS.pick(dice.u())
    card = cost is not None and bool(YOUNG & set(groups)) and dice.chance(LEISURE_CARD_SHARE)
    languages = _languages(dice, category)
    sessions = _sessions(dice, ord_)
    registration = dice.chance(0.25)
    status = ActivityStatus.PAUSED if dice.chance(PAUSED_SHARE) else ActivityStatus.ACTIVE
    row = ActivityRow(
        ord_,
        external_id,
        title,
        _description(category, groups, ages, where, sessions, cost, card, languages),
        category,
        where.venue_external_id,
        where.x,
        where.y,
        where.municipality_number,
        list(groups),
        *ages,
        languages,
        cost is None,
        cost,
        card,
        registration,
        str(status),
    )
    return row, sessions
