"""Translations from files: ``title@ar`` columns beside the originals in the activity and venue
files, and a translations file of their own (``hverdag load translations FILE``).

A column ``{field}@{tag}`` holds the text of ``field`` in the language ``tag`` (BCP 47,
normalised: ``description@prs`` is stored as fa-AF); an empty cell leaves that translation as it
is. A translation from a file is a person's (not machine-made) unless the translations file says
otherwise, is made by the file's ``made_by`` column or else the file (``file demo.csv``), and
translates the original as it is after the load: loading a file with both the original and its
translation keeps the translation current. A bad tag or an unknown field is a bad record naming
the column; nothing is written then (the caller's transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from geo import validation as v
from geo.queries.translations import digest_of
from geo.tables import TRANSLATED_FIELDS, TRANSLATION_TABLES, metadata
from loaders.report import LoadError, LoadReport
from loaders.tabular import read_csv

MARK = "@"
#: (field, language) → text: one entry's translations from its record.
Texts = dict[tuple[str, str], str]


def is_translation_column(column: str) -> bool:
    return MARK in column


def translation_columns(columns: Iterable[str]) -> set[str]:
    """The columns of a file that hold translations (checked per record)."""
    return {column for column in columns if is_translation_column(column)}


def record_translations(cells: Mapping[str, str], kind: str) -> Texts:
    """The translations in one record's ``field@tag`` cells; FieldError naming a bad column."""
    texts: Texts = {}
    for column, value in cells.items():
        if not is_translation_column(column):
            continue
        field, _, tag = column.partition(MARK)
        if field not in TRANSLATED_FIELDS[kind]:
            raise v.FieldError(
                column, f"only {', '.join(TRANSLATED_FIELDS[kind])} can be translated"
            )
        language = v.language(tag, column)
        text = v.optional_text(value, column, max_length=v.MAX_DESCRIPTION)
        if text is not None:
            texts[(field, language)] = text
    return texts


def write_translations(
    conn: sa.Connection,
    kind: str,
    wanted: Mapping[int, Texts],
    *,
    made_by: str,
    machine: Mapping[int, set[tuple[str, str]]] | None = None,
    made_by_of: Mapping[int, Mapping[tuple[str, str], str]] | None = None,
) -> tuple[int, int]:
    """Upsert each entry's translations as translating its original now; (inserted, updated).
    A translation whose text, maker and original are unchanged is left alone."""
    wanted = {entry_id: texts for entry_id, texts in wanted.items() if texts}
    if not wanted:
        return 0, 0
    entry = metadata.tables[kind]
    fields = TRANSLATED_FIELDS[kind]
    originals = {
        row.id: row
        for row in conn.execute(
            sa.select(entry.c.id, entry.c.version, *(entry.c[f] for f in fields)).where(
                entry.c.id.in_(list(wanted))
            )
        )
    }
    rows: list[dict[str, Any]] = []
    for entry_id, texts in wanted.items():
        for (field, language), text in texts.items():
            original = getattr(originals[entry_id], field)
            rows.append(
                {
                    "entry_id": entry_id,
                    "field": field,
                    "language": language,
                    "text": text,
                    "machine_translated": (field, language) in (machine or {}).get(entry_id, ()),
                    "made_by": (made_by_of or {}).get(entry_id, {}).get((field, language))
                    or made_by,
                    "original_version": originals[entry_id].version,
                    "original_digest": digest_of(original) or "",
                }
            )
    t = TRANSLATION_TABLES[kind]
    stmt = insert(t).values(rows)
    kept = ("text", "machine_translated", "made_by", "original_digest")
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.c.entry_id, t.c.field, t.c.language],
        set_={
            **{name: stmt.excluded[name] for name in (*kept, "original_version")},
            "version": t.c.version + 1,
            "updated_at": sa.func.now(),
        },
        where=sa.tuple_(*(t.c[name] for name in kept)).is_distinct_from(
            sa.tuple_(*(stmt.excluded[name] for name in kept))
        ),
    )
    fresh: list[bool] = list(
        conn.execute(stmt.returning(sa.literal_column("xmax = 0", sa.Boolean))).scalars()
    )
    return sum(1 for f in fresh if f), sum(1 for f in fresh if not f)


def translations_of_file(
    conn: sa.Connection, kind: str, ids: Iterable[int], items: Iterable[Any]
) -> str | None:
    """Write the ``field@tag`` columns' translations of a loaded file's entries (``items``
    with ``translations`` and ``row["source"]``, in the order of ``ids``); what was done, for
    the load's report, or None when the file had none."""
    wanted: dict[int, Texts] = {}
    makers: dict[int, dict[tuple[str, str], str]] = {}
    for entry_id, item in zip(ids, items, strict=True):
        if item.translations:
            wanted[entry_id] = item.translations
            maker = f"source {item.row['source']}"
            makers[entry_id] = dict.fromkeys(item.translations, maker)
    if not wanted:
        return None
    inserted, updated = write_translations(conn, kind, wanted, made_by="", made_by_of=makers)
    return f"translations: {inserted} inserted, {updated} updated"


# --- the translations file -----------------------------------------------------------------------

REQUIRED = {"entry", "external_id", "field", "language", "text"}
COLUMNS = REQUIRED | {"source", "machine_translated", "made_by"}
#: The ``entry`` column's words.
ENTRIES = {"activity": "activity", "venue": "venue", "area_initiative": "area_initiative"}


def load_translations(
    conn: sa.Connection,
    path: Path,
    *,
    source: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    """Load a translations CSV (docs/loaders.md) in the caller's transaction: every row is
    checked (its entry loaded, its field translatable, its language a tag) before any write.
    ``source``: the entries' source where a row has none."""
    report = LoadReport("translations")
    rows = read_csv(path, required=REQUIRED)
    unused = sorted(set(rows[0][1]) - COLUMNS) if rows else []
    if unused:
        report.warnings.append(f"columns not used: {', '.join(unused)}")
    parsed = []
    for line, record in rows:
        try:
            parsed.append((f"line {line}", _parse_row(record, source)))
        except v.FieldError as error:
            raise LoadError(
                error.reason, record=f"line {line}", field=error.field, path=path.name
            ) from None
    by_kind: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for label, item in parsed:
        by_kind.setdefault(item["kind"], []).append((label, item))
    for kind, items in by_kind.items():
        ids = _entry_ids(conn, kind, items, path.name)
        texts: dict[int, Texts] = {}
        machine: dict[int, set[tuple[str, str]]] = {}
        makers: dict[int, dict[tuple[str, str], str]] = {}
        for (label, item), entry_id in zip(items, ids, strict=True):
            key = (item["field"], item["language"])
            if key in texts.setdefault(entry_id, {}):
                raise LoadError(
                    f"a second {item['language']} {item['field']} of the same entry",
                    record=label,
                    field="language",
                    path=path.name,
                    code="DUPLICATE",
                )
            texts[entry_id][key] = item["text"]
            if item["machine_translated"]:
                machine.setdefault(entry_id, set()).add(key)
            if item["made_by"]:
                makers.setdefault(entry_id, {})[key] = item["made_by"]
        _check_originals(conn, kind, texts, items, ids, path.name)
        inserted, updated = write_translations(
            conn,
            kind,
            texts,
            made_by=f"file {path.name}",
            machine=machine,
            made_by_of=makers,
        )
        report.inserted += inserted
        report.updated += updated
    report.unchanged = len(parsed) - report.inserted - report.updated
    if progress:
        progress(len(parsed), len(parsed))
    return report


def _parse_row(record: dict[str, str], source: str | None) -> dict[str, Any]:
    kind = record["entry"].strip().lower()
    if kind not in ENTRIES:
        raise v.FieldError("entry", f"{record['entry']!r} is not one of {', '.join(ENTRIES)}")
    field = record["field"].strip().lower()
    if field not in TRANSLATED_FIELDS[kind]:
        raise v.FieldError(
            "field", f"a {kind}'s translatable fields are {', '.join(TRANSLATED_FIELDS[kind])}"
        )
    return {
        "kind": kind,
        "source": v.required_text(record.get("source") or source, "source"),
        "external_id": v.required_text(record["external_id"], "external_id"),
        "field": field,
        "language": v.language(record["language"], "language"),
        "text": v.required_text(record["text"], "text", max_length=v.MAX_DESCRIPTION),
        "machine_translated": bool(v.boolean(record.get("machine_translated", ""), "machine")),
        "made_by": v.optional_text(record.get("made_by"), "made_by", max_length=200),
    }


def _entry_ids(
    conn: sa.Connection, kind: str, items: list[tuple[str, dict[str, Any]]], file_name: str
) -> list[int]:
    entry = metadata.tables[kind]
    keys = {(item["source"], item["external_id"]) for _, item in items}
    found = {
        (row.source, row.external_id): row.id
        for row in conn.execute(
            sa.select(entry.c.id, entry.c.source, entry.c.external_id).where(
                sa.tuple_(entry.c.source, entry.c.external_id).in_(list(keys))
            )
        )
    }
    ids = []
    for label, item in items:
        entry_id = found.get((item["source"], item["external_id"]))
        if entry_id is None:
            raise LoadError(
                f"no {kind} {item['external_id']!r} of source {item['source']!r} is loaded",
                record=label,
                field="external_id",
                path=file_name,
                code="UNKNOWN_ENTRY",
            )
        ids.append(entry_id)
    return ids


def _check_originals(
    conn: sa.Connection,
    kind: str,
    texts: Mapping[int, Texts],
    items: list[tuple[str, dict[str, Any]]],
    ids: list[int],
    file_name: str,
) -> None:
    """A translation of a text the entry does not have is a bad record."""
    entry = metadata.tables[kind]
    fields = TRANSLATED_FIELDS[kind]
    present = {
        row.id: {f for f in fields if getattr(row, f) is not None}
        for row in conn.execute(
            sa.select(entry.c.id, *(entry.c[f] for f in fields)).where(entry.c.id.in_(list(texts)))
        )
    }
    for (label, item), entry_id in zip(items, ids, strict=True):
        if item["field"] not in present[entry_id]:
            raise LoadError(
                f"the {kind} has no {item['field']} to translate",
                record=label,
                field="field",
                path=file_name,
            )
