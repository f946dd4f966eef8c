#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test (unit, integration,
# property, snapshot, crash), a short fuzz of the record parsers, and the
# web app in a real browser. Tests that need ../shared/data skip themselves
# with a message when it is absent.
#
# The embedding model and the small test GGUF model are fetched first (once
# per machine; checked by sha256).
# The first run on a machine embeds the whole corpus, passages and
# sentences (about 7 minutes on 2 cores); the embeddings are cached by
# content under ~/.cache/sextant, so later runs take seconds for it.
#
# The store's tests run against SQLite and against a throwaway PostgreSQL
# cluster (initdb in a temp dir); PostgreSQL's server comes from Debian's
# packages when the machine lacks it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/fetch-models.sh
./scripts/install-postgres.sh
# cmake and libclang-dev, to build llama.cpp for the local-model tests.
./scripts/install-llm-deps.sh
export SEXTANT_REQUIRE_PG=1
# The local GGUF model (fetched above) must be there: its tests fail, not skip.
export SEXTANT_REQUIRE_LLM=1
# Everything is built and tested with local models on (llama.cpp from
# vendored source); the default build leaves them out.
FEATURES="sextant-cli/local-llm,sextant-llm/serve"
# The later scripts' builds use them too, so nothing is built twice.
export SEXTANT_CARGO_FEATURES="$FEATURES"
cargo fmt --all --check
cargo clippy --release --locked --workspace --all-targets --features "$FEATURES" -- -D warnings
cargo test --release --locked --workspace --features "$FEATURES"
# A short fuzz of the record parsers (20 s per target; SEXTANT_FUZZ_SECONDS).
./scripts/fuzz.sh
# The web app in Chromium with axe-core (installs Debian's chromium when missing).
./scripts/browser-test.sh
# The live attacks of the security review, re-run on loopback (issue 19).
./scripts/attack.sh
# A bounded load test on loopback (16 connections; answers/s and p95).
./scripts/load-test.sh
