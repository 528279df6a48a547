"""The browser side: the map page at ``/``, its own files at ``/static/…``, and the npm-installed
libraries at ``/vendor/…`` (MapLibre GL JS, GraphiQL with React), all served by the app — no CDN.

``/vendor/`` serves only the built files in :data:`VENDOR` from ``web/node_modules`` (installed
by ``scripts/bootstrap.sh`` with ``npm ci`` from ``web/package-lock.json``); nothing else of
node_modules is reachable. When they are not installed, the map page and the explorer still
answer, and the missing file's 404 says how to install it.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from geo.settings import PROJECT_ROOT, Settings

NODE_MODULES = PROJECT_ROOT / "web" / "node_modules"
#: URL name -> file under web/node_modules: the allow-list of what /vendor/ serves.
VENDOR = {
    "maplibre-gl.js": "maplibre-gl/dist/maplibre-gl.js",
    "maplibre-gl.css": "maplibre-gl/dist/maplibre-gl.css",
    # GraphiQL 4 is the last major with a UMD build (5 is ESM only, for bundlers or esm.sh);
    # it needs React 18's UMD builds (React 19 has none).
    "graphiql.js": "graphiql/dist/index.umd.js",
    "graphiql.css": "graphiql/dist/style.css",
    "react.js": "react/umd/react.production.min.js",
    "react-dom.js": "react-dom/umd/react-dom.production.min.js",
}
VENDOR_CACHE = "public, max-age=86400"


def _static_dir() -> Path:
    return Path(str(resources.files("api.http") / "static"))


def vendor_path(name: str) -> Path | None:
    relative = VENDOR.get(name)
    return NODE_MODULES / relative if relative else None


async def vendor(request: Request) -> Response:
    name = request.path_params["name"]
    path = vendor_path(name)
    if path is None:
        return JSONResponse(
            {"error": {"code": "NOT_FOUND", "reason": f"no vendor file {name!r}"}}, status_code=404
        )
    if not path.is_file():
        return JSONResponse(
            {
                "error": {
                    "code": "NOT_FOUND",
                    "reason": (
                        f"{name} is not installed: run ./scripts/bootstrap.sh (npm ci in web/)"
                    ),
                }
            },
            status_code=404,
        )
    return FileResponse(path, headers={"Cache-Control": VENDOR_CACHE})


def _page(template: str, settings: Settings) -> str:
    config = {
        "basemapUrl": settings.basemap_url,
        "basemapAttribution": settings.basemap_attribution,
        "graphqlUrl": "/graphql",
    }
    # JSON inside <script>: escape "</" so no value can close the element.
    text = json.dumps(config).replace("</", "<\\/")
    return (_static_dir() / template).read_text(encoding="utf-8").replace("{{CONFIG}}", text)


def map_page(settings: Settings) -> Route:
    async def index(request: Request) -> Response:
        """The map page (Norwegian bokmål; ?lang=en for English)."""
        return HTMLResponse(_page("index.html", settings), headers={"Cache-Control": "no-cache"})

    return Route("/", index, methods=["GET"])


def graphiql_html(title: str = "hverdag GraphQL") -> str:
    """The explorer page, loading GraphiQL and React from /vendor/ (strawberry's own page loads
    them from a CDN)."""
    return (
        (_static_dir() / "graphiql.html")
        .read_text(encoding="utf-8")
        .replace("{{TITLE}}", html.escape(title))
    )


def web_routes(settings: Settings) -> list[Route | Mount]:
    return [
        map_page(settings),
        Route("/vendor/{name}", vendor, methods=["GET"]),
        Mount("/static", StaticFiles(directory=_static_dir()), name="static"),
    ]
