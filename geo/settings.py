"""Every setting of hverdag, in one place, read from ``HVERDAG_*`` environment variables.

Each field's description is its documentation: the README's settings table is checked against it.
Nothing is read at import time; call :func:`load_settings` where the settings are needed.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


#: Kartverket's WMTS cache, grey topographic layer, web mercator tiles (REST form of
#: https://cache.kartverket.no/v1/wmts/1.0.0/WMTSCapabilities.xml).
KARTVERKET_GREY = (
    "https://cache.kartverket.no/v1/wmts/1.0.0/topograatone/default/webmercator/{z}/{y}/{x}.png"
)
KARTVERKET_ATTRIBUTION = (
    '© <a href="https://www.kartverket.no/">Kartverket</a> '
    '(<a href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a>)'
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HVERDAG_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description=(
            "PostgreSQL URL (postgresql://user:pass@host/db). Unset: the CLI runs a private "
            "PostgreSQL+PostGIS cluster in `home`, on a Unix socket only."
        ),
    )
    database_read_url: str | None = Field(
        default=None,
        description=(
            "PostgreSQL URL of a read replica (streaming replication). Set: every GraphQL query "
            "and export reads there, writes and loads go to `database_url`. Unset: all on one."
        ),
    )
    home: Path = Field(
        default=PROJECT_ROOT / ".hverdag",
        description="Folder for the embedded cluster, its socket and its log.",
    )
    database_name: str = Field(
        default="hverdag", description="Database name inside the embedded cluster."
    )
    data_dir: Path = Field(
        default=PROJECT_ROOT / "data",
        description="Folder with the bundled demo data that `hverdag demo` loads.",
    )
    publisher_name: str = Field(
        default="hverdag",
        description=(
            "Who publishes this directory: named in the RPDE feeds' dataset site and the DCAT "
            "catalogue (docs/standards.md)."
        ),
    )
    publisher_url: str = Field(
        default="https://github.com/hverdag",
        description="The publisher's web page (dataset site, DCAT catalogue).",
    )
    data_licence: str = Field(
        default="https://creativecommons.org/licenses/by/4.0/",
        description=(
            "Licence URL of the directory's data, stated in the RPDE feeds, the dataset site, "
            "the public pages and the DCAT catalogue."
        ),
    )
    host: str = Field(default="127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the HTTP server binds to.")
    pool_size: int = Field(
        default=20,
        ge=1,
        le=200,
        description=(
            "Database connections kept per worker process in each of its two pools "
            "(SQLAlchemy's, and autocommit connections for the near-me reads); as many again "
            "are opened for a burst and closed after it. Size it to the requests a worker has "
            "in flight: a connection opened and closed per request costs more than the query "
            "(docs/performance.md)."
        ),
    )
    statement_timeout_ms: int = Field(
        default=5000,
        ge=100,
        description="PostgreSQL statement_timeout for the API's connections, in milliseconds.",
    )
    connect_timeout_s: float = Field(
        default=2.0, gt=0, description="How long the API waits for a database connection."
    )
    pool_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description="How long a request waits for a pooled connection "
        "while all are busy (overload). A database that is down is told sooner: the first "
        "failed connection attempt makes the others fail at once until it is back.",
    )
    graphql_explorer: bool = Field(
        default=True, description="Serve the GraphiQL explorer at /graphql to browsers."
    )
    compiled_queries: bool = Field(
        default=True,
        description=(
            "Answer `nearby` and `whereAmI` queries that ask for plain fields through the "
            "compiled path (api/graphql/compiled.py), which skips per-field resolution; false: "
            "every query takes strawberry's path. The answers are the same."
        ),
    )
    basemap_url: str | None = Field(
        default=KARTVERKET_GREY,
        description=(
            "Raster basemap tile URL for the page at / (an XYZ template with {z}, {x}, {y}); "
            "default: Kartverket's open grey topographic map cache (CC BY 4.0, no key). Empty: "
            "no basemap, the page shows only hverdag's own layers. When the browser cannot "
            "reach it, the page works without it and says so in one line."
        ),
    )
    basemap_attribution: str = Field(
        default=KARTVERKET_ATTRIBUTION,
        description="Attribution shown on the map for the basemap (HTML allowed).",
    )
    log_level: str = Field(default="info", description="Log level: debug, info, warning, error.")
    cors_origins: list[str] = Field(
        default=["*"],
        description=(
            'Browser origins allowed to call the API, as JSON (["https://app.example"]); '
            '["*"]: any, as suits open data (no cookies are used).'
        ),
    )
    auth_cache_s: float = Field(
        default=30.0,
        ge=0,
        description=(
            "Seconds a worker remembers an API key lookup (0: ask the database every request). "
            "`hverdag keys revoke` tells every worker at once (PostgreSQL NOTIFY), and a write "
            "checks its key in its own transaction: this is only the bound for reads while a "
            "worker cannot hear the database (docs/writes.md)."
        ),
    )

    metrics: bool = Field(
        default=True,
        description="Serve Prometheus metrics at /metrics (requests, latency, GraphQL, pool).",
    )

    # --- limits on what one request may ask for (docs/reliability.md) --------------------------
    max_query_depth: int = Field(
        default=10, ge=1, description="Deepest selection a GraphQL operation may nest."
    )
    max_aliases: int = Field(default=20, ge=0, description="Most aliases in one GraphQL document.")
    max_tokens: int = Field(
        default=2000,
        ge=100,
        description="Most tokens in one GraphQL document (parsing stops there).",
    )
    max_document_bytes: int = Field(
        default=20_000,
        ge=1000,
        description="Largest GraphQL document (the query text), in bytes; checked before parsing.",
    )
    max_page_size: int = Field(
        default=100, ge=1, le=10_000, description="Largest `first` of a connection page."
    )
    max_query_cost: int = Field(
        default=20_000,
        ge=1,
        description="Most objects an operation may be estimated to return "
        "(the product of page sizes along nested lists); above it: QUERY_TOO_COMPLEX with the "
        "estimate.",
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="Largest request body, in bytes; larger bodies "
        "get a 413 before they are read whole.",
    )
    max_upload_bytes: int = Field(
        default=10_485_760,
        ge=1024,
        description="Largest multipart upload (a file for `importVenues`), in bytes, for a "
        "request with an API key; without one, `max_body_bytes` holds for every body.",
    )
    request_connections: int = Field(
        default=4,
        ge=1,
        description="Most database connections one request holds at once (a GraphQL "
        "operation's fields load in parallel up to this). Its first is always granted; more "
        "only while half the read pool is free for them, so one request of many aliases "
        "cannot take the pool from everybody else.",
    )
    heavy_reads: int = Field(
        default=1,
        ge=1,
        description="Heavy reads (text searches, counts of every match, coverage reports) "
        "running at once in a worker process; more wait their turn (within the request "
        "timeout), so a crowd of them cannot take the database's CPU from ordinary reads.",
    )
    request_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="Longest a GraphQL operation may run; then it is "
        "cancelled with a TIMEOUT error.",
    )
    query_cache_size: int = Field(
        default=256,
        ge=0,
        description="Entries of the per-process caches of parsed and "
        "validated GraphQL documents (distinct query texts).",
    )
    graphql_introspection: bool = Field(
        default=True,
        description="Answer introspection queries (open data: on; false hides "
        "the schema from clients, and the explorer cannot work).",
    )
    # --- HTTP caching and persisted queries (docs/api.md) --------------------------------------
    cache_max_age_s: int = Field(
        default=60,
        ge=0,
        description="Seconds a browser, app or CDN may reuse a public answer (GET queries "
        "without a key, exports, HSDS, OGC API, labels): `Cache-Control: public, max-age=…` "
        "with a strong ETag; a keyed request is always `private, no-store`. 0: `no-cache` "
        "(revalidate every time, still answered 304 when unchanged).",
    )
    persisted_queries: bool = Field(
        default=True,
        description="Automatic persisted queries (Apollo's `extensions.persistedQuery`): a "
        "client sends a document's SHA-256 instead of its text once the server has seen it.",
    )
    persisted_query_entries: int = Field(
        default=1000,
        ge=1,
        description="Documents a worker remembers for automatic persisted queries (least "
        "recently used go first; each at most `max_document_bytes`).",
    )
    trusted_documents: Path | None = Field(
        default=None,
        description="A JSON file of the only documents this deployment runs (trusted "
        "documents: `{sha256: document}` or an Apollo persisted-query manifest). Set: any other "
        "document is refused (PERSISTED_QUERY_NOT_FOUND), by hash or by text.",
    )
    # --- rate limiting (api/guard/ratelimit.py) ------------------------------------------------
    rate_limit_enabled: bool = Field(
        default=True,
        description="Limit requests per API key and per client address (token "
        "buckets per process, or shared through `redis_url`).",
    )
    rate_limit_per_minute: dict[str, int] = Field(
        default={
            "PUBLIC": 600,
            "ORGANISATION_EDITOR": 1200,
            "MUNICIPALITY_EDITOR": 1200,
            "ANALYST": 1200,
            "ADMIN": 6000,
        },
        description="Sustained requests per minute per bucket, by role (PUBLIC: callers "
        "without a key), as JSON; 0 means unlimited. A role not listed gets PUBLIC's.",
    )
    rate_limit_burst_s: float = Field(
        default=10.0,
        gt=0,
        description="Bucket size in seconds of the sustained rate: a "
        "caller may send this many seconds' worth of requests at once.",
    )
    rate_limit_auth_failures_per_minute: int = Field(
        default=30,
        ge=0,
        description="Failed authentications (a made-up, malformed, unknown or revoked key) per "
        "minute per client address, in a bucket of their own; once it is empty, a key not "
        "already known to the worker gets a 429 without a database lookup. 0: unlimited.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis for rate limits shared by every worker and node "
        "(redis://host:6379/0, rediss://…, unix:///path/redis.sock). Unset: each process "
        "keeps its own buckets. While Redis cannot be reached, each process limits alone.",
    )
    forwarded_for_hops: int = Field(
        default=0,
        ge=0,
        le=10,
        description="Trusted proxies in front of the API: 0 uses the "
        "TCP peer's address as the client's; N takes the Nth address from the right of "
        "X-Forwarded-For. Set it only behind proxies that overwrite that header.",
    )
    forwarded_allow_ips: str | None = Field(
        default=None,
        description="Addresses of trusted proxies (comma-separated IPs or networks) whose "
        "X-Forwarded-For and X-Forwarded-Proto uvicorn applies to the client address and "
        "scheme. Unset: uvicorn's proxy-header handling is off and the TCP peer is the client.",
    )
    log_format: str = Field(
        default="text",
        pattern="^(text|json)$",
        description="Log lines as text, or as JSON "
        "lines (time, level, logger, request_id, message, exception) for a log collector.",
    )
    max_header_bytes: int = Field(
        default=65_536,
        ge=4096,
        le=1_048_576,
        description="Largest request head (request line and headers), in bytes: a larger one "
        "gets a 431 and the connection is closed, before it is read whole. Room for a GET "
        "/graphql whose document rides in the URL.",
    )
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="Longest a client may take to send a request's head, from connecting (or "
        "from the first byte of a kept-alive connection's next request); then a 408 and the "
        "connection is closed. A connection that sends nothing is closed as well.",
    )
    stale_after_days: int = Field(
        default=180,
        ge=1,
        le=3650,
        description="An activity, venue or council not verified (by an editor, or by a load "
        "that re-imported it) for this many days is `stale`: flagged in GraphQL, exports and "
        "HSDS, listed after fresh ones at an equal distance, left out by `freshOnly`.",
    )
    problem_reports_per_minute: int = Field(
        default=1,
        ge=0,
        description="Problem reports (`reportProblem`, no key needed) one client address may "
        "send a minute, in a bucket of its own holding ten minutes' worth (whether or not "
        "`rate_limit_enabled`); 0: no limit.",
    )
    report_salt: str | None = Field(
        default=None,
        description="Secret salt of the hash a problem report keeps of its sender's address "
        "(for rate limiting; the address is never stored). Unset: a random salt per process, "
        "so with several workers and Redis each worker keeps its own budget per address. Set "
        "it the same in every process.",
    )
    webhook_delivery: bool = Field(
        default=True,
        description="`hverdag serve` delivers webhooks too (in every worker). Off: run "
        "`hverdag deliver` as a process of its own.",
    )
    webhook_allow_loopback: bool = Field(
        default=False,
        description="Accept webhook URLs on this machine (http://127.0.0.1, ::1, localhost, "
        "and private addresses); off: only HTTPS to public hosts. For tests and development.",
    )
    webhook_timeout_s: float = Field(
        default=10.0, gt=0, le=60, description="How long a subscriber has to answer a delivery."
    )
    webhook_retry_base_s: float = Field(
        default=30.0,
        gt=0,
        description="Wait before a failed delivery's first retry; it doubles each time.",
    )
    webhook_retry_max_s: float = Field(
        default=3600.0, gt=0, description="The longest wait between a delivery's retries."
    )
    webhook_pause_after: int = Field(
        default=20,
        ge=1,
        description="A subscription failing this many deliveries running is paused (its "
        "deliveries kept) until its owner resumes it.",
    )
    webhook_poll_s: float = Field(
        default=1.0, gt=0, le=60, description="How often an idle delivery worker looks for work."
    )
    keep_alive_s: int = Field(
        default=5,
        ge=1,
        description="Seconds an idle keep-alive connection is kept open after a response.",
    )
    graceful_shutdown_s: float = Field(
        default=30.0,
        ge=0,
        description="On SIGTERM `hverdag serve` stops accepting and waits "
        "this long for in-flight requests before closing them.",
    )

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, url: str | None) -> str | None:
        if not url:
            return None
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("a Redis URL starts with redis://, rediss:// or unix://")
        return url

    @field_validator("database_url", "database_read_url")
    @classmethod
    def _psycopg_driver(cls, url: str | None) -> str | None:
        """Accept the plain ``postgresql://`` form users copy from elsewhere."""
        if not url:
            return None
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url


def load_settings(**overrides: object) -> Settings:
    """Read the environment now (never at import time); keyword arguments win."""
    return Settings(**overrides)  # type: ignore[arg-type]


def _shown_default(value: object) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, Path):
        try:
            return f"`{value.relative_to(PROJECT_ROOT)}`"
        except ValueError:
            return f"`{value}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list | dict):
        return f"`{json.dumps(value)}`"
    return f"`{value}`"


def settings_table() -> str:
    """The README's table of settings, rendered from the fields' own documentation."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        lines.append(
            f"| `HVERDAG_{name.upper()}` | {_shown_default(field.default)} | {field.description} |"
        )
    return "\n".join(lines)
