"""Reading delimited text files into numbered records, with clear errors for bad encodings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from geo.records.content import csv_rows
from geo.validation import FieldError
from loaders.report import LoadError, Problems

T = TypeVar("T")


def read_csv(path: Path, *, required: set[str]) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) pairs of a UTF-8 CSV (``;`` or ``,``, BOM allowed).

    Refuses a file that is not UTF-8, or whose header lacks ``required`` columns.
    """
    return read_csv_table(path, required=required)[1]


def read_csv_table(
    path: Path, *, required: set[str]
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
    header = set(names)
    missing = required - header
    if missing:
        raise LoadError(
            f"missing columns {sorted(missing)}; found {sorted(header)}",
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
