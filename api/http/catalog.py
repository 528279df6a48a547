"""``GET /catalog``: every dataset hverdag publishes as a DCAT-AP-NO catalogue, for
data.norge.no (Felles datakatalog) to harvest: Turtle by default (``/catalog.ttl``), JSON-LD
for a client that asks for ``application/ld+json`` (``/catalog.jsonld``).

Each ``dcat:Dataset`` has its distributions (the exports, feeds and calendars that give it),
licence, publisher, theme (the EU data themes), update frequency, spatial coverage (Norway)
and temporal coverage (from its first row), ``dct:modified`` (its last change); the APIs that
serve them are ``dcat:DataService``s. The document is JSON-LD with its context inline (no
remote context to fetch); rdflib turns it into Turtle. See docs/standards.md.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.http.streaming import export_failure, request_id_of
from geo.queries.catalog import TableStats, table_stats
from geo.settings import Settings

TURTLE = "text/turtle; charset=utf-8"
JSONLD = "application/ld+json"
EU = "http://publications.europa.eu/resource/authority/"
NORWAY = f"{EU}country/NOR"
CC_BY = "https://creativecommons.org/licenses/by/4.0/"
#: DCAT-AP-NO takes a licence from the EU's licence table: the usual open licences' codes.
LICENCES = {
    "https://creativecommons.org/licenses/by/4.0/": "CC_BY_4_0",
    "https://creativecommons.org/publicdomain/zero/1.0/": "CC0",
    "https://data.norge.no/nlod/no/2.0": "NLOD_2_0",
    "https://data.norge.no/nlod/en/2.0": "NLOD_2_0",
}
#: The standards distributions conform to, with their titles.
STANDARDS = {
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core": "OGC API - Features - Part 1",
    "https://openactive.io/realtime-paged-data-exchange/": "OpenActive Realtime Paged Data "
    "Exchange 1.0",
    "https://www.rfc-editor.org/rfc/rfc5545": "RFC 5545: Internet Calendaring and Scheduling "
    "(iCalendar)",
    "https://docs.openreferral.org/en/latest/hsds/": "Open Referral Human Services Data "
    "Specification 3.0",
}


def licence_iri(url: str) -> str:
    """The EU licence table's IRI for a known licence URL, else the URL itself."""
    code = LICENCES.get(url) or LICENCES.get(url.rstrip("/") + "/")
    return f"{EU}licence/{code}" if code else url


CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
#: (file type in the EU vocabulary or None, IANA media type)
FORMATS = {
    "csv": ("CSV", "text/csv"),
    "geojson": ("GEOJSON", "application/geo+json"),
    "json": ("JSON", "application/json"),
    "zip": ("ZIP", "application/zip"),
    "rpde": ("JSON", "application/json"),
    "ics": (None, "text/calendar"),
    "mvt": (None, "application/vnd.mapbox-vector-tile"),
}


def _nb(text: str) -> dict[str, str]:
    return {"@value": text, "@language": "nb"}


def _iri(iri: str) -> dict[str, str]:
    return {"@id": iri}


def _stamp(moment: datetime) -> dict[str, str]:
    return {"@value": moment.isoformat(), "@type": "xsd:dateTime"}


def _distribution(
    base: str, key: str, title: str, path: str, fmt: str, licence: str, **extra: Any
) -> dict[str, Any]:
    file_type, media = FORMATS[fmt]
    found: dict[str, Any] = {
        "@id": f"{base}/catalog#distribution-{key}",
        "@type": "dcat:Distribution",
        "dct:title": _nb(title),
        "dcat:accessURL": _iri(f"{base}{path}"),
        "dct:license": _iri(licence),
        "dcat:mediaType": _iri(f"https://www.iana.org/assignments/media-types/{media}"),
    }
    if file_type:
        found["dct:format"] = _iri(f"{EU}file-type/{file_type}")
    if "{" not in path and "?" not in path:
        found["dcat:downloadURL"] = _iri(f"{base}{path}")
    if "conforms" in extra:
        found["dct:conformsTo"] = _iri(extra["conforms"])
    if "description" in extra:
        found["dct:description"] = _nb(extra["description"])
    return found


def _dataset(
    base: str,
    key: str,
    settings: Settings,
    *,
    title: str,
    description: str,
    themes: list[str],
    keywords: list[str],
    frequency: str,
    stats: TableStats | None,
    distributions: list[dict[str, Any]],
) -> dict[str, Any]:
    iri = f"{base}/catalog#dataset-{key}"
    found: dict[str, Any] = {
        "@id": iri,
        "@type": "dcat:Dataset",
        "dct:identifier": iri,
        "dct:title": _nb(title),
        "dct:description": _nb(description),
        "dct:publisher": _iri(settings.publisher_url),
        "dcat:contactPoint": {"@id": f"{base}/catalog#contact"},
        "dcat:theme": [_iri(f"{EU}data-theme/{theme}") for theme in themes],
        "dcat:keyword": [_nb(word) for word in keywords],
        "dct:accrualPeriodicity": _iri(f"{EU}frequency/{frequency}"),
        "dct:spatial": _iri(NORWAY),
        "dct:language": _iri(f"{EU}language/NOB"),
        "dct:accessRights": _iri(f"{EU}access-right/PUBLIC"),
        "dcat:landingPage": _iri(f"{base}/"),
        "dcat:distribution": distributions,
    }
    if stats is not None and stats.first_created is not None:
        found["dct:temporal"] = {
            "@type": "dct:PeriodOfTime",
            "dcat:startDate": {
                "@value": stats.first_created.date().isoformat(),
                "@type": "xsd:date",
            },
        }
    if stats is not None and stats.last_changed is not None:
        found["dct:modified"] = _stamp(stats.last_changed)
    return found


def catalogue(base: str, settings: Settings, stats: dict[str, TableStats]) -> dict[str, Any]:
    """The catalogue as JSON-LD (its context inline)."""
    data, free = licence_iri(settings.data_licence), licence_iri(CC_BY)

    def dist(key: str, title: str, path: str, fmt: str, **extra: Any) -> dict[str, Any]:
        return _distribution(base, key, title, path, fmt, extra.pop("licence", data), **extra)

    rpde = "https://openactive.io/realtime-paged-data-exchange/"
    datasets = [
        _dataset(
            base,
            "activities",
            settings,
            title="Aktiviteter for hverdagsintegrering",
            description=(
                "Frivillige aktiviteter for innvandrere og alle andre: språkkafeer, "
                "leksehjelp, idrett, kultur og møteplasser, med sted, arrangør, språk, "
                "målgrupper, pris og ukentlig timeplan."
            ),
            themes=["SOCI", "EDUC"],
            keywords=["integrering", "frivillighet", "språkkafé", "aktiviteter"],
            frequency="CONT",
            stats=stats["activities"],
            distributions=[
                dist("activities-csv", "Aktiviteter (CSV)", "/export/activities.csv", "csv"),
                dist(
                    "activities-geojson",
                    "Aktiviteter (GeoJSON)",
                    "/export/activities.geojson",
                    "geojson",
                ),
                dist(
                    "activities-ogc",
                    "Aktiviteter (OGC API Features)",
                    "/ogc/collections/activities/items",
                    "geojson",
                    conforms="http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
                ),
                dist(
                    "session-series",
                    "Aktiviteter som OpenActive SessionSeries (RPDE-strøm)",
                    "/feeds/session-series",
                    "rpde",
                    conforms=rpde,
                ),
                dist(
                    "scheduled-sessions",
                    "Kommende økter som OpenActive ScheduledSession (RPDE-strøm)",
                    "/feeds/scheduled-sessions",
                    "rpde",
                    conforms=rpde,
                ),
                dist(
                    "activities-ics",
                    "Aktiviteter som kalender (iCalendar, filtrerbar)",
                    "/calendar/activities.ics",
                    "ics",
                    conforms="https://www.rfc-editor.org/rfc/rfc5545",
                ),
                dist(
                    "activities-tiles",
                    "Aktiviteter som vektorfliser (TileJSON)",
                    "/tiles/activities.json",
                    "json",
                ),
            ],
        ),
        _dataset(
            base,
            "venues",
            settings,
            title="Lokaler for frivillige",
            description=(
                "Skoler, bibliotek, kulturhus og andre lokaler frivillige kan bruke, med eier, "
                "pris, tilgjengelighet og tider de er ledige."
            ),
            themes=["SOCI", "REGI"],
            keywords=["lokaler", "frivillighet", "møterom", "universell utforming"],
            frequency="CONT",
            stats=stats["venues"],
            distributions=[
                dist("venues-csv", "Lokaler (CSV)", "/export/venues.csv", "csv"),
                dist("venues-geojson", "Lokaler (GeoJSON)", "/export/venues.geojson", "geojson"),
                dist(
                    "venues-ogc",
                    "Lokaler (OGC API Features)",
                    "/ogc/collections/venues/items",
                    "geojson",
                    conforms="http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
                ),
                dist(
                    "facility-uses",
                    "Ledige lokaler som OpenActive FacilityUse (RPDE-strøm)",
                    "/feeds/facility-uses",
                    "rpde",
                    conforms=rpde,
                ),
                dist(
                    "facility-use-slots",
                    "Ledige tider som OpenActive Slot (RPDE-strøm)",
                    "/feeds/facility-use-slots",
                    "rpde",
                    conforms=rpde,
                ),
                dist(
                    "venues-tiles",
                    "Lokaler som vektorfliser (TileJSON)",
                    "/tiles/venues.json",
                    "json",
                ),
            ],
        ),
        _dataset(
            base,
            "councils",
            settings,
            title="Innvandrerråd og tilsvarende råd",
            description="Innvandrerråd, mangfoldsråd og dialogforum i kommuner og fylker.",
            themes=["GOVE", "SOCI"],
            keywords=["innvandrerråd", "medvirkning"],
            frequency="IRREG",
            stats=stats["councils"],
            distributions=[
                dist("councils-csv", "Råd (CSV)", "/export/councils.csv", "csv"),
                dist("councils-geojson", "Råd (GeoJSON)", "/export/councils.geojson", "geojson"),
            ],
        ),
        _dataset(
            base,
            "directory-hsds",
            settings,
            title="Hele katalogen som Open Referral HSDS 3.0",
            description=(
                "Organisasjoner, tjenester (aktiviteter), steder og timeplaner som en "
                "tabulær datapakke etter Human Services Data Specification 3.0."
            ),
            themes=["SOCI"],
            keywords=["HSDS", "Open Referral", "tjenestekatalog"],
            frequency="CONT",
            stats=stats["organisations"],
            distributions=[
                dist(
                    "hsds-zip",
                    "HSDS-datapakke (zip med CSV)",
                    "/export/hsds/datapackage.zip",
                    "zip",
                    conforms="https://docs.openreferral.org/en/latest/hsds/",
                ),
                dist(
                    "hsds-descriptor",
                    "HSDS-datapakkens beskrivelse",
                    "/export/hsds/datapackage.json",
                    "json",
                ),
            ],
        ),
        _dataset(
            base,
            "coverage",
            settings,
            title="Dekning: hvem bor nær et tilbud",
            description=(
                "Befolkning per grunnkrets, delbydel eller rute og hvor mange som bor innen "
                "en gitt avstand fra et tilbud (spørreparametere i docs/exports.md)."
            ),
            themes=["SOCI", "REGI"],
            keywords=["dekning", "befolkning", "tilgjengelighet"],
            frequency="CONT",
            stats=stats["areas"],
            distributions=[
                dist(
                    "coverage-csv",
                    "Dekning (CSV, med spørreparametere)",
                    "/export/coverage.csv?municipality=0301&withinMeters=500&unitKind=DELBYDEL",
                    "csv",
                    description=(
                        "Eksempel for Oslo; område, avstand, enhet og målgruppe er "
                        "spørreparametere (se dokumentasjonen for eksportene)."
                    ),
                ),
                dist(
                    "areas-ogc",
                    "Statistiske enheter med befolkning (OGC API Features)",
                    "/ogc/collections/areas/items",
                    "geojson",
                    licence=free,
                ),
            ],
        ),
        _dataset(
            base,
            "municipalities",
            settings,
            title="Kommuner og bydeler (grenser)",
            description=(
                "Kommunegrenser (Kartverket) og Oslos bydeler, med folketall (SSB), som "
                "kart og vektorfliser."
            ),
            themes=["REGI"],
            keywords=["kommuner", "grenser"],
            frequency="ANNUAL",
            stats=stats["municipalities"],
            distributions=[
                dist(
                    "municipalities-ogc",
                    "Kommuner (OGC API Features)",
                    "/ogc/collections/municipalities/items",
                    "geojson",
                    licence=free,
                ),
                dist(
                    "municipalities-tiles",
                    "Kommuner som vektorfliser (TileJSON)",
                    "/tiles/municipalities.json",
                    "json",
                    licence=free,
                ),
            ],
        ),
    ]
    dataset_ids = [_iri(d["@id"]) for d in datasets]
    services = [
        _service(base, "graphql", "hverdag GraphQL API", "/graphql", dataset_ids),
        _service(base, "ogc", "OGC API Features", "/ogc", dataset_ids),
        _service(base, "tiles", "Vektorfliser (Mapbox Vector Tiles)", "/tiles", dataset_ids),
    ]
    return {
        "@context": CONTEXT,
        "@graph": [
            {
                "@id": f"{base}/catalog",
                "@type": "dcat:Catalog",
                "dct:identifier": f"{base}/catalog",
                "dct:title": _nb(f"{settings.publisher_name}: datakatalog"),
                "dct:description": _nb(
                    "Åpne data om hverdagsintegrering: aktiviteter, lokaler, råd og dekning, "
                    "med eksporter, strømmer, kalendere og API-er."
                ),
                "dct:publisher": _iri(settings.publisher_url),
                "dct:language": _iri(f"{EU}language/NOB"),
                "dct:license": _iri(data),
                "foaf:homepage": _iri(f"{base}/"),
                "dcat:dataset": dataset_ids,
                "dcat:service": [_iri(s["@id"]) for s in services],
            },
            {
                "@id": settings.publisher_url,
                "@type": "foaf:Agent",
                "foaf:name": _nb(settings.publisher_name),
            },
            {
                "@id": f"{base}/catalog#contact",
                "@type": "vcard:Organization",
                "vcard:fn": _nb(settings.publisher_name),
                "vcard:hasURL": _iri(settings.publisher_url),
            },
            *datasets,
            *services,
            *(
                {"@id": iri, "@type": "dct:Standard", "dct:title": {"@value": title}}
                for iri, title in STANDARDS.items()
            ),
        ],
    }


def _service(
    base: str, key: str, title: str, path: str, datasets: list[dict[str, str]]
) -> dict[str, Any]:
    iri = f"{base}/catalog#service-{key}"
    return {
        "@id": iri,
        "@type": "dcat:DataService",
        "dct:identifier": iri,
        "dct:title": _nb(title),
        "dcat:endpointURL": _iri(f"{base}{path}"),
        "dcat:servesDataset": datasets,
    }


def turtle(document: dict[str, Any]) -> str:
    """The catalogue in Turtle (rdflib reads the JSON-LD: no remote context is fetched)."""
    import rdflib  # imported on first use: nothing heavy at import time

    graph = rdflib.Graph()
    graph.parse(data=json.dumps(document), format="json-ld")
    for prefix, iri in CONTEXT.items():
        graph.bind(prefix, iri)
    return graph.serialize(format="turtle")


def _wants_jsonld(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return JSONLD in accept and "text/turtle" not in accept


def catalog_routes(settings: Settings) -> list[Route]:
    async def catalog(request: Request) -> Response:
        path = request.url.path
        as_jsonld = path.endswith(".jsonld") or (path == "/catalog" and _wants_jsonld(request))
        try:
            stats = await request.state.reader.for_request().run(table_stats)
        except Exception as exc:
            return export_failure(exc, request_id_of(request), "catalog")
        document = catalogue(str(request.base_url).rstrip("/"), settings, stats)
        if as_jsonld:
            return Response(json.dumps(document, ensure_ascii=False), media_type=JSONLD)
        return Response(turtle(document), media_type=TURTLE)

    return [
        Route("/catalog", catalog, methods=["GET"]),
        Route("/catalog.ttl", catalog, methods=["GET"]),
        Route("/catalog.jsonld", catalog, methods=["GET"]),
    ]
