#!/usr/bin/env bash
# One command to run the web app on this machine with the default data:
# builds `sextant` if needed, builds the knowledge base if needed (the
# model is fetched and checked first), creates the master key and database
# on the first run (`sextant init`, which never replaces a key), and serves
# http://127.0.0.1:${PORT:-8080}/ on plain HTTP, for this machine only.
#
#   ./scripts/serve.sh                 # data from $SEXTANT_DATA or ../shared/data
#   PORT=9000 ./scripts/serve.sh --data DIR
#
# For a server others reach, run `sextant serve --addr 0.0.0.0:PORT` behind
# TLS instead (cookies are then marked Secure).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/fetch-models.sh >/dev/null
if [ ! -x target/release/sextant ] || [ -n "$(find crates -newer target/release/sextant -name '*.rs' -print -quit)" ]; then
    cargo build --release --locked -p sextant-cli
fi
./target/release/sextant "$@" ingest -q
./target/release/sextant "$@" init
exec ./target/release/sextant "$@" serve --addr "127.0.0.1:${PORT:-8080}" --insecure-cookies
