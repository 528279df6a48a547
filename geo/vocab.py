"""The controlled vocabularies of the data model (geo/tables.py), with their Norwegian terms.

Each enum's values are stored as text with a CHECK constraint; the GraphQL layer exposes the same
enums and uses ``NORWEGIAN`` for their descriptions.
"""

from __future__ import annotations

from enum import StrEnum


class OwnerType(StrEnum):
    MUNICIPALITY = "MUNICIPALITY"
    COUNTY = "COUNTY"
    STATE = "STATE"
    ORGANISATION = "ORGANISATION"
    FAITH_COMMUNITY = "FAITH_COMMUNITY"
    PRIVATE = "PRIVATE"


class VenueType(StrEnum):
    SCHOOL = "SCHOOL"
    LIBRARY = "LIBRARY"
    CULTURE_HOUSE = "CULTURE_HOUSE"
    SPORTS_HALL = "SPORTS_HALL"
    COMMUNITY_CENTRE = "COMMUNITY_CENTRE"
    YOUTH_CLUB = "YOUTH_CLUB"
    FAITH_VENUE = "FAITH_VENUE"
    MEETING_ROOM = "MEETING_ROOM"
    OFFICE = "OFFICE"
    OUTDOOR = "OUTDOOR"
    OTHER = "OTHER"


class PriceModel(StrEnum):
    FREE = "FREE"
    REDUCED = "REDUCED"
    MARKET = "MARKET"


class CouncilKind(StrEnum):
    INNVANDRERRAD = "INNVANDRERRAD"
    DIALOGFORUM = "DIALOGFORUM"
    MANGFOLDSRAD = "MANGFOLDSRAD"
    MINORITETSRAD = "MINORITETSRAD"
    FLERKULTURELT_RAD = "FLERKULTURELT_RAD"
    INTEGRERINGSRAD = "INTEGRERINGSRAD"
    OTHER = "OTHER"


class CouncilLevel(StrEnum):
    MUNICIPALITY = "MUNICIPALITY"
    COUNTY = "COUNTY"
    INDEPENDENT = "INDEPENDENT"


class CouncilStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DISBANDED = "DISBANDED"


class OrganisationKind(StrEnum):
    IMMIGRANT_ORGANISATION = "IMMIGRANT_ORGANISATION"
    SPORTS_CLUB = "SPORTS_CLUB"
    HUMANITARIAN = "HUMANITARIAN"
    FAITH_COMMUNITY = "FAITH_COMMUNITY"
    YOUTH = "YOUTH"
    VOLUNTEER_CENTRE = "VOLUNTEER_CENTRE"
    SOCIAL_ENTREPRENEUR = "SOCIAL_ENTREPRENEUR"
    PUBLIC_BODY = "PUBLIC_BODY"
    OTHER = "OTHER"


class ActivityCategory(StrEnum):
    LANGUAGE_CAFE = "LANGUAGE_CAFE"
    NORWEGIAN_PRACTICE = "NORWEGIAN_PRACTICE"
    HOMEWORK_HELP = "HOMEWORK_HELP"
    REFUGEE_GUIDE = "REFUGEE_GUIDE"
    MENTORING = "MENTORING"
    SPORTS = "SPORTS"
    CULTURE = "CULTURE"
    OUTDOOR = "OUTDOOR"
    PARENT_SUPPORT = "PARENT_SUPPORT"
    WOMENS_GROUP = "WOMENS_GROUP"
    LIFE_SKILLS = "LIFE_SKILLS"
    DIGITAL_SKILLS = "DIGITAL_SKILLS"
    WORK_TRAINING = "WORK_TRAINING"
    INFORMATION = "INFORMATION"
    DIALOGUE = "DIALOGUE"
    MEETING_PLACE = "MEETING_PLACE"
    YOUTH_CLUB = "YOUTH_CLUB"
    ACTIVITY_GUIDE = "ACTIVITY_GUIDE"


class TargetGroup(StrEnum):
    CHILDREN = "CHILDREN"
    YOUTH = "YOUTH"
    ADULTS = "ADULTS"
    SENIORS = "SENIORS"
    WOMEN = "WOMEN"
    FAMILIES = "FAMILIES"
    NEWLY_ARRIVED = "NEWLY_ARRIVED"
    ASYLUM_SEEKERS = "ASYLUM_SEEKERS"
    LABOUR_MIGRANTS = "LABOUR_MIGRANTS"


class ActivityStatus(StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    CANCELLED = "CANCELLED"
    ENDED = "ENDED"


class AccessOutcome(StrEnum):
    GRANTED = "GRANTED"
    REFUSED = "REFUSED"
    NO_RESPONSE = "NO_RESPONSE"
    TOO_EXPENSIVE = "TOO_EXPENSIVE"
    UNSUITABLE = "UNSUITABLE"


class AccessBarrier(StrEnum):
    PRICE = "PRICE"
    OPENING_HOURS = "OPENING_HOURS"
    BOOKING_PROCESS = "BOOKING_PROCESS"
    NO_RESPONSE = "NO_RESPONSE"
    INSURANCE_OR_KEYS = "INSURANCE_OR_KEYS"
    ACCESSIBILITY = "ACCESSIBILITY"
    SIZE = "SIZE"
    EQUIPMENT = "EQUIPMENT"
    LOCATION = "LOCATION"
    RULES = "RULES"
    OTHER = "OTHER"


class AreaKind(StrEnum):
    GRID_250M = "GRID_250M"
    GRID_1KM = "GRID_1KM"
    GRUNNKRETS = "GRUNNKRETS"
    DELBYDEL = "DELBYDEL"
    BYDEL = "BYDEL"


class Role(StrEnum):
    MUNICIPALITY_EDITOR = "MUNICIPALITY_EDITOR"
    ORGANISATION_EDITOR = "ORGANISATION_EDITOR"
    ANALYST = "ANALYST"
    ADMIN = "ADMIN"


class Weekday(StrEnum):
    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"

    @property
    def iso(self) -> int:
        """ISO weekday number, 1 = Monday, as stored."""
        return list(Weekday).index(self) + 1


class EntryKind(StrEnum):
    """The directory entries that carry a verified date and take problem reports."""

    ACTIVITY = "ACTIVITY"
    VENUE = "VENUE"
    COUNCIL = "COUNCIL"


class RegistryStatus(StrEnum):
    """What Brønnøysund's register says of an organisation, when it is not plainly active."""

    DELETED = "DELETED"
    REMOVED = "REMOVED"
    BANKRUPT = "BANKRUPT"
    DISSOLVING = "DISSOLVING"
    FORCED_DISSOLUTION = "FORCED_DISSOLUTION"


class ProblemKind(StrEnum):
    NO_LONGER_RUNS = "NO_LONGER_RUNS"
    WRONG_TIME = "WRONG_TIME"
    WRONG_PLACE = "WRONG_PLACE"
    ROOM_NOT_AVAILABLE = "ROOM_NOT_AVAILABLE"
    OTHER = "OTHER"


class ProblemStatus(StrEnum):
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"


class ProblemOutcome(StrEnum):
    """How an editor resolved a problem report."""

    FIXED = "FIXED"
    CONFIRMED_CLOSED = "CONFIRMED_CLOSED"
    NOT_A_PROBLEM = "NOT_A_PROBLEM"
    DUPLICATE = "DUPLICATE"


NORWEGIAN: dict[str, str] = {
    # activity categories
    "LANGUAGE_CAFE": "språkkafé",
    "NORWEGIAN_PRACTICE": "norsktrening",
    "HOMEWORK_HELP": "leksehjelp",
    "REFUGEE_GUIDE": "flyktningguide, en god nabo, folkevenn",
    "MENTORING": "mentorordning",
    "SPORTS": "idrett",
    "CULTURE": "kultur",
    "OUTDOOR": "friluftsliv",
    "PARENT_SUPPORT": "foreldrestøtte, fadderordning",
    "WOMENS_GROUP": "kvinnegruppe",
    "LIFE_SKILLS": "livsmestring",
    "DIGITAL_SKILLS": "digital kompetanse",
    "WORK_TRAINING": "arbeidstrening, CV- og jobbsøkerkurs",
    "INFORMATION": "informasjon",
    "DIALOGUE": "dialoggrupper, tro og livssyn",
    "MEETING_PLACE": "møteplass, åpen kafé",
    "YOUTH_CLUB": "fritidsklubb",
    "ACTIVITY_GUIDE": "aktivitetsguide",
    # council kinds
    "INNVANDRERRAD": "innvandrerråd",
    "DIALOGFORUM": "dialogforum",
    "MANGFOLDSRAD": "mangfoldsråd",
    "MINORITETSRAD": "minoritetsråd",
    "FLERKULTURELT_RAD": "flerkulturelt råd",
    "INTEGRERINGSRAD": "integreringsråd",
    # access outcomes and barriers (the venue-access survey)
    "GRANTED": "fikk tilgang",
    "REFUSED": "fikk avslag",
    "NO_RESPONSE": "fikk ikke svar",
    "TOO_EXPENSIVE": "for dyrt",
    "UNSUITABLE": "lokalet passet ikke",
    "PRICE": "pris, leie",
    "OPENING_HOURS": "åpningstider",
    "BOOKING_PROCESS": "bookingrutiner",
    "INSURANCE_OR_KEYS": "forsikring, nøkler, vakthold",
    "ACCESSIBILITY": "tilgjengelighet, universell utforming",
    "SIZE": "størrelse",
    "EQUIPMENT": "utstyr",
    "LOCATION": "beliggenhet",
    "RULES": "regler for bruk",
    # population units (coverage)
    "GRID_250M": "befolkningsrute 250 × 250 m (SSB)",
    "GRID_1KM": "befolkningsrute 1 × 1 km (SSB)",
    "GRUNNKRETS": "grunnkrets",
    "DELBYDEL": "delbydel",
    "BYDEL": "bydel",
    # registry status
    "DELETED": "slettet",
    "REMOVED": "fjernet fra åpne data",
    "BANKRUPT": "konkurs",
    "DISSOLVING": "under avvikling",
    "FORCED_DISSOLUTION": "under tvangsavvikling eller tvangsoppløsning",
    # problem reports
    "NO_LONGER_RUNS": "finnes ikke lenger",
    "WRONG_TIME": "feil tidspunkt",
    "WRONG_PLACE": "feil sted",
    "ROOM_NOT_AVAILABLE": "lokalet er ikke tilgjengelig",
    "OPEN": "åpen",
    "RESOLVED": "behandlet",
    "FIXED": "rettet",
    "CONFIRMED_CLOSED": "bekreftet nedlagt",
    "NOT_A_PROBLEM": "ikke et problem",
    "DUPLICATE": "duplikat",
}
