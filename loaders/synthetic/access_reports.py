"""Generated venue-access reports on the generated venues, for the demo's survey (``venueAccess``).

Outcomes follow the venue: state-owned premises refuse or never answer more often, market-price
ones are too expensive more often, free municipal schools grant access most often, and a venue
with no evening or weekend window is refused for its opening hours. Suitability (1-5) goes with
the outcome (an unsuitable venue scores low, a granted one high; a request nobody answered
mostly has none), and the barriers agree with it (TOO_EXPENSIVE names PRICE, NO_RESPONSE names
NO_RESPONSE, UNSUITABLE names size, equipment, accessibility or location). Reporters are the demo
directory's organisations: a local one in the venue's municipality, or a national humanitarian
organisation, or none (an informal group).

Rows are ``source = "generated"``, ``external_id = "gen-{seed}-report-{n}"``, upserted by that
key, so a second run with the same seed and count writes nothing. The same database and seed give
the same reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

import numpy as np
import sqlalchemy as sa

from geo.filters import evening_or_weekend
from geo.tables import organisation, venue, venue_access_report
from geo.upsert import upsert
from geo.vocab import AccessBarrier as B
from geo.vocab import AccessOutcome as A
from geo.vocab import OrganisationKind, OwnerType, PriceModel, VenueType
from loaders.demo import DEMO_SOURCE
from loaders.report import LoadReport
from loaders.synthetic.weighted import Dice, Weighted

SOURCE = "generated"
_REPORT_STREAM = 3  # SeedSequence key; generate.py uses 0-2
UNIFORMS = 16  # per report; enough for every draw below
REPORTED_FROM = date(2025, 1, 6)
REPORTED_DAYS = 540  # up to the end of June 2026: never in the future

BASE: dict[str, float] = {
    A.GRANTED: 50,
    A.REFUSED: 14,
    A.NO_RESPONSE: 12,
    A.TOO_EXPENSIVE: 12,
    A.UNSUITABLE: 12,
}
PRICE_FACTORS: dict[str | None, dict[str, float]] = {
    PriceModel.FREE: {A.GRANTED: 1.4, A.TOO_EXPENSIVE: 0.1},
    PriceModel.REDUCED: {A.TOO_EXPENSIVE: 0.9},
    PriceModel.MARKET: {A.GRANTED: 0.6, A.TOO_EXPENSIVE: 3.5},
    None: {},
}
OWNER_FACTORS: dict[str, dict[str, float]] = {
    OwnerType.STATE: {A.GRANTED: 0.6, A.REFUSED: 2.0, A.NO_RESPONSE: 2.0},
    OwnerType.MUNICIPALITY: {A.GRANTED: 1.2},
    OwnerType.COUNTY: {A.NO_RESPONSE: 1.3},
    OwnerType.PRIVATE: {A.GRANTED: 0.8, A.TOO_EXPENSIVE: 1.5},
    OwnerType.FAITH_COMMUNITY: {A.GRANTED: 1.1},
    OwnerType.ORGANISATION: {},
}
FREE_MUNICIPAL_SCHOOL: dict[str, float] = {A.GRANTED: 1.5}
NO_EVENING_OR_WEEKEND: dict[str, float] = {A.REFUSED: 1.6}
# How often each kind of venue is asked about (schools and community centres most).
VENUE_TYPE_WEIGHT: dict[str, float] = {
    VenueType.SCHOOL: 1.5,
    VenueType.COMMUNITY_CENTRE: 1.3,
    VenueType.LIBRARY: 1.2,
    VenueType.CULTURE_HOUSE: 1.1,
    VenueType.OUTDOOR: 0.5,
}

SUITABILITY: dict[str, Weighted[int | None]] = {
    A.GRANTED: Weighted([(5, 25), (4, 40), (3, 22), (2, 8), (1, 2), (None, 3)]),
    A.REFUSED: Weighted([(1, 8), (2, 22), (3, 35), (4, 20), (5, 5), (None, 10)]),
    A.NO_RESPONSE: Weighted([(None, 70), (2, 8), (3, 15), (4, 7)]),
    A.TOO_EXPENSIVE: Weighted([(2, 15), (3, 35), (4, 35), (5, 10), (None, 5)]),
    A.UNSUITABLE: Weighted([(1, 45), (2, 40), (3, 12), (None, 3)]),
}
MINOR = Weighted(
    [(B.BOOKING_PROCESS, 35), (B.OPENING_HOURS, 25), (B.INSURANCE_OR_KEYS, 25), (B.EQUIPMENT, 15)]
)
REFUSAL = Weighted(
    [(B.OPENING_HOURS, 30), (B.RULES, 30), (B.BOOKING_PROCESS, 20), (B.INSURANCE_OR_KEYS, 20)]
)
UNFIT = Weighted([(B.SIZE, 30), (B.EQUIPMENT, 25), (B.ACCESSIBILITY, 20), (B.LOCATION, 25)])
NOTES: dict[str, tuple[str, ...]] = {
    A.GRANTED: (
        "Fikk låne lokalet gratis på kveldstid.",
        "Fast avtale for hele semesteret.",
        "Greit samarbeid med vaktmesteren.",
        "Må hente nøkkel på servicetorget.",
    ),
    A.REFUSED: (
        "Lokalet er bare ledig på dagtid.",
        "Utleie bare til lag i idrettsrådet.",
        "Fikk nei uten begrunnelse.",
        "Krav om ansvarlig voksen med nøkkelkort.",
    ),
    A.NO_RESPONSE: (
        "Sendte e-post to ganger uten svar.",
        "Fant ingen kontaktperson.",
        "Bookingskjemaet ble aldri besvart.",
    ),
    A.TOO_EXPENSIVE: (
        "Leien er for høy for en liten frivillig gruppe.",
        "Krav om betalt vakt gjør det for dyrt.",
        "Rabatten gjelder bare registrerte lag.",
    ),
    A.UNSUITABLE: (
        "For lite til språkkafé med barn.",
        "Mangler kjøkken.",
        "Ikke trinnfri adkomst.",
        "For langt fra der deltakerne bor.",
    ),
}
NOTE_SHARE = 0.6
LOCAL_REPORTER = 0.5  # when the venue's municipality has a demo organisation
NATIONAL_REPORTER = 0.35  # else: one of the national humanitarian organisations
_BARRIER_ORDER = {b.value: i for i, b in enumerate(B)}


@dataclass(frozen=True)
class VenueFacts:
    id: int
    municipality_number: str | None
    owner_type: str
    venue_type: str
    price_model: str | None
    evening_or_weekend: bool
    step_free: bool | None


@dataclass(frozen=True)
class Reporters:
    local: dict[str, list[int]]
    national: list[int]


@cache
def outcome_weights(
    owner_type: str, venue_type: str, price_model: str | None, evening: bool
) -> Weighted[str]:
    weights = dict(BASE)
    factors = [PRICE_FACTORS.get(price_model, {}), OWNER_FACTORS.get(owner_type, {})]
    if (owner_type, venue_type, price_model) == (
        OwnerType.MUNICIPALITY,
        VenueType.SCHOOL,
        PriceModel.FREE,
    ):
        factors.append(FREE_MUNICIPAL_SCHOOL)
    if not evening:
        factors.append(NO_EVENING_OR_WEEKEND)
    for factor in factors:
        for outcome, by in factor.items():
            weights[outcome] *= by
    return Weighted([(str(outcome), weight) for outcome, weight in weights.items()])


def _barriers(dice: Dice, outcome: str, facts: VenueFacts) -> list[str]:
    chosen: list[str] = []
    if outcome == A.GRANTED:
        if facts.price_model in (PriceModel.REDUCED, PriceModel.MARKET) and dice.chance(0.4):
            chosen.append(B.PRICE)  # access, at a price that hurts
        elif dice.chance(0.25):
            chosen.append(MINOR.pick(dice.u()))
    elif outcome == A.REFUSED:
        chosen += REFUSAL.several(dice, dice.integer(1, 2))
        if not facts.evening_or_weekend:
            chosen.append(B.OPENING_HOURS)
    elif outcome == A.NO_RESPONSE:
        chosen.append(B.NO_RESPONSE)
        if dice.chance(0.25):
            chosen.append(B.BOOKING_PROCESS)
    elif outcome == A.TOO_EXPENSIVE:
        chosen.append(B.PRICE)
        if dice.chance(0.2):
            chosen.append(B.INSURANCE_OR_KEYS)
    else:
        chosen += UNFIT.several(dice, dice.integer(1, 2))
        if facts.step_free is False and dice.chance(0.6):
            chosen.append(B.ACCESSIBILITY)
    return sorted({str(b) for b in chosen}, key=_BARRIER_ORDER.__getitem__)


def _reporter(dice: Dice, facts: VenueFacts, reporters: Reporters) -> int | None:
    local = reporters.local.get(facts.municipality_number or "", [])
    u = dice.u()
    if local and u < LOCAL_REPORTER:
        return dice.item(local)
    if reporters.national and dice.chance(NATIONAL_REPORTER):
        return dice.item(reporters.national)
    return None


def make_report(
    dice: Dice, n: int, seed: int, facts: VenueFacts, reporters: Reporters
) -> dict[str, Any]:
    """One report on ``facts``' venue; reads at most :data:`UNIFORMS` numbers from ``dice``."""
    outcome = outcome_weights(
        facts.owner_type, facts.venue_type, facts.price_model, facts.evening_or_weekend
    ).pick(dice.u())
    suitability = SUITABILITY[outcome].pick(dice.u())
    barriers = _barriers(dice, outcome, facts)
    organisation_id = _reporter(dice, facts, reporters)
    note = dice.item(NOTES[outcome]) if dice.chance(NOTE_SHARE) else None
    return {
        "source": SOURCE,
        "external_id": f"gen-{seed}-report-{n}",
        "venue_id": facts.id,
        "organisation_id": organisation_id,
        "outcome": outcome,
        "suitability": suitability,
        "barriers": barriers,
        "note": note,
        "reported_on": REPORTED_FROM + timedelta(days=dice.integer(0, REPORTED_DAYS)),
    }


def _venues(conn: sa.Connection, seed: int) -> list[VenueFacts]:
    """The seed's generated venues in generation order (by the n of their external id)."""
    rows = conn.execute(
        sa.select(
            venue.c.id,
            venue.c.external_id,
            venue.c.municipality_number,
            venue.c.owner_type,
            venue.c.venue_type,
            venue.c.price_model,
            evening_or_weekend(venue.c.id).label("evening"),
            venue.c.step_free,
        ).where(
            venue.c.source == SOURCE,
            venue.c.external_id.startswith(f"gen-{seed}-venue-", autoescape=True),
            venue.c.archived_at.is_(None),
        )
    ).all()
    rows = sorted(rows, key=lambda r: int(r.external_id.rsplit("-", 1)[1]))
    return [
        VenueFacts(
            r.id,
            r.municipality_number,
            r.owner_type,
            r.venue_type,
            r.price_model,
            bool(r.evening),
            r.step_free,
        )
        for r in rows
    ]


def _reporters(conn: sa.Connection) -> Reporters:
    rows = conn.execute(
        sa.select(organisation.c.id, organisation.c.kind, organisation.c.municipality_number)
        .where(organisation.c.source == DEMO_SOURCE, organisation.c.archived_at.is_(None))
        .order_by(organisation.c.external_id)
    ).all()
    local: dict[str, list[int]] = {}
    national = []
    for row in rows:
        if row.kind == OrganisationKind.HUMANITARIAN:
            national.append(row.id)
        elif row.municipality_number:
            local.setdefault(row.municipality_number, []).append(row.id)
    return Reporters(local, national)


def generate_access_reports(
    conn: sa.Connection,
    *,
    reports: int,
    seed: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    """``reports`` reports on the generated venues of ``seed`` (see the module's docstring)."""
    if not isinstance(reports, int) or isinstance(reports, bool) or reports < 0:
        raise ValueError(f"reports must be a non-negative integer, got {reports!r}")
    report = LoadReport("generated access reports")
    venues = _venues(conn, seed)
    if not venues or not reports:
        if reports:
            report.warnings.append(f"no generated venues for seed {seed}: no reports")
        return report
    rng = np.random.default_rng(np.random.SeedSequence([seed, _REPORT_STREAM]))
    weights = np.array([VENUE_TYPE_WEIGHT.get(f.venue_type, 1.0) for f in venues])
    picks = rng.choice(len(venues), size=reports, p=weights / weights.sum()).tolist()
    uniforms = rng.random((reports, UNIFORMS)).tolist()
    reporters = _reporters(conn)
    rows = [
        make_report(Dice(uniforms[n]), n, seed, venues[k], reporters) for n, k in enumerate(picks)
    ]
    counts = upsert(conn, venue_access_report, rows)
    report.inserted, report.updated, report.unchanged = (
        counts.inserted,
        counts.updated,
        counts.unchanged,
    )
    if progress:
        progress(reports, reports)
    return report
