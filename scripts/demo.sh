#!/usr/bin/env bash
# The README's first command: set up what is missing, load the bundled real data, serve the API.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/hverdag demo "$@"
