#!/usr/bin/env bash
# Seed fuzz/corpus/<target>/ from the real OpenSSL captures in vectors/captures/**: every
# hex datagram converted to binary, framed as each target expects. Corpus dirs are
# gitignored; run this before `cargo fuzz run` (run_all.sh does).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
captures="$here/../vectors/captures"
corpus="$here/corpus"
for t in record_deframer record_headers handshake_messages handshake13 extensions reassembler client_session server_session client13_session server13_session endpoint; do
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
# handshake13: the DTLS 1.3 extension bodies, extension blocks and randoms of dimpl's
# ClientHellos and ServerHellos in vectors/dtls13/, behind the target's selector byte, and
# hand-made message bodies (RFC 8446 §4.3.1, §4.4.2, §4.6.1, §4.6.3; RFC 9147 §7).
python3 - "$here/../vectors/dtls13" "$corpus/handshake13" <<'PY'
import pathlib, sys, hashlib

vectors, out = map(pathlib.Path, sys.argv[1:])

def put(selector, data):
    data = bytes([selector]) + data
    (out / hashlib.sha1(data).hexdigest()).write_bytes(data)

# (extension type, is ClientHello) -> selector of the target
SELECT = {(43, True): 0, (43, False): 1, (51, True): 2, (51, False): 3, (44, True): 5, (44, False): 5,
          (45, True): 6, (50, True): 7}
for f in sorted(vectors.glob("*.hex")):
    d = bytes.fromhex(f.read_text().strip())
    if d[0] != 22:
        continue
    body = d[13 + 12:13 + int.from_bytes(d[11:13], "big")]
    typ = d[13]
    k = 2 + 32
    put(16, body[2:34])
    k += 1 + body[k]
    if typ == 1:
        k += 1 + body[k]
        k += 2 + int.from_bytes(body[k:k + 2], "big")
        k += 1 + body[k]
    else:
        k += 3
    put(15, body[k:])
    end = k + 2 + int.from_bytes(body[k:k + 2], "big")
    k += 2
    while k + 4 <= end:
        t, n = int.from_bytes(body[k:k + 2], "big"), int.from_bytes(body[k + 2:k + 4], "big")
        data = body[k + 4:k + 4 + n]
        k += 4 + n
        if (t, typ == 1) in SELECT:
            put(SELECT[(t, typ == 1)], data)
        if t == 51 and typ == 2 and n == 2:
            put(4, data)
for sel, h in [
    (4, "001d"), (6, "0101"), (7, "000404030804"),
    (8, "0000"), (8, "0011000a00040002001d001000050003026832"),
    (9, "0000001400000330 01aa0000000002300000050005000101"), (9, "0142000000"),
    (10, "000008000d0004000208 07"), (11, "040300023006"), (12, "00"), (12, "01"),
    (13, "00001c2001020304010000 02aabb0000"),
    (14, "0000"), (14, "0010" + "0000000000000002" + "0000000000000102"),
    (17, "00" * 32),
]:
    put(sel, bytes.fromhex(h.replace(" ", "")))
PY

# client13_session / server13_session: every point of the genuine DTLS 1.3 handshake (X25519
# and the hybrid), fed the peer's genuine next datagrams unchanged (XOR with a zero byte), or
# a timer jump and a send.
for t in client13_session server13_session; do
    for stop in 0 1 2 3 4 5 6; do
        for group in 0 64; do
            printf "$(printf '\\x%02x\\x00' $((stop | group | 128)))" > "$corpus/$t/genuine-$stop-$group"
            printf "$(printf '\\x%02x\\x95\\x7f\\xff' $((stop | group)))" > "$corpus/$t/timer-$stop-$group"
        done
    done
done

for t in "$corpus"/*; do
    echo "$(basename "$t"): $(ls "$t" | wc -l) seeds"
done
