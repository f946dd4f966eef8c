#!/usr/bin/env bash
# A short libFuzzer run of the parsers of untrusted input that need no
# search or model crates: records (FHIR, C-CDA, text, gzip), PDF, and
# sentence splitting. `scripts/test.sh` runs it; SEXTANT_FUZZ_SECONDS sets
# the time per target (default 20; 0 skips the run).
#
# Built like `cargo fuzz build --sanitizer none` but on the stable toolchain
# (SanitizerCoverage through -Cpasses and -Cllvm-args, no -Z flags), so CI
# needs neither nightly nor cargo-fuzz. A crash fails the run and leaves the
# input in fuzz/artifacts/TARGET/; turn it into a regression test.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${SEXTANT_FUZZ_SECONDS:-20}"
if [ "$secs" = 0 ]; then
    echo "fuzz: skipped (SEXTANT_FUZZ_SECONDS=0)"
    exit 0
fi
host="$(rustc -vV | sed -n 's/^host: //p')"
# The instrumented build is kept outside the clone (like the embedding
# cache), so a CI run on a machine that fuzzed before rebuilds only what
# changed; from scratch it takes some minutes on 2 cores.
export CARGO_TARGET_DIR="${SEXTANT_FUZZ_TARGET:-${XDG_CACHE_HOME:-$HOME/.cache}/sextant/fuzz-target}"
# --target keeps build scripts uninstrumented.
RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing" \
    cargo build --release --locked --no-default-features --target "$host" \
    --bin records --bin pdf --bin sentences
data="${SEXTANT_DATA:-../../shared/data}"
for t in records pdf sentences; do
    mkdir -p "corpus/$t" "artifacts/$t"
    seeds=()
    if [ "$t" = records ]; then
        # Real records as seeds, when the shared data is there.
        for d in "$data/records/ccda" "$data/records/mcode/mcode-extraction-framework/test/helpers/fixtures"; do
            if [ -d "$d" ]; then seeds+=("$d"); fi
        done
    fi
    echo "fuzz: $t for ${secs}s"
    log="artifacts/$t/last-run.log"
    if ! "$CARGO_TARGET_DIR/$host/release/$t" -max_total_time="$secs" -max_len=65536 \
        -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/" "corpus/$t" "${seeds[@]}" >"$log" 2>&1; then
        tail -40 "$log" >&2
        echo "fuzz: $t found a crash: the input is in fuzz/artifacts/$t/" >&2
        exit 1
    fi
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log" || true
done
