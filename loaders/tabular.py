"""Reading delimited text files into numbered records, with clear errors for bad encodings."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TypeVar

from geo.records.content import csv_rows
from geo.validation import FieldError
from loaders.fields import fields_listed, option_for
from loaders.report import LoadError, Problems

T = TypeVar("T")


def read_csv(
    path: Path,
    *,
    required: set[str],
    fields: Mapping[str, str] | None = None,
    roles: Mapping[str, str] | None = None,
) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) pairs of a UTF-8 CSV (``;`` or ``,``, BOM allowed).

    Refuses a file that is not UTF-8, or whose header lacks ``required`` columns (naming the
    options that would map its own: ``roles``, the loader's role -> column). ``fields``: our
    column -> the file's column that holds it.
    """
    return read_csv_table(path, required=required, fields=fields, roles=roles)[1]


def _renamed(
    path: Path,
    names: list[str],
    rows: list[tuple[int, dict[str, str]]],
    fields: Mapping[str, str],
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and rows with the columns ``fields`` names under our columns' names (a
    column of ours the file also has under its own name is shadowed)."""
    moves: dict[str, str] = {}
    for column, wanted in fields.items():
        found = next((name for name in names if name.lower() == wanted.lower()), None)
        if found is None:
            raise LoadError(
                f"no column {wanted!r} (named for {column}) in the file; its columns: "
                f"{fields_listed(names)}",
                field=column,
                code="MISSING_FIELD",
                path=path.name,
            )
        moves[found] = column
    shadowed = set(moves.values()) - set(moves)
    header = [moves.get(n, n) for n in names if n not in shadowed]
    renamed = [
        (line, {moves.get(k, k): value for k, value in row.items() if k not in shadowed})
        for line, row in rows
    ]
    return header, renamed


def read_csv_table(
    path: Path,
    *,
    required: set[str],
    fields: Mapping[str, str] | None = None,
    roles: Mapping[str, str] | None = None,
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and the (line number, row) pairs, as :func:`read_csv`."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LoadError(
            f"not UTF-8 (byte {error.start}): save the file as UTF-8",
            code="BAD_ENCODING",
            path=path.name,
        ) from None
    try:
        names, rows = csv_rows(text)
    except FieldError as error:
        raise LoadError(error.reason, code="BAD_HEADER", path=path.name) from None
    if fields:
        names, rows = _renamed(path, names, rows, fields)
    header = set(names)
    missing = required - header
    if missing:
        options = ", ".join(option_for(column, roles or {}) for column in sorted(missing))
        raise LoadError(
            f"missing columns {sorted(missing)}; the file's columns: {sorted(header)}; if the "
            f"file holds them under other names, name them with {options}",
            code="BAD_HEADER",
            path=path.name,
        )
    return names, rows


def parse_records(
    records: Iterator[tuple[int, dict[str, str]]] | list[tuple[int, dict[str, str]]],
    parse: Callable[[dict[str, str]], T],
    path: Path,
    problems: Problems | None = None,
) -> list[tuple[int, T]]:
    """``parse`` applied to every record, with its line: each wrong field of a bad record goes
    to ``problems`` (a LoadErrors naming every one is raised at once without it)."""
    collected = problems if problems is not None else Problems(path.name)
    parsed = []
    for line, record in records:
        collected.place(f"line {line}", line)
        try:
            parsed.append((line, parse(record)))
        except FieldError as error:
            collected.add_fields(error, f"line {line}")
    if problems is None:
        collected.check()
    return parsed
