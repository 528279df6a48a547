"""Records from an uploaded file's text (the write API's bulk import): a CSV with the loader's
columns (``lat``/``lon`` in WGS84), or a GeoJSON FeatureCollection (RFC 7946: WGS84, [lon, lat])
of points with the same properties. Each record is labelled as the loaders label them ("line 3",
"feature 2 (name)"), so an error names the row."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from typing import Any

from geo.validation import FieldError

#: Largest upload, in characters (about 5,000 venues of a municipality's booking system).
MAX_CONTENT = 5_000_000


@dataclass(frozen=True)
class TextRecord:
    label: str
    cells: dict[str, Any]

    def get(self, name: str) -> Any:
        return self.cells.get(name)


def csv_rows(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and (line number, row) pairs of CSV text (``;``, ``,`` or tab)."""
    lines = text.removeprefix("\ufeff").splitlines()
    if not lines or not lines[0].strip():
        raise FieldError("content", "the file is empty")
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=";,\t")
    except csv.Error:
        raise FieldError(
            "content",
            "the first line names no columns separated by ';', ',' or a tab: is this a CSV file?",
        ) from None
    reader = csv.DictReader(lines, dialect=dialect)
    header = [name.strip() for name in reader.fieldnames or []]
    return header, [
        (number, {k.strip(): (v or "").strip() for k, v in row.items() if k})
        for number, row in enumerate(reader, start=2)
    ]


def csv_records(text: str) -> list[TextRecord]:
    _, rows = csv_rows(_checked(text))
    return [
        TextRecord(f"line {line}", {k.lower(): v for k, v in row.items()}) for line, row in rows
    ]


def geojson_records(text: str) -> list[TextRecord]:
    """Point features as records, their coordinates as ``lat``/``lon`` cells."""
    try:
        document = json.loads(_checked(text))
    except json.JSONDecodeError as error:
        raise FieldError("content", f"is not JSON: {error}") from None
    if (
        not isinstance(document, dict)
        or document.get("type") != "FeatureCollection"
        or not isinstance(document.get("features"), list)
    ):
        raise FieldError("content", "is not a GeoJSON FeatureCollection")
    records = []
    for number, feature in enumerate(document["features"], start=1):
        properties = feature.get("properties") if isinstance(feature, dict) else None
        cells = {str(k).lower(): _cell(v) for k, v in (properties or {}).items()}
        label = f"feature {number}" + (f" ({cells['name']})" if cells.get("name") else "")
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        cells.update(_lat_lon(geometry))
        records.append(TextRecord(label, cells))
    return records


def _checked(text: str) -> str:
    if len(text) > MAX_CONTENT:
        raise FieldError(
            "content",
            f"is longer than {MAX_CONTENT} characters; load larger "
            "files with `hverdag load venues`",
        )
    return text


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return "|".join(str(v) for v in value)
    return value


def _lat_lon(geometry: Any) -> dict[str, Any]:
    """A Point's coordinates as lat/lon cells; a bad geometry as a cell the validation refuses."""
    if geometry is None:
        return {}
    coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
    if not (
        isinstance(geometry, dict)
        and geometry.get("type") == "Point"
        and isinstance(coordinates, list)
        and len(coordinates) >= 2
        and all(isinstance(c, int | float) and math.isfinite(c) for c in coordinates[:2])
    ):
        return {"lat": "not a point", "lon": "not a point"}
    return {"lon": coordinates[0], "lat": coordinates[1]}
