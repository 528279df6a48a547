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
    host: str = Field(default="127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the HTTP server binds to.")
    pool_size: int = Field(
        default=10, ge=1, le=200, description="Database connections kept per worker process."
    )
    statement_timeout_ms: int = Field(
        default=5000,
        ge=100,
        description="PostgreSQL statement_timeout for the API's connections, in milliseconds.",
    )
    connect_timeout_s: float = Field(
        default=2.0, gt=0, description="How long the API waits for a database connection."
    )
    graphql_explorer: bool = Field(
        default=True, description="Serve the GraphiQL explorer at /graphql to browsers."
    )
    compiled_queries: bool = Field(
        default=True, description=(
            "Answer `nearby` queries that ask for plain fields through the compiled path "
            "(api/compiled.py), which skips per-field resolution; false: every query takes "
            "strawberry's path. The answers are the same."))
    basemap_url: str | None = Field(
        default=None,
        description=(
            "Raster basemap tile URL for the map page at / (an XYZ template such as "
            "https://tiles.example/{z}/{x}/{y}.png); unset: the map shows only hverdag's own "
            "layers (municipalities, districts, points)."),
    )
    basemap_attribution: str = Field(
        default="", description="Attribution shown on the map for the basemap (HTML allowed)."
    )
    log_level: str = Field(default="info", description="Log level: debug, info, warning, error.")
    cors_origins: list[str] = Field(
        default=["*"],
        description=(
            'Browser origins allowed to call the API, as JSON (["https://app.example"]); '
            '["*"]: any, as suits open data (no cookies are used).'),
    )
    auth_cache_s: float = Field(
        default=30.0, ge=0,
        description=(
            "Seconds a worker remembers an API key lookup (0: ask the database every request). "
            "A revoked key is refused by every worker at most this long after `hverdag keys "
            "revoke`."),
    )

    metrics: bool = Field(
        default=True,
        description="Serve Prometheus metrics at /metrics (requests, latency, GraphQL, pool).",
    )

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
    if isinstance(value, list):
        return f"`{json.dumps(value)}`"
    return f"`{value}`"


def settings_table() -> str:
    """The README's table of settings, rendered from the fields' own documentation."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        lines.append(f"| `HVERDAG_{name.upper()}` | {_shown_default(field.default)} | "
                     f"{field.description} |")
    return "\n".join(lines)
