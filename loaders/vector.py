"""Reading any vector file GDAL reads (GeoJSON, GML, GeoPackage, Shapefile, …) with pyogrio.

pyogrio's raw reader gives WKB and numpy field arrays without pandas or geopandas. Every failure
becomes a LoadError with a code, never a GDAL traceback.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyogrio
import pyogrio.errors
import pyogrio.raw
import shapely
import shapely.errors
from shapely.geometry.base import BaseGeometry

from loaders.report import LoadError

# GeoJSON without a CRS is WGS84 by RFC 7946; other formats must declare theirs.
_DEFAULT_CRS = {"GeoJSON": "OGC:CRS84", "GeoJSONSeq": "OGC:CRS84"}
_AREAL_TYPES = ("Polygon", "MultiPolygon", "Surface", "MultiSurface", "CurvePolygon")
_PYOGRIO_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.FieldError,
    pyogrio.errors.GeometryError,
    pyogrio.errors.FeatureError,
    pyogrio.errors.CRSError,
)


@dataclass(frozen=True)
class VectorFile:
    """One layer of a vector file: shapely geometries in the file's ``crs``, fields by name."""

    driver: str
    layer: str
    crs: str
    fields: dict[str, np.ndarray]
    geometries: np.ndarray

    def __len__(self) -> int:
        return len(self.geometries)

    def field(self, *candidates: str) -> str | None:
        """The first field (case-insensitive) among ``candidates``, as the file spells it."""
        by_lower = {name.lower(): name for name in self.fields}
        return next((by_lower[c.lower()] for c in candidates if c.lower() in by_lower), None)


def _unknown_format(path: Path, reason: str) -> LoadError:
    return LoadError(reason, code="UNKNOWN_FORMAT", path=str(path))


def _choose_layer(path: Path, layer: str | None) -> str:
    """The named layer, else the first areal one (a GML often has a boundary-line layer too)."""
    layers = [(str(name), str(kind)) for name, kind in pyogrio.list_layers(path)]
    if layer is not None:
        if layer not in {name for name, _ in layers}:
            raise LoadError(
                f"no layer {layer!r}; layers: {', '.join(n for n, _ in layers)}",
                code="UNKNOWN_LAYER",
                path=str(path),
            )
        return layer
    areal = [name for name, kind in layers if kind.replace("3D ", "").startswith(_AREAL_TYPES)]
    with_geometry = [name for name, kind in layers if kind not in ("None", "")]
    chosen = next(iter(areal or with_geometry), None)
    if chosen is None:
        raise _unknown_format(path, f"{path.suffix or 'the'} file has no layer with geometries")
    return chosen


def read_vector(path: Path, *, layer: str | None = None) -> VectorFile:
    """Read one layer; raise LoadError NOT_FOUND, UNKNOWN_FORMAT or UNKNOWN_CRS."""
    if not path.exists():  # a folder is fine: a FileGDB is one
        raise LoadError("no such file", code="NOT_FOUND", path=str(path))
    try:
        with warnings.catch_warnings():
            # GDAL's notes (laundered field names and the like) are not the user's concern
            warnings.simplefilter("ignore", RuntimeWarning)
            name = _choose_layer(path, layer)
            info = pyogrio.read_info(path, layer=name)
            meta, _, wkb, values = pyogrio.raw.read(path, layer=name)
    except _PYOGRIO_ERRORS as error:
        raise _unknown_format(path, f"not a vector format GDAL reads ({error})") from error
    crs = meta["crs"] or _DEFAULT_CRS.get(info["driver"])
    if crs is None:
        raise LoadError(
            f"the {info['driver']} file declares no coordinate reference system; "
            "add one (a .prj file, an srsName) or convert the file to GeoJSON",
            code="UNKNOWN_CRS",
            path=str(path),
        )
    return VectorFile(
        driver=str(info["driver"]),
        layer=name,
        crs=str(crs),
        fields=dict(zip((str(f) for f in meta["fields"]), values, strict=True)),
        geometries=_geometries(wkb),
    )


def _geometries(wkb: np.ndarray) -> np.ndarray:
    """Shapely geometries; a WKB that GEOS cannot read (an exotic type) becomes an empty one,
    which the caller rejects with the feature's identifier."""
    try:
        return shapely.from_wkb(wkb)
    except shapely.errors.ShapelyError:
        return np.array([_one_geometry(item) for item in wkb], dtype=object)


def _one_geometry(item: bytes | None) -> BaseGeometry | None:
    try:
        return shapely.from_wkb(item)
    except shapely.errors.ShapelyError:
        return shapely.Polygon()
