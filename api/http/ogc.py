"""OGC API - Features at ``/ogc``: Part 1 (Core, GeoJSON, HTML), Part 2 (CRS by reference) and
Part 3's queryables (``/collections/{id}/queryables``, and filtering by them as query parameters).

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
- Queryables (Part 3): each collection's filterable properties as JSON Schema, each a query
  parameter of the property's own name (``venue_type=LIBRARY``), typed and checked; the OpenAPI
  description lists them per collection, which is where GDAL's OAPIF driver looks.
- JSON (``f=json``, or any ``Accept`` that does not prefer ``text/html``) or HTML (``f=html``,
  or a browser's ``Accept``) for the landing page, conformance, collections and items.
- The directory's features (venues, activities, councils) have the API's global ids (the id
  GraphQL's ``node(id:)`` takes and the exports write) as their id and in their id properties;
  a feature's URL takes that id (or, as before, the plain number).
- A bad parameter is a 400, an unknown collection, feature or path a 404 and another method
  than GET a 405, as OGC's exception JSON (``code``, ``description``) with hverdag's ``error``
  object beside it (``code``, ``field``, ``reason``); an HTML page for a browser.
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from api.checks import decode_global_id, encode_global_id
from api.errors import BadUserInput, ErrorCode, outage_code
from api.http import ogc_html
from api.http.exports import GLOBAL_IDS
from api.http.params import FILTER_PARAMETERS, directory_filter, stale_line
from geo.filters import DirectoryFilter
from geo.queries.export import ExportKind
from geo.queries.features import (
    COLLECTIONS,
    CRS84,
    CRS_SRIDS,
    STORAGE_CRS,
    Collection,
    Feature,
    Query,
    Queryable,
    extent,
    one,
    page,
)
from geo.reader import RequestReads

PREFIX = "/ogc"
JSON, GEOJSON, OPENAPI, SCHEMA, HTML = (
    "application/json",
    "application/geo+json",
    "application/vnd.oai.openapi+json;version=3.0",
    "application/schema+json",
    "text/html",
)
DEFAULT_LIMIT, MAX_LIMIT = 10, 1000
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
]
REL_QUERYABLES = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
_COMMON = frozenset({"f"})
#: The directory collections' id properties and the global id type of each (as the exports).
_GLOBAL_IDS: dict[str, dict[str, str]] = {
    "venues": GLOBAL_IDS[ExportKind.VENUES],
    "activities": GLOBAL_IDS[ExportKind.ACTIVITIES],
    "councils": GLOBAL_IDS[ExportKind.COUNCILS],
}
_ITEMS = frozenset({"f", "bbox", "bbox-crs", "limit", "offset", "crs", "datetime"})
#: Seconds a collection's computed extent is reused (it is a scan of the table).
EXTENT_TTL_S = 300.0


class OgcError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        reason: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(reason)
        self.status, self.code, self.reason, self.field = status, code, reason, field
        self.headers = headers


def _json(body: Any, media_type: str = JSON, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body, default=_default), media_type=media_type, headers=headers)


def _default(value: Any) -> Any:
    # Decimal (an activity's cost) and anything else orjson leaves: as a number or text.
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _error(exc: OgcError, html: bool = False) -> Response:
    if html:
        return HTMLResponse(
            ogc_html.error(exc.status, exc.code, exc.reason), exc.status, headers=exc.headers
        )
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
        headers=exc.headers,
    )


def _bad(reason: str, field: str) -> OgcError:
    return OgcError(400, ErrorCode.BAD_USER_INPUT, reason, field)


def _base(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}{PREFIX}"


def _check_params(
    request: Request, allowed: frozenset[str], formats: tuple[str, ...] = ("json", "html")
) -> None:
    for name in request.query_params:
        if name not in allowed:
            raise _bad(
                f"unknown parameter {name!r}; this resource takes {', '.join(sorted(allowed))}",
                name,
            )
    fmt = request.query_params.get("f")
    if fmt is not None and fmt not in formats:
        raise _bad(f"f must be {' or '.join(formats)}, got {fmt!r}", "f")


def _quality(accept: str, media_types: tuple[str, ...]) -> float:
    """The highest ``q`` the Accept header gives any of ``media_types`` by name (0: none)."""
    best = 0.0
    for part in accept.split(","):
        media, *options = (piece.strip() for piece in part.split(";"))
        if media.lower() not in media_types:
            continue
        q = 1.0
        for option in options:
            name, _, value = option.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        best = max(best, q)
    return best


def wants_html(request: Request) -> bool:
    """``f=html``, or no ``f`` and an Accept header that names text/html at least as high as
    any JSON type (a browser's): ``*/*`` alone, as tools send, means JSON."""
    fmt = request.query_params.get("f")
    if fmt is not None:
        return fmt == "html"
    accept = request.headers.get("accept", "")
    html = _quality(accept, (HTML, "application/xhtml+xml"))
    return html > 0 and html >= _quality(accept, (JSON, GEOJSON, SCHEMA))


def _html(page: str) -> Response:
    return HTMLResponse(page, headers={"Vary": "Accept"})


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


def _alternate(href: str, title: str) -> dict[str, str]:
    """The HTML twin of a JSON resource (``href`` without a query)."""
    return _link(f"{href}?f=html", "alternate", HTML, f"{title} as HTML")


def _json_or_html(request: Request, body: dict[str, Any], page: Any, media: str = JSON) -> Response:
    if wants_html(request):
        return _html(page())
    return _json(body, media, {"Vary": "Accept"})


# --- landing page, conformance, API description ------------------------------------------------


async def landing(request: Request) -> Response:
    _check_params(request, _COMMON)
    base = _base(request)
    body = {
        "title": "hverdag: OGC API - Features",
        "description": "The directory of everyday integration in Norway (venues, activities, "
        "immigrant councils) with municipalities and population units.",
        "links": [
            _link(f"{base}?f=json", "self", JSON, "This document"),
            _alternate(base, "This document"),
            _link(f"{base}/api?f=json", "service-desc", OPENAPI, "The API definition"),
            _link(f"{base}/conformance?f=json", "conformance", JSON, "Conformance classes"),
            _link(f"{base}/collections?f=json", "data", JSON, "The feature collections"),
        ],
    }
    return _json_or_html(request, body, lambda: ogc_html.landing(base, body))


async def conformance(request: Request) -> Response:
    _check_params(request, _COMMON)
    body = {"conformsTo": CONFORMANCE}
    return _json_or_html(request, body, lambda: ogc_html.conformance(_base(request), body))


async def api_definition(request: Request) -> Response:
    _check_params(request, _COMMON, ("json",))
    return _json(_openapi(_base(request)), OPENAPI)


def queryables_schema(base: str, collection: Collection) -> dict[str, Any]:
    """The collection's queryables as a JSON Schema (Part 3): each a property of the features
    and a query parameter of the items, compared by equality."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{collection.id}/queryables",
        "type": "object",
        "title": collection.title,
        "description": "Properties to filter the items by: add ?name=value to the items URL.",
        "properties": {name: q.schema() for name, q in collection.queryables.items()},
        "additionalProperties": False,
    }


async def queryables(request: Request) -> Response:
    collection = _collection(request)
    _check_params(request, _COMMON, ("json",))
    return _json(queryables_schema(_base(request), collection), SCHEMA)


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

    def queryable(name: str, q: Queryable) -> dict[str, Any]:
        schema = {k: v for k, v in q.schema().items() if k != "title"}
        return {**param(name, schema), "description": q.title}

    # Each collection's items with its own parameters: its queryables (which GDAL's OAPIF
    # driver reads here to send an attribute filter to the server) and its other filters.
    per_collection = {
        f"/collections/{c.id}/items": {
            "get": {
                "summary": f"{c.title}: features",
                "parameters": [
                    *items[1:],
                    *(queryable(name, q) for name, q in c.queryables.items()),
                    *(
                        param(name, {"type": "string"})
                        for name in sorted(
                            (FILTER_PARAMETERS if c.directory else frozenset(c.equality))
                            - set(c.queryables)
                        )
                    ),
                ],
                "responses": ok,
            }
        }
        for c in COLLECTIONS.values()
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "hverdag OGC API - Features", "version": "1.0"},
        "servers": [{"url": base}],
        "paths": {
            **per_collection,
            "/collections/{collectionId}/queryables": {
                "get": {
                    "summary": "The properties a collection's items can be filtered by",
                    "parameters": [collection_id],
                    "responses": ok,
                }
            },
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
            _alternate(href, collection.title),
            _link(f"{href}/items?f=json", "items", GEOJSON, f"{collection.title}: items"),
            _link(
                f"{href}/queryables?f=json",
                REL_QUERYABLES,
                SCHEMA,
                f"{collection.title}: the properties to filter by",
            ),
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
        body = {
            "links": [
                _link(f"{base}/collections?f=json", "self", JSON, "The collections"),
                _alternate(f"{base}/collections", "The collections"),
            ],
            "collections": described,
            "crs": list(CRS_SRIDS),
        }
        return _json_or_html(request, body, lambda: ogc_html.collections(base, body))

    async def collection(request: Request) -> Response:
        chosen = _collection(request)
        _check_params(request, _COMMON)
        base = _base(request)
        body = _describe(base, chosen, await extents.get(request, chosen))
        fields = queryables_schema(base, chosen)["properties"]
        return _json_or_html(request, body, lambda: ogc_html.collection(base, body, fields))

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


def _queryable_value(name: str, queryable: Queryable, text: str) -> Any:
    """The value a queryable's parameter asks for, of the property's type; 400 otherwise."""
    if queryable.type == "boolean":
        if text not in ("true", "false"):
            raise _bad(f"{name} must be true or false, got {text!r}", name)
        return text == "true"
    if queryable.type == "integer":
        if not re.fullmatch(r"-?\d{1,9}", text):
            raise _bad(f"{name} must be a whole number, got {text!r}", name)
        return int(text)
    if queryable.enum and text not in queryable.enum:
        raise _bad(f"{name} must be one of {', '.join(queryable.enum)}, got {text!r}", name)
    if queryable.pattern and not re.search(queryable.pattern, text):
        raise _bad(f"{name} must match {queryable.pattern}, got {text!r}", name)
    return text


def _properties(
    request: Request, collection: Collection, handled: frozenset[str]
) -> dict[str, Any]:
    """The queryables' filters (those another filter does not already handle)."""
    params = request.query_params
    chosen: dict[str, Any] = {}
    for name, queryable in collection.queryables.items():
        if name in handled:
            continue
        # An empty value is no filter: an HTML form sends its empty fields.
        values = [value for value in params.getlist(name) if value != ""]
        if not values:
            continue
        if len(values) > 1:
            raise _bad(f"{name} may be given once, got {len(values)} values", name)
        chosen[name] = _queryable_value(name, queryable, values[0])
    return chosen


def _query(request: Request, collection: Collection) -> Query:
    others = FILTER_PARAMETERS if collection.directory else frozenset(collection.equality)
    allowed = _ITEMS | others | frozenset(collection.queryables)
    _check_params(request, allowed)
    params = request.query_params
    filt = DirectoryFilter(stale_before=stale_line(request))
    if collection.directory:
        try:
            filt = directory_filter(params, stale_line(request))
        except BadUserInput as exc:
            raise _bad(exc.message, str(exc.details.get("field", ""))) from None
    equal = {name: params[name] for name in collection.equality if name in params}
    properties = _properties(request, collection, others)
    if "bbox-crs" in params and "bbox" not in params:
        raise _bad("bbox-crs needs a bbox", "bbox-crs")
    return Query(
        directory=filt,
        equal=equal,
        properties=properties,
        bbox=_bbox(request),
        bbox_crs=_crs(request, "bbox-crs"),
        crs=_crs(request, "crs"),
        limit=min(_integer(request, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT),
        offset=_integer(request, "offset", 0, 0),
    )


def _items_href(request: Request, collection: Collection, fmt: str = "json", **changes: Any) -> str:
    params = dict(request.query_params)
    params.update({k: str(v) for k, v in changes.items()})
    params["f"] = fmt
    return f"{_base(request)}/collections/{collection.id}/items?{urlencode(params)}"


def _public(collection: Collection, feature: Feature) -> tuple[Any, dict[str, Any]]:
    """The feature's id and properties with the directory's ids as the API's global ids."""
    ids = _GLOBAL_IDS.get(collection.id)
    if ids is None:
        return feature.id, feature.properties
    properties = dict(feature.properties)
    for name, type_name in ids.items():
        if properties.get(name) is not None:
            properties[name] = encode_global_id(type_name, str(properties[name]))
    return encode_global_id(ids["id"], str(feature.id)), properties


def _feature_json(base: str, collection: Collection, feature: Feature) -> dict[str, Any]:
    href = f"{base}/collections/{collection.id}"
    fid, properties = _public(collection, feature)
    own = f"{href}/items/{quote(str(fid), safe='')}"
    return {
        "type": "Feature",
        "id": fid,
        "geometry": feature.geometry,
        "properties": properties,
        "links": [
            _link(f"{own}?f=json", "self", GEOJSON, "This feature"),
            _alternate(own, "This feature"),
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
        _link(_items_href(request, collection, "html"), "alternate", HTML, "This page as HTML"),
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
    body = {
        "type": "FeatureCollection",
        "features": [_feature_json(base, collection, f) for f in features],
        "numberMatched": matched,
        "numberReturned": len(features),
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "links": links,
    }
    if wants_html(request):
        fields = queryables_schema(base, collection)["properties"]
        params = dict(request.query_params)
        # The map draws lon/lat: only for an answer in CRS84.
        in_crs84 = query.crs == CRS84
        rendered = ogc_html.items(
            base, collection.title, collection.id, body, fields, params, in_crs84
        )
        return _html(rendered)
    return _json(body, GEOJSON, {**_content_crs(query.crs), "Vary": "Accept"})


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
    fid = _feature_key(collection, text)
    if fid is None:
        raise missing
    feature = await _reads(request).run_async(one, collection, fid, crs)
    if feature is None:
        raise missing
    base = _base(request)
    body = _feature_json(base, collection, feature)
    if wants_html(request):
        return _html(ogc_html.item(base, collection.title, collection.id, body, crs == CRS84))
    return _json(body, GEOJSON, {**_content_crs(crs), "Vary": "Accept"})


def _feature_key(collection: Collection, text: str) -> Any:
    """The row key a feature URL names: a municipality's number, an initiative's slug, a
    directory row's global id (or its plain number), a unit's id; None when it cannot be one."""
    if collection.fid_type is not int:
        return text
    if text.isdigit():
        return int(text)
    ids = _GLOBAL_IDS.get(collection.id)
    if ids is None:
        return None
    try:
        type_name, key = decode_global_id(text)
    except BadUserInput:
        return None
    return int(key) if type_name == ids["id"] and key.isdigit() else None


async def unknown_path(request: Request) -> Response:
    raise OgcError(
        404,
        ErrorCode.NOT_FOUND,
        f"no resource {request.url.path!r}; start at {PREFIX} (the landing page)",
        "path",
    )


#: Every method a route answers, so that another than GET gets OGC's 405 and not a bare one.
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _guarded(view: Any) -> Any:
    """OgcError as its JSON (an HTML page for a browser); a method other than GET a 405; a
    database outage as 503/504 with its code."""

    async def guarded(request: Request) -> Response:
        try:
            if request.method not in ("GET", "HEAD"):
                raise OgcError(
                    405,
                    "METHOD_NOT_ALLOWED",
                    f"{request.method} is not allowed here: the OGC API is read-only (GET)",
                    "method",
                    {"Allow": "GET, HEAD"},
                )
            return await view(request)  # type: ignore[no-any-return]
        except OgcError as exc:
            return _error(exc, html=wants_html(request))
        except Exception as exc:
            if (outage := outage_code(exc)) is None:
                raise
            code, reason = outage
            return _error(
                OgcError(504 if code == ErrorCode.TIMEOUT else 503, code, reason),
                html=wants_html(request),
            )

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
        ("/collections/{collection}/queryables", queryables),
        ("/collections/{collection}/items", items),
        # :path, as a global id may hold "/" (sent as %2F, which the server decodes first).
        ("/collections/{collection}/items/{feature:path}", item),
        ("/{rest:path}", unknown_path),
    ]
    return [Route(f"{PREFIX}{path}", _guarded(view), methods=_METHODS) for path, view in views]
