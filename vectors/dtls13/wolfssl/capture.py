#!/usr/bin/env python3
"""Capture wolfSSL <-> wolfSSL DTLS 1.3 sessions on loopback, with their key logs.

usage: capture.py PEER_BINARY OUT_DIR [RUN ...]

PEER_BINARY is interop/wolfssl's `wolfssl-peer` (built with HAVE_SECRET_CALLBACK, for
--keylog). For each run (all of RUNS below unless named), a `wolfssl-peer server` and a
`wolfssl-peer client` talk DTLS 1.3 through a UDP relay of this script that forwards every
datagram and records it with its direction. Both peers send a KeyUpdate right after the
handshake (--key-update) and print 32 bytes of exported keying material (--exporter,
label EXPORTER, no context); the client sends --message, the server echoes it, the client
sends close_notify. OUT_DIR/RUN/ then holds:

  datagrams.txt  every relayed datagram in order: `c>s HEX` or `s>c HEX`
  keylog.txt     the NSS key log lines of the client (after `# client`) and of the server
                 (after `# server`)
  run.txt        the exact commands, both peers' stdout, the wolfSSL version and the date

Certificates: tests/fixtures/chain (server.pem, signed by ca.pem, P-256); with client
authentication the client presents tests/fixtures/keys/p256-cert.pem (self-signed P-256),
which the server takes as its CA.
"""
import datetime, glob, os, re, select, socket, subprocess, sys, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CHAIN = os.path.join(ROOT, "tests", "fixtures", "chain")
KEYS = os.path.join(ROOT, "tests", "fixtures", "keys")
EXPORTER = "EXPERIMENTAL dtls-engine capture:32"
MESSAGE = "application data from the wolfSSL client, echoed by the wolfSSL server"

# name: (groups, ciphers or None for wolfSSL's default, client authentication)
RUNS = {
    # wolfSSL's default suite order puts TLS_AES_256_GCM_SHA384 first. The client offers
    # X25519 after the hybrid: with X25519MLKEM768 alone, the client's first ClientHello
    # (empty key_share) went unanswered by this wolfSSL server (both peers timed out).
    "x25519mlkem768": ("X25519MLKEM768,X25519", None, True),
    "x25519-chacha20": ("X25519", "TLS13-CHACHA20-POLY1305-SHA256", False),
    "x25519-aes128": ("X25519", "TLS13-AES128-GCM-SHA256", False),
}


def rel(path):
    return os.path.relpath(path, ROOT)


def wolfssl_version(peer):
    # target/release/wolfssl-peer -> target/release/build/wolfssl-sys-*/out/include/wolfssl/version.h
    pattern = os.path.join(os.path.dirname(peer), "build", "wolfssl-sys-*", "out", "**", "wolfssl", "version.h")
    for path in glob.glob(pattern, recursive=True):
        m = re.search(r'#define LIBWOLFSSL_VERSION_STRING "([^"]+)"', open(path).read())
        if m:
            return m.group(1)
    return "unknown"


def relay_session(peer, server_cmd, client_cmd, timeout=20):
    srv = subprocess.Popen(server_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    line = srv.stdout.readline()
    if not line.startswith("listening"):
        srv.kill()
        sys.exit("server: " + line + srv.stderr.read())
    server_out = [line.strip()]
    host, port = line.split()[1].rsplit(":", 1)
    relay = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    relay.bind(("127.0.0.1", 0))
    upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    upstream.connect((host, int(port)))
    relay_addr = f"127.0.0.1:{relay.getsockname()[1]}"
    client_cmd = [a if a != "RELAY" else relay_addr for a in client_cmd]
    cli = subprocess.Popen(client_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    client_addr, log = None, []

    def pump(wait):
        nonlocal client_addr
        ready, _, _ = select.select([relay, upstream], [], [], wait)
        for s in ready:
            if s is relay:
                data, client_addr = relay.recvfrom(65536)
                log.append(("c>s", data))
                upstream.send(data)
            else:
                try:
                    data = upstream.recv(65536)
                except ConnectionRefusedError:
                    continue
                log.append(("s>c", data))
                if client_addr:
                    relay.sendto(data, client_addr)

    deadline = time.time() + timeout
    while time.time() < deadline and (cli.poll() is None or srv.poll() is None):
        pump(0.1)
    end = time.time() + 0.5
    while time.time() < end:
        pump(0.05)
    cout, cerr = cli.communicate(timeout=5)
    try:
        sout, serr = srv.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        srv.kill()
        sout, serr = srv.communicate()
    if cli.returncode != 0 or srv.returncode != 0:
        sys.exit(f"client ({cli.returncode}): {cout} {cerr}\nserver ({srv.returncode}): {sout} {serr}")
    return log, cout.strip().splitlines(), server_out + sout.strip().splitlines()


def capture(peer, out, name, groups, ciphers, client_auth, version):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    ckey, skey = os.path.join(d, "keylog.client.tmp"), os.path.join(d, "keylog.server.tmp")
    for p in (ckey, skey):
        if os.path.exists(p):
            os.remove(p)
    common = ["--version", "1.3", "--groups", groups, "--key-update", "--exporter", EXPORTER]
    if ciphers:
        common += ["--ciphers", ciphers]
    server_cmd = [peer, "server", "--addr", "127.0.0.1:0", "--cert", rel(os.path.join(CHAIN, "server.pem")),
                  "--key", rel(os.path.join(CHAIN, "server-key.pem"))] + common + ["--keylog", skey]
    client_cmd = [peer, "client", "--addr", "RELAY", "--ca", rel(os.path.join(CHAIN, "ca.pem"))] + common
    client_cmd += ["--message", MESSAGE, "--keylog", ckey]
    if client_auth:
        server_cmd += ["--ca", rel(os.path.join(KEYS, "p256-cert.pem"))]
        client_cmd += ["--cert", rel(os.path.join(KEYS, "p256-cert.pem")), "--key", rel(os.path.join(KEYS, "p256-pkcs8.pem"))]
    log, cout, sout = relay_session(peer, server_cmd, client_cmd)
    with open(os.path.join(d, "datagrams.txt"), "w") as f:
        for direction, data in log:
            f.write(f"{direction} {data.hex()}\n")
    with open(os.path.join(d, "keylog.txt"), "w") as f:
        f.write("# client\n" + open(ckey).read() + "# server\n" + open(skey).read())
    os.remove(ckey)
    os.remove(skey)
    show = lambda cmd: " ".join(
        ("PEER" if a == peer else "KEYLOG" if a in (ckey, skey) else f"'{a}'" if " " in a else a) for a in cmd)
    with open(os.path.join(d, "run.txt"), "w") as f:
        f.write(f"date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')}\n")
        f.write(f"wolfSSL: {version} (wolfssl-sys 5.3.0, interop/wolfssl)\n")
        f.write(f"server: {show(server_cmd)}\n")
        f.write(f"client: {show(client_cmd)}\n")
        f.write("(PEER: the wolfssl-peer binary; KEYLOG: a temporary file, merged into keylog.txt; RELAY: the relay)\n")
        f.write("client stdout:\n" + "".join(f"  {l}\n" for l in cout))
        f.write("server stdout:\n" + "".join(f"  {l}\n" for l in sout))
        f.write(f"datagrams: {len(log)} ({sum(1 for x, _ in log if x == 'c>s')} c>s, "
                f"{sum(1 for x, _ in log if x == 's>c')} s>c)\n")
    print(f"{name}: {len(log)} datagrams; client: {' | '.join(cout)}; server: {' | '.join(sout)}")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    peer, out = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    names = sys.argv[3:] or list(RUNS)
    version = wolfssl_version(peer)
    for name in names:
        capture(peer, out, name, *RUNS[name], version)


main()
