"""``GET /tiles/{layer}/{z}/{x}/{y}.mvt``: vector tiles; ``GET /tiles/{layer}.json``: TileJSON.

Layers and their SQL are in :mod:`geo.queries.tiles`. The venues and activities layers take the
directory exports' filter parameters (``?category=LANGUAGE_CAFE&freeOnly=true``), the coverage
layer ``unitKind``. A tile answers 200 with ``application/vnd.mapbox-vector-tile``, an ETag (a
hash of its bytes) and Cache-Control; ``If-None-Match`` with that ETag gets a 304; a tile with
no feature a 204. An unknown layer is a 404, a tile outside the grid or a bad parameter a 400,
each ``{"error": {"code", "field", "reason"}}``.
"""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.errors import BadUserInput, ErrorCode, outage_code
from api.http.params import FILTER_PARAMETERS, check_known, directory_filter, stale_line
from api.http.streaming import json_error
from geo.queries.tiles import (
    LAYERS,
    MAX_ZOOM,
    REGION_LONLAT,
    TileError,
    TileOptions,
    fetch_tile,
    layer_fields,
)
from geo.vocab import AreaKind

MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
#: Tiles change when the directory does; five minutes of staleness is fine for a map.
CACHE_CONTROL = "public, max-age=300"
_PARAMETERS = {
    "venues": FILTER_PARAMETERS,
    "activities": FILTER_PARAMETERS,
    "coverage": frozenset({"unitKind"}),
}


def _coordinate(value: str, name: str) -> int:
    if not value.isdigit():
        raise TileError(f"{name} must be a whole number, got {value!r}", name)
    return int(value)


def _options(layer: str, request: Request) -> TileOptions:
    params = request.query_params
    check_known(params, _PARAMETERS.get(layer, frozenset()))
    if layer == "coverage":
        kind = params.get("unitKind", AreaKind.GRID_1KM.value)
        if kind not in AreaKind.__members__:
            raise BadUserInput(
                f"unitKind must be one of {', '.join(AreaKind.__members__)}, got {kind!r}",
                field="unitKind",
            )
        return TileOptions(unit_kind=kind)
    if layer in ("venues", "activities"):
        return TileOptions(directory=directory_filter(params, stale_line(request)))
    return TileOptions()


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


async def tile(request: Request) -> Response:
    p = request.path_params
    layer = p["layer"]
    if layer not in LAYERS:
        return json_error(
            404,
            ErrorCode.NOT_FOUND,
            f"no tile layer {layer!r}; the layers are {', '.join(LAYERS)}",
            field="layer",
        )
    try:
        z, x, y = (_coordinate(p[name], name) for name in ("z", "x", "y"))
        options = _options(layer, request)
        reads = request.state.reader.for_request()
        body = await reads.run_async(fetch_tile, layer, z, x, y, options)
    except TileError as exc:
        return json_error(400, ErrorCode.BAD_USER_INPUT, str(exc), field=exc.field)
    except BadUserInput as exc:
        return JSONResponse({"error": exc.extensions()}, status_code=400)
    except Exception as exc:
        if (outage := outage_code(exc)) is None:
            raise
        code, reason = outage
        return json_error(504 if code == ErrorCode.TIMEOUT else 503, code, reason)
    headers = {"Cache-Control": CACHE_CONTROL}
    if not body:
        return Response(status_code=204, headers=headers)
    etag = f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'
    headers["ETag"] = etag
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MEDIA_TYPE, headers=headers)


async def tilejson(request: Request) -> Response:
    """TileJSON 3.0.0 for one layer: what MapLibre, QGIS and others need to add it."""
    layer = request.path_params["layer"]
    if layer not in LAYERS:
        return json_error(
            404,
            ErrorCode.NOT_FOUND,
            f"no tile layer {layer!r}; the layers are {', '.join(LAYERS)}",
            field="layer",
        )
    spec = LAYERS[layer]
    base = str(request.base_url).rstrip("/")
    query = f"?{request.url.query}" if request.url.query else ""
    return JSONResponse(
        {
            "tilejson": "3.0.0",
            "name": f"hverdag {layer}",
            "description": spec.description,
            "tiles": [f"{base}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt{query}"],
            "minzoom": spec.min_zoom,
            "maxzoom": MAX_ZOOM,
            "bounds": list(REGION_LONLAT),
            "vector_layers": [
                {
                    "id": layer,
                    "description": spec.description,
                    "fields": dict.fromkeys(layer_fields(layer), ""),
                }
            ],
        },
        headers={"Cache-Control": CACHE_CONTROL},
    )


def tile_routes() -> list[Route]:
    return [
        Route("/tiles/{layer}/{z}/{x}/{y}.mvt", tile, methods=["GET"]),
        Route("/tiles/{layer}.json", tilejson, methods=["GET"]),
    ]
