#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test (unit, integration,
# property, snapshot, crash). Tests that need ../shared/data skip themselves
# with a message when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
cargo clippy --release --locked --workspace --all-targets -- -D warnings
cargo test --release --locked --workspace
