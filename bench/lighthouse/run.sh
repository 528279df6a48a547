#!/usr/bin/env bash
# Lighthouse on the page, mobile profile (Lighthouse's default: a mid-range phone on slow 4G),
# with Debian's chromium. Usage: bench/lighthouse/run.sh [URL] (default http://127.0.0.1:8000/,
# e.g. ./scripts/demo.sh in another terminal). Prints the four scores; the JSON report goes to
# $TMPDIR/hverdag-lighthouse.json. Lighthouse is installed here (npm ci), not with the app.
set -euo pipefail
cd "$(dirname "$0")"
url=${1:-http://127.0.0.1:8000/}
if [ ! -x node_modules/.bin/lighthouse ]; then npm ci --no-audit --no-fund --loglevel=error; fi
report=${TMPDIR:-/tmp}/hverdag-lighthouse.json
CHROME_PATH=${CHROME_PATH:-$(command -v chromium || command -v chromium-browser)} \
  node_modules/.bin/lighthouse "$url" --quiet --output=json --output-path="$report" \
  --chrome-flags="--headless --no-sandbox --disable-gpu --disable-background-networking" \
  --only-categories=performance,accessibility,best-practices,seo
node -e '
const r = require(process.argv[1]);
for (const [k, c] of Object.entries(r.categories)) console.log(k.padEnd(16), Math.round(c.score * 100));
for (const k of ["first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift", "speed-index"])
  console.log(k.padEnd(26), r.audits[k].displayValue);
' "$report"
