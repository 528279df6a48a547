"""The vocabularies' display labels as static JSON, one file per language, for apps and the map.

``GET /labels/{lang}.json`` answers the shipped file (data/labels/, geo/labels.py) of the
language a reader of ``lang`` reads best: ``/labels/prs.json`` and ``/labels/fa-AF.json`` are the
Dari file, ``/labels/ar-SA.json`` is Arabic's, a language the project does not ship gets nb (the
source), and the ``Content-Language`` header says which it is. A tag that is no language is a
400 BAD_USER_INPUT naming ``lang``. ``GET /labels/`` lists the shipped languages.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from api.checks import languages
from api.errors import BadUserInput
from geo.labels import best_language, label_file, label_set, shipped_languages

#: Labels change with a release, not by the minute: an hour in caches.
LABELS_CACHE = "public, max-age=3600"


async def labels(request: Request) -> Response:
    try:
        wanted = languages([request.path_params["lang"]], "lang")
    except BadUserInput as error:
        return JSONResponse({"error": error.extensions()}, status_code=400)
    language = best_language(wanted)
    return FileResponse(
        label_file(language),
        media_type="application/json",
        headers={
            "Cache-Control": LABELS_CACHE,
            "Content-Language": language,
            "Vary": "Accept-Encoding",
        },
    )


async def label_index(_: Request) -> Response:
    return JSONResponse(
        {
            "languages": [
                {
                    "language": tag,
                    "rightToLeft": label_set(tag).right_to_left,
                    "url": f"/labels/{tag}.json",
                }
                for tag in shipped_languages()
            ]
        },
        headers={"Cache-Control": LABELS_CACHE},
    )


def label_routes() -> list[Route]:
    return [
        Route("/labels/", label_index, methods=["GET"]),
        Route("/labels/{lang}.json", labels, methods=["GET"]),
    ]
