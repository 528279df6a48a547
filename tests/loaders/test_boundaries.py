"""Boundary loaders: the real national files, other formats and CRSs, and every refusal."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pyogrio.raw
import pytest
import shapely
import sqlalchemy as sa
from pyproj import CRS, Transformer

from geo.tables import county, municipality
from loaders.boundaries import load_counties, load_municipalities
from loaders.report import LoadError
from tests.conftest import DATA_DIR
from tests.loaders._support import refused, snapshot

MUNICIPALITIES = DATA_DIR / "kommuner-2020.geojson"
COUNTIES = DATA_DIR / "fylker-2020.geojson"
# Oslo, Halden, Bodø, Sør-Varanger (far east of zone 33), and Bømlo and Gulen (both invalid).
SAMPLE = (301, 3001, 1804, 5444, 4613, 4635)
INVALID_IN_SAMPLE = {"4613", "4635"}


def _stored(conn: sa.Connection, numbers: list[str]) -> dict[str, tuple[str, shapely.Geometry]]:
    wkb = sa.cast(sa.func.ST_AsBinary(municipality.c.geom), sa.LargeBinary)
    rows = conn.execute(
        sa.select(municipality.c.number, municipality.c.name, wkb).where(
            municipality.c.number.in_(numbers)
        )
    )
    return {number: (name, shapely.from_wkb(bytes(data))) for number, name, data in rows}


# --- the real data, as loaded by the session fixture --------------------------------------------


def test_all_municipalities_and_counties_are_stored(loaded_conn: sa.Connection) -> None:
    assert loaded_conn.execute(sa.select(sa.func.count()).select_from(municipality)).scalar() == 356
    assert loaded_conn.execute(sa.select(sa.func.count()).select_from(county)).scalar() == 11
    names = dict(loaded_conn.execute(sa.select(municipality.c.number, municipality.c.name)).all())
    assert names["0301"] == "Oslo"
    assert names["3001"] == "Halden"
    assert all(len(number) == 4 and number.isdigit() for number in names)
    counties = dict(loaded_conn.execute(sa.select(county.c.number, county.c.name)).all())
    assert counties["03"] == "Oslo"
    assert counties["30"] == "Viken"


@pytest.mark.parametrize("table", [municipality, county], ids=["municipality", "county"])
def test_stored_geometries_are_valid_multipolygons_in_25833(
    loaded_conn: sa.Connection, table: sa.Table
) -> None:
    row = loaded_conn.execute(
        sa.select(
            sa.func.count(),
            sa.func.count().filter(sa.func.ST_IsValid(table.c.geom)),
            sa.func.count().filter(sa.func.GeometryType(table.c.geom) == "MULTIPOLYGON"),
            sa.func.count().filter(sa.func.ST_SRID(table.c.geom) == 25833),
            sa.func.count().filter(sa.func.ST_IsEmpty(table.c.geom)),
        )
    ).one()
    assert row == (row[0], row[0], row[0], row[0], 0)


def test_oslo_has_its_real_area(loaded_conn: sa.Connection) -> None:
    """A check of the transform: Oslo is 454 km² (SSB), 453 km² in the UTM 33 plane."""
    area = loaded_conn.execute(
        sa.select(sa.func.ST_Area(municipality.c.geom)).where(municipality.c.number == "0301")
    ).scalar_one()
    assert 450e6 < area < 456e6


def test_municipalities_tile_their_county(loaded_conn: sa.Connection) -> None:
    """Both files come from one source (generalised apart): each county's municipalities cover
    about the county's area, which checks the numbers and both transforms."""
    summed = dict(
        loaded_conn.execute(
            sa.select(
                municipality.c.county_number, sa.func.sum(sa.func.ST_Area(municipality.c.geom))
            ).group_by(municipality.c.county_number)
        ).all()
    )
    counties = dict(
        loaded_conn.execute(sa.select(county.c.number, sa.func.ST_Area(county.c.geom))).all()
    )
    assert summed.keys() == counties.keys()
    for number, area in counties.items():
        assert summed[number] == pytest.approx(area, rel=0.01), number


# --- the same municipalities in other formats and CRSs ------------------------------------------


def _sample() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    _, _, wkb, (numbers, names) = pyogrio.raw.read(
        MUNICIPALITIES, where=f"kommunenummer IN ({', '.join(map(str, SAMPLE))})"
    )
    return shapely.from_wkb(wkb), numbers, names


def _single_parts_as_polygons(geoms: np.ndarray) -> np.ndarray:
    """Write one-part MultiPolygons as Polygons, so the loader has to promote them."""
    return np.array(
        [shapely.get_geometry(g, 0) if shapely.get_num_geometries(g) == 1 else g for g in geoms],
        dtype=object,
    )


def _write_sample(
    path: Path,
    driver: str,
    epsg: int,
    number_field: str,
    name_field: str,
    *,
    numbers_as_text: bool = False,
    **options: str,
) -> Path:
    geoms, numbers, names = _sample()
    transformer = Transformer.from_crs(4326, epsg, always_xy=True)
    moved = shapely.transform(geoms, lambda x, y: transformer.transform(x, y), interleaved=False)
    numbers_out = (
        np.array([f"{n:04d}" for n in numbers], dtype=object) if numbers_as_text else numbers
    )
    pyogrio.raw.write(
        path,
        shapely.to_wkb(_single_parts_as_polygons(moved)),
        [numbers_out, names],
        [number_field, name_field],
        driver=driver,
        crs=f"EPSG:{epsg}",
        geometry_type="Unknown" if driver != "ESRI Shapefile" else "Polygon",
        dataset_options=options or None,
    )
    return path


FORMATS = [
    # driver, file, EPSG, number field, name field, numbers as text, dataset options
    ("GPKG", "kommuner.gpkg", 25832, "kommunenummer", "navn", True, {}),
    # a shapefile cuts "kommunenummer" to "kommunenum"
    ("ESRI Shapefile", "kommuner.shp", 4258, "kommunenummer", "navn", False, {}),
    # GML 3.2 in EPSG:4258 puts latitude first
    ("GML", "kommuner.gml", 4258, "kommunenr", "kommunenavn", False, {"FORMAT": "GML3.2"}),
    ("GML", "kommuner-utm33.gml", 25833, "KOMM", "navn", False, {}),
    ("FlatGeobuf", "kommuner.fgb", 3035, "komm", "navn", True, {}),
    ("GeoJSON", "kommuner-utm32.geojson", 32632, "KOMM", "kommunenavn", True, {}),
]


@pytest.mark.filterwarnings(
    "ignore:Normalized/laundered field name", "ignore:Layer name .* adjusted"
)
@pytest.mark.parametrize(
    ("driver", "name", "epsg", "number_field", "name_field", "as_text", "options"),
    FORMATS,
    ids=[f"{f[0]}-{f[2]}" for f in FORMATS],
)
def test_other_formats_and_crs_give_the_same_geometries(
    loaded_conn: sa.Connection,
    fresh_engine: sa.Engine,
    tmp_path: Path,
    driver: str,
    name: str,
    epsg: int,
    number_field: str,
    name_field: str,
    as_text: bool,
    options: dict[str, str],
) -> None:
    """Compared with the bundled GeoJSON's load: same names, areas within 0.01 %, and no
    point more than 0.5 m off (the round trip through another CRS moves vertices by µm)."""
    numbers = [f"{n:04d}" for n in SAMPLE]
    reference = _stored(loaded_conn, numbers)
    path = _write_sample(
        tmp_path / name, driver, epsg, number_field, name_field, numbers_as_text=as_text, **options
    )

    with fresh_engine.begin() as conn:
        report = load_municipalities(conn, path)
        loaded = _stored(conn, numbers)

    assert report.inserted == len(SAMPLE)
    repaired = {w.split(":")[0].split()[-2] for w in report.warnings if "repaired" in w}
    # Bømlo and Gulen are invalid as published; a trip through another CRS may add more.
    assert INVALID_IN_SAMPLE <= repaired <= set(numbers)
    assert report.repaired == len(repaired)
    for number in numbers:
        (ref_name, ref_geom), (got_name, got_geom) = reference[number], loaded[number]
        assert got_name == ref_name
        assert got_geom.geom_type == "MultiPolygon"
        assert got_geom.is_valid
        assert got_geom.area == pytest.approx(ref_geom.area, rel=1e-4), number
        assert shapely.hausdorff_distance(got_geom, ref_geom) < 0.5, number


@pytest.mark.filterwarnings("ignore:Normalized/laundered field name")
def test_a_zipped_shapefile_loads(fresh_engine: sa.Engine, tmp_path: Path) -> None:
    """As Geonorge ships them: the shapefile's parts in a .zip."""
    shp = _write_sample(tmp_path / "kommuner.shp", "ESRI Shapefile", 25833, "kommunenummer", "navn")
    archive = tmp_path / "Kommuner.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for part in tmp_path.glob("kommuner.*"):
            zipped.write(part, part.name)
    shp.unlink()
    with fresh_engine.begin() as conn:
        report = load_municipalities(conn, archive)
    assert report.inserted == len(SAMPLE)


def test_a_changed_file_updates_only_what_changed(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    geoms, numbers, names = _sample()
    names = names.copy()
    names[list(numbers).index(301)] = "Oslo kommune"
    geoms = geoms.copy()
    halden = list(numbers).index(3001)
    geoms[halden] = shapely.buffer(geoms[halden], 0.001)
    path = tmp_path / "endret.geojson"
    pyogrio.raw.write(
        path,
        shapely.to_wkb(geoms),
        [numbers, names],
        ["kommunenummer", "navn"],
        driver="GeoJSON",
        crs="EPSG:4326",
        geometry_type="MultiPolygon",
    )
    before = {row.number: row for row in scratch_conn.execute(sa.select(municipality))}

    report = load_municipalities(scratch_conn, path, source="test")

    assert (report.inserted, report.updated, report.unchanged) == (0, 2, len(SAMPLE) - 2)
    after = {row.number: row for row in scratch_conn.execute(sa.select(municipality))}
    for number in ("0301", "3001"):
        assert after[number].version == before[number].version + 1
        assert after[number].updated_at > before[number].updated_at
        assert after[number].source == "test"
    assert after["0301"].name == "Oslo kommune"
    assert after["1804"] == before["1804"]
    assert any("350 municipalities already stored" in w for w in report.warnings)


# --- refusals: each names its record, and nothing is written ------------------------------------

OSLO_SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[10.70, 59.90], [10.80, 59.90], [10.80, 59.95], [10.70, 59.95], [10.70, 59.90]]
    ],
}
HALDEN_SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[11.30, 59.10], [11.40, 59.10], [11.40, 59.15], [11.30, 59.15], [11.30, 59.10]]
    ],
}


def _feature(number: object, name: object, geometry: object = OSLO_SQUARE) -> dict:
    properties = {"kommunenummer": number, "navn": name}
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def _geojson(path: Path, *features: dict, crs: str | None = None) -> Path:
    doc: dict = {"type": "FeatureCollection", "features": list(features)}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(doc))
    return path


GOOD = _feature(3001, "Halden", HALDEN_SQUARE)
BAD_FEATURES = [
    ("no-number", _feature(None, "Bærum"), "MISSING_NUMBER", "feature 2 (Bærum)"),
    ("empty-number", _feature("", "Bærum"), "MISSING_NUMBER", "feature 2 (Bærum)"),
    ("five-digits", _feature(12345, "Langt"), "BAD_NUMBER", "feature 2 (Langt)"),
    ("zero", _feature(0, "Null"), "BAD_NUMBER", "feature 2 (Null)"),
    ("negative", _feature(-301, "Minus"), "BAD_NUMBER", "feature 2 (Minus)"),
    ("letter", _feature("03O1", "Oslo"), "BAD_NUMBER", "feature 2 (Oslo)"),
    ("fraction", _feature(301.5, "Oslo"), "BAD_NUMBER", "feature 2 (Oslo)"),
    (
        "duplicate",
        _feature("3001", "Halden igjen"),
        "DUPLICATE_NUMBER",
        "feature 2 (3001 Halden igjen)",
    ),
    ("no-name", _feature(301, None), "MISSING_NAME", "feature 2 (0301)"),
    ("null-geometry", _feature(301, "Oslo", None), "EMPTY_GEOMETRY", "feature 2 (0301 Oslo)"),
    (
        "empty-polygon",
        _feature(301, "Oslo", {"type": "Polygon", "coordinates": []}),
        "EMPTY_GEOMETRY",
        "feature 2 (0301 Oslo)",
    ),
    (
        "point",
        _feature(301, "Oslo", {"type": "Point", "coordinates": [10.75, 59.91]}),
        "NOT_AREAL",
        "feature 2 (0301 Oslo)",
    ),
    (
        "line",
        _feature(301, "Oslo", {"type": "LineString", "coordinates": [[10.7, 59.9], [10.8, 59.9]]}),
        "NOT_AREAL",
        "feature 2 (0301 Oslo)",
    ),
    (
        "collapsed",
        _feature(
            301,
            "Oslo",
            {
                "type": "Polygon",
                "coordinates": [[[10.7, 59.9], [10.8, 59.9], [10.7, 59.9], [10.7, 59.9]]],
            },
        ),
        "NOT_AREAL",
        "feature 2 (0301 Oslo)",
    ),
    (
        "utm-coordinates",
        _feature(
            301,
            "Oslo",
            {
                "type": "Polygon",
                "coordinates": [
                    [[262000, 6650000], [263000, 6650000], [263000, 6651000], [262000, 6650000]]
                ],
            },
        ),
        "BAD_COORDINATES",
        "feature 2 (0301 Oslo)",
    ),
]


@pytest.mark.parametrize(
    ("second", "code", "record"), [b[1:] for b in BAD_FEATURES], ids=[b[0] for b in BAD_FEATURES]
)
def test_a_bad_feature_is_named_and_nothing_is_written(
    scratch_conn: sa.Connection, tmp_path: Path, second: dict, code: str, record: str
) -> None:
    path = _geojson(tmp_path / "kommuner.geojson", GOOD, second)
    error = refused(scratch_conn, lambda: load_municipalities(scratch_conn, path), code)
    assert error.record == record
    assert error.path == str(path)


def test_a_wrongly_declared_crs_is_caught(scratch_conn: sa.Connection, tmp_path: Path) -> None:
    """Degrees in a file that says EPSG:25833 land off Norway."""
    path = _geojson(tmp_path / "k.geojson", GOOD, crs="urn:ogc:def:crs:EPSG::25833")
    error = refused(scratch_conn, lambda: load_municipalities(scratch_conn, path), "OUTSIDE_NORWAY")
    assert error.record == "feature 1 (3001 Halden)"


def test_a_missing_number_field_lists_the_fields(scratch_conn: sa.Connection) -> None:
    error = refused(
        scratch_conn, lambda: load_municipalities(scratch_conn, COUNTIES), "MISSING_FIELD"
    )
    assert "fylkesnummer" in error.reason
    assert "kommunenummer" in error.reason


def test_counties_accept_integer_numbers(scratch_conn: sa.Connection, tmp_path: Path) -> None:
    path = _geojson(
        tmp_path / "f.geojson",
        {
            "type": "Feature",
            "properties": {"fylkesnummer": 3, "navn": "Oslo"},
            "geometry": OSLO_SQUARE,
        },
    )
    report = load_counties(scratch_conn, path)
    assert report.updated == 1
    assert (
        scratch_conn.execute(sa.select(county.c.name).where(county.c.number == "03")).scalar_one()
        == "Oslo"
    )


def _no_crs(path: Path, driver: str) -> Path:
    wkb = shapely.to_wkb(np.array([shapely.from_geojson(json.dumps(HALDEN_SQUARE))]))
    pyogrio.raw.write(
        path,
        wkb,
        [np.array([3001]), np.array(["Halden"], dtype=object)],
        ["kommunenummer", "navn"],
        driver=driver,
        geometry_type="Polygon",
    )
    return path


@pytest.mark.parametrize(("driver", "name"), [("GML", "k.gml"), ("ESRI Shapefile", "k.shp")])
@pytest.mark.filterwarnings(
    "ignore:'crs' was not provided", "ignore:Normalized/laundered field name"
)
def test_a_file_without_crs_is_refused(
    scratch_conn: sa.Connection, tmp_path: Path, driver: str, name: str
) -> None:
    path = _no_crs(tmp_path / name, driver)
    for stale in tmp_path.glob("*.xsd"):
        stale.unlink()  # GDAL would otherwise find the schema, still without a CRS
    error = refused(scratch_conn, lambda: load_municipalities(scratch_conn, path), "UNKNOWN_CRS")
    assert driver in error.reason


@pytest.mark.parametrize(
    "prj",
    [
        'LOCAL_CS["Site grid",UNIT["metre",1],AXIS["X",EAST],AXIS["Y",NORTH]]',
        CRS("IAU_2015:49900").to_wkt("WKT1_ESRI"),  # a Mars CRS: another celestial body
    ],
    ids=["local-grid", "mars"],
)
@pytest.mark.filterwarnings(
    "ignore:'crs' was not provided", "ignore:Normalized/laundered field name"
)
def test_a_crs_without_transformation_is_refused(
    scratch_conn: sa.Connection, tmp_path: Path, prj: str
) -> None:
    path = _no_crs(tmp_path / "k.shp", "ESRI Shapefile")
    (tmp_path / "k.prj").write_text(prj)
    error = refused(scratch_conn, lambda: load_municipalities(scratch_conn, path), "BAD_CRS")
    assert "EPSG:25833" in error.reason


def test_unknown_formats_are_refused(scratch_conn: sa.Connection, tmp_path: Path) -> None:
    text = tmp_path / "kommuner.txt"
    text.write_text("Oslo har 700 000 innbyggere.\n")
    binary = tmp_path / "kommuner.geojson"
    binary.write_bytes(os.urandom(4096))
    statistics_csv = DATA_DIR / "ssb-innvandrere-etter-innvandringsgrunn-kommuner-2006-2021.csv"
    for path in (text, binary, DATA_DIR / "kommuner-folketall-2024.json", statistics_csv):
        error = refused(
            scratch_conn, lambda p=path: load_municipalities(scratch_conn, p), "UNKNOWN_FORMAT"
        )
        assert error.path == str(path)
        assert error.reason


def test_a_missing_file_is_refused(scratch_conn: sa.Connection, tmp_path: Path) -> None:
    refused(
        scratch_conn, lambda: load_municipalities(scratch_conn, tmp_path / "nope.gpkg"), "NOT_FOUND"
    )


def test_load_error_reads_well() -> None:
    error = LoadError(
        "no number",
        record="feature 2 (Bærum)",
        field="kommunenummer",
        code="MISSING_NUMBER",
        path="k.geojson",
    )
    assert str(error) == (
        "MISSING_NUMBER: k.geojson, feature 2 (Bærum), field 'kommunenummer': no number"
    )


def test_snapshot_sees_a_change(scratch_conn: sa.Connection) -> None:
    """The refusal checks rely on snapshot(); make sure it notices a write."""
    before = snapshot(scratch_conn)
    scratch_conn.execute(
        sa.update(municipality)
        .where(municipality.c.number == "0301")
        .values(version=municipality.c.version + 1)
    )
    assert snapshot(scratch_conn) != before


def test_kartverkets_names_by_language_give_the_norwegian_one(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    names = [{"sprak": "sme", "navn": "Oslo sámegillii"}, {"sprak": "nor", "navn": "Oslo"}]
    path = _geojson(tmp_path / "k.geojson", _feature("0301", names))
    report = load_municipalities(scratch_conn, path)
    assert report.updated == 1  # the geometry is a square now; the name is still Oslo
    assert (
        scratch_conn.execute(
            sa.select(municipality.c.name).where(municipality.c.number == "0301")
        ).scalar_one()
        == "Oslo"
    )


def test_a_file_with_its_own_field_names_loads_with_the_field_options(
    scratch_conn: sa.Connection, tmp_path: Path
) -> None:
    """A boundary file whose fields are `nr` and `kommune`: refused, naming the file's fields
    and the option; loaded with --code-field/--name-field."""
    theirs = {"type": "Feature", "geometry": HALDEN_SQUARE, "properties": {"nr": "3001"}}
    theirs["properties"]["kommune"] = "Halden"
    path = tmp_path / "grenser.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [theirs]}))
    error = refused(scratch_conn, lambda: load_municipalities(scratch_conn, path), "MISSING_FIELD")
    assert "nr, kommune" in error.reason
    assert "--code-field FIELD" in error.reason
    report = load_municipalities(scratch_conn, path, fields={"code": "nr", "name": "kommune"})
    assert report.updated + report.unchanged + report.inserted == 1
    name = scratch_conn.execute(
        sa.select(municipality.c.name).where(municipality.c.number == "3001")
    ).scalar_one()
    assert name == "Halden"
