#!/usr/bin/env python3
"""Capture complete OpenSSL DTLS 1.2 conversations on loopback, with their key logs.

For each scenario below this runs `openssl s_server -dtls1_2` and `openssl s_client -dtls1_2`
(both `-nbio`, both on 127.0.0.1 only) with a UDP relay between them that records every
datagram in order, with its direction. After the handshake it writes application data lines
to the client's and then the server's stdin, waits until the peer printed each, and closes the
client's stdin, so the client sends close_notify. Certificates are made afresh in a temporary
directory on every run; only the captured bytes are kept.

Each scenario directory gets:
  NNN-c2s.hex / NNN-s2c.hex  one datagram per file, hex, NNN counting all datagrams in order
  keylog.txt                 the client's `CLIENT_RANDOM <client_random> <master_secret>` line
  appdata.txt                the application data each side sent (see the file's header)
  commands.txt               the exact openssl commands that ran (paths are temporary)
  README.md                  what the scenario is, the commands, and the records of each datagram

Usage: python3 capture_full.py [OUT_DIR] [SCENARIO...]   (default: the directory of this file,
all scenarios). Needs the `openssl` 3.0 command line tool.
"""

import os
import select
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"
TIMEOUT = 10.0

# Lines sent as application data: (direction, text). OpenSSL sends each line read from stdin
# as is, with its "\n". Avoid lines starting with a letter s_client/s_server treat as a command
# (Q, R, k, K, ...).
APPDATA = [
    ("c2s", "hello from s_client, line 1"),
    ("c2s", "hello from s_client, line 2"),
    ("s2c", "hello from s_server, line 1"),
    ("s2c", "hello from s_server, line 2"),
]

SCENARIOS = {
    # (1) ECDSA P-256 certificate, X25519 key exchange, AES-128-GCM.
    "openssl-ecdsa-aes128gcm-x25519": {
        "about": "ECDHE-ECDSA-AES128-GCM-SHA256, X25519 key exchange, self-signed P-256 server "
                 "certificate, MTU 1500 (no fragmentation).",
        "cert": "ec:P-256",
        "cipher": "ECDHE-ECDSA-AES128-GCM-SHA256",
        # The client also offers P-256: a client offering only X25519 cannot be served with
        # a P-256 ECDSA certificate (TLS 1.2 supported_groups limits the certificate curve).
        "groups": "X25519:P-256",
        "mtu": 1500,
        "mutual": False,
    },
    # (2) RSA-2048 certificate, P-384, AES-256-GCM, MTU 256: handshake messages fragment.
    "openssl-rsa-aes256gcm-p384-mtu256": {
        "about": "ECDHE-RSA-AES256-GCM-SHA384, P-384 key exchange, self-signed RSA-2048 server "
                 "certificate, `-mtu 256` on both sides: the Certificate and ServerKeyExchange messages "
                 "are fragmented over several records and datagrams.",
        "cert": "rsa:2048",
        "cipher": "ECDHE-RSA-AES256-GCM-SHA384",
        "groups": "P-384",
        "mtu": 256,
        "mutual": False,
    },
    # (3) ECDSA P-256 certificates on both sides (mutual authentication), ChaCha20-Poly1305.
    "openssl-ecdsa-chacha20-p256-mutual": {
        "about": "ECDHE-ECDSA-CHACHA20-POLY1305, P-256 key exchange, mutual authentication: the "
                 "server asks for a certificate (`-Verify 1 -verifyCAfile`) and the client sends its own "
                 "self-signed P-256 certificate and a CertificateVerify.",
        "cert": "ec:P-256",
        "cipher": "ECDHE-ECDSA-CHACHA20-POLY1305",
        "groups": "P-256",
        "mtu": 1500,
        "mutual": True,
    },
}


def make_cert(tmp, name, kind, cn):
    """A self-signed certificate (CA:TRUE) and its PKCS#8 key."""
    key, cert = os.path.join(tmp, f"{name}-key.pem"), os.path.join(tmp, f"{name}.pem")
    algo, param = kind.split(":")
    newkey = ["-newkey", f"rsa:{param}"] if algo == "rsa" else [
        "-newkey", "ec", "-pkeyopt", f"ec_paramgen_curve:{param}"]
    subprocess.run(
        ["openssl", "req", "-x509", *newkey, "-nodes", "-subj", f"/CN={cn}", "-days", "30",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert],
        check=True, capture_output=True)
    return cert, key


HANDSHAKE_NAMES = {1: "ClientHello", 2: "ServerHello", 3: "HelloVerifyRequest", 4: "NewSessionTicket",
                   11: "Certificate", 12: "ServerKeyExchange", 13: "CertificateRequest",
                   14: "ServerHelloDone", 15: "CertificateVerify", 16: "ClientKeyExchange", 20: "Finished"}
CONTENT_NAMES = {20: "ChangeCipherSpec", 21: "Alert", 22: "Handshake", 23: "ApplicationData"}


def describe(datagram):
    """The records of a datagram, for the README (plaintext handshake fragments by name)."""
    out, i = [], 0
    while i + 13 <= len(datagram):
        typ, epoch = datagram[i], int.from_bytes(datagram[i + 3:i + 5], "big")
        seq, length = int.from_bytes(datagram[i + 5:i + 11], "big"), int.from_bytes(datagram[i + 11:i + 13], "big")
        body = datagram[i + 13:i + 13 + length]
        if typ == 22 and epoch == 0:
            j, frags = 0, []
            while j + 12 <= len(body):
                total, off, flen = (int.from_bytes(body[j + k:j + k + 3], "big") for k in (1, 6, 9))
                part = "" if (off, flen) == (0, total) else f" [{off}..{off + flen} of {total}]"
                frags.append(HANDSHAKE_NAMES.get(body[j], str(body[j])) + part)
                j += 12 + flen
            what = ", ".join(frags)
        elif epoch == 0:
            what = CONTENT_NAMES.get(typ, str(typ))
        else:
            what = f"{CONTENT_NAMES.get(typ, str(typ))} (encrypted)"
        out.append(f"e{epoch}/s{seq} {what}")
        i += 13 + length
    return "; ".join(out)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Relay(threading.Thread):
    """Forwards datagrams between the client (on `front`) and the server (from `back`) and
    keeps every one, in order, as (direction, bytes)."""

    def __init__(self, server_port):
        super().__init__(daemon=True)
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind((HOST, 0))
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.bind((HOST, 0))
        self.server_port = server_port
        self.datagrams = []
        self.stop = threading.Event()

    def port(self):
        return self.front.getsockname()[1]

    def run(self):
        client_addr = None
        while not self.stop.is_set():
            ready, _, _ = select.select([self.front, self.back], [], [], 0.05)
            for sock in ready:
                data, addr = sock.recvfrom(65535)
                if sock is self.front:
                    client_addr = addr
                    self.datagrams.append(("c2s", data))
                    self.back.sendto(data, (HOST, self.server_port))
                elif client_addr is not None:
                    self.datagrams.append(("s2c", data))
                    self.front.sendto(data, client_addr)


def wait_for(path, text, what):
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        with open(path, "rb") as f:
            if text.encode() in f.read():
                return
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what} ({text!r} in {path})")


def capture(out_dir, name, sc):
    tmp = tempfile.mkdtemp(prefix=f"{name}-")
    cert, key = make_cert(tmp, "server", sc["cert"], "localhost")
    server_port = free_port()
    relay = Relay(server_port)
    mtu = str(sc["mtu"])
    server_keylog, client_keylog = os.path.join(tmp, "server.keylog"), os.path.join(tmp, "client.keylog")
    server_cmd = ["openssl", "s_server", "-dtls1_2", "-accept", f"{HOST}:{server_port}", "-naccept", "1",
                  "-nbio", "-mtu", mtu, "-cert", cert, "-key", key, "-cipher", sc["cipher"],
                  "-groups", sc["groups"], "-keylogfile", server_keylog]
    client_cmd = ["openssl", "s_client", "-dtls1_2", "-connect", f"{HOST}:{relay.port()}", "-nbio",
                  "-mtu", mtu, "-cipher", sc["cipher"], "-groups", sc["groups"], "-CAfile", cert,
                  "-verify_return_error", "-servername", "localhost", "-keylogfile", client_keylog]
    if sc["mutual"]:
        ccert, ckey = make_cert(tmp, "client", sc["cert"], "dtls-client")
        server_cmd += ["-Verify", "1", "-verifyCAfile", ccert, "-verify_return_error"]
        client_cmd += ["-cert", ccert, "-key", ckey]

    server_out, client_out = os.path.join(tmp, "server.out"), os.path.join(tmp, "client.out")
    relay.start()
    with open(server_out, "wb") as sout, open(client_out, "wb") as cout:
        # Both stdins are pipes we hold: s_server exits at stdin EOF, s_client closes on it.
        server = subprocess.Popen(server_cmd, stdin=subprocess.PIPE, stdout=sout, stderr=subprocess.STDOUT)
        time.sleep(0.5)
        client = subprocess.Popen(client_cmd, stdin=subprocess.PIPE, stdout=cout, stderr=subprocess.STDOUT)
        try:
            wait_for(client_out, "Cipher is " + sc["cipher"], "the client's handshake")
            wait_for(server_out, "CIPHER is " + sc["cipher"], "the server's handshake")
            for direction, text in APPDATA:
                proc, peer_out = (client, server_out) if direction == "c2s" else (server, client_out)
                proc.stdin.write((text + "\n").encode())
                proc.stdin.flush()
                wait_for(peer_out, text, f"{direction} application data")
            # EOF on the client's stdin: it sends close_notify and exits.
            client.stdin.close()
            client.wait(TIMEOUT)
            time.sleep(0.5)
        finally:
            for p in (client, server):
                if p.poll() is None:
                    p.kill()
                p.wait()
            relay.stop.set()
            relay.join()

    with open(client_keylog) as f:
        keylog = [line for line in f if line.startswith("CLIENT_RANDOM ")]
    with open(server_keylog) as f:
        assert keylog == [line for line in f if line.startswith("CLIENT_RANDOM ")], "key logs differ"
    assert len(keylog) == 1, keylog

    os.makedirs(out_dir, exist_ok=True)
    for old in os.listdir(out_dir):
        if old.endswith(".hex"):
            os.remove(os.path.join(out_dir, old))
    for i, (direction, data) in enumerate(relay.datagrams, start=1):
        with open(os.path.join(out_dir, f"{i:03d}-{direction}.hex"), "w") as f:
            f.write(data.hex() + "\n")
    with open(os.path.join(out_dir, "keylog.txt"), "w") as f:
        f.writelines(keylog)
    with open(os.path.join(out_dir, "appdata.txt"), "w") as f:
        f.write("# <direction> <text>: each line was written to the sender's stdin and sent by\n"
                "# OpenSSL as application data, with a trailing \"\\n\" (0x0a) that is not shown here.\n")
        for direction, text in APPDATA:
            f.write(f"{direction} {text}\n")
    openssl_version = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
    with open(os.path.join(out_dir, "commands.txt"), "w") as f:
        f.write(f"# {openssl_version}\n")
        f.write(shlex.join(server_cmd) + "\n" + shlex.join(client_cmd) + "\n")
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write(f"# {name}\n\n{sc['about']}\n\n"
                "Captured by `../capture_full.py` (regenerate with `python3 vectors/captures/capture_full.py "
                f"vectors/captures {name}`); checked by `tests/vectors_openssl_capture.rs`, which opens every "
                "record with the master secret of `keylog.txt` (the `CLIENT_RANDOM` line of the client's "
                "`-keylogfile`). `appdata.txt` lists the application data lines; OpenSSL sends each with its "
                "trailing newline. Certificates were generated for this run and discarded; the server's (and "
                "client's) certificate is in the captured Certificate messages.\n\n"
                f"The exact commands ({openssl_version}; temporary paths and ports):\n\n```sh\n"
                f"{shlex.join(server_cmd)}\n{shlex.join(client_cmd)}\n```\n\n"
                "Application data lines were written to the sender's stdin one at a time, each after the peer "
                "printed the previous one; then the client's stdin was closed, so it sent close_notify.\n\n"
                "| file | records (epoch/sequence, content) |\n|------|------|\n")
        for i, (direction, data) in enumerate(relay.datagrams, start=1):
            f.write(f"| {i:03d}-{direction}.hex | {describe(data)} |\n")
    print(f"{name}: {len(relay.datagrams)} datagrams")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_root = sys.argv[1] if len(sys.argv) > 1 else here
    names = sys.argv[2:] or list(SCENARIOS)
    for name in names:
        capture(os.path.join(out_root, name), name, SCENARIOS[name])


if __name__ == "__main__":
    main()
