"""The browser side: the "Finn aktivitet" page at ``/``, its own files at ``/static/…``, and the
npm-installed libraries at ``/vendor/…`` (MapLibre GL JS, i18next, a QR encoder, GraphiQL with
React), all served by the app — no CDN.

``/vendor/`` serves only the built files in :data:`VENDOR` from ``web/node_modules`` (installed
by ``scripts/bootstrap.sh`` with ``npm ci`` from ``web/package-lock.json``); nothing else of
node_modules is reachable. When they are not installed, the page and the explorer still answer,
and the missing file's 404 says how to install it.

Every asset the page names carries its content's hash (``/static/app.js?v=3f2a…``): with the
hash that matches the file, the answer may be cached for a year (``immutable``); without it,
browsers revalidate (``no-cache`` with an ETag). Assets are sent gzip-compressed (level 9,
compressed once per file version and kept in memory) to clients that accept it; everything else
the app sends is compressed by the middleware in :mod:`api.app`.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import mimetypes
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from geo.settings import PROJECT_ROOT, Settings

NODE_MODULES = PROJECT_ROOT / "web" / "node_modules"
#: URL name -> file under web/node_modules: the allow-list of what /vendor/ serves.
VENDOR = {
    "maplibre-gl.js": "maplibre-gl/dist/maplibre-gl.js",
    "maplibre-gl.css": "maplibre-gl/dist/maplibre-gl.css",
    "i18next.js": "i18next/dist/umd/i18next.min.js",
    "qrcode.js": "qrcode-generator/dist/qrcode.js",
    # GraphiQL 4 is the last major with a UMD build (5 is ESM only, for bundlers or esm.sh);
    # it needs React 18's UMD builds (React 19 has none).
    "graphiql.js": "graphiql/dist/index.umd.js",
    "graphiql.css": "graphiql/dist/style.css",
    "react.js": "react/umd/react.production.min.js",
    "react-dom.js": "react-dom/umd/react-dom.production.min.js",
}
#: With the content hash in the URL the bytes behind it never change.
IMMUTABLE = "public, max-age=31536000, immutable"
#: Without it: cache, but ask (ETag) before every use.
REVALIDATE = "no-cache"
#: Smaller than this, gzip's header costs more than it saves.
MIN_COMPRESS = 512
#: The page's language without ?lang= (its texts' source); every static/messages/{lang}.json is
#: a language the page speaks, listed after these in the menu.
DEFAULT_LANGUAGE = "nb"
FIRST_IN_MENU = ("nb", "nn", "en")
TEXT_TYPES = ("application/javascript", "application/json")
RIGHT_TO_LEFT = frozenset({"ar", "fa", "prs", "ur"})


def _static_dir() -> Path:
    return Path(str(resources.files("api.http") / "static"))


def vendor_path(name: str) -> Path | None:
    relative = VENDOR.get(name)
    return NODE_MODULES / relative if relative else None


@dataclass(frozen=True)
class Asset:
    """One file's bytes, their gzip form and hash, read once per version (size and mtime)."""

    body: bytes
    gzipped: bytes | None
    digest: str
    media_type: str


@lru_cache(maxsize=64)
def _load(path: Path, size: int, mtime_ns: int) -> Asset:
    body = path.read_bytes()
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type in TEXT_TYPES:
        media_type += "; charset=utf-8"
    gzipped = gzip.compress(body, compresslevel=9, mtime=0) if len(body) >= MIN_COMPRESS else None
    return Asset(body, gzipped, hashlib.blake2b(body, digest_size=8).hexdigest(), media_type)


def asset(path: Path) -> Asset:
    stat = path.stat()
    return _load(path, stat.st_size, stat.st_mtime_ns)


def _accepts_gzip(request: Request) -> bool:
    codings = request.headers.get("accept-encoding", "")
    return any(part.split(";")[0].strip() in ("gzip", "*") for part in codings.split(","))


def asset_response(request: Request, path: Path) -> Response:
    """The file with its ETag; a year's caching when the URL names its current hash."""
    found = asset(path)
    etag = f'"{found.digest}"'
    headers = {
        "ETag": etag,
        "Cache-Control": IMMUTABLE if request.query_params.get("v") == found.digest else REVALIDATE,
        "Vary": "Accept-Encoding",
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if found.gzipped is not None and _accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
        return Response(found.gzipped, media_type=found.media_type, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)


def _not_found(reason: str) -> Response:
    return JSONResponse({"error": {"code": "NOT_FOUND", "reason": reason}}, status_code=404)


async def vendor(request: Request) -> Response:
    name = request.path_params["name"]
    path = vendor_path(name)
    if path is None:
        return _not_found(f"no vendor file {name!r}")
    if not path.is_file():
        return _not_found(f"{name} is not installed: run ./scripts/bootstrap.sh (npm ci in web/)")
    return asset_response(request, path)


async def static(request: Request) -> Response:
    """The page's own files; a path that leaves the folder is a 404 like a missing file."""
    relative = request.path_params["path"]
    root = _static_dir().resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return _not_found(f"no static file {relative!r}")
    return asset_response(request, path)


def _hashed(url_path: str) -> str:
    """``/static/app.js`` -> ``/static/app.js?v=<hash>`` (the URL unchanged when not installed)."""
    kind, _, name = url_path.strip("/").partition("/")
    path = vendor_path(name) if kind == "vendor" else _static_dir() / name
    if path is None or not path.is_file():
        return url_path
    return f"{url_path}?v={asset(path).digest}"


def page_language(request: Request) -> str:
    lang = request.query_params.get("lang", "")
    return lang if lang in page_languages() else DEFAULT_LANGUAGE


def page_languages() -> list[str]:
    """The languages of the page's message files, nb, nn and en first, then by code."""
    found = {p.stem for p in (_static_dir() / "messages").glob("*.json")}
    first = {code: i for i, code in enumerate(FIRST_IN_MENU)}
    return sorted(found, key=lambda code: (first.get(code, len(first)), code))


def _message_meta(lang: str) -> dict[str, str]:
    path = _static_dir() / "messages" / f"{lang}.json"
    return dict(json.loads(path.read_text(encoding="utf-8")).get("meta", {}))


def _page(template: str, settings: Settings, lang: str) -> str:
    messages = page_languages()
    config = {
        "basemapUrl": settings.basemap_url or None,
        "basemapAttribution": settings.basemap_attribution,
        "graphqlUrl": "/graphql",
        # Loaded by the page when the map is first seen (not on a phone's list view).
        "maplibre": {
            "js": _hashed("/vendor/maplibre-gl.js"),
            "css": _hashed("/vendor/maplibre-gl.css"),
        },
        "messagesUrl": "/static/messages/{lang}.json",
        "messageVersions": {
            name: asset(_static_dir() / "messages" / f"{name}.json").digest for name in messages
        },
        "labelsUrl": "/labels/{lang}.json",
        "languages": messages,
        "languageNames": {name: _message_meta(name).get("name", name) for name in messages},
        "rightToLeft": sorted(RIGHT_TO_LEFT),
    }
    # JSON inside <script>: escape "</" so no value can close the element.
    text = json.dumps(config).replace("</", "<\\/")
    page = (_static_dir() / template).read_text(encoding="utf-8")
    page = page.replace("{{CONFIG}}", text).replace("{{LANG}}", lang)
    page = page.replace("{{DIR}}", "rtl" if lang in RIGHT_TO_LEFT else "ltr")
    for marker in ("/vendor/", "/static/"):
        for piece in page.split(f'"{marker}')[1:]:
            name = piece.split('"', 1)[0]
            page = page.replace(f'"{marker}{name}"', f'"{_hashed(marker + name)}"')
    return page


def map_page(settings: Settings) -> Route:
    async def index(request: Request) -> Response:
        """The page, in the language of ``?lang=`` (Norwegian bokmål by default)."""
        return HTMLResponse(
            _page("index.html", settings, page_language(request)),
            headers={"Cache-Control": REVALIDATE},
        )

    return Route("/", index, methods=["GET"])


def graphiql_html(title: str = "hverdag GraphQL") -> str:
    """The explorer page, loading GraphiQL and React from /vendor/ (strawberry's own page loads
    them from a CDN)."""
    return (
        (_static_dir() / "graphiql.html")
        .read_text(encoding="utf-8")
        .replace("{{TITLE}}", html.escape(title))
    )


def web_routes(settings: Settings) -> list[Route]:
    return [
        map_page(settings),
        Route("/vendor/{name}", vendor, methods=["GET", "HEAD"]),
        Route("/static/{path:path}", static, methods=["GET", "HEAD"]),
    ]
