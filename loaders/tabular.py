"""Reading delimited text files into numbered records, with clear errors for bad encodings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from geo.records.content import csv_rows
from geo.validation import FieldError
from loaders.report import LoadError

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
) -> list[T]:
    """Apply ``parse`` to every record; the first FieldError becomes a LoadError naming its line."""
    parsed = []
    for line, record in records:
        try:
            parsed.append(parse(record))
        except FieldError as error:
            raise LoadError(
                error.reason, record=f"line {line}", field=error.field, path=path.name
            ) from None
    return parsed
