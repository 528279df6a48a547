"""GraphQL over HTTP's conventions around execution: which media type an answer takes, the status
of a request error under ``application/graphql-response+json``, and which document a request
runs (automatic persisted queries, trusted documents). No I/O and no framework here: the view
(``GraphQLApp`` in api/app.py) calls these.

- **Media types** (the GraphQL-over-HTTP specification): a client that accepts
  ``application/graphql-response+json`` at least as much as ``application/json`` gets it, and
  then a request error (parse, validation, variable coercion, a refused document) answers with
  a 4xx and no ``data`` entry. Everybody else gets ``application/json`` answers as before: 200
  with ``"data": null`` and the errors.
- **Automatic persisted queries** (Apollo's ``extensions.persistedQuery.sha256Hash``): a hash
  this worker does not know is ``PERSISTED_QUERY_NOT_FOUND``; the client then sends the document
  with its hash, which is checked and remembered. The store is bounded in entries (least
  recently used go first) and each document by ``max_document_bytes``, the limit on any document
  sent; a remembered document runs through every limit again on each request.
- **Trusted documents**: with ``HVERDAG_TRUSTED_DOCUMENTS`` set, only the listed documents run
  (by hash, or by a text whose hash is listed), and nothing new is remembered.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from api.errors import ApiError, ErrorCode

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"

#: The HTTP status of a request error (no ``data``) by its code, for graphql-response+json.
_STATUS_OF_CODE = {
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.TIMEOUT: 504,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.INTERNAL_SERVER_ERROR: 500,
}


@lru_cache(maxsize=128)
def answer_media_type(accept: str | None) -> str:
    """``application/graphql-response+json`` when the Accept header lists it with a quality at
    least that of ``application/json``; else ``application/json`` (no header, ``*/*``)."""
    if not accept:
        return JSON
    qualities: dict[str, float] = {}
    for media_range in accept.split(","):
        media_type, *parameters = (part.strip() for part in media_range.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        qualities[media_type.lower()] = quality
    wanted = qualities.get(GRAPHQL_RESPONSE_JSON, 0.0)
    if wanted > 0 and wanted >= qualities.get(JSON, 0.0):
        return GRAPHQL_RESPONSE_JSON
    return JSON


def request_error_status(response: Mapping[str, Any]) -> int | None:
    """The status of an answer that is a request error: no data and no error at a field (a
    document that does not parse or validate, variables that do not coerce, a refused
    document); None for an execution's answer, which is 200 whatever its errors."""
    errors = response.get("errors")
    if response.get("data") is not None or not errors:
        return None
    if any(error.get("path") for error in errors):
        return None
    code = (errors[0].get("extensions") or {}).get("code")
    return _STATUS_OF_CODE.get(code, 400)


# --- automatic persisted queries and trusted documents ------------------------------------------


class DocumentRefused(ApiError):  # noqa: N818 - an error the client reads, like the others
    """A persisted-query request that cannot run: its code is Apollo's."""


def document_hash(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def _requested_hash(extensions: Mapping[str, Any] | None) -> str | None:
    """The hash of ``extensions.persistedQuery`` (version 1), or None when there is none."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version", 1) != 1:
        raise DocumentRefused(
            "extensions.persistedQuery must be {version: 1, sha256Hash: <hex>}",
            ErrorCode.BAD_USER_INPUT,
            reason="unsupported persistedQuery",
        )
    sha = persisted.get("sha256Hash")
    if not isinstance(sha, str) or len(sha) != 64:
        raise DocumentRefused(
            "extensions.persistedQuery.sha256Hash must be 64 hex digits",
            ErrorCode.BAD_USER_INPUT,
            reason="bad sha256Hash",
        )
    return sha.lower()


def load_trusted_documents(path: Path) -> dict[str, str]:
    """``{sha256: document}`` from a JSON file holding that map, or an Apollo persisted-query
    manifest (``{"format": "apollo-persisted-query-manifest", "operations": [{"id", "body"}]}``).
    Every hash is checked against its document, so a typo cannot let another one in."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and isinstance(data.get("operations"), list):
        documents = {op["id"]: op["body"] for op in data["operations"]}
    elif isinstance(data, dict):
        documents = dict(data)
    else:
        raise ValueError(f"{path}: expected a JSON object (hash → document) or a manifest")
    for sha, document in documents.items():
        if not isinstance(document, str) or document_hash(document) != str(sha).lower():
            raise ValueError(f"{path}: the document listed under {sha} does not hash to it")
    return {str(sha).lower(): document for sha, document in documents.items()}


@dataclass
class PersistedDocuments:
    """The documents a worker runs by hash: a bounded store, or a fixed list of trusted ones."""

    enabled: bool = True
    max_entries: int = 1000
    max_document_bytes: int = 20_000
    trusted: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        self._store: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._store)

    def document_for(self, query: str | None, extensions: Mapping[str, Any] | None) -> str | None:
        """The document the request runs: ``query`` itself, or the one its hash names.
        Raises :class:`DocumentRefused` for an unknown hash, a hash that does not match the
        document sent, or (trusted documents) any document not listed."""
        sha = _requested_hash(extensions)
        if self.trusted is not None:
            return self._trusted_document(query, sha, self.trusted)
        if sha is None:
            return query
        if not self.enabled:
            raise DocumentRefused(
                "Persisted queries are not supported here; send the document",
                ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED,
            )
        if query is None:
            return self._remembered(sha)
        if document_hash(query) != sha:
            raise DocumentRefused(
                "provided sha does not match query",
                ErrorCode.BAD_USER_INPUT,
                reason="extensions.persistedQuery.sha256Hash is not the SHA-256 of `query`",
            )
        self._remember(sha, query)
        return query

    def _remembered(self, sha: str) -> str:
        document = self._store.get(sha)
        if document is None:
            raise DocumentRefused("PersistedQueryNotFound", ErrorCode.PERSISTED_QUERY_NOT_FOUND)
        self._store.move_to_end(sha)
        return document

    def _remember(self, sha: str, document: str) -> None:
        # A document over the size limit is refused when it runs; never worth a place here.
        if len(document.encode("utf-8")) > self.max_document_bytes:
            return
        self._store[sha] = document
        self._store.move_to_end(sha)
        while len(self._store) > self.max_entries:
            self._store.popitem(last=False)

    @staticmethod
    def _trusted_document(query: str | None, sha: str | None, trusted: Mapping[str, str]) -> str:
        sha = sha if sha is not None else (document_hash(query) if query is not None else None)
        document = trusted.get(sha) if sha is not None else None
        if document is None or (query is not None and query != document):
            raise DocumentRefused(
                "This deployment runs only its trusted documents, and this is not one of them",
                ErrorCode.PERSISTED_QUERY_NOT_FOUND,
                reason="not a trusted document",
            )
        return document
