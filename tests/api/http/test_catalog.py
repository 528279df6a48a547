"""GET /catalog: the DCAT-AP-NO catalogue conforms to DCAT-AP-NO's own SHACL shapes (pyshacl,
tests/fixtures/dcat-ap-no/), names every dataset hverdag publishes with a distribution each
that answers, and says the same in Turtle and in JSON-LD."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import rdflib
from pyshacl import validate
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, DCTERMS, RDF, SKOS

from tests.conftest import FIXTURES

pytestmark = pytest.mark.anyio

SHAPES = FIXTURES / "dcat-ap-no" / "DCAT-AP-NO-shacl_shapes_2.00.ttl"
ONTOLOGIES = FIXTURES / "dcat-ap-no" / "ontologies.ttl"
EU = "http://publications.europa.eu/resource/authority/"


async def _graphs(client) -> tuple[rdflib.Graph, rdflib.Graph]:
    ttl = await client.get("/catalog")
    assert ttl.status_code == 200, ttl.text
    assert ttl.headers["content-type"].startswith("text/turtle")
    as_jsonld = await client.get("/catalog", headers={"accept": "application/ld+json"})
    assert as_jsonld.headers["content-type"].startswith("application/ld+json")
    assert (await client.get("/catalog.jsonld")).json() == as_jsonld.json()
    turtle = rdflib.Graph().parse(data=ttl.text, format="turtle")
    jsonld = rdflib.Graph().parse(data=as_jsonld.text, format="json-ld")
    return turtle, jsonld


def _vocabularies(graph: rdflib.Graph) -> rdflib.Graph:
    """What the EU's controlled vocabularies (which data.norge.no's validator loads, and CI
    cannot fetch) say of the codes the catalogue uses: each code is in its table's scheme,
    ``…/authority/{table}/{code}`` in ``…/authority/{table}``."""
    vocabularies = rdflib.Graph().parse(ONTOLOGIES, format="turtle")
    for code in set(graph.objects()):
        if isinstance(code, rdflib.URIRef) and str(code).startswith(EU):
            table = str(code).removeprefix(EU).split("/")[0]
            vocabularies.add((code, SKOS.inScheme, rdflib.URIRef(EU + table)))
    return vocabularies


async def test_the_catalogue_conforms_to_dcat_ap_no(client):
    turtle, jsonld = await _graphs(client)
    assert isomorphic(turtle, jsonld)
    shapes = rdflib.Graph().parse(SHAPES, format="turtle")
    conforms, _, report = validate(
        turtle + _vocabularies(turtle),
        shacl_graph=shapes,
        inference="none",
        allow_warnings=True,
    )
    assert conforms, report
    # The shapes do constrain this graph: a dataset without its title breaks them.
    broken = rdflib.Graph()
    for triple in turtle:
        broken.add(triple)
    dataset = next(iter(turtle.subjects(RDF.type, DCAT.Dataset)))
    broken.remove((dataset, DCTERMS.title, None))
    assert not validate(broken + _vocabularies(turtle), shacl_graph=shapes, inference="none")[0]


async def test_every_dataset_has_what_a_harvester_needs_and_its_downloads_answer(client):
    graph, _ = await _graphs(client)
    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    names = {str(d).rsplit("-", 1)[-1] for d in datasets}
    assert {"activities", "venues", "councils", "hsds", "coverage", "municipalities"} <= names
    for dataset in datasets:
        for predicate in (
            DCTERMS.title,
            DCTERMS.description,
            DCTERMS.publisher,
            DCAT.theme,
            DCTERMS.accrualPeriodicity,
            DCTERMS.spatial,
            DCTERMS.temporal,
            DCTERMS.modified,
            DCAT.distribution,
        ):
            assert graph.value(dataset, predicate) is not None, (dataset, predicate)
        for distribution in graph.objects(dataset, DCAT.distribution):
            assert graph.value(distribution, DCTERMS.license) is not None
            download = graph.value(distribution, DCAT.downloadURL)
            if download is None:
                continue  # a URL that needs parameters (the coverage export)
            path = urlsplit(str(download)).path
            response = await client.head(path) if "/export/" in path else await client.get(path)
            assert response.status_code == 200, (path, response.status_code)
    services = set(graph.subjects(RDF.type, DCAT.DataService))
    assert len(services) == 3
