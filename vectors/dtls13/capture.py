#!/usr/bin/env python3
"""Capture DTLS 1.3 datagrams from dimpl 0.9 (interop/dimpl, `dimpl-peer`) on loopback.

usage: capture.py PEER_BINARY OUT_DIR

1. client_hello: a plain UDP socket receives the first datagram of
   `dimpl-peer client 127.0.0.1:PORT --dtls13` (dimpl's `Dtls::new_13`), then the client is killed.
   The same for the auto-sensing client (`Dtls::new_auto`, no --dtls13): client_hello_auto.
2. handshake: `dimpl-peer server 127.0.0.1:0 --dtls13 --once` (with client authentication) and
   `dimpl-peer client RELAY --dtls13`, with a UDP relay in between that forwards every
   datagram and records it with its direction. Every datagram is written to handshake.log
   (`c>s HEX` / `s>c HEX`, in order); the plaintext ones (first byte 22, a DTLSPlaintext
   handshake record of epoch 0) are also written one file each: NN_c2s.hex / NN_s2c.hex.
"""
import os, select, socket, subprocess, sys, time

peer, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)


def first_datagram(extra, name):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(10)
    port = s.getsockname()[1]
    p = subprocess.Popen([peer, "client", f"127.0.0.1:{port}", "--timeout", "5"] + extra,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        data, _ = s.recvfrom(65536)
    finally:
        p.kill()
        p.wait()
    with open(os.path.join(out, name), "w") as f:
        f.write(data.hex() + "\n")
    print(f"{name}: {len(data)} bytes")


first_datagram(["--dtls13"], "client_hello.hex")
first_datagram([], "client_hello_auto.hex")

srv = subprocess.Popen([peer, "server", "127.0.0.1:0", "--dtls13", "--once",
                        "--timeout", "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
line = ""
while not line.startswith("listening"):
    line = srv.stdout.readline()
    if not line:
        sys.exit("server exited: " + srv.stderr.read())
host, port = line.split()[1].rsplit(":", 1)
server_addr = (host, int(port))

relay = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
relay.bind(("127.0.0.1", 0))
upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
upstream.connect(server_addr)
cli = subprocess.Popen([peer, "client", f"127.0.0.1:{relay.getsockname()[1]}", "--dtls13",
                        "--timeout", "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
client_addr = None
log = []


def pump(wait):
    """Relay whatever arrived within `wait` seconds, in either direction, and log it."""
    global client_addr
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


deadline = time.time() + 20
while time.time() < deadline and cli.poll() is None:
    pump(0.2)
# let the last datagrams (close_notify) through
end = time.time() + 1
while time.time() < end:
    pump(0.1)
cout, cerr = cli.communicate(timeout=5)
try:
    sout, serr = srv.communicate(timeout=5)
except subprocess.TimeoutExpired:
    srv.kill()
    sout, serr = srv.communicate()
print("client:", cout.strip().replace("\n", " | "), cerr.strip())
print("server:", sout.strip().replace("\n", " | "), serr.strip())
with open(os.path.join(out, "handshake.log"), "w") as f:
    for d, data in log:
        f.write(f"{d} {data.hex()}\n")
n = 0
for d, data in log:
    if data and data[0] == 22:
        name = f"{n:02d}_{'c2s' if d == 'c>s' else 's2c'}.hex"
        with open(os.path.join(out, name), "w") as f:
            f.write(data.hex() + "\n")
        print(f"{name}: {len(data)} bytes")
        n += 1
print(f"{len(log)} datagrams relayed")
