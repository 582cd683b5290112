#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 600), from the committed seeds; new inputs
# go to fuzz/corpus/TARGET (not committed). Crashes are saved under fuzz/artifacts/TARGET.
#   fuzz/run.sh [SECONDS] [TARGET...]
# Needs cargo-fuzz (cargo install cargo-fuzz); the stable toolchain runs it with
# RUSTC_BOOTSTRAP=1, set here. FUZZ_SEED fixes libFuzzer's seed (CI sets it, so that a run
# explores the same inputs each time and a failure can be replayed); unset, it is random.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(index parse normalize extract request zip xlsx pdf mime)
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    echo "== $t, ${secs}s"
    cargo fuzz run -O "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$secs" -seed="${FUZZ_SEED:-0}" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 2>&1 \
        | grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|stat::number_of_executed_units|SUMMARY|==[0-9]+==ERROR)' || true
    # cargo fuzz exits non-zero on a crash; grep above swallows it, so check the artifacts.
    if compgen -G "fuzz/artifacts/$t/crash-*" > /dev/null || compgen -G "fuzz/artifacts/$t/oom-*" > /dev/null || compgen -G "fuzz/artifacts/$t/timeout-*" > /dev/null; then
        echo "fuzz target $t found a failing input: see fuzz/artifacts/$t"
        exit 1
    fi
done
