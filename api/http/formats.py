"""Writers for the exports: CSV and GeoJSON, a batch of rows at a time, as bytes.

- GeoJSON (RFC 7946): a FeatureCollection in WGS84 longitude/latitude (CRS84, so no ``crs``
  member), one feature per line, written piece by piece: ``head()``, then ``rows()`` per batch,
  then ``tail()``. The geometry is a Point from ``lon``/``lat``, or the ``geometry`` column's
  GeoJSON as it is (a population unit's polygon); a row without one has ``"geometry": null``.
- CSV: UTF-8 with a byte-order mark (Excel needs it to read UTF-8), a header row, CRLF line ends
  (RFC 4180), lists joined with ``|``. The separator is ``,`` (``;`` on request), the decimal
  mark ``.`` (``,`` on request, with ``;``). A text cell that starts with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return gets a leading ``'`` so a spreadsheet shows it instead of
  running it as a formula (OWASP's advice on CSV injection): the directory is written by many.

Ids are the API's global ids (the same as GraphQL's ``id``), so a row can be refetched with
``node(id:)``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol

import orjson

from api.checks import encode_global_id
from geo.queries.export import ExportColumn

#: Decimal places of exported coordinates: 1e-7 degrees is about 1 cm.
COORDINATE_DECIMALS = 7
#: A column with a GeoJSON geometry as text: the features' geometry (CSV leaves it out).
GEOJSON_GEOMETRY = "geometry"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Row = Sequence[Any]
Convert = Callable[[Any], Any]


class Writer(Protocol):
    media_type: str
    extension: str

    def head(self) -> bytes: ...

    def rows(self, batch: Sequence[Row]) -> bytes: ...

    def tail(self) -> bytes: ...


def _global_id(type_name: str) -> Convert:
    def convert(value: Any) -> str | None:
        return None if value is None else str(encode_global_id(type_name, str(value)))

    return convert


def _coordinate(value: float | None) -> float | None:
    return None if value is None else round(value, COORDINATE_DECIMALS)


def _then(first: Convert, second: Convert) -> Convert:
    return lambda value: second(first(value))


def _values(columns: Sequence[ExportColumn], ids: Mapping[str, str]) -> list[Convert | None]:
    """Per column, what turns a database value into the exported one before formatting:
    global ids for id columns, rounding for lon/lat, nothing (None) for the rest."""
    out: list[Convert | None] = []
    for column in columns:
        if column.name in ids:
            out.append(_global_id(ids[column.name]))
        elif column.name in ("lon", "lat"):
            out.append(_coordinate)
        else:
            out.append(None)
    return out


# --- CSV --------------------------------------------------------------------------------------


def _text(value: str | None) -> str:
    if value is None:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _number(decimal: str) -> Convert:
    if decimal == ".":
        return lambda value: "" if value is None else str(value)
    return lambda value: "" if value is None else str(value).replace(".", decimal)


def _boolean(value: bool | None) -> str:
    return "" if value is None else "true" if value else "false"


def _listed(value: list[Any] | None) -> str:
    return "" if value is None else _text("|".join(str(item) for item in value))


def _timestamp(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def _csv_cell(python_type: type, decimal: str) -> Convert:
    if python_type is str:
        return _text
    if python_type is bool:
        return _boolean
    if python_type in (int, float, Decimal):
        return _number(decimal)
    if python_type is list:
        return _listed
    if python_type is datetime:
        return _timestamp
    if python_type is date:
        return _day
    return lambda value: "" if value is None else _text(str(value))


@dataclass
class CsvWriter:
    """CSV with a BOM and a header; ``separator`` ``,`` or ``;``, ``decimal`` ``.`` or ``,``."""

    columns: Sequence[ExportColumn]
    ids: Mapping[str, str]
    separator: str = ","
    decimal: str = "."
    media_type: str = "text/csv; charset=utf-8"
    extension: str = "csv"
    _convert: list[tuple[int, Convert]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._convert = []
        for index, (column, value) in enumerate(
            zip(self.columns, _values(self.columns, self.ids), strict=True)
        ):
            if column.name == GEOJSON_GEOMETRY:  # CSV has the WKT instead
                continue
            cell = _csv_cell(str if column.name in self.ids else column.type, self.decimal)
            self._convert.append((index, cell if value is None else _then(value, cell)))

    def _writer(self, buffer: io.StringIO) -> Any:
        return csv.writer(buffer, delimiter=self.separator, lineterminator="\r\n")

    def head(self) -> bytes:
        buffer = io.StringIO()
        self._writer(buffer).writerow([self.columns[index].name for index, _ in self._convert])
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")

    def rows(self, batch: Sequence[Row]) -> bytes:
        buffer = io.StringIO()
        writerow = self._writer(buffer).writerow
        convert = self._convert
        for row in batch:
            writerow([f(row[index]) for index, f in convert])
        return buffer.getvalue().encode("utf-8")

    def tail(self) -> bytes:
        return b""


# --- GeoJSON ----------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@dataclass
class GeoJsonWriter:
    """An RFC 7946 FeatureCollection. The geometry is the ``geometry`` column (GeoJSON text,
    e.g. a population unit's polygon) when there is one, else a Point from ``lon``/``lat``; the
    properties are the other columns. One writer per response: it remembers whether a feature
    was written (for the commas)."""

    columns: Sequence[ExportColumn]
    ids: Mapping[str, str]
    id_column: str = "id"
    media_type: str = "application/geo+json"
    extension: str = "geojson"
    _written: bool = False
    _convert: list[tuple[str, Convert | None]] = field(init=False, repr=False)
    _shaped: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._convert = [
            (column.name, value)
            for column, value in zip(self.columns, _values(self.columns, self.ids), strict=True)
        ]
        self._shaped = any(column.name == GEOJSON_GEOMETRY for column in self.columns)

    def head(self) -> bytes:
        return b'{"type":"FeatureCollection","features":['

    def _feature(self, row: Row) -> bytes:
        properties = {
            name: value if f is None else f(value)
            for (name, f), value in zip(self._convert, row, strict=True)
        }
        lon, lat = properties.pop("lon"), properties.pop("lat")
        geometry: Any
        if self._shaped:
            shape = properties.pop(GEOJSON_GEOMETRY)
            properties.pop("wkt", None)
            geometry = None if shape is None else orjson.Fragment(shape)
        else:
            geometry = (
                None if lon is None or lat is None else {"type": "Point", "coordinates": [lon, lat]}
            )
        return orjson.dumps(
            {
                "type": "Feature",
                "id": properties.get(self.id_column),
                "geometry": geometry,
                "properties": properties,
            },
            default=_json_default,
            option=orjson.OPT_UTC_Z,
        )

    def rows(self, batch: Sequence[Row]) -> bytes:
        if not batch:
            return b""
        body = b",\n".join(self._feature(row) for row in batch)
        lead = b",\n" if self._written else b"\n"
        self._written = True
        return lead + body

    def tail(self) -> bytes:
        return b"\n]}\n"
