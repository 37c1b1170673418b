#!/usr/bin/env bash
# Run every benchmark, then draw docs/bench.png and print the README table.
#
#   benches/run.sh            full run (about 8 minutes on 2 cores)
#   benches/run.sh --quick    criterion's --warm-up-time 1 --measurement-time 3
#
# The peer benchmarks (dimpl, OpenSSL) live in benches/peers, a crate of its own, so the
# everyday build never compiles them; they need libssl-dev and pkg-config. With
# BENCH_WOLFSSL=1 they include wolfSSL's DTLS 1.3 (built by wolfssl-sys: autoconf, automake,
# libtool, libclang-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
if [ "${1:-}" = "--quick" ]; then args=(--warm-up-time 1 --measurement-time 3); fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo bench --bench records --bench handshake --bench endpoint -- "${args[@]}"
peer_features=()
if [ "${BENCH_WOLFSSL:-}" = 1 ]; then peer_features=(--features wolfssl); fi
(cd benches/peers && cargo bench "${peer_features[@]}" --bench peers -- "${args[@]}" \
    && cargo bench "${peer_features[@]}" --bench heap)
python3 benches/chart.py "$CARGO_TARGET_DIR/criterion" docs/bench.png
