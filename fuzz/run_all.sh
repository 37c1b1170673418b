#!/usr/bin/env bash
# Run every fuzz target for SECONDS each (default 60), after seeding the corpora.
# Usage: fuzz/run_all.sh [SECONDS]. Needs cargo-fuzz; runs on stable via RUSTC_BOOTSTRAP=1.
# Exits non-zero if any target finds a crash (the input lands in fuzz/artifacts/<target>/).
set -euo pipefail
seconds="${1:-60}"
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
./seed_corpus.sh
export RUSTC_BOOTSTRAP=1
status=0
for t in record_deframer record_headers handshake_messages handshake13 extensions reassembler client_session server_session client13_session server13_session endpoint; do
    echo "=== $t (${seconds}s)"
    if ! cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$seconds" -print_final_stats=1 2>&1 | tee "/tmp/fuzz-$t.log" | grep -E "^(#[0-9]+ +DONE|Done|stat::number_of_executed_units|==[0-9]+== ERROR|SUMMARY)"; then
        :
    fi
    if grep -qE "ERROR: libFuzzer|panicked|SUMMARY: libFuzzer" "/tmp/fuzz-$t.log"; then
        echo "!!! $t crashed; see /tmp/fuzz-$t.log and fuzz/artifacts/$t/"
        status=1
    fi
done
exit "$status"
