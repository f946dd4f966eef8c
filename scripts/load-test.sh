#!/usr/bin/env bash
# A bounded load test of the web app on loopback (scripts/test.sh runs it):
# the real server and 16 keep-alive connections posting anonymous asks,
# against a knowledge base built from the data folder into a temp dir.
# Prints answers/s and latency percentiles; fails if any request fails.
# LOAD_REQUESTS sets the requests per run (default 200 here; the figures in
# BENCHMARKS.md use 400).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${SEXTANT_DATA:-$(cd .. && pwd)/shared/data}"
if [ ! -d "$DATA/corpus" ]; then
    echo "load-test: skipped: no corpus under $DATA"
    exit 0
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sextant-load.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# $SEXTANT_CARGO_FEATURES: the features scripts/test.sh built everything
# with, so this build reuses that one instead of rebuilding the workspace.
cargo build --release --locked -p sextant-cli -p sextant-server --example load \
    ${SEXTANT_CARGO_FEATURES:+--features "$SEXTANT_CARGO_FEATURES"}
./target/release/sextant --data "$DATA" --kb "$TMP/kb" ingest -q
./target/release/examples/load --kb "$TMP/kb" --concurrency 16 --requests "${LOAD_REQUESTS:-200}"
