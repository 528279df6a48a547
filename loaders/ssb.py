"""Reading municipality statistics files into plain rows: SSB StatBank CSV, JSON-stat 2.0, and a
JSON array of municipalities. No database here; ``loaders.statistics`` matches and stores.

Which figures go to which column (the same rules for the CSV's stacked header rows and for
JSON-stat dimensions; labels compared case-insensitively):

- a reason-for-immigration dimension ("Innvandringsgrunn", "InnvGrunn…"): "Alle" / "… i alt" ->
  ``immigrants``; "Flyktninger …" -> ``refugees``; "Arbeid…" -> ``labour_immigrants``;
  "Famil…" -> ``family_immigrants``; "Utdanning …" -> ``education_immigrants``; others
  ("Uoppgitt", "Nordisk") are not stored;
- else an immigrant-category dimension ("InnvandrKat"): "Innvandrere" -> ``immigrants``;
- else the contents ("ContentsCode", "statistikkvariabel", "Enhet"): "Personer" (07459's
  ``Personer1``), "Folkemengde", "Befolkning" -> ``population``; a label with "innvandrere"
  -> ``immigrants``; with "flyktning" -> ``refugees``;
- contents in percent ("Prosent", "Andel", "%") are never stored;
- sex and age: the total category ("Alle", "Begge kjønn", "… i alt") when there is one, else the
  categories are summed; any other dimension must have a total or a single category.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from loaders.numbering import NOT_MUNICIPALITY, NumberError, normalise_number
from loaders.report import LoadError

COLUMNS = (
    "population",
    "immigrants",
    "refugees",
    "labour_immigrants",
    "family_immigrants",
    "education_immigrants",
)

_MISSING = {"", ".", "..", "...", ":"}  # SSB's symbols for "no figure"; "-" is SSB's zero
_TOTALS = {
    "alle",
    "i alt",
    "begge kjønn",
    "total",
    "totalt",
    "alle aldre",
    "alle land",
    "hele landet",
    "alle innvandringsgrunner",
}
# "Ã¸" for "ø": UTF-8 bytes that were decoded as Latin-1 and saved again as UTF-8.
_MOJIBAKE = re.compile("[ÃÂ][\u0080-\u00bf]")
# A municipality's region code; 3 digits when a spreadsheet dropped the leading zero.
_REGION = re.compile(r"^(?:K-?)?(\d{3,4})(?:\s+(.*))?$")


@dataclass
class SourceRow:
    """One region of a file: its own number (None when it is no municipality) and figures."""

    record: str
    number: str | None
    names: tuple[str, ...]
    values: dict[tuple[int, str], int] = field(default_factory=dict)


@dataclass
class StatisticsFile:
    format: str
    columns: frozenset[str]
    rows: list[SourceRow]


@dataclass(frozen=True)
class Dimension:
    """A dimension of a table: its id, its label, and its categories as (code, label)."""

    key: str
    label: str
    categories: tuple[tuple[str, str], ...]


def _error(path: Path, reason: str, code: str, **where: str) -> LoadError:
    return LoadError(reason, code=code, path=str(path), **where)


# --- reading the bytes ------------------------------------------------------------------------


def read_statistics(
    path: Path, *, year: int | None = None, fields: Mapping[str, str] | None = None
) -> StatisticsFile:
    """Detect the format from the content and parse it; LoadError for anything else.
    ``fields`` (``code``, ``name``, ``population`` -> the item's key) are for a JSON array of
    municipalities; SSB's own formats have fixed dimensions."""
    if not path.is_file():
        raise _error(path, "no such file", "NOT_FOUND")
    text = _decode(path.read_bytes(), path)
    start = text.lstrip()[:1]
    if fields and start != "[":
        raise _error(
            path,
            "field options are for a JSON array of municipalities: SSB's StatBank CSV and "
            "JSON-stat have fixed dimensions",
            "UNKNOWN_COLUMN",
        )
    if start == "[":
        parsed = _parse_array(text, path, year, fields or {})
    elif start == "{":
        parsed = _parse_json(text, path, year)
    elif _looks_like_csv(text):
        parsed = parse_statbank_csv(text, path)
    else:
        raise _error(
            path,
            "neither CSV nor JSON: expected an SSB StatBank CSV, JSON-stat 2.0 "
            "or a JSON array of municipalities",
            "UNKNOWN_FORMAT",
        )
    return _only_year(parsed, year, path) if year is not None and start != "[" else parsed


def _decode(data: bytes, path: Path) -> str:
    """UTF-8 when the bytes are valid UTF-8 (Latin-1 text with æøå never is), else ISO-8859-1,
    SSB's CSV encoding. UTF-16 and text converted to UTF-8 twice are refused."""
    head = data[:4096]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (
        head[1::2].count(0) > len(head) // 4
    ):
        raise _error(path, "the file is UTF-16; save it as ISO-8859-1 or UTF-8", "BAD_ENCODING")
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    if controls > len(head) // 20:
        raise _error(path, "a binary file, not CSV or JSON", "UNKNOWN_FORMAT")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    found = _MOJIBAKE.search(text)
    if found:
        line = text[: found.start()].count("\n") + 1
        snippet = text[max(0, found.start() - 10) : found.end() + 10].strip()
        raise _error(
            path,
            f"line {line} reads {snippet!r}: the text was converted to UTF-8 "
            "twice (or read with the wrong encoding); use the file as SSB "
            "published it (ISO-8859-1)",
            "BAD_ENCODING",
        )
    return text


def _looks_like_csv(text: str) -> bool:
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    return any(sep in first for sep in (";", ",", "\t"))


def _parse_array(
    text: str, path: Path, year: int | None, fields: Mapping[str, str]
) -> StatisticsFile:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        raise _error(path, f"not valid JSON ({error})", "UNKNOWN_FORMAT") from error
    return parse_municipality_array(doc, path, year, fields)


def _parse_json(text: str, path: Path, year: int | None) -> StatisticsFile:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        raise _error(path, f"not valid JSON ({error})", "UNKNOWN_FORMAT") from error
    if isinstance(doc, list):
        return parse_municipality_array(doc, path, year)
    if doc.get("class") == "dataset" or "dimension" in doc:
        return parse_jsonstat(doc, path)
    if doc.get("type") in ("FeatureCollection", "Feature"):
        raise _error(
            path, "a GeoJSON file: load it as boundaries, not statistics", "UNKNOWN_FORMAT"
        )
    raise _error(
        path,
        "a JSON object that is not a JSON-stat 2.0 dataset (class 'dataset', "
        "version '2.0'); JSON-stat 1.x bundles are not read",
        "UNKNOWN_FORMAT",
    )


def _only_year(parsed: StatisticsFile, year: int, path: Path) -> StatisticsFile:
    for row in parsed.rows:
        row.values = {key: v for key, v in row.values.items() if key[0] == year}
    if not any(row.values for row in parsed.rows):
        raise _error(path, f"the file has no figures for {year}", "NO_DATA")
    return parsed


# --- values -----------------------------------------------------------------------------------


def parse_count(value: object) -> int | None:
    """A count of persons: SSB's "." / ".." / ":" and empty are no figure, "-" is zero."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().replace("\u00a0", "").replace(" ", "")
        if text in _MISSING:
            return None
        if text == "-":
            return 0
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        raise ValueError(f"{value!r} is not a number")
    if math.isnan(number):
        return None
    if not number.is_integer() or number < 0:
        raise ValueError(f"{value!r} is not a count of persons (a whole number, 0 or more)")
    return int(number)


# --- which figures go where (shared by CSV and JSON-stat) --------------------------------------


def _role(dimension: Dimension) -> str:
    key = f"{dimension.key} {dimension.label}".casefold()
    roles = (
        ("reason", ("innvandringsgrunn", "innvgrunn", "innvandrgrunn")),
        ("category", ("innvandrkat", "innvandringskategori")),
        ("sex", ("kjønn", "kjonn")),
        ("age", ("alder",)),
        ("contents", ("contentscode", "statistikkvariabel", "enhet", "contents")),
    )
    return next((role for role, words in roles if any(w in key for w in words)), "other")


def _is_total(label: str) -> bool:
    text = label.casefold().strip()
    return text in _TOTALS or text.endswith(" i alt") or text.startswith("alle ")


def _reason_column(label: str) -> str | None:
    text = label.casefold().strip()
    if _is_total(text):
        return "immigrants"
    prefixes = (
        ("flykt", "refugees"),
        ("arbeid", "labour_immigrants"),
        ("famil", "family_immigrants"),
        ("utdanning", "education_immigrants"),
    )
    return next((column for prefix, column in prefixes if text.startswith(prefix)), None)


def _contents_kind(code: str, label: str) -> str | None:
    text = f"{code} {label}".casefold()
    if any(word in text for word in ("prosent", "andel", "%", "per 1000")):
        return None
    if "flyktning" in text:
        return "refugees"
    if "innvandrere" in text and "norskfødte" not in text:
        return "immigrants"
    if any(word in text for word in ("personer", "folkemengde", "befolkning")):
        return "persons"
    return None


@dataclass(frozen=True)
class _Choice:
    """The categories of one dimension that count, and what each contributes."""

    role: str
    picks: tuple[tuple[int, str | None], ...]
    summed: bool = False


def _choose(dimension: Dimension, fail: Callable[[str], LoadError]) -> _Choice:
    role = _role(dimension)
    cats = dimension.categories
    if role == "reason":
        return _Choice(
            role,
            tuple(
                (i, _reason_column(lab)) for i, (_, lab) in enumerate(cats) if _reason_column(lab)
            ),
        )
    if role == "category":
        return _Choice(
            role,
            tuple(
                (i, "immigrants")
                for i, (_, lab) in enumerate(cats)
                if lab.casefold().strip() == "innvandrere"
            ),
        )
    if role == "contents":
        return _Choice(
            role,
            tuple(
                (i, _contents_kind(c, lab))
                for i, (c, lab) in enumerate(cats)
                if _contents_kind(c, lab)
            ),
        )
    totals = [i for i, (_, lab) in enumerate(cats) if _is_total(lab)]
    if totals:
        return _Choice(role, ((totals[0], None),))
    if len(cats) == 1:
        return _Choice(role, ((0, None),))
    if role in ("sex", "age"):  # a partition: its categories add up to the whole
        return _Choice(role, tuple((i, None) for i in range(len(cats))), summed=True)
    raise fail(
        f"dimension {dimension.key!r} has {len(cats)} categories and no total "
        "category; select one category or the total when downloading"
    )


def _column(choices: Sequence[_Choice], picks: Sequence[str | None]) -> str | None:
    # Percentages never get here (_choose drops them): with a reason or immigrant-category
    # dimension, any remaining contents ("Personer", "Innvandrere") is a count of persons.
    by_role = {c.role: p for c, p in zip(choices, picks, strict=True)}
    if "reason" in by_role:
        return by_role["reason"]
    if "category" in by_role:
        return by_role["category"]
    kind = by_role.get("contents")
    return "population" if kind == "persons" else kind


def plan_columns(
    dimensions: Sequence[Dimension], fail: Callable[[str], LoadError]
) -> dict[tuple[int, ...], str]:
    """Which category combinations (positions, one per dimension) feed which column.

    Several combinations may feed one column only when they differ in a summed dimension;
    two different figures for one column (e.g. two contents both read as population) fail.
    """
    choices = [_choose(d, fail) for d in dimensions]
    plan: dict[tuple[int, ...], str] = {}
    identity: dict[str, tuple[int, ...]] = {}
    for combo in itertools.product(*(c.picks for c in choices)):
        column = _column(choices, [tag for _, tag in combo])
        if column is None:
            continue
        positions = tuple(pos for pos, _ in combo)
        fixed = tuple(p for p, c in zip(positions, choices, strict=True) if not c.summed)
        if identity.setdefault(column, fixed) != fixed:
            raise fail(f"two different figures would both be stored as {column}")
        plan[positions] = column
    if not plan:
        raise fail(
            "no figures this loader stores (population, immigrants by reason); "
            f"dimensions: {', '.join(d.key for d in dimensions) or 'none'}"
        )
    return plan


class _Figures:
    """The figures of one row as they are read; the parts of a summed partition add up, and a
    part without a figure leaves the sum without one."""

    def __init__(self) -> None:
        self.values: dict[tuple[int, str], int | None] = {}

    def add(self, year: int, column: str, value: int | None) -> None:
        key = (year, column)
        if key not in self.values:
            self.values[key] = value
            return
        current = self.values[key]
        self.values[key] = None if current is None or value is None else current + value

    def present(self) -> dict[tuple[int, str], int]:
        return {key: value for key, value in self.values.items() if value is not None}


def _year(code: str, fail: Callable[[str], LoadError]) -> int:
    if not re.fullmatch(r"\d{4}", code.strip()):
        raise fail(f"time {code!r} is not a year; only yearly figures are read")
    return int(code)


def region_number(code: str) -> str | None:
    """ "K-0301", "K0301", "0301" -> "0301"; None for regions that are no municipality."""
    found = _REGION.match(code.strip())
    if not found:
        return None
    number = found.group(1).zfill(4)
    return None if NOT_MUNICIPALITY.match(number) or number == "0000" else number


# --- SSB StatBank CSV -------------------------------------------------------------------------

_KNOWN_KEYS = (
    "region",
    "navn",
    "innvandringsgrunn",
    "kjønn",
    "enhet",
    "år",
    "tid",
    "statistikkvariabel",
    "alder",
    "innvandringskategori",
)


@dataclass(frozen=True)
class _CsvLayout:
    """The value columns: the first one's index, and each one's year and category positions."""

    first: int
    dimensions: list[Dimension]
    years: list[int]
    positions: list[tuple[int, ...]]


def parse_statbank_csv(text: str, path: Path) -> StatisticsFile:
    """An SSB StatBank CSV: one header row per dimension ("Kjønn: Alle"), then
    ``K3001;Halden;992;…`` rows (code and name may also share one column: "3001 Halden")."""
    delimiter = max((";", ",", "\t"), key=text.split("\n", 1)[0].count)
    table = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(row)]
    count = next(
        (
            i
            for i, row in enumerate(table)
            if row[0].strip() and not row[0].strip().casefold().startswith("region")
        ),
        len(table),
    )
    header = table[:count]
    _check_decoded(header, path)
    if not header or not header[0][0].strip().casefold().startswith("region"):
        first = table[0][0] if table else ""
        raise _error(
            path,
            f"the first column's header is {first!r}, not 'Region': not an SSB "
            "StatBank CSV with one header row per dimension",
            "BAD_HEADER",
        )
    layout = _csv_layout(header, path)
    plan = plan_columns(layout.dimensions, lambda reason: _error(path, reason, "BAD_HEADER"))
    rows = [
        _csv_row(line, count + n + 1, layout, plan, path) for n, line in enumerate(table[count:])
    ]
    return StatisticsFile("SSB StatBank CSV", frozenset(plan.values()), rows)


def _skeleton(text: str) -> str:
    return re.sub(r"[^a-z]", "?", text.casefold())


def _check_decoded(header: list[list[str]], path: Path) -> None:
    """Refuse header words garbled by a wrong encoding: "Kj\\x9bnn" (cp865), "Kj\\ufffdnn"."""
    known = {_skeleton(key): key for key in _KNOWN_KEYS}
    for row in header:
        for cell in row:
            key = cell.split(":", 1)[0].strip()
            garbled = any("\u0080" <= ch <= "\u009f" or ch == "\ufffd" for ch in cell) or (
                key.casefold() not in _KNOWN_KEYS and _skeleton(key) in known
            )
            if garbled:
                raise _error(
                    path,
                    f"the header {cell!r} is garbled: the file is neither "
                    "ISO-8859-1 (as SSB publishes it) nor UTF-8",
                    "BAD_ENCODING",
                )


def _csv_layout(header: list[list[str]], path: Path) -> _CsvLayout:
    """Each header row must be one dimension, "Key: value" in every value column."""
    first = 2 if len(header[0]) > 1 and header[0][1].strip().casefold() == "navn" else 1
    rows: list[tuple[str, list[str]]] = []
    for number, row in enumerate(header, start=1):
        pairs = [cell.split(":", 1) if ":" in cell else ["", cell] for cell in row[first:]]
        keys = {key.strip() for key, _ in pairs}
        if len(keys) != 1:
            raise _error(
                path,
                f"header row {number} mixes dimensions "
                f"({', '.join(sorted(keys))}); expected 'Dimension: value' in "
                "every column",
                "BAD_HEADER",
            )
        rows.append((keys.pop(), [value.strip() for _, value in pairs]))
    times = [
        i
        for i, (key, values) in enumerate(rows)
        if key.casefold() in ("år", "tid")
        or (not key and all(re.fullmatch(r"\d{4}", v) for v in values))
    ]
    if len(times) != 1:
        raise _error(path, "no header row gives the year ('År: 2021')", "BAD_HEADER")
    years = [_year(v, lambda r: _error(path, r, "BAD_HEADER")) for v in rows[times[0]][1]]
    others = [row for i, row in enumerate(rows) if i != times[0]]
    categories = [list(dict.fromkeys(values)) for _, values in others]
    dimensions = [
        Dimension(key, key, tuple((c, c) for c in cats))
        for (key, _), cats in zip(others, categories, strict=True)
    ]
    positions = [
        tuple(
            cats.index(values[column]) for (_, values), cats in zip(others, categories, strict=True)
        )
        for column in range(len(years))
    ]
    return _CsvLayout(first, dimensions, years, positions)


def _csv_row(
    line: list[str],
    line_number: int,
    layout: _CsvLayout,
    plan: dict[tuple[int, ...], str],
    path: Path,
) -> SourceRow:
    code = line[0].strip()
    found = _REGION.match(code)
    name = line[1].strip() if layout.first == 2 else (found.group(2) or "" if found else "")
    record = f"row {line_number} ({code}{' ' + name if layout.first == 2 else ''})"
    if len(line) != layout.first + len(layout.years):
        expected = layout.first + len(layout.years)
        raise _error(
            path, f"has {len(line)} columns, the header {expected}", "BAD_ROW", record=record
        )
    figures = _Figures()
    for column, (year, positions) in enumerate(zip(layout.years, layout.positions, strict=True)):
        target = plan.get(positions)
        if target is None:
            continue
        cell = line[layout.first + column]
        try:
            figures.add(year, target, parse_count(cell))
        except ValueError as error:
            raise _error(
                path,
                str(error),
                "BAD_VALUE",
                record=record,
                field=" / ".join(
                    f"{d.key}: {d.categories[p][1]}"
                    for d, p in zip(layout.dimensions, positions, strict=True)
                )
                + f" / {year}",
            ) from error
    return SourceRow(record, region_number(code), (name,) if name else (), figures.present())


# --- JSON-stat 2.0 ----------------------------------------------------------------------------


def parse_jsonstat(doc: dict[str, Any], path: Path) -> StatisticsFile:
    """A JSON-stat 2.0 dataset (SSB's API): values row-major over ``id``/``size``."""

    def fail(reason: str) -> LoadError:
        return _error(path, reason, "BAD_JSONSTAT")

    if doc.get("version") != "2.0" or doc.get("class") != "dataset":
        raise fail("not a JSON-stat 2.0 dataset: needs version '2.0' and class 'dataset'")
    ids, sizes = doc.get("id"), doc.get("size")
    if not (
        isinstance(ids, list)
        and isinstance(sizes, list)
        and len(ids) == len(sizes)
        and all(isinstance(s, int) and s >= 0 for s in sizes)
    ):
        raise fail("'id' and 'size' must be lists of the same length")
    dimensions = [
        _jsonstat_dimension(doc.get("dimension", {}), key, size, fail)
        for key, size in zip(ids, sizes, strict=True)
    ]
    cube = _jsonstat_values(doc.get("value"), sizes, fail)
    region, time = _jsonstat_axes(doc, ids, fail)
    cube = np.moveaxis(cube, (region, time), (0, 1))
    others = [d for i, d in enumerate(dimensions) if i not in (region, time)]
    plan = plan_columns(others, fail)
    years = [_year(code, fail) for code, _ in dimensions[time].categories]
    rows = []
    for r, (code, label) in enumerate(dimensions[region].categories):
        figures = _Figures()
        for t, year in enumerate(years):
            for positions, column in plan.items():
                value = cube[(r, t, *positions)]
                try:
                    figures.add(year, column, parse_count(value))
                except ValueError as error:
                    raise _error(
                        path,
                        str(error),
                        "BAD_VALUE",
                        record=f"region {code} ({label})",
                        field=f"{column} {year}",
                    ) from error
        rows.append(
            SourceRow(f"region {code} ({label})", region_number(code), (label,), figures.present())
        )
    return StatisticsFile("JSON-stat 2.0", frozenset(plan.values()), rows)


def _jsonstat_dimension(
    dimensions: dict[str, Any], key: str, size: int, fail: Callable[[str], LoadError]
) -> Dimension:
    dim = dimensions.get(key) if isinstance(dimensions, dict) else None
    if not isinstance(dim, dict) or not isinstance(dim.get("category", {}), dict):
        raise fail(f"dimension {key!r} is listed in 'id' but not described in 'dimension'")
    category = dim.get("category", {})
    index, labels = category.get("index"), category.get("label") or {}
    if isinstance(index, list):
        codes = [str(code) for code in index]
    elif isinstance(index, dict):
        codes = [str(code) for code, _ in sorted(index.items(), key=lambda item: item[1])]
        if sorted(index.values()) != list(range(len(index))):
            raise fail(f"dimension {key!r}: category.index positions are not 0..{len(index) - 1}")
    else:
        codes = [str(code) for code in labels]  # a single category may omit its index
    if len(codes) != size:
        raise fail(f"dimension {key!r} has {len(codes)} categories but size says {size}")
    return Dimension(
        key,
        str(dim.get("label", key)),
        tuple((code, str(labels.get(code, code))) for code in codes),
    )


def _jsonstat_values(
    value: object, sizes: list[int], fail: Callable[[str], LoadError]
) -> np.ndarray:
    expected = math.prod(sizes)
    if isinstance(value, dict):  # the sparse form: {"position": value}
        cells: list[object] = [None] * expected
        for position, item in value.items():
            if not str(position).isdigit() or int(position) >= expected:
                raise fail(f"value position {position!r} is outside 0..{expected - 1}")
            cells[int(position)] = item
        value = cells
    if not isinstance(value, list):
        raise fail("'value' must be an array (or an object of positions)")
    if len(value) != expected:
        shape = " x ".join(str(s) for s in sizes)
        raise fail(f"'value' has {len(value)} values, but size {shape} needs {expected}")
    cube = np.empty(expected, dtype=object)
    cube[:] = value
    return cube.reshape(sizes)


def _jsonstat_axes(
    doc: dict[str, Any], ids: list[str], fail: Callable[[str], LoadError]
) -> tuple[int, int]:
    """The region and time dimensions: by ``role`` when given, else by SSB's names."""
    declared_roles = doc.get("role")
    role: dict[str, Any] = declared_roles if isinstance(declared_roles, dict) else {}

    def find(kind: str, names: tuple[str, ...]) -> int:
        declared = [k for k in role.get(kind, []) if k in ids]
        named = [
            k for k in ids if k.casefold() in names or (kind == "geo" and "region" in k.casefold())
        ]
        found = (declared or named or [None])[0]
        if found is None:
            raise fail(
                f"no {'region' if kind == 'geo' else 'time'} dimension "
                f"(looked for role.{kind} and {', '.join(names)})"
            )
        return ids.index(found)

    return find("geo", ("region",)), find("time", ("tid", "år", "time", "year"))


# --- a JSON array of municipalities -----------------------------------------------------------

_ID_KEYS = ("id", "kommunenummer", "number", "kode", "code")
_NAME_KEYS = ("name", "name_no", "navn", "kommunenavn")
_POPULATION_KEYS = ("population", "folketall", "befolkning", "folkemengde")


#: The roles the loaders' options name -> the array's keys they replace.
ARRAY_ROLES = ("code", "name", "population")


def parse_municipality_array(
    items: list[Any], path: Path, year: int | None, fields: Mapping[str, str] | None = None
) -> StatisticsFile:
    """``[{"id": "0301", "name": "Oslo", "population": 717710}, …]``: population in ``year``,
    else in the year the file name gives ("…-2024.json"). ``fields``: ``code``, ``name`` or
    ``population`` -> the key that holds it, for another publisher's keys."""
    year = year if year is not None else _year_from_name(path)
    chosen = dict(fields or {})
    unknown = set(chosen) - set(ARRAY_ROLES)
    if unknown:
        raise _error(
            path,
            f"no column {sorted(unknown)[0]!r}: a municipality array takes --code-field, "
            "--name-field and --population-field",
            "UNKNOWN_COLUMN",
        )
    keys = {
        "code": (chosen["code"],) if "code" in chosen else _ID_KEYS,
        "name": (chosen["name"],) if "name" in chosen else _NAME_KEYS,
        "population": (chosen["population"],) if "population" in chosen else _POPULATION_KEYS,
    }
    rows = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise _error(path, "not an object", "UNKNOWN_FORMAT", record=f"item {index + 1}")
        rows.append(_array_row(item, index, year, path, keys))
    if not rows:
        raise _error(path, "the array is empty", "EMPTY_FILE")
    return StatisticsFile("JSON array of municipalities", frozenset({"population"}), rows)


def _year_from_name(path: Path) -> int:
    found = re.findall(r"(?<!\d)(19\d\d|20\d\d)(?!\d)", path.stem)
    if len(found) != 1:
        raise _error(
            path,
            "the file does not say which year its figures are for; give the year (year=2024)",
            "MISSING_YEAR",
        )
    return int(found[0])


def _first(item: dict[str, Any], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    return next(((key, item[key]) for key in keys if key in item), (None, None))


def _array_row(
    item: dict[str, Any], index: int, year: int, path: Path, keys: Mapping[str, tuple[str, ...]]
) -> SourceRow:
    id_key, raw_id = _first(item, keys["code"])
    names = tuple(str(item[k]) for k in keys["name"] if isinstance(item.get(k), str))
    record = f"item {index + 1} ({' '.join(str(p) for p in (raw_id, *names[:1]) if p)})"
    if id_key is None:
        raise _error(
            path,
            f"no municipality number: none of the keys {', '.join(keys['code'])} (the item's "
            f"keys: {', '.join(map(str, item))}); name the one that holds it with "
            "--code-field FIELD",
            "MISSING_FIELD",
            record=record,
            field=keys["code"][0],
        )
    try:
        number = normalise_number(raw_id)
    except NumberError as error:
        raise _error(
            path,
            str(error),
            "MISSING_NUMBER" if error.missing else "BAD_NUMBER",
            record=record,
            field=id_key or keys["code"][0],
        ) from error
    population_key, raw_population = _first(item, keys["population"])
    if population_key is None:
        raise _error(
            path,
            f"no population: none of the keys {', '.join(keys['population'])} (the item's "
            f"keys: {', '.join(map(str, item))}); name the one that holds it with "
            "--population-field FIELD",
            "MISSING_FIELD",
            record=record,
            field=keys["population"][0],
        )
    try:
        population = parse_count(raw_population)
    except ValueError as error:
        raise _error(path, str(error), "BAD_VALUE", record=record, field=population_key) from error
    values = {} if population is None else {(year, "population"): population}
    return SourceRow(record, number, names, values)
