"""The deployment files, checked without a Docker engine: docker-compose.yml's structure, and
that everything the Dockerfile copies, runs and probes exists in the project."""

from __future__ import annotations

import importlib
import re
import shlex
import tomllib
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from api.app import create_app
from api.cli import build_parser
from geo.settings import PROJECT_ROOT, Settings, load_settings

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
DOCKERFILE = PROJECT_ROOT / "Dockerfile"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())  # type: ignore[no-any-return]


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def exec_form(arguments: str) -> list[str]:
    """A CMD/ENTRYPOINT/HEALTHCHECK command: JSON exec form, or shell form split."""
    if arguments.startswith("["):
        return yaml.safe_load(arguments)  # type: ignore[no-any-return]
    return shlex.split(arguments)


def probed_path(command: list[str]) -> str:
    match = re.search(r"http://127\.0\.0\.1:(\d+)(/[a-z]+)", " ".join(command))
    assert match, f"no local HTTP probe in {command}"
    return match.group(2)


def routes() -> set[str]:
    return {route.path for route in create_app(load_settings()).routes}  # type: ignore[attr-defined]


def test_compose_runs_postgis_redis_and_the_api(compose):
    services = compose["services"]
    assert set(services) == {"db", "redis", "api"}
    db, api = services["db"], services["api"]
    # The rate limits' shared budget: the API names the redis service, and waits for it.
    assert re.fullmatch(r"redis:7(-alpine)?", services["redis"]["image"])
    assert "ping" in services["redis"]["healthcheck"]["test"]
    assert make_url(api["environment"]["HVERDAG_REDIS_URL"]).host == "redis"
    assert api["depends_on"]["redis"]["condition"] == "service_healthy"
    assert re.fullmatch(r"postgis/postgis:15-3\.\d+", db["image"]), db["image"]
    # Built from the project with the loaders' extra (pyproject has it), so that the
    # documented `docker compose run --rm api hverdag demo --no-serve` can load.
    assert api["build"]["context"] == "."
    extras = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert api["build"]["args"]["EXTRAS"] in extras
    assert "pyogrio" in " ".join(extras["loaders"])
    assert "EXTRAS" in dict(instructions())["ARG"]
    assert api["depends_on"]["db"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])


def test_the_database_lives_in_a_named_volume(compose):
    volumes = compose["volumes"]
    mounts = [m.split(":") for m in compose["services"]["db"]["volumes"]]
    assert ["pgdata", "/var/lib/postgresql/data"] in mounts
    assert "pgdata" in volumes


def test_the_api_health_check_asks_readyz(compose):
    check = compose["services"]["api"]["healthcheck"]
    assert probed_path(check["test"]) == "/readyz"
    assert "/readyz" in routes()
    for name in ("interval", "timeout", "retries", "start_period"):
        assert name in check


def test_the_api_environment_is_hverdag_settings_and_reaches_the_db(compose):
    api, db = compose["services"]["api"], compose["services"]["db"]
    environment = api["environment"]
    assert environment, "the API needs its settings"
    for name in environment:
        assert name.startswith("HVERDAG_"), name
        assert name.removeprefix("HVERDAG_").lower() in Settings.model_fields, name
    # The URL names the db service and the credentials the db service is given.
    url = make_url(
        environment["HVERDAG_DATABASE_URL"].replace("${POSTGRES_PASSWORD:-hverdag}", "secret")
    )
    assert (url.host, url.port, url.database) == ("db", 5432, db["environment"]["POSTGRES_DB"])
    assert url.username == db["environment"]["POSTGRES_USER"]
    assert db["environment"]["POSTGRES_PASSWORD"] == "${POSTGRES_PASSWORD:-hverdag}"
    load_settings(
        **{name.removeprefix("HVERDAG_").lower(): value for name, value in environment.items()}
    )  # every value is valid


def test_the_compose_command_is_a_real_cli_command(compose):
    command = compose["services"]["api"]["command"]
    assert (
        command[0]
        in tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    )
    args = build_parser().parse_args(command[1:])
    assert args.command == "serve"  # migrates on start, serves; never loads demo data


def test_every_dockerfile_source_exists():
    steps = instructions()
    assert steps[0][0] == "FROM"
    assert steps[0][1].startswith("python:3.1")
    copies = [exec_form(arguments) for keyword, arguments in steps if keyword == "COPY"]
    assert copies
    for parts in copies:
        for source in parts[:-1]:
            assert (PROJECT_ROOT / source).exists(), f"COPY {source}: not in the project"
    copied = {source.rstrip("/") for parts in copies for source in parts[:-1]}
    # Every package pyproject installs is copied in, and so is pyproject itself.
    assert {"pyproject.toml", "api", "geo", "loaders"} <= copied


def test_the_dockerfile_command_and_health_check_exist():
    steps = dict(instructions())
    command = exec_form(steps["CMD"])
    scripts = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert command[0] in scripts
    module, _, function = scripts[command[0]].partition(":")
    assert (PROJECT_ROOT / (module.replace(".", "/") + ".py")).is_file()
    assert callable(getattr(importlib.import_module(module), function))
    assert build_parser().parse_args(command[1:]).command == "serve"
    health = steps["HEALTHCHECK"]
    assert probed_path(exec_form(health.split("CMD", 1)[1].strip())) == "/readyz"
    port = re.search(r"HVERDAG_PORT=(\d+)", steps["ENV"])
    assert port
    assert port.group(1) == steps["EXPOSE"]
    assert "HVERDAG_HOST=0.0.0.0" in steps["ENV"]
    assert "pip install" in steps["RUN"]
    assert steps["USER"] != "root"


def test_the_dockerfile_states_the_connection_limits():
    """The limits on request heads and idle connections are set in the image, as settings
    `hverdag serve` hands to uvicorn (docs/reliability.md)."""
    environment = dict(
        item.split("=", 1) for item in shlex.split(dict(instructions())["ENV"]) if "=" in item
    )
    limits = {
        name: environment[name]
        for name in ("HVERDAG_MAX_HEADER_BYTES", "HVERDAG_HEADER_TIMEOUT_S", "HVERDAG_KEEP_ALIVE_S")
    }
    settings = load_settings(
        **{name.removeprefix("HVERDAG_").lower(): value for name, value in limits.items()}
    )
    assert settings.max_header_bytes >= 16_384
    assert 0 < settings.header_timeout_s <= 60
