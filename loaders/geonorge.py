"""Geonorge's school and kindergarten points as venues.

Schools are the premises the strategy *Hverdagsintegrering* asks municipalities to lend to
volunteers in the evenings. Geonorge publishes them from Udir's registers (Nasjonalt
skoleregister, Nasjonalt barnehageregister) as "Grunnskoler", "Videregående skoler" and
"Barnehager", as GML, GeoJSON or a PostGIS/GeoPackage export. The field names vary between the
formats and years: nested objects (``besøksadresse`` → ``adressenavn``, ``trinn`` →
``lavesteTrinn``), or the same flattened (``besoksadresse_besoksadresse_adressenavn``,
``trinn_Trinn_lavesteTrinn``, ``lavestetrinn``). Names are matched after folding case, æøå and
punctuation, nested objects by prefix and suffix.

A school becomes a SCHOOL venue keyed by its organisation number; its owner is the
municipality for a public primary school, the county for a public upper-secondary school and
PRIVATE for a private one. The price model is left unknown (the source does not say). A
kindergarten becomes an OTHER venue described as "Barnehage". A unit that is not in operation
(``iDrift`` = Nei, ``erAktiv`` = false) is skipped. ``kommunenummer`` is not used: the
municipality comes from the point.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from geo import validation as v
from geo.vocab import OwnerType, VenueType
from loaders.pointfile import Record

SCHOOLS = "skoler"
KINDERGARTENS = "barnehager"
SOURCES = {SCHOOLS: "geonorge-skoler", KINDERGARTENS: "geonorge-barnehager"}
_FOLD = str.maketrans({"æ": "ae", "ø": "o", "å": "a"})
_LAST_PRIMARY_GRADE = 10


def fold(name: str) -> str:
    """``besøksadresse.Adressenavn`` → ``besoksadresseadressenavn``."""
    return re.sub(r"[^a-z0-9]", "", name.lower().translate(_FOLD))


def publication(columns: frozenset[str]) -> str | None:
    """Which Geonorge publication a file's columns are from, if any."""
    folded = {fold(c) for c in columns}
    if "externalid" in folded:
        return None  # the documented columns, even if a school's
    if "skolenavn" in folded:
        return SCHOOLS
    if "barnehagenavn" in folded:
        return KINDERGARTENS
    return None


class _Fields:
    """A feature's fields by folded name, nested JSON objects flattened into their parents'."""

    def __init__(self, cells: dict[str, str]) -> None:
        self.flat: dict[str, str] = {}
        for key, value in cells.items():
            self._put(fold(key), value)

    def _put(self, key: str, value: Any) -> None:
        if isinstance(value, str) and value.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(value)
        if isinstance(value, dict):
            for name, inner in value.items():
                self._put(key + fold(str(name)), inner)
        elif value is not None and str(value).strip():
            self.flat[key] = str(value).strip()

    def get(self, *names: str) -> str:
        return next((self.flat[n] for n in names if n in self.flat), "")

    def nested(self, prefix: str, suffix: str) -> str:
        """The first field under ``prefix`` (a nested object) that ends with ``suffix``."""
        return next(
            (
                value
                for key, value in self.flat.items()
                if key.startswith(prefix) and key.endswith(suffix) and key != prefix
            ),
            "",
        )

    def number(self, suffix: str) -> int | None:
        text = self.get(suffix) or self.nested("", suffix)
        try:
            return int(float(text)) if text else None
        except ValueError:
            return None

    def flag(self, *names: str) -> bool | None:
        text = self.get(*names)
        try:
            return v.boolean(text, names[0]) if text else None
        except v.FieldError:
            return None

    def address(self) -> dict[str, str]:
        return {
            "address": self.nested("besoksadresse", "adressenavn")
            or self.get("adresse", "besoksadresse", "adressenavn"),
            "postal_code": self.nested("besoksadresse", "postnummer") or self.get("postnummer"),
            "postal_place": self.nested("besoksadresse", "poststed") or self.get("poststed"),
        }

    def contact(self) -> dict[str, str]:
        mail = self.nested("kontaktinformasjon", "epostadresse") or self.get(
            "epost", "epostadresse"
        )
        phone = self.nested("kontaktinformasjon", "telefonnummer") or self.get(
            "telefon", "telefonnummer"
        )
        return {
            "contact_email": mail if mail and _valid_email(mail) else "",
            "contact_phone": phone,
        }


def _valid_email(text: str) -> bool:
    try:
        v.email(text, "epostadresse")
    except v.FieldError:
        return False
    return True


def in_operation(fields: _Fields) -> bool:
    return fields.flag("idrift") is not False and fields.flag("eraktiv") is not False


def venue_cells(record: Record, kind: str, layer: str) -> tuple[dict[str, str] | None, str | None]:
    """The documented venue columns of one Geonorge feature, and a note for the load report;
    ``None`` cells for a unit that is not in operation. FieldError for a bad organisation number
    or a missing name."""
    fields = _Fields(record.cells)
    name_field = "skolenavn" if kind == SCHOOLS else "barnehagenavn"
    name = v.required_text(fields.get(name_field, "navn"), name_field)
    number = v.organisation_number(
        fields.get("organisasjonsnummer", "orgnr"), "organisasjonsnummer"
    )
    if not in_operation(fields):
        return None, f"{record.label}: {name} is not in operation; skipped"
    cells = {
        "external_id": number,
        "name": name,
        "owner_organisation_number": "",
        **fields.address(),
        **fields.contact(),
    }
    kind_cells, note = (
        _school(fields, layer, name) if kind == SCHOOLS else _kindergarten(fields, name)
    )
    return {**cells, **kind_cells}, (f"{record.label}: {note}" if note else None)


def _school_levels(fields: _Fields, layer: str) -> tuple[bool, bool]:
    """(primary, upper secondary): from the flags, else the object type, else the grades."""
    primary = fields.flag("ergrunnskole")
    upper = fields.flag("ervideregaaendeskole", "ervideregaendeskole")
    if primary is not None or upper is not None:
        return bool(primary), bool(upper)
    kind = fold(fields.get("objtype") or layer)
    if "grunnskole" in kind or "videregaende" in kind:
        return "grunnskole" in kind, "videregaende" in kind
    lowest, highest = fields.number("lavestetrinn"), fields.number("hoyestetrinn")
    if lowest is None and highest is None:
        return True, False
    return ((lowest or 1) <= _LAST_PRIMARY_GRADE, (highest or lowest or 1) > _LAST_PRIMARY_GRADE)


def _level_name(primary: bool, upper: bool, lowest: int | None, highest: int | None) -> str:
    if primary and upper:
        return "Grunnskole og videregående skole"
    if upper:
        return "Videregående skole"
    if lowest is None or highest is None:
        return "Grunnskole"
    if highest <= 7:  # barnetrinnet is 1.-7.
        return "Barneskole"
    return "Ungdomsskole" if lowest >= 8 else "Barne- og ungdomsskole"


def _school(fields: _Fields, layer: str, name: str) -> tuple[dict[str, str], str | None]:
    primary, upper = _school_levels(fields, layer)
    lowest, highest = fields.number("lavestetrinn"), fields.number("hoyestetrinn")
    parts = [_level_name(primary, upper, lowest, highest)]
    if lowest is not None and highest is not None:
        parts.append(f"{lowest}.–{highest}. trinn")
    pupils = fields.number("antallelever")
    if pupils:
        parts.append(f"{pupils} elever")
    public = OwnerType.COUNTY if upper and not primary else OwnerType.MUNICIPALITY
    owner, note = _owner(fields, public, name, ("eroffentligskole", "erprivatskole"))
    return {
        "venue_type": VenueType.SCHOOL.value,
        "owner_type": owner,
        "description": ", ".join(parts) + ".",
    }, note


def _owner(
    fields: _Fields, public: OwnerType, name: str, flags: tuple[str, str]
) -> tuple[str, str | None]:
    """PRIVATE or ``public`` from ``eierforhold`` (or the register's flags, or the owner's
    name); a note when it had to be guessed."""
    ownership = fold(fields.get("eierforhold", "eierform"))
    is_public, is_private = fields.flag(flags[0]), fields.flag(flags[1])
    if "privat" in ownership or (not ownership and is_private):
        return OwnerType.PRIVATE.value, None
    if "offentlig" in ownership or "kommunal" in ownership or (not ownership and is_public):
        return public.value, None
    owner_name = fold(fields.get("organisasjonsnavn") or fields.nested("eier", "navn"))
    if "fylkeskommune" in owner_name:
        return OwnerType.COUNTY.value, None
    if owner_name.endswith("kommune"):
        return OwnerType.MUNICIPALITY.value, None
    return OwnerType.PRIVATE.value, (
        f"{name}: ownership {fields.get('eierforhold')!r} taken as PRIVATE"
    )


def _kindergarten(fields: _Fields, name: str) -> tuple[dict[str, str], str | None]:
    owner, note = _owner(
        fields, OwnerType.MUNICIPALITY, name, ("eroffentligbarnehage", "erprivatbarnehage")
    )
    parts = ["Barnehage"]
    children = fields.number("antallbarn")
    if children:
        parts.append(f"{children} barn")
    youngest, oldest = fields.number("lavestealder"), fields.number("hoyestealder")
    if youngest is not None and oldest is not None:
        parts.append(f"{youngest}–{oldest} år")
    return {
        "venue_type": VenueType.OTHER.value,
        "owner_type": owner,
        "description": ", ".join(parts) + ".",
    }, note
