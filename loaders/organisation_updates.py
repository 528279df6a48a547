"""Brønnøysund's update feed of Enhetsregisteret, applied to the organisations we know.

The feed is ``GET https://data.brreg.no/enhetsregisteret/api/oppdateringer/enheter`` (HAL
JSON): ``_embedded.oppdaterteEnheter`` lists updates, each with ``oppdateringsid`` (rising),
``dato``, ``organisasjonsnummer``, ``endringstype`` (``Ny``, ``Endring``, ``Sletting``,
``Fjernet``, ``Ukjent``), ``_links.enhet.href`` and, when asked with ``includeChanges=true``,
``endringer``: a JSON Patch of the unit (``op``, ``path``, ``value``). ``_links.next`` points
at the next page. A page with nothing new has no ``_embedded``.

What is applied, to organisations whose number we hold (others are counted and skipped):

- ``Sletting``: deleted from the register; ``Fjernet``: removed from the open data. Either
  sets ``registry_status`` (DELETED, REMOVED);
- ``Endring`` with ``endringer``: ``/navn`` (name), ``/forretningsadresse`` and its
  ``adresse``, ``postnummer``, ``poststed``, ``kommunenummer`` (address, municipality), and
  ``/konkurs``, ``/underAvvikling``, ``/underTvangsavviklingEllerTvangsopplosning`` (true:
  BANKRUPT, DISSOLVING, FORCED_DISSOLUTION; false clears that status);
- an organisation that becomes deleted, removed, bankrupt or dissolving has each of its live
  activities flagged for review: an open problem report from ``brreg`` (never deleted);
- ``Ny``, ``Ukjent`` and an ``Endring`` without ``endringer`` change nothing here.

Resumable: ``registry_sync`` keeps the last update id applied; a run applies only later ones
(a URL run asks for them: ``oppdateringsid=<last + 1>``), so re-running a file changes
nothing. All or nothing: one bad update and nothing is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from geo.registry import (
    GONE,
    KnownOrganisation,
    change_organisation,
    flag_activities,
    last_update_id,
    organisations_by_number,
    set_last_update_id,
)
from geo.vocab import RegistryStatus
from loaders.report import LoadError, LoadReport

FEED = "brreg:enhetsregisteret/oppdateringer/enheter"
KINDS = frozenset({"Ny", "Endring", "Sletting", "Fjernet", "Ukjent"})
_ORGNR = re.compile(r"[0-9]{9}")
_STATUS_OF_KIND = {"Sletting": RegistryStatus.DELETED, "Fjernet": RegistryStatus.REMOVED}
_FLAGS = {
    "/konkurs": RegistryStatus.BANKRUPT,
    "/underAvvikling": RegistryStatus.DISSOLVING,
    "/underTvangsavviklingEllerTvangsopplosning": RegistryStatus.FORCED_DISSOLUTION,
}
_ADDRESS = "/forretningsadresse"


@dataclass(frozen=True)
class Update:
    id: int
    at: str
    organisation_number: str
    kind: str
    #: (op, path, value) of the JSON Patch, when the feed carried one.
    changes: tuple[tuple[str, str, Any], ...] = ()


@dataclass
class UpdatesReport(LoadReport):
    flagged: int = 0
    last_update_id: int = 0
    already_applied: int = 0
    not_ours: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{super().summary()}; {self.flagged} activities flagged for review, "
            f"{self.already_applied} updates applied before, {self.not_ours} of organisations "
            f"not in the directory; last update id {self.last_update_id}"
        )


def _where(index: int, item: Any) -> str:
    found = item.get("oppdateringsid") if isinstance(item, dict) else None
    return f"update {found}" if found is not None else f"update #{index + 1}"


def _parse_update(index: int, item: Any, path: str) -> Update:
    where = _where(index, item)
    if not isinstance(item, dict):
        raise LoadError("an update is a JSON object", record=where, path=path)
    update_id = item.get("oppdateringsid")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 1:
        raise LoadError("a positive whole number", record=where, field="oppdateringsid", path=path)
    number = item.get("organisasjonsnummer")
    if not isinstance(number, str) or not _ORGNR.fullmatch(number):
        raise LoadError("nine digits", record=where, field="organisasjonsnummer", path=path)
    kind = item.get("endringstype", "Ukjent")
    if kind not in KINDS:
        raise LoadError(
            f"one of {', '.join(sorted(KINDS))}, got {kind!r}",
            record=where,
            field="endringstype",
            path=path,
        )
    at = item.get("dato")
    if not isinstance(at, str):
        raise LoadError("an ISO 8601 time", record=where, field="dato", path=path)
    try:
        datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        raise LoadError(
            f"an ISO 8601 time, got {at!r}", record=where, field="dato", path=path
        ) from None
    changes = []
    for op in item.get("endringer") or ():
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            raise LoadError("a JSON Patch operation", record=where, field="endringer", path=path)
        changes.append((str(op.get("op", "")), op["path"], op.get("value")))
    return Update(update_id, at, number, kind, tuple(changes))


def parse_page(document: Any, path: str) -> tuple[list[Update], str | None]:
    """A feed page's updates and the next page's address (None: the last page)."""
    if not isinstance(document, dict):
        raise LoadError("the feed's answer is a JSON object", path=path, code="INVALID_FILE")
    embedded = document.get("_embedded") or {}
    items = embedded.get("oppdaterteEnheter", []) if isinstance(embedded, dict) else None
    if not isinstance(items, list):
        raise LoadError("_embedded.oppdaterteEnheter is a list", path=path, code="INVALID_FILE")
    updates = [_parse_update(i, item, path) for i, item in enumerate(items)]
    next_link = ((document.get("_links") or {}).get("next") or {}).get("href")
    return updates, next_link if isinstance(next_link, str) else None


def _address_values(changes: Iterable[tuple[str, str, Any]]) -> dict[str, Any]:
    """The organisation's columns an address patch sets."""
    values: dict[str, Any] = {}

    def lines(value: Any) -> str | None:
        if isinstance(value, list):
            return ", ".join(str(v) for v in value if v) or None
        return None if value is None else str(value)

    columns = {
        "adresse": ("address", lines),
        "postnummer": ("postal_code", lambda v: v),
        "poststed": ("postal_place", lambda v: v),
        "kommunenummer": ("municipality_number", lambda v: v),
    }
    for op, at, value in changes:
        if at == _ADDRESS:
            whole = value if isinstance(value, dict) and op != "remove" else {}
            for key, (column, convert) in columns.items():
                values[column] = convert(whole.get(key))
        elif at.startswith(_ADDRESS + "/"):
            key = at[len(_ADDRESS) + 1 :].split("/")[0]
            if key in columns and key != "adresse":
                column, convert = columns[key]
                values[column] = None if op == "remove" else convert(value)
    return values


def _changes_of(update: Update, current: KnownOrganisation) -> dict[str, Any]:
    """The organisation's new values after ``update``."""
    if update.kind in _STATUS_OF_KIND:
        return {"registry_status": _STATUS_OF_KIND[update.kind].value}
    if update.kind != "Endring":
        return {}
    values: dict[str, Any] = {}
    status = current.registry_status
    for op, at, value in update.changes:
        if at == "/navn" and op in ("add", "replace") and isinstance(value, str) and value:
            values["name"] = value
        elif at in _FLAGS:
            flag = _FLAGS[at]
            if value is True and op in ("add", "replace"):
                status = flag.value
            elif status == flag.value:
                status = None
    if status != current.registry_status:
        values["registry_status"] = status
    address_changes = [
        c for c in update.changes if c[1] == _ADDRESS or c[1].startswith(_ADDRESS + "/")
    ]
    if address_changes:
        address_lines = [c for c in address_changes if c[1].startswith(_ADDRESS + "/adresse")]
        values.update(_address_values(address_changes))
        if address_lines and not any(c[1] == _ADDRESS for c in address_changes):
            values["address"] = _patched_lines(address_lines)
    return values


def _patched_lines(changes: list[tuple[str, str, Any]]) -> str | None:
    """The address lines after patches of ``/forretningsadresse/adresse`` (the whole list,
    or its lines by index): the lines given, in order."""
    lines: dict[int, str] = {}
    for op, at, value in changes:
        rest = at[len(_ADDRESS + "/adresse") :].lstrip("/")
        if not rest:
            return ", ".join(str(v) for v in value or () if v) or None
        if rest.isdigit() and op in ("add", "replace") and value:
            lines[int(rest)] = str(value)
    return ", ".join(lines[i] for i in sorted(lines)) or None


def apply_updates(
    conn: sa.Connection, updates: Sequence[Update], report: UpdatesReport
) -> UpdatesReport:
    """Apply the updates later than the feed's last applied one, in id order."""
    last = last_update_id(conn, FEED)
    fresh = sorted((u for u in updates if u.id > last), key=lambda u: u.id)
    report.already_applied += len(updates) - len(fresh)
    known = organisations_by_number(conn, [u.organisation_number for u in fresh])
    for update in fresh:
        current = known.get(update.organisation_number)
        if current is None:
            report.not_ours += 1
            continue
        values = _changes_of(update, current)
        if update.kind == "Endring" and not update.changes:
            report.notes.append(
                f"update {update.id}: a change of {update.organisation_number} without "
                "endringer (ask the feed with includeChanges=true): nothing applied"
            )
        if values and change_organisation(conn, current.id, values):
            report.updated += 1
            became = values.get("registry_status")
            if became in GONE and became != current.registry_status:
                report.flagged += flag_activities(
                    conn,
                    current.id,
                    f"Enhetsregisteret: {current.name} ({update.organisation_number}) is "
                    f"{RegistryStatus(became).value.lower().replace('_', ' ')} (update "
                    f"{update.id}, {update.at}). Check whether this activity still runs.",
                )
            current = replace(
                current,
                registry_status=values.get("registry_status", current.registry_status),
                name=values.get("name", current.name),
            )
            known[update.organisation_number] = current
        else:
            report.unchanged += 1
    newest = max([last, *(u.id for u in updates)])
    if newest > last:
        set_last_update_id(conn, FEED, newest)
    report.last_update_id = newest
    return report


def load_organisation_updates(
    conn: sa.Connection,
    path: Path,
    *,
    source: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> UpdatesReport:
    """One saved page (or a list of pages) of the feed, from a file."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LoadError(f"not JSON: {error}", path=path.name, code="INVALID_FILE") from None
    pages = document if isinstance(document, list) else [document]
    return load_pages(conn, pages, path.name)


def load_pages(conn: sa.Connection, pages: Sequence[Any], where: str) -> UpdatesReport:
    updates: list[Update] = []
    for page in pages:
        updates += parse_page(page, where)[0]
    seen: set[int] = set()
    for update in updates:
        if update.id in seen:
            raise LoadError("appears twice", record=f"update {update.id}", path=where)
        seen.add(update.id)
    report = UpdatesReport("organisation updates")
    apply_updates(conn, updates, report)
    report.warnings += report.notes
    return report
