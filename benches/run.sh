#!/usr/bin/env bash
# Run every benchmark, then draw docs/bench.png and print the README table.
#
#   benches/run.sh            full run (about 8 minutes on 2 cores)
#   benches/run.sh --quick    criterion's --warm-up-time 1 --measurement-time 3
#
# The peer benchmarks (dimpl, OpenSSL) live in benches/peers, a crate of its own, so the
# everyday build never compiles them; they need libssl-dev and pkg-config.
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
if [ "${1:-}" = "--quick" ]; then args=(--warm-up-time 1 --measurement-time 3); fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo bench --bench records --bench handshake --bench endpoint -- "${args[@]}"
(cd benches/peers && cargo bench --bench peers -- "${args[@]}" && cargo bench --bench heap)
python3 benches/chart.py "$CARGO_TARGET_DIR/criterion" docs/bench.png
