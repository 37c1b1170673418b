#!/usr/bin/env python3
"""Capture a real OpenSSL DTLS 1.2 handshake on loopback, datagram by datagram.

Runs `openssl s_server -dtls1_2` and `openssl s_client -dtls1_2` with this UDP relay between
them, and writes every datagram as one hex file named by direction and order:
c2s-01.hex, s2c-01.hex, ... (numbering is per direction). Loopback only.

Usage: python3 capture.py OUT_DIR
"""

import os
import select
import socket
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "openssl-hello"
    os.makedirs(out_dir, exist_ok=True)
    tmp = tempfile.mkdtemp()
    key, cert = os.path.join(tmp, "k.pem"), os.path.join(tmp, "c.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-subj", "/CN=localhost", "-days", "30", "-keyout", key, "-out", cert],
        check=True, capture_output=True)

    server_port = free_port()
    # The relay: the client talks to `front`, we talk to the server from `back`.
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind((HOST, 0))
    back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    back.bind((HOST, 0))

    server = subprocess.Popen(
        ["openssl", "s_server", "-dtls1_2", "-accept", f"{HOST}:{server_port}", "-nbio",
         "-cert", cert, "-key", key, "-mtu", "1500"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    client = subprocess.Popen(
        ["openssl", "s_client", "-dtls1_2", "-connect", f"{HOST}:{front.getsockname()[1]}",
         "-nbio", "-mtu", "1500"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    client_addr = None
    counts = {"c2s": 0, "s2c": 0}
    deadline = time.time() + 3.0
    try:
        while time.time() < deadline:
            ready, _, _ = select.select([front, back], [], [], 0.1)
            for sock in ready:
                data, addr = sock.recvfrom(65535)
                if sock is front:
                    client_addr = addr
                    direction = "c2s"
                    back.sendto(data, (HOST, server_port))
                else:
                    direction = "s2c"
                    if client_addr is not None:
                        front.sendto(data, client_addr)
                counts[direction] += 1
                name = f"{direction}-{counts[direction]:02d}.hex"
                with open(os.path.join(out_dir, name), "w") as f:
                    f.write(data.hex() + "\n")
    finally:
        for p in (client, server):
            p.kill()
            p.wait()
    print(f"captured {counts['c2s']} client and {counts['s2c']} server datagrams")


if __name__ == "__main__":
    main()
