#!/usr/bin/env bash
# Prints a complete nginx config (to stdout) that balances DTLS over UDP across `dtls server`
# backends: a datagram whose first record carries a Connection ID goes to the backend whose
# server id starts the CID (read by dtls_cid.js); everything else (hellos, records without a
# CID, unknown server ids) goes by a consistent hash of the client's address and port.
# docs/deploy.md explains the setup; tests/nginx_lb.rs runs it on loopback.
#
#   deploy/nginx/nginx-conf.sh --listen ADDR:PORT --backend SID=ADDR:PORT [--backend ...]
#       [--cid-len N] [--server-id-len N] [--js FILE] [--runtime-dir DIR]
#       [--workers N|auto] [--proxy-timeout TIME] [--log-level LEVEL] [--foreground]
#       [--modules DIR] [--connections N]
#
#   --listen ADDR:PORT      where nginx receives the clients' datagrams (UDP)
#   --backend SID=ADDR:PORT a backend and its server id, SERVER-ID-LEN bytes in hex (`01`)
#   --cid-len N             bytes of every CID the backends issue (default 8)
#   --server-id-len N       bytes of server id at the start of the CID (default 1)
#   --js FILE               dtls_cid.js (default: the one beside this script)
#   --runtime-dir DIR       where nginx.pid, error.log and access.log go (default /run/nginx-dtls)
#   --workers N|auto        worker processes (default auto; each gets its own `reuseport`
#                           socket, so the kernel keeps a client's datagrams on one worker)
#   --proxy-timeout TIME    how long an idle UDP session (client address <-> backend) lives
#                           (default 10m); keep it above the DTLS sessions' idle time
#   --log-level LEVEL       error_log level (default notice; info logs every UDP session)
#   --foreground            `daemon off;` (for a supervisor, or a test)
#   --connections N         worker_connections per worker (default 4096): every client address
#                           holds two (its own and the upstream socket) until proxy-timeout, so
#                           N / 2 client addresses per worker at most; files are raised to match
#   --modules DIR           where ngx_stream_module.so and ngx_stream_js_module.so are
#                           (default /usr/lib/nginx/modules, Debian's libnginx-mod-stream{,-js})
set -euo pipefail

die() {
    echo "nginx-conf.sh: $*" >&2
    exit 2
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
listen=""
backends=()
cid_len=8
sid_len=1
js="$here/dtls_cid.js"
runtime_dir=/run/nginx-dtls
workers=auto
proxy_timeout=10m
log_level=notice
daemon=on
modules=/usr/lib/nginx/modules
connections=4096

while [ $# -gt 0 ]; do
    case "$1" in
        --listen) listen="${2:?--listen needs ADDR:PORT}"; shift 2 ;;
        --backend) backends+=("${2:?--backend needs SID=ADDR:PORT}"); shift 2 ;;
        --cid-len) cid_len="${2:?--cid-len needs N}"; shift 2 ;;
        --server-id-len) sid_len="${2:?--server-id-len needs N}"; shift 2 ;;
        --js) js="${2:?--js needs FILE}"; shift 2 ;;
        --runtime-dir) runtime_dir="${2:?--runtime-dir needs DIR}"; shift 2 ;;
        --workers) workers="${2:?--workers needs N or auto}"; shift 2 ;;
        --proxy-timeout) proxy_timeout="${2:?--proxy-timeout needs TIME}"; shift 2 ;;
        --log-level) log_level="${2:?--log-level needs LEVEL}"; shift 2 ;;
        --foreground) daemon=off; shift ;;
        --modules) modules="${2:?--modules needs DIR}"; shift 2 ;;
        --connections) connections="${2:?--connections needs N}"; shift 2 ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done

addr_re='^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):[0-9]+$'
[ -n "$listen" ] || die "--listen ADDR:PORT is required"
[[ "$listen" =~ $addr_re ]] || die "--listen $listen: expected ADDR:PORT"
[ "${#backends[@]}" -gt 0 ] || die "at least one --backend SID=ADDR:PORT is required"
[[ "$cid_len" =~ ^[0-9]+$ ]] && [ "$cid_len" -ge 1 ] && [ "$cid_len" -le 20 ] \
    || die "--cid-len must be 1..20 bytes (RFC 9146 allows up to 255; keep it short)"
[[ "$sid_len" =~ ^[0-9]+$ ]] && [ "$sid_len" -ge 1 ] && [ "$sid_len" -lt "$cid_len" ] \
    || die "--server-id-len must be at least 1 and less than --cid-len"
[[ "$log_level" =~ ^(debug|info|notice|warn|error|crit|alert|emerg)$ ]] || die "--log-level: not an nginx log level"
[[ "$proxy_timeout" =~ ^[0-9]+(ms|s|m|h)?$ ]] || die "--proxy-timeout: expected an nginx time such as 30s or 10m"
[[ "$workers" =~ ^([0-9]+|auto)$ ]] || die "--workers must be a number or auto"
[[ "$connections" =~ ^[1-9][0-9]{0,6}$ ]] || die "--connections must be a number, 1 to 9999999"
[ -f "$js" ] || die "no $js"
js="$(cd "$(dirname "$js")" && pwd)/$(basename "$js")"

# Validate every backend, and derive an upstream name per server id.
declare -A seen_sid=()
upstreams=""
map_lines=""
hash_servers=""
for b in "${backends[@]}"; do
    [[ "$b" == *=* ]] || die "--backend $b: expected SID=ADDR:PORT"
    sid="${b%%=*}"
    addr="${b#*=}"
    sid="${sid,,}"
    [[ "$sid" =~ ^[0-9a-f]+$ ]] && [ "${#sid}" -eq $((2 * sid_len)) ] \
        || die "--backend $b: the server id must be $sid_len byte(s), $((2 * sid_len)) hex digits"
    [[ "$addr" =~ $addr_re ]] || die "--backend $b: expected ADDR:PORT"
    [ -z "${seen_sid[$sid]:-}" ] || die "server id $sid given twice"
    seen_sid[$sid]=1
    upstreams+="    upstream dtls_sid_$sid {
        server $addr;
    }
"
    map_lines+="        $sid dtls_sid_$sid;
"
    hash_servers+="        server $addr;
"
done

cat <<CONF
# Generated by deploy/nginx/nginx-conf.sh: DTLS over UDP, routed by Connection ID.
# CID layout: server id ($sid_len byte(s)) || random, $cid_len bytes in all.
load_module $modules/ngx_stream_module.so;
load_module $modules/ngx_stream_js_module.so;

daemon $daemon;
worker_processes $workers;
pid $runtime_dir/nginx.pid;
error_log $runtime_dir/error.log $log_level;
worker_rlimit_nofile $((connections + 64));

events {
    worker_connections $connections;
}

stream {
    js_import dtls_cid from $js;

    # Read by dtls_cid.preread; it sets \$dtls_server_id (hex, or empty: no CID).
    js_var \$dtls_cid_len $cid_len;
    js_var \$dtls_server_id_len $sid_len;
    js_var \$dtls_server_id "";

    # Hellos and records without a CID: the client's address and port, hashed consistently
    # so that adding or removing a backend moves few clients.
    upstream dtls_by_address {
        hash \$remote_addr:\$remote_port consistent;
$hash_servers    }

    # One upstream per server id: a CID record goes where its CID was issued.
$upstreams
    map \$dtls_server_id \$dtls_upstream {
        default dtls_by_address;
$map_lines    }

    log_format dtls '\$remote_addr:\$remote_port sid=\$dtls_server_id -> \$upstream_addr '
                    '\$status rx=\$bytes_received tx=\$bytes_sent \$session_time';
    access_log $runtime_dir/access.log dtls;

    server {
        listen $listen udp reuseport;
        js_preread dtls_cid.preread;
        proxy_pass \$dtls_upstream;
        # Every datagram a backend sends back goes to the client, for as long as the
        # session lives; an idle session ends after proxy_timeout.
        proxy_timeout $proxy_timeout;
        proxy_connect_timeout 5s;
    }
}
CONF
