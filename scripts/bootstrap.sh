#!/usr/bin/env bash
# Idempotent set-up shared by the README's two commands: PostGIS for the installed PostgreSQL
# server (apt on Debian/Ubuntu), then the virtual environment with hverdag and its packages.
# Usage: scripts/bootstrap.sh [--dev] [--browser]   (--dev: the test tools, redis-server and
# gdal-bin among them; --browser: chromium for the browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0; browser=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    --browser) browser=1 ;;
    *) echo "bootstrap: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m[hverdag]\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root for: $*"; exit 1; fi
}

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if ! as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; then
    as_root apt-get update -qq >/dev/null
    as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  fi
}

# --- PostgreSQL + PostGIS (skipped when HVERDAG_DATABASE_URL points at a server) ------------
if [ -z "${HVERDAG_DATABASE_URL:-}" ]; then
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$pg_bin" ]; then
    if command -v apt-get >/dev/null; then
      say "installing PostgreSQL and PostGIS with apt"
      apt_install postgresql postgresql-postgis
      pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    else
      say "Please install PostgreSQL 14+ with PostGIS 3 (or set HVERDAG_DATABASE_URL)."; exit 1
    fi
  fi
  pg_version=$(basename "$(dirname "$pg_bin")")
  if ! ls /usr/share/postgresql/"$pg_version"/extension/postgis.control >/dev/null 2>&1; then
    if command -v apt-get >/dev/null; then
      say "installing postgresql-$pg_version-postgis-3 with apt"
      apt_install "postgresql-$pg_version-postgis-3"
    else
      say "Please install PostGIS 3 for PostgreSQL $pg_version (or set HVERDAG_DATABASE_URL)."
      exit 1
    fi
  fi
fi

# --- Redis for the shared rate-limit tests (--dev): each run starts its own on a socket ------
if [ "$dev" = 1 ] && ! command -v redis-server >/dev/null && [ ! -x /usr/bin/redis-server ]; then
  if command -v apt-get >/dev/null; then
    say "installing redis-server with apt (the shared rate-limit tests)"
    apt_install redis-server
  else
    say "Please install redis-server (the shared rate-limit tests)."; exit 1
  fi
fi

# --- GDAL's command-line tools for the OGC API's client tests (--dev): its OAPIF driver -------
if [ "$dev" = 1 ] && ! command -v ogr2ogr >/dev/null; then
  if command -v apt-get >/dev/null; then
    say "installing gdal-bin with apt (the OGC API's client tests)"
    apt_install gdal-bin
  else
    say "Please install GDAL's command-line tools, gdal-bin (the OGC API's client tests)."; exit 1
  fi
fi

# --- Chromium for the browser tests ------------------------------------------------------------
if [ "$browser" = 1 ] && ! command -v chromium >/dev/null; then
  if command -v apt-get >/dev/null; then
    say "installing chromium with apt (browser tests)"
    apt_install chromium
  else
    say "Please install Chromium for the browser tests."; exit 1
  fi
fi

# --- Browser assets from npm, served by the app (no CDN): MapLibre GL JS, i18next, a QR encoder,
# GraphiQL; and the dev dependencies the tests use (npm ci installs them): graphql-http's
# GraphQL-over-HTTP audit suite, axe-core and jsQR for the browser tests ---------------------------
if [ ! -f web/node_modules/.package-lock.json ] \
   || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  if ! command -v npm >/dev/null; then
    if command -v apt-get >/dev/null; then
      say "installing node and npm with apt (the page's browser assets)"
      apt_install nodejs npm
    else
      say "Please install Node.js and npm (the page's browser assets)."; exit 1
    fi
  fi
  say "installing the browser assets into web/node_modules (npm ci)"
  (cd web && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# --- OpenActive's validator for the feeds' tests (--dev): npm, like the browser assets ---------
if [ "$dev" = 1 ] && { [ ! -f tests/openactive/node_modules/.package-lock.json ] \
   || [ tests/openactive/package-lock.json -nt tests/openactive/node_modules/.package-lock.json ]; }; then
  if ! command -v npm >/dev/null; then
    if command -v apt-get >/dev/null; then
      say "installing node and npm with apt (OpenActive's validator)"
      apt_install nodejs npm
    else
      say "Please install Node.js and npm (OpenActive's validator, for the tests)."; exit 1
    fi
  fi
  say "installing OpenActive's data model validator into tests/openactive (npm ci)"
  (cd tests/openactive && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# --- Python environment --------------------------------------------------------------------------
python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  say "Python 3.11 or newer is needed (found: $("$python" --version 2>&1))."; exit 1
fi
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$python" -m venv .venv || { apt_install python3-venv && "$python" -m venv .venv; }
fi
# The loaders' extra always (`hverdag demo` loads the bundled data); dev adds the test tools.
extras="[loaders]"; [ "$dev" = 1 ] && extras="[loaders,dev]"
stamp=".venv/.installed$extras"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "installing Python packages into .venv"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".$extras"
  touch "$stamp"
fi
