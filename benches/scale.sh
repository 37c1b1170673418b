#!/usr/bin/env bash
# Scale-out on loopback UDP, with examples/load.rs: `dtls server` with 1 and 2 workers, and 2
# single-worker backends behind nginx, for each server key, beside the same handshakes in
# memory (the server's own calls only). One repetition runs them back to back (in memory,
# 1 worker, 2 workers, nginx); the ratios are taken within a repetition, so that a slow
# spell of the machine (a shared VM varies by tens of percent from minute to minute) hits
# both sides of a ratio alike, and the table gives the median over REPS repetitions. The
# machine's own ceiling comes first: two CPU-bound in-memory runs at once against one
# alone. Prints markdown tables; each run's summary line goes to stderr.
#
#   benches/scale.sh                        # REPS=3 SECS=8 KEYS="ecdsa rsa2048 rsa3072" VERSION=1.2
#   REPS=5 KEYS=rsa3072 benches/scale.sh
#   VERSION=1.3 RECORDS=0 benches/scale.sh  # DTLS 1.3 handshakes (X25519MLKEM768), no records table
#
# nginx (with libnginx-mod-stream and libnginx-mod-stream-js) must be installed for the nginx
# columns; without it they say "-".
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${REPS:-3}
secs=${SECS:-8}
keys=${KEYS:-ecdsa rsa2048 rsa3072}
version=${VERSION:-1.2}
records=${RECORDS:-1}
clients=(--clients 64 --client-threads 2 --max-version "$version")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cargo build --release --quiet --features cli --bin dtls --example load
load=target/release/examples/load
dtls=target/release/dtls

# One run of the load generator; its summary line goes to stderr, and to stdout
# "HANDSHAKES/S RECORDS/S SERVER-µs/HANDSHAKE SERVER-µs/RECORD GENERATOR-µs/OP NGINX-µs/OP"
# (NGINX 0 without nginx).
run() {
    local line nginx=0
    line=$("$load" "$dtls" "$@" --seconds "$secs" | tail -n 1)
    echo "$line" >&2
    case "$line" in *" 0 failures"*) ;; *) echo "failures in: $line" >&2 ;; esac
    case "$line" in *"nginx CPU"*) nginx=$(echo "$line" | sed -E 's/.*nginx CPU [0-9.]+ s \(([0-9.]+) µs.*/\1/') ;; esac
    echo "$line" | sed -E 's/.*: ([0-9]+) handshakes\/s, ([0-9]+) records\/s.*\(([0-9.-]+)( µs)? per handshake, ([0-9.-]+)( µs)? per record\).*load generator CPU [0-9.]+ s \(([0-9.]+) µs.*/\1 \2 \3 \5 \7/' | tr '\n' ' '
    echo "$nginx"
}
# In-memory handshakes: "HANDSHAKES SERVER-µs/HANDSHAKE".
in_memory() {
    "$load" "$dtls" --mode in-memory --seconds "$secs" --max-version "$version" "$@" | tail -n 1 \
        | sed -E 's/.*: ([0-9]+) handshakes, server ([0-9]+) µs per handshake.*/\1 \2/'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", (b > 0 ? a / b : 0) }'; }
# Column N of FILE, median.
col() { cut -d' ' -f"$1" "$2" | median; }
have_nginx=0
command -v nginx > /dev/null && [ -f /usr/lib/nginx/modules/ngx_stream_js_module.so ] && have_nginx=1

one=$(in_memory | cut -d' ' -f1)
in_memory | cut -d' ' -f1 > "$tmp/two" &
two_b=$(in_memory | cut -d' ' -f1)
wait
echo "machine ceiling (two CPU-bound processes at once against one alone): $(div $(($(cat "$tmp/two") + two_b)) "$one")×"
echo
echo "DTLS $version handshakes; medians over $reps repetitions of $secs s runs; ratios taken within each repetition."
echo
echo "| server key | in memory: server µs/handshake | 1 worker: handshakes/s (server µs each) | loopback ÷ in memory, server CPU | 2 workers: handshakes/s (server µs each) | 2 workers ÷ 1 | load generator µs/handshake (2 workers) | nginx + 2 backends: handshakes/s (nginx µs each) | nginx ÷ 1 worker |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for key in $keys; do
    : > "$tmp/m"; : > "$tmp/1"; : > "$tmp/2"; : > "$tmp/n"; : > "$tmp/ratios"
    for _ in $(seq "$reps"); do
        m=$(in_memory --key "$key"); echo "$m" >> "$tmp/m"
        r1=$(run --key "$key" --workers 1 "${clients[@]}"); echo "$r1" >> "$tmp/1"
        r2=$(run --key "$key" --workers 2 "${clients[@]}"); echo "$r2" >> "$tmp/2"
        rn="0 0 0 0 0 0"
        [ "$have_nginx" = 1 ] && rn=$(run --key "$key" --nginx 2 "${clients[@]}") && echo "$rn" >> "$tmp/n"
        set -- $m; mem_us=$2
        set -- $r1; h1=$1 c1=$3
        set -- $r2; h2=$1
        set -- $rn; hn=$1
        echo "$(div "$c1" "$mem_us") $(div "$h2" "$h1") $(div "$hn" "$h1")" >> "$tmp/ratios"
    done
    nginx_cols="- | -"
    [ -s "$tmp/n" ] && nginx_cols="$(col 1 "$tmp/n") ($(col 6 "$tmp/n")) | $(col 3 "$tmp/ratios")×"
    echo "| $key | $(col 2 "$tmp/m") | $(col 1 "$tmp/1") ($(col 3 "$tmp/1")) | $(col 1 "$tmp/ratios")× |" \
        "$(col 1 "$tmp/2") ($(col 3 "$tmp/2")) | $(col 2 "$tmp/ratios")× | $(col 5 "$tmp/2") | $nginx_cols |"
done

[ "$records" = 0 ] && exit 0
echo
echo "| records (100 B, echoed) | records/s (server µs each) | load generator µs/record |"
echo "|---|---:|---:|"
: > "$tmp/r1"; : > "$tmp/r2"; : > "$tmp/rr"
for _ in $(seq "$reps"); do
    a=$(run --mode records --workers 1 --clients 16 --client-threads 1 --prepared 70000 --max-version "$version"); echo "$a" >> "$tmp/r1"
    b=$(run --mode records --workers 2 --clients 16 --client-threads 1 --prepared 70000 --max-version "$version"); echo "$b" >> "$tmp/r2"
    div "$(echo "$b" | cut -d' ' -f2)" "$(echo "$a" | cut -d' ' -f2)" >> "$tmp/rr"
done
echo "| 1 worker | $(col 2 "$tmp/r1") ($(col 4 "$tmp/r1")) | $(col 5 "$tmp/r1") |"
echo "| 2 workers | $(col 2 "$tmp/r2") ($(col 4 "$tmp/r2")) | $(col 5 "$tmp/r2") |"
echo "| 2 workers ÷ 1 | $(median < "$tmp/rr")× | |"
