#!/usr/bin/env bash
# Seed fuzz/corpus/<target>/ from the real OpenSSL captures in vectors/captures/**: every
# hex datagram converted to binary, framed as each target expects. Corpus dirs are
# gitignored; run this before `cargo fuzz run` (run_all.sh does).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
captures="$here/../vectors/captures"
corpus="$here/corpus"
for t in record_deframer record_headers handshake_messages extensions reassembler client_session server_session endpoint; do
    mkdir -p "$corpus/$t"
done

python3 - "$captures" "$corpus" <<'PY'
import pathlib, struct, sys, hashlib

captures, corpus = map(pathlib.Path, sys.argv[1:])

def put(target, data):
    name = hashlib.sha1(data).hexdigest()
    (corpus / target / name).write_bytes(data)

# Handshake type codes the handshake_messages target selects with its first byte.
TYPES = [0, 1, 2, 3, 11, 12, 13, 14, 15, 16, 20]

for f in sorted(captures.rglob("*.hex")):
    dgram = bytes.fromhex("".join(f.read_text().split()))
    put("record_deframer", dgram)
    # record_headers: first byte 0 (no CID expected), then the datagram.
    put("record_headers", bytes([0]) + dgram)
    # Which session would receive this datagram: c2s goes to a server, s2c to a client.
    target = "server_session" if "c2s" in f.name else "client_session"
    for stop in range(7):
        put(target, bytes([stop, 0]) + struct.pack(">H", len(dgram)) + dgram)
    # Endpoint: the datagram from address 1, after 0-3 genuine round trips at address 0,
    # then a genuine (unmutated) ClientHello exchange at address 2 and a timer jump.
    if "c2s" in f.name:
        for stop in range(4):
            put("endpoint", bytes([stop, 0x01]) + struct.pack(">H", len(dgram)) + dgram + bytes([0x42, 0x81]))
    # Plaintext handshake records: their fragments feed the message, extension and
    # reassembler targets.
    i = 0
    while i + 13 <= len(dgram):
        ctype, epoch, length = dgram[i], int.from_bytes(dgram[i + 3:i + 5], "big"), int.from_bytes(dgram[i + 11:i + 13], "big")
        body = dgram[i + 13:i + 13 + length]
        i += 13 + length
        if ctype != 22 or epoch != 0:
            continue
        j = 0
        ops = b""
        while j + 12 <= len(body):
            typ = body[j]
            flen = int.from_bytes(body[j + 9:j + 12], "big")
            frag = body[j + 12:j + 12 + flen]
            hdr = body[j:j + 12]
            j += 12 + flen
            mlen = int.from_bytes(hdr[1:4], "big")
            if typ in TYPES and flen == mlen:
                put("handshake_messages", bytes([TYPES.index(typ)]) + frag)
                # ClientHello / ServerHello: the extension block follows the fixed part.
                if typ in (1, 2):
                    k = 2 + 32
                    k += 1 + frag[k]                      # session_id
                    if typ == 1:
                        k += 1 + frag[k]                  # cookie
                        k += 2 + int.from_bytes(frag[k:k + 2], "big")  # suites
                        k += 1 + frag[k]                  # compression
                    else:
                        k += 3                            # suite + compression
                    if k < len(frag):
                        put("extensions", frag[k:])
            # reassembler op: insert with a u16 length and this fragment's bytes.
            seq = int.from_bytes(hdr[4:6], "big")
            off = int.from_bytes(hdr[6:9], "big")
            ops += bytes([0x00, typ]) + struct.pack(">H", mlen & 0xffff) + bytes([seq % 24]) + struct.pack(">HH", off & 0xffff, flen & 0xffff) + frag
        if ops:
            put("reassembler", ops + b"\x80")
PY
for t in "$corpus"/*; do
    echo "$(basename "$t"): $(ls "$t" | wc -l) seeds"
done
