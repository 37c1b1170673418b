#!/usr/bin/env bash
# Scale-out on loopback UDP: `dtls server` with 1 and 2 workers and 2 single-worker backends
# behind nginx, driven by examples/load.rs, for each server key; the runs of one key are
# interleaved (1, 2, nginx, 1, 2, nginx, ...) so that a slow spell of the machine hits every
# topology alike, and the table gives the median of REPS runs. Also the same handshakes in
# memory (the server's own calls only) and the machine's ceiling: two in-memory runs at once
# against one alone. Prints a markdown table; the raw summary lines go to stderr.
#
#   benches/scale.sh                        # REPS=3 SECS=8 KEYS="ecdsa rsa2048 rsa3072"
#   REPS=5 KEYS=rsa3072 benches/scale.sh
#
# nginx (with libnginx-mod-stream and libnginx-mod-stream-js) must be installed for the nginx
# column; without it that column says "-".
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${REPS:-3}
secs=${SECS:-8}
keys=${KEYS:-ecdsa rsa2048 rsa3072}
clients=(--clients 64 --client-threads 2)

cargo build --release --quiet --features cli --bin dtls --example load
load=target/release/examples/load
dtls=target/release/dtls

# One run; prints its summary line to stderr and "HANDSHAKES/S RECORDS/S SERVER-µs/HANDSHAKE
# SERVER-µs/RECORD GENERATOR-µs/OP NGINX-µs/OP" (nginx: 0 without it).
run() {
    local line
    line=$("$load" "$dtls" "$@" --seconds "$secs" | tail -n 1)
    echo "$line" >&2
    case "$line" in *" 0 failures"*) ;; *) echo "failures in: $line" >&2 ;; esac
    local nginx=0
    case "$line" in *"nginx CPU"*) nginx=$(echo "$line" | sed -E 's/.*nginx CPU [0-9.]+ s \(([0-9.]+) µs.*/\1/') ;; esac
    echo "$line" | sed -E 's/.*: ([0-9]+) handshakes\/s, ([0-9]+) records\/s.*\(([0-9.-]+)( µs)? per handshake, ([0-9.-]+)( µs)? per record\).*load generator CPU [0-9.]+ s \(([0-9.]+) µs.*/\1 \2 \3 \5 \7/' | tr '\n' ' '
    echo "$nginx"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf (b > 0 ? "%.2f×" : "-"), a / b }'; }
have_nginx=0
command -v nginx > /dev/null && [ -f /usr/lib/nginx/modules/ngx_stream_js_module.so ] && have_nginx=1

# The machine: in-memory handshakes per second of one process, and of two at once.
one=$("$load" "$dtls" --mode in-memory --seconds "$secs" | tail -n 1 | sed -E 's/.*: ([0-9]+) handshakes.*/\1/')
"$load" "$dtls" --mode in-memory --seconds "$secs" | tail -n 1 | sed -E 's/.*: ([0-9]+) handshakes.*/\1/' > /tmp/scale-two.$$ &
two_b=$("$load" "$dtls" --mode in-memory --seconds "$secs" | tail -n 1 | sed -E 's/.*: ([0-9]+) handshakes.*/\1/')
wait
two_a=$(cat /tmp/scale-two.$$)
rm -f /tmp/scale-two.$$
echo "machine ceiling (two CPU-bound processes against one): $(ratio $((two_a + two_b)) "$one")"
echo
echo "| server key | in memory: server µs/handshake | 1 worker: handshakes/s (server µs each) | 2 workers: handshakes/s (server µs each) | 2 workers ÷ 1 | load generator µs/handshake (2 workers) | nginx + 2 backends: handshakes/s (nginx µs each) | nginx ÷ 1 worker |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for key in $keys; do
    mem=$("$load" "$dtls" --mode in-memory --key "$key" --seconds "$secs" | tail -n 1 \
        | sed -E 's/.*server ([0-9]+) µs per handshake.*/\1/')
    : > /tmp/scale-1.$$; : > /tmp/scale-2.$$; : > /tmp/scale-n.$$
    for _ in $(seq "$reps"); do
        run --key "$key" --workers 1 "${clients[@]}" >> /tmp/scale-1.$$
        run --key "$key" --workers 2 "${clients[@]}" >> /tmp/scale-2.$$
        [ "$have_nginx" = 1 ] && run --key "$key" --nginx 2 "${clients[@]}" >> /tmp/scale-n.$$
    done
    h1=$(cut -d' ' -f1 /tmp/scale-1.$$ | median); c1=$(cut -d' ' -f3 /tmp/scale-1.$$ | median)
    h2=$(cut -d' ' -f1 /tmp/scale-2.$$ | median); c2=$(cut -d' ' -f3 /tmp/scale-2.$$ | median)
    g2=$(cut -d' ' -f5 /tmp/scale-2.$$ | median)
    hn=- rn=-
    if [ -s /tmp/scale-n.$$ ]; then
        hn="$(cut -d' ' -f1 /tmp/scale-n.$$ | median) ($(cut -d' ' -f6 /tmp/scale-n.$$ | median))"
        rn=$(ratio "$(cut -d' ' -f1 /tmp/scale-n.$$ | median)" "$h1")
    fi
    echo "| $key | $mem | $h1 ($c1) | $h2 ($c2) | $(ratio "$h2" "$h1") | $g2 | $hn | $rn |"
done
rm -f /tmp/scale-1.$$ /tmp/scale-2.$$ /tmp/scale-n.$$

echo
echo "| records (100 B, echoed) | records/s (server µs each) | load generator µs/record |"
echo "|---|---:|---:|"
for w in 1 2; do
    : > /tmp/scale-r.$$
    for _ in $(seq "$reps"); do
        run --mode records --workers "$w" --clients 16 --client-threads 1 --prepared 70000 >> /tmp/scale-r.$$
    done
    echo "| $w worker(s) | $(cut -d' ' -f2 /tmp/scale-r.$$ | median) ($(cut -d' ' -f4 /tmp/scale-r.$$ | median)) | $(cut -d' ' -f5 /tmp/scale-r.$$ | median) |"
done
rm -f /tmp/scale-r.$$
