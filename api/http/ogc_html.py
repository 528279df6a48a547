"""HTML pages of the OGC API at ``/ogc`` (``f=html``, or a browser's ``Accept: text/html``).

Each page is rendered from the same JSON document the API answers, so the two never disagree: a
person who lands on a collection from a data catalogue sees its description, extent, queryables
and a form to filter its items, a page of features as a table with paging links, and each
feature's properties; every page links to its JSON twin. Plain HTML with a few lines of CSS:
nothing loads from elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any
from urllib.parse import quote

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem 1.5rem;
color:#1b1b1b}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.6rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}nav a{margin-right:1rem}code{background:#f3f3f3;padding:0 .2rem}
form{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end}
label{display:flex;flex-direction:column;font-size:.85rem}
.muted{color:#555}
#ogc-map{height:22rem;margin:1rem 0;border:1px solid #ddd}
"""


def _map(features: list[Mapping[str, Any]]) -> str:
    """A small map of ``features`` (GeoJSON in CRS84), drawn by /static/ogc-map.js with
    MapLibre from /vendor/; the features ride in the page as JSON ("</" escaped, so no value
    can close the element)."""
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": f.get("geometry"), "properties": {}} for f in features
        ],
    }
    data = json.dumps(collection).replace("</", "<\\/")
    return (
        '<link rel="stylesheet" href="/vendor/maplibre-gl.css"><div id="ogc-map"></div>'
        f'<script type="application/json" id="ogc-features">{data}</script>'
        '<script src="/vendor/maplibre-gl.js"></script><script src="/static/ogc-map.js"></script>'
    )


def _page(title: str, json_href: str, body: str, crumbs: Iterable[tuple[str, str]]) -> str:
    trail = " › ".join(f'<a href="{escape(href)}">{escape(text)}</a>' for href, text in crumbs)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · hverdag OGC API</title>"
        f'<link rel="alternate" type="application/json" href="{escape(json_href)}">'
        f"<style>{_STYLE}</style></head><body>"
        f'<nav class="muted">{trail}</nav><h1>{escape(title)}</h1>{body}'
        f'<p class="muted">This page as <a href="{escape(json_href)}">JSON</a>.</p>'
        "</body></html>"
    )


def _html_href(href: str) -> str:
    """A JSON link of the API turned into its HTML page's."""
    return href.replace("f=json", "f=html") if "f=json" in href else f"{href}?f=html"


def _crumbs(base: str, *more: tuple[str, str]) -> list[tuple[str, str]]:
    return [(f"{base}?f=html", "hverdag OGC API"), *more]


def _cell(value: Any) -> str:
    if value is None:
        return '<span class="muted">–</span>'
    if isinstance(value, list):
        return escape(", ".join(str(item) for item in value))
    return escape(str(value))


def landing(base: str, body: Mapping[str, Any]) -> str:
    def href(link: Mapping[str, str]) -> str:
        has_page = link["rel"] in ("data", "conformance")
        return _html_href(link["href"]) if has_page else link["href"]

    rows = "".join(
        f'<li><a href="{escape(href(link))}">{escape(link["title"])}</a> '
        f"<span class='muted'>({escape(link['rel'])})</span></li>"
        for link in body["links"]
        if link["rel"] not in ("self", "alternate")
    )
    text = f"<p>{escape(body['description'])}</p><ul>{rows}</ul>"
    return _page(body["title"], f"{base}?f=json", text, _crumbs(base))


def conformance(base: str, body: Mapping[str, Any]) -> str:
    rows = "".join(f"<li><code>{escape(uri)}</code></li>" for uri in body["conformsTo"])
    return _page(
        "Conformance classes",
        f"{base}/conformance?f=json",
        f"<ul>{rows}</ul>",
        _crumbs(base, (f"{base}/conformance?f=html", "Conformance")),
    )


def collections(base: str, body: Mapping[str, Any]) -> str:
    rows = "".join(
        f'<tr><td><a href="{escape(base)}/collections/{escape(c["id"])}?f=html">'
        f"{escape(c['title'])}</a><br><code>{escape(c['id'])}</code></td>"
        f"<td>{escape(c['description'])}</td>"
        f'<td><a href="{escape(base)}/collections/{escape(c["id"])}/items?f=html">'
        "features</a></td></tr>"
        for c in body["collections"]
    )
    text = f"<table><tr><th>collection</th><th>what</th><th></th></tr>{rows}</table>"
    return _page(
        "Collections",
        f"{base}/collections?f=json",
        text,
        _crumbs(base, (f"{base}/collections?f=html", "Collections")),
    )


def _queryables_table(queryables: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><td><code>{escape(name)}</code></td><td>{escape(q['title'])}</td>"
        f"<td>{escape(q['type'])}</td>"
        f"<td>{escape(', '.join(q.get('enum', [])) or q.get('pattern', ''))}</td></tr>"
        for name, q in queryables.items()
    )
    return (
        "<table><tr><th>parameter</th><th>property</th><th>type</th><th>values</th></tr>"
        f"{rows}</table>"
    )


def collection(base: str, body: Mapping[str, Any], queryables: Mapping[str, Any]) -> str:
    cid = body["id"]
    href = f"{base}/collections/{cid}"
    extent = body.get("extent", {}).get("spatial", {}).get("bbox", [[]])[0]
    parts = [
        f"<p>{escape(body['description'])}</p>",
        f'<p><a href="{escape(href)}/items?f=html">Browse the features</a> · '
        f'<a href="{escape(href)}/items?f=json">GeoJSON</a> · '
        f'<a href="{escape(href)}/queryables?f=json">queryables (JSON Schema)</a></p>',
    ]
    if extent:
        parts.append(
            "<p>Extent (lon/lat, CRS84): "
            f"<code>{escape(', '.join(str(v) for v in extent))}</code></p>"
        )
    parts.append(f"<p>Storage CRS: <code>{escape(body['storageCrs'])}</code></p>")
    parts.append("<h2>Filter by</h2>")
    parts.append(_queryables_table(queryables))
    return _page(
        body["title"],
        f"{href}?f=json",
        "".join(parts),
        _crumbs(
            base,
            (f"{base}/collections?f=html", "Collections"),
            (f"{href}?f=html", body["title"]),
        ),
    )


def _form(action: str, queryables: Mapping[str, Any], params: Mapping[str, str]) -> str:
    fields = []
    for name, q in queryables.items():
        current = params.get(name, "")
        if q.get("enum") or q["type"] == "boolean":
            values = q.get("enum") or ["true", "false"]
            options = '<option value=""></option>' + "".join(
                f"<option{' selected' if value == current else ''}>{escape(value)}</option>"
                for value in values
            )
            control = f'<select name="{escape(name)}">{options}</select>'
        else:
            control = f'<input name="{escape(name)}" value="{escape(current)}" size="12">'
        fields.append(f"<label>{escape(q['title'])}{control}</label>")
    return (
        f'<form method="get" action="{escape(action)}"><input type="hidden" name="f" '
        f'value="html">{"".join(fields)}<button>Filter</button></form>'
    )


def items(
    base: str,
    title: str,
    cid: str,
    body: Mapping[str, Any],
    queryables: Mapping[str, Any],
    params: Mapping[str, str],
    with_map: bool = True,
) -> str:
    href = f"{base}/collections/{cid}"
    features = body["features"]
    names: list[str] = []
    for feature in features:
        names.extend(n for n in feature["properties"] if n not in names and n != "id")
    head = "".join(f"<th>{escape(n)}</th>" for n in ["id", *names])
    rows = "".join(
        f'<tr><td><a href="{escape(href)}/items/{quote(str(f["id"]), safe="")}?f=html">'
        f"{escape(str(f['id']))}</a></td>"
        + "".join(f"<td>{_cell(f['properties'].get(n))}</td>" for n in names)
        + "</tr>"
        for f in features
    )
    links = {link["rel"]: link["href"] for link in body["links"]}
    paging = " ".join(
        f'<a href="{escape(_html_href(links[rel]))}">{label}</a>'
        for rel, label in (("prev", "‹ previous"), ("next", "next ›"))
        if rel in links
    )
    shown = body["numberReturned"]
    start = int(params.get("offset", "0") or 0)
    summary = (
        f"<p>{start + 1 if shown else 0}–{start + shown} of {body['numberMatched']} "
        f"features. {paging}</p>"
    )
    text = (
        _form(f"{href}/items", queryables, params)
        + summary
        + (_map(features) if with_map and features else "")
        + f"<div style='overflow-x:auto'><table><tr>{head}</tr>{rows}</table></div>"
    )
    json_href = next((link["href"] for link in body["links"] if link["rel"] == "self"), href)
    return _page(
        f"{title}: features",
        json_href.replace("f=html", "f=json"),
        text,
        _crumbs(
            base,
            (f"{base}/collections?f=html", "Collections"),
            (f"{href}?f=html", title),
            (f"{href}/items?f=html", "Features"),
        ),
    )


def item(base: str, title: str, cid: str, feature: Mapping[str, Any], with_map: bool = True) -> str:
    href = f"{base}/collections/{cid}"
    rows = "".join(
        f"<tr><th>{escape(name)}</th><td>{_cell(value)}</td></tr>"
        for name, value in feature["properties"].items()
    )
    geometry = feature.get("geometry") or {}
    text = f"<p>Geometry: {escape(str(geometry.get('type', 'none')))}</p><table>{rows}</table>"
    fid = str(feature["id"])
    properties = feature["properties"]
    label = properties.get("name") or properties.get("title") or fid
    return _page(
        f"{title}: {label}",
        f"{href}/items/{quote(fid, safe='')}?f=json",
        text,
        _crumbs(
            base,
            (f"{base}/collections?f=html", "Collections"),
            (f"{href}?f=html", title),
            (f"{href}/items?f=html", "Features"),
        ),
    )


def error(status: int, code: str, description: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        f"<title>{status} {escape(code)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{status} {escape(code)}</h1><p>{escape(description)}</p></body></html>"
    )
