"""OGC API - Features at ``/ogc``: Part 1 (Core, GeoJSON) and Part 2 (CRS by reference).

QGIS adds it as "WFS / OGC API - Features" with the URL ``http://host:8000/ogc``; ArcGIS Pro as
an "OGC API Server". See docs/maps-and-gis.md.

- ``/ogc`` landing page, ``/ogc/conformance``, ``/ogc/api`` (an OpenAPI 3.0 description),
  ``/ogc/collections``, ``/ogc/collections/{id}``, ``/ogc/collections/{id}/items`` and
  ``/ogc/collections/{id}/items/{featureId}``.
- Items: ``bbox`` (+ ``bbox-crs``), ``limit`` (default 10, at most 1000: larger is capped),
  ``offset`` with ``next``/``prev`` links, ``crs`` (CRS84 by default; EPSG:4326, 25833, 25832,
  3857) answered with a ``Content-Crs`` header, ``numberMatched``/``numberReturned``, and
  property filters: the directory exports' parameters for venues, activities and councils
  (``category``, ``municipality``, ``freeOnly``, …), and each other collection's own
  (municipalities: ``county``, ``number``; areas: ``kind``, ``municipality``, ``code``;
  initiatives: ``municipality``). ``datetime`` is accepted and ignored: no collection has a
  temporal extent.
- JSON only (``f=json`` or no ``f``). A bad parameter is a 400 and an unknown collection or
  feature a 404, as OGC's exception JSON (``code``, ``description``) with hverdag's
  ``error`` object beside it (``code``, ``field``, ``reason``).
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.errors import BadUserInput, ErrorCode, outage_code
from api.http.params import FILTER_PARAMETERS, directory_filter
from geo.filters import DirectoryFilter
from geo.queries.features import (
    COLLECTIONS,
    CRS84,
    CRS_SRIDS,
    STORAGE_CRS,
    Collection,
    Feature,
    Query,
    extent,
    one,
    page,
)
from geo.reader import RequestReads

PREFIX = "/ogc"
JSON, GEOJSON, OPENAPI = (
    "application/json",
    "application/geo+json",
    "application/vnd.oai.openapi+json;version=3.0",
)
DEFAULT_LIMIT, MAX_LIMIT = 10, 1000
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]
_COMMON = frozenset({"f"})
_ITEMS = frozenset({"f", "bbox", "bbox-crs", "limit", "offset", "crs", "datetime"})
#: Seconds a collection's computed extent is reused (it is a scan of the table).
EXTENT_TTL_S = 300.0


class OgcError(Exception):
    def __init__(self, status: int, code: str, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.status, self.code, self.reason, self.field = status, code, reason, field


def _json(body: Any, media_type: str = JSON, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body, default=_default), media_type=media_type, headers=headers)


def _default(value: Any) -> Any:
    # Decimal (an activity's cost) and anything else orjson leaves: as a number or text.
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _error(exc: OgcError) -> Response:
    details = {"field": exc.field} if exc.field else {}
    return Response(
        orjson.dumps(
            {
                "code": exc.code,
                "description": exc.reason,
                "error": {"code": exc.code, **details, "reason": exc.reason},
            }
        ),
        status_code=exc.status,
        media_type=JSON,
    )


def _bad(reason: str, field: str) -> OgcError:
    return OgcError(400, ErrorCode.BAD_USER_INPUT, reason, field)


def _base(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}{PREFIX}"


def _check_params(request: Request, allowed: frozenset[str]) -> None:
    for name in request.query_params:
        if name not in allowed:
            raise _bad(
                f"unknown parameter {name!r}; this resource takes {', '.join(sorted(allowed))}",
                name,
            )
    fmt = request.query_params.get("f")
    if fmt is not None and fmt != "json":
        raise _bad(f"f must be json (the only format served), got {fmt!r}", "f")


def _collection(request: Request) -> Collection:
    cid = request.path_params["collection"]
    if cid not in COLLECTIONS:
        raise OgcError(
            404,
            ErrorCode.NOT_FOUND,
            f"no collection {cid!r}; the collections are {', '.join(COLLECTIONS)}",
            "collectionId",
        )
    return COLLECTIONS[cid]


def _link(href: str, rel: str, media_type: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media_type, "title": title}


# --- landing page, conformance, API description ------------------------------------------------


async def landing(request: Request) -> Response:
    _check_params(request, _COMMON)
    base = _base(request)
    return _json(
        {
            "title": "hverdag: OGC API - Features",
            "description": "The directory of everyday integration in Norway (venues, activities, "
            "immigrant councils) with municipalities and population units.",
            "links": [
                _link(f"{base}?f=json", "self", JSON, "This document"),
                _link(f"{base}/api?f=json", "service-desc", OPENAPI, "The API definition"),
                _link(f"{base}/conformance?f=json", "conformance", JSON, "Conformance classes"),
                _link(f"{base}/collections?f=json", "data", JSON, "The feature collections"),
            ],
        }
    )


async def conformance(request: Request) -> Response:
    _check_params(request, _COMMON)
    return _json({"conformsTo": CONFORMANCE})


async def api_definition(request: Request) -> Response:
    _check_params(request, _COMMON)
    return _json(_openapi(_base(request)), OPENAPI)


def _openapi(base: str) -> dict[str, Any]:
    def param(
        name: str, schema: dict[str, Any], where: str = "query", required: bool = False
    ) -> dict[str, Any]:
        return {"name": name, "in": where, "required": required, "schema": schema}

    ok = {
        "200": {"description": "OK"},
        "400": {"description": "A bad parameter"},
        "404": {"description": "No such collection or feature"},
    }
    collection_id = param(
        "collectionId", {"type": "string", "enum": list(COLLECTIONS)}, "path", True
    )
    items = [
        collection_id,
        param("bbox", {"type": "array", "items": {"type": "number"}}),
        param("bbox-crs", {"type": "string", "enum": list(CRS_SRIDS)}),
        param("crs", {"type": "string", "enum": list(CRS_SRIDS)}),
        param(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        ),
        param("offset", {"type": "integer", "minimum": 0, "default": 0}),
        param("datetime", {"type": "string"}),
    ]
    return {
        "openapi": "3.0.3",
        "info": {"title": "hverdag OGC API - Features", "version": "1.0"},
        "servers": [{"url": base}],
        "paths": {
            "/": {"get": {"summary": "Landing page", "responses": ok}},
            "/conformance": {"get": {"summary": "Conformance classes", "responses": ok}},
            "/collections": {"get": {"summary": "The collections", "responses": ok}},
            "/collections/{collectionId}": {
                "get": {"summary": "One collection", "parameters": [collection_id], "responses": ok}
            },
            "/collections/{collectionId}/items": {
                "get": {"summary": "Features of a collection", "parameters": items, "responses": ok}
            },
            "/collections/{collectionId}/items/{featureId}": {
                "get": {
                    "summary": "One feature",
                    "responses": ok,
                    "parameters": [
                        collection_id,
                        param("featureId", {"type": "string"}, "path", True),
                        param("crs", {"type": "string", "enum": list(CRS_SRIDS)}),
                    ],
                }
            },
        },
    }


# --- collections ------------------------------------------------------------------------------


class _Extents:
    """Each collection's CRS84 extent, recomputed at most every EXTENT_TTL_S seconds."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[float, Any]] = {}

    async def get(self, request: Request, collection: Collection) -> Any:
        cached = self._cache.get(collection.id)
        if cached is not None and time.monotonic() - cached[0] < EXTENT_TTL_S:
            return cached[1]
        box = await _reads(request).run_async(extent, collection)
        self._cache[collection.id] = (time.monotonic(), box)
        return box


def _describe(base: str, collection: Collection, box: Any) -> dict[str, Any]:
    href = f"{base}/collections/{collection.id}"
    described: dict[str, Any] = {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": "feature",
        "links": [
            _link(f"{href}?f=json", "self", JSON, collection.title),
            _link(f"{href}/items?f=json", "items", GEOJSON, f"{collection.title}: items"),
        ],
        "crs": list(CRS_SRIDS),
        "storageCrs": STORAGE_CRS,
    }
    if box is not None:
        described["extent"] = {"spatial": {"bbox": [[round(v, 6) for v in box]], "crs": CRS84}}
    return described


def _collections_views(extents: _Extents) -> tuple[Any, Any]:
    async def collections(request: Request) -> Response:
        _check_params(request, _COMMON)
        base = _base(request)
        described = [
            _describe(base, c, await extents.get(request, c)) for c in COLLECTIONS.values()
        ]
        return _json(
            {
                "links": [_link(f"{base}/collections?f=json", "self", JSON, "The collections")],
                "collections": described,
                "crs": list(CRS_SRIDS),
            }
        )

    async def collection(request: Request) -> Response:
        _check_params(request, _COMMON)
        chosen = _collection(request)
        return _json(_describe(_base(request), chosen, await extents.get(request, chosen)))

    return collections, collection


# --- items ------------------------------------------------------------------------------------


def _integer(request: Request, name: str, default: int, minimum: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise _bad(f"{name} must be a whole number, got {text!r}", name) from None
    if value < minimum:
        raise _bad(f"{name} must be at least {minimum}, got {value}", name)
    return value


def _crs(request: Request, name: str) -> str:
    value = request.query_params.get(name, CRS84)
    if value.startswith("[") and value.endswith("]"):  # a safe CURIE: [EPSG:25833]
        authority, _, code = value[1:-1].partition(":")
        value = f"http://www.opengis.net/def/crs/{authority}/0/{code}"
    if value not in CRS_SRIDS:
        raise _bad(f"{name} must be one of {', '.join(CRS_SRIDS)}, got {value!r}", name)
    return value


def _bbox(request: Request) -> tuple[float, float, float, float] | None:
    text = request.query_params.get("bbox")
    if text is None:
        return None
    try:
        numbers = [float(part) for part in text.split(",")]
    except ValueError:
        raise _bad(f"bbox must be 4 numbers separated by commas, got {text!r}", "bbox") from None
    if len(numbers) == 6:  # 3D: the heights do not matter for 2D features
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise _bad(f"bbox must be 4 (or 6) finite numbers, got {text!r}", "bbox")
    x0, y0, x1, y1 = numbers
    if x0 > x1 or y0 > y1:
        raise _bad(
            "bbox must be minx,miny,maxx,maxy with min <= max (no box across the "
            f"antimeridian), got {text!r}",
            "bbox",
        )
    return x0, y0, x1, y1


def _query(request: Request, collection: Collection) -> Query:
    allowed = _ITEMS | (
        FILTER_PARAMETERS if collection.directory else frozenset(collection.equality)
    )
    _check_params(request, allowed)
    params = request.query_params
    filt = DirectoryFilter()
    if collection.directory:
        try:
            filt = directory_filter(params)
        except BadUserInput as exc:
            raise _bad(exc.message, str(exc.details.get("field", ""))) from None
    equal = {name: params[name] for name in collection.equality if name in params}
    if "bbox-crs" in params and "bbox" not in params:
        raise _bad("bbox-crs needs a bbox", "bbox-crs")
    return Query(
        directory=filt,
        equal=equal,
        bbox=_bbox(request),
        bbox_crs=_crs(request, "bbox-crs"),
        crs=_crs(request, "crs"),
        limit=min(_integer(request, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT),
        offset=_integer(request, "offset", 0, 0),
    )


def _items_href(request: Request, collection: Collection, **changes: Any) -> str:
    params = dict(request.query_params)
    params.update({k: str(v) for k, v in changes.items()})
    params.setdefault("f", "json")
    return f"{_base(request)}/collections/{collection.id}/items?{urlencode(params)}"


def _feature_json(base: str, collection: Collection, feature: Feature) -> dict[str, Any]:
    href = f"{base}/collections/{collection.id}"
    return {
        "type": "Feature",
        "id": feature.id,
        "geometry": feature.geometry,
        "properties": feature.properties,
        "links": [
            _link(f"{href}/items/{feature.id}?f=json", "self", GEOJSON, "This feature"),
            _link(f"{href}?f=json", "collection", JSON, collection.title),
        ],
    }


def _reads(request: Request) -> RequestReads:
    """The request's reads (geo.reader): the read replica, the outage breaker, the retry."""
    return request.state.reader.for_request()  # type: ignore[no-any-return]


def _content_crs(crs: str) -> dict[str, str]:
    return {"Content-Crs": f"<{crs}>"}


async def items(request: Request) -> Response:
    collection = _collection(request)
    query = _query(request, collection)
    features, matched = await _reads(request).run_async(page, collection, query)
    base = _base(request)
    links = [
        _link(_items_href(request, collection), "self", GEOJSON, "This page"),
        _link(f"{base}/collections/{collection.id}?f=json", "collection", JSON, collection.title),
    ]
    if query.offset + len(features) < matched:
        links.append(
            _link(
                _items_href(
                    request, collection, offset=query.offset + query.limit, limit=query.limit
                ),
                "next",
                GEOJSON,
                "Next page",
            )
        )
    if query.offset > 0:
        links.append(
            _link(
                _items_href(
                    request,
                    collection,
                    offset=max(query.offset - query.limit, 0),
                    limit=query.limit,
                ),
                "prev",
                GEOJSON,
                "Previous page",
            )
        )
    return _json(
        {
            "type": "FeatureCollection",
            "features": [_feature_json(base, collection, f) for f in features],
            "numberMatched": matched,
            "numberReturned": len(features),
            "timeStamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "links": links,
        },
        GEOJSON,
        _content_crs(query.crs),
    )


async def item(request: Request) -> Response:
    collection = _collection(request)
    _check_params(request, frozenset({"f", "crs"}))
    crs = _crs(request, "crs")
    text = request.path_params["feature"]
    missing = OgcError(
        404,
        ErrorCode.NOT_FOUND,
        f"no feature {text!r} in collection {collection.id!r}",
        "featureId",
    )
    fid: Any = text
    if collection.fid_type is int:
        if not text.isdigit():
            raise missing
        fid = int(text)
    feature = await _reads(request).run_async(one, collection, fid, crs)
    if feature is None:
        raise missing
    return _json(_feature_json(_base(request), collection, feature), GEOJSON, _content_crs(crs))


def _guarded(view: Any) -> Any:
    """OgcError as its JSON; a database outage as 503/504 with its code."""

    async def guarded(request: Request) -> Response:
        try:
            return await view(request)  # type: ignore[no-any-return]
        except OgcError as exc:
            return _error(exc)
        except Exception as exc:
            if (outage := outage_code(exc)) is None:
                raise
            code, reason = outage
            return _error(OgcError(504 if code == ErrorCode.TIMEOUT else 503, code, reason))

    return guarded


def ogc_routes() -> list[Route]:
    collections, collection = _collections_views(_Extents())
    views = [
        ("", landing),
        ("/", landing),
        ("/conformance", conformance),
        ("/api", api_definition),
        ("/collections", collections),
        ("/collections/{collection}", collection),
        ("/collections/{collection}/items", items),
        ("/collections/{collection}/items/{feature}", item),
    ]
    return [Route(f"{PREFIX}{path}", _guarded(view), methods=["GET"]) for path, view in views]
