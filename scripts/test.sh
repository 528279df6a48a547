#!/usr/bin/env bash
# The README's second command: set up what is missing, lint, type-check, then run the whole suite
# against a real PostGIS (the embedded cluster, or HVERDAG_DATABASE_URL's server).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --dev --browser
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  echo "no tests were collected: that is a failure here" >&2
  exit 1
fi
exit "$status"
